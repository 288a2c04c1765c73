"""RewardPool: epochs funded in AGT or another ERC-20, claims by coordinator-signed EIP-712 vouchers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys import keys

from app.core.errors import ValidationError
from app.wallet.contracts import deploy, send, voucher_typed_data
from app.wallet.revert import ContractReverted
from tests.chain.anvil import increase_time, latest_timestamp
from tests.chain.conftest import AGT_UNIT, Chain
from tests.chain.helpers import event_args, refused

EPOCH = 202612
WINDOW_S = 30 * 24 * 3600
POOL_FUNDS = 1_000 * AGT_UNIT


@dataclass(frozen=True)
class Voucher:
    epoch: int
    account: str
    amount: int
    deadline: int

    def as_tuple(self) -> tuple[int, str, int, int]:
        return (self.epoch, self.account, self.amount, self.deadline)


def _sign(chain: Chain, voucher: Voucher, *, key: LocalAccount | None = None, chain_id: int | None = None,
          pool=None) -> bytes:
    typed = voucher_typed_data(pool or chain.suite.reward_pool, chain_id or chain.w3.eth.chain_id,
                               epoch=voucher.epoch, account=voucher.account, amount=voucher.amount,
                               deadline=voucher.deadline)
    return Account.sign_typed_data((key or chain.coordinator).key, full_message=typed).signature


def _open_funded_epoch(chain: Chain, token=None, epoch: int = EPOCH, opens_in: int = 0) -> tuple[int, int]:
    pool, token = chain.suite.reward_pool, token or chain.suite.agt
    opens_at = latest_timestamp(chain.w3) + opens_in
    closes_at = opens_at + WINDOW_S
    send(chain.w3, pool.functions.openEpoch(epoch, token.address, opens_at, closes_at), chain.coordinator)
    send(chain.w3, token.functions.approve(pool.address, POOL_FUNDS), chain.treasury)
    send(chain.w3, pool.functions.fund(epoch, POOL_FUNDS), chain.treasury)
    return opens_at, closes_at


def _voucher(chain: Chain, amount: int = 40 * AGT_UNIT, deadline_in: int = 3600, epoch: int = EPOCH) -> Voucher:
    return Voucher(epoch, chain.alice, amount, latest_timestamp(chain.w3) + deadline_in)


def test_voucher_digest_matches_python_signing(chain: Chain) -> None:
    voucher = _voucher(chain)
    signature = _sign(chain, voucher)
    digest = chain.suite.reward_pool.functions.voucherDigest(voucher.as_tuple()).call()
    recovered = keys.Signature(signature[:64] + bytes([signature[64] - 27])).recover_public_key_from_msg_hash(digest)
    assert recovered.to_checksum_address() == chain.coordinator.address


def test_claim_pays_the_voucher_once(chain: Chain) -> None:
    pool, agt = chain.suite.reward_pool, chain.suite.agt
    _open_funded_epoch(chain)
    voucher = _voucher(chain)
    before = agt.functions.balanceOf(chain.alice).call()
    receipt = send(chain.w3, pool.functions.claim(voucher.as_tuple(), _sign(chain, voucher)), chain.bob)  # a relayer
    assert event_args(pool, "Claimed", receipt) == {"epoch": EPOCH, "account": chain.alice, "amount": voucher.amount}
    assert agt.functions.balanceOf(chain.alice).call() == before + voucher.amount
    assert pool.functions.claimed(EPOCH, chain.alice).call() is True
    with refused("AlreadyClaimed", epoch=EPOCH, account=chain.alice):
        send(chain.w3, pool.functions.claim(voucher.as_tuple(), _sign(chain, voucher)), chain.alice)


def test_a_double_claim_mined_without_simulation_is_decoded_by_replay(chain: Chain) -> None:
    pool = chain.suite.reward_pool
    _open_funded_epoch(chain)
    voucher = _voucher(chain)
    send(chain.w3, pool.functions.claim(voucher.as_tuple(), _sign(chain, voucher)), chain.alice)
    with refused("AlreadyClaimed", epoch=EPOCH, account=chain.alice):
        send(chain.w3, pool.functions.claim(voucher.as_tuple(), _sign(chain, voucher)), chain.alice,
             gas=200_000, simulate=False)


@pytest.mark.parametrize("where", ["chain id", "pool", "signer"])
def test_voucher_bound_to_chain_pool_and_coordinator(chain: Chain, where: str) -> None:
    pool = chain.suite.reward_pool
    _open_funded_epoch(chain)
    voucher = _voucher(chain)
    if where == "chain id":
        signature = _sign(chain, voucher, chain_id=42161)
    elif where == "pool":
        other_pool = deploy(chain.w3, "RewardPool", chain.admin, chain.coordinator.address, sender=chain.admin)
        signature = _sign(chain, voucher, pool=other_pool)
    else:
        signature = _sign(chain, voucher, key=Account.create())
    with pytest.raises(ContractReverted) as caught:
        send(chain.w3, pool.functions.claim(voucher.as_tuple(), signature), chain.alice)
    revert = caught.value.revert
    assert revert.name == "InvalidVoucherSigner"
    assert revert.args["signer"] != chain.coordinator.address
    assert "not signed by the coordinator for this chain and pool" in revert.message


def test_expired_voucher_and_claim_window(chain: Chain) -> None:
    pool = chain.suite.reward_pool
    opens_at, closes_at = _open_funded_epoch(chain, opens_in=1000)
    voucher = Voucher(EPOCH, chain.alice, 5, closes_at + 10_000)
    with refused("ClaimWindowNotOpen", epoch=EPOCH, opensAt=opens_at):
        send(chain.w3, pool.functions.claim(voucher.as_tuple(), _sign(chain, voucher)), chain.alice)
    increase_time(chain.w3, 1000)
    expired = _voucher(chain, deadline_in=-1)
    with refused("VoucherExpired", deadline=expired.deadline):
        send(chain.w3, pool.functions.claim(expired.as_tuple(), _sign(chain, expired)), chain.alice)
    increase_time(chain.w3, WINDOW_S + 1)
    with refused("ClaimWindowClosed", epoch=EPOCH, closesAt=closes_at):
        send(chain.w3, pool.functions.claim(voucher.as_tuple(), _sign(chain, voucher)), chain.alice)


def test_custom_token_pool_and_sweep_back_to_the_requester(chain: Chain) -> None:
    pool = chain.suite.reward_pool
    requester_token = deploy(chain.w3, "AGT", chain.treasury, 10**24, sender=chain.admin)  # any ERC-20
    _, closes_at = _open_funded_epoch(chain, token=requester_token, epoch=7)
    voucher = _voucher(chain, amount=300, epoch=7)
    send(chain.w3, pool.functions.claim(voucher.as_tuple(), _sign(chain, voucher)), chain.alice)
    assert requester_token.functions.balanceOf(chain.alice).call() == 300
    with refused("ClaimWindowStillOpen", epoch=7, closesAt=closes_at):
        send(chain.w3, pool.functions.sweep(7, chain.bob), chain.coordinator)
    increase_time(chain.w3, WINDOW_S + 1)
    receipt = send(chain.w3, pool.functions.sweep(7, chain.bob), chain.coordinator)
    assert event_args(pool, "Swept", receipt)["amount"] == POOL_FUNDS - 300
    assert requester_token.functions.balanceOf(chain.bob).call() == POOL_FUNDS - 300


def test_epoch_refusals(chain: Chain) -> None:
    pool, agt = chain.suite.reward_pool, chain.suite.agt
    now = latest_timestamp(chain.w3)
    role = pool.functions.EPOCH_MANAGER_ROLE().call()
    with refused("AccessControlUnauthorizedAccount", account=chain.alice, neededRole=role):
        send(chain.w3, pool.functions.openEpoch(1, agt.address, now, now + 10), chain.alice)
    with refused("InvalidClaimWindow", opensAt=now + 10, closesAt=now + 10):
        send(chain.w3, pool.functions.openEpoch(1, agt.address, now + 10, now + 10), chain.coordinator)
    with refused("ZeroToken"):
        send(chain.w3, pool.functions.openEpoch(1, "0x" + "00" * 20, now, now + 10), chain.coordinator)
    with refused("UnknownEpoch", epoch=1):
        send(chain.w3, pool.functions.fund(1, 5), chain.treasury)
    _open_funded_epoch(chain)
    with refused("EpochExists", epoch=EPOCH):
        send(chain.w3, pool.functions.openEpoch(EPOCH, agt.address, now, now + 10), chain.coordinator)
    too_much = _voucher(chain, amount=POOL_FUNDS + 1)
    with refused("InsufficientPoolBalance", epoch=EPOCH, requested=POOL_FUNDS + 1, available=POOL_FUNDS):
        send(chain.w3, pool.functions.claim(too_much.as_tuple(), _sign(chain, too_much)), chain.alice)
    with refused("ECDSAInvalidSignatureLength", length=3):
        send(chain.w3, pool.functions.claim(too_much.as_tuple(), b"abc"), chain.alice)


def test_voucher_typed_data_refuses_bad_input(chain: Chain) -> None:
    pool = chain.suite.reward_pool
    with pytest.raises(ValidationError, match="amount"):
        voucher_typed_data(pool, 1, epoch=1, account=chain.alice, amount=-1, deadline=0)
    with pytest.raises(ValidationError, match="account"):
        voucher_typed_data(pool, 1, epoch=1, account="0xnot", amount=1, deadline=0)

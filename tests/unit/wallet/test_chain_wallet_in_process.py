"""The wallet's chain modules on eth-tester's in-process EVM (no node): stake by permit through the
quote/confirm/send path, a voucher checked and claimed, and an inclusion proof verified both ways."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from eth_account import Account
from web3 import EthereumTesterProvider, Web3

from app.sync.wire import InclusionProofOut, VoucherOut
from app.wallet import redeem, staking
from app.wallet.chain import ChainWallet
from app.wallet.chains import get_chain
from app.wallet.contracts import deploy_suite, send, voucher_typed_data
from app.wallet.errors import WalletError
from app.wallet.merkle import MerkleTree, submission_leaf
from app.wallet.signer import LocalSigner
from app.wallet.transactions import NonceManager
from app.wallet.verify import verify_inclusion

AGT = 10**18


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[ChainWallet, Account]]:
    w3 = Web3(EthereumTesterProvider())
    admin, treasury = w3.eth.accounts[:2]
    coordinator, user = Account.create(), Account.create()
    for who in (coordinator, user):
        w3.eth.send_transaction({"from": admin, "to": who.address, "value": 10 * AGT})
    suite = deploy_suite(w3, admin, coordinator=coordinator.address, treasury=treasury)
    send(w3, suite.agt.functions.transfer(user.address, 2_000 * AGT), treasury)
    local = get_chain("local").model_copy(update={"chain_id": w3.eth.chain_id, "confirmations": 0})
    signer = LocalSigner(user.address, lambda: bytes(user.key))
    yield ChainWallet(w3, local, suite, signer, nonces=NonceManager(), poll_s=0.01), coordinator


def test_stake_by_permit_in_process(world: tuple[ChainWallet, Account]) -> None:
    cw, _ = world
    shown = []
    result = staking.stake(cw, 1_000 * AGT, lambda prepared: shown.append(prepared) or True)
    assert result.gas_used > 0 and shown[0].quote.gas_limit > result.gas_used
    assert cw.suite.stake_info(cw.address).tier == 2 and cw.balances().agt == 1_000 * AGT


def _voucher(cw: ChainWallet, coordinator: Account, epoch: int, amount: int, deadline: int) -> VoucherOut:
    pool = cw.suite.reward_pool
    typed = voucher_typed_data(pool, cw.chain.chain_id, epoch=epoch, account=cw.address, amount=amount,
                               deadline=deadline)
    signature = "0x" + bytes(Account.sign_typed_data(coordinator.key, full_message=typed).signature).hex()
    return VoucherOut(epoch="2026-11", chain_epoch=epoch, chain_id=cw.chain.chain_id, pool=pool.address,
                      token=cw.suite.agt.address, account=cw.address, amount=str(amount), credits="5",
                      deadline=deadline, signature=signature)


def test_voucher_checked_claimed_and_refused_twice(world: tuple[ChainWallet, Account]) -> None:
    cw, coordinator = world
    now = cw.latest_timestamp()
    send(cw.w3, cw.suite.reward_pool.functions.openEpoch(202611, cw.suite.agt.address, now, now + 86_400), coordinator)
    treasury = cw.w3.eth.accounts[1]
    send(cw.w3, cw.suite.agt.functions.approve(cw.suite.reward_pool.address, 5 * AGT), treasury)
    send(cw.w3, cw.suite.reward_pool.functions.fund(202611, 5 * AGT), treasury)
    voucher = _voucher(cw, coordinator, 202611, 5 * AGT, now + 3_600)
    before = cw.balances().agt
    redeem.claim(cw, voucher, lambda prepared: True)
    assert cw.balances().agt == before + 5 * AGT and [c.amount for c in redeem.history(cw)] == [5 * AGT]
    with pytest.raises(WalletError, match="you already claimed epoch 2026-11"):
        redeem.check_voucher(cw, voucher)
    with pytest.raises(WalletError, match=f"this voucher is for {cw.w3.eth.accounts[3]}, not for your account"):
        redeem.check_voucher(cw, voucher.model_copy(update={"account": cw.w3.eth.accounts[3]}))


def test_inclusion_proof_checked_here_and_in_the_evm(world: tuple[ChainWallet, Account]) -> None:
    cw, coordinator = world
    mine = hashlib.sha256(b"my labels").hexdigest()
    others = [submission_leaf(202611, Account.create().address, bytes([i]) * 32) for i in range(6)]
    leaf = submission_leaf(202611, cw.address, mine)
    tree = MerkleTree.build([leaf, *others])
    send(cw.w3, cw.suite.audit_anchor.functions.anchor(202611, tree.root, tree.leaf_count), coordinator)
    proof = InclusionProofOut(
        submission_id="s1", epoch="2026-11", chain_epoch=202611, contributor=cw.address, payload_sha256=mine,
        leaf="0x" + leaf.hex(), proof=["0x" + node.hex() for node in tree.proof(leaf)], root="0x" + tree.root.hex(),
        leaf_count=tree.leaf_count, anchor_tx="0x" + "00" * 32, audit_anchor=cw.suite.audit_anchor.address)
    verified = verify_inclusion(cw, proof, payload_sha256=mine)
    assert verified.checked_locally and verified.checked_on_chain and verified.leaf_count == 7
    with pytest.raises(WalletError, match="not yours"):
        verify_inclusion(cw, proof, payload_sha256="ab" * 32)
    wrong = proof.model_copy(update={"proof": list(reversed(proof.proof))[:-1]})
    with pytest.raises(WalletError, match="does not lead to the root"):
        verify_inclusion(cw, wrong)
    with pytest.raises(WalletError, match="not the one your submission makes"):
        verify_inclusion(cw, proof.model_copy(update={"leaf": "0x" + others[0].hex()}))


def test_claim_history_searches_from_the_deployment_in_windows(world: tuple[ChainWallet, Account]) -> None:
    """Public RPC nodes refuse wide eth_getLogs ranges: the search walks `log_window` blocks at a
    time from `deployed_at_block`, and finds the same claims as one wide request would."""
    cw, coordinator = world
    if not redeem.history(cw):
        test_voucher_checked_claimed_and_refused_twice(world)
    [claimed] = redeem.history(cw)
    last = cw.w3.eth.block_number
    asked: list[tuple[int, int]] = []

    def walk(**changes: int) -> list[redeem.Claim]:
        narrow = ChainWallet(cw.w3, cw.chain.model_copy(update=changes), cw.suite, cw.signer)
        real = narrow.suite.reward_pool.events.Claimed

        class Spy:  # the real event, with each requested range written down
            def __call__(self):  # noqa: ANN204
                event = real()
                get_logs = event.get_logs

                def logged(*, from_block: int, to_block: int, **kw: object) -> object:
                    asked.append((from_block, to_block))
                    return get_logs(from_block=from_block, to_block=to_block, **kw)

                event.get_logs = logged
                return event

        narrow.suite.reward_pool.events.Claimed = Spy()
        try:
            return redeem.history(narrow)
        finally:
            narrow.suite.reward_pool.events.Claimed = real

    assert walk(log_window=3) == [claimed]
    assert asked[0][0] == 0 and asked[-1][1] == last
    assert all(b - a + 1 <= 3 for a, b in asked) and all(b + 1 == c for (_, b), (c, _) in zip(asked, asked[1:]))
    asked.clear()
    assert walk(deployed_at_block=claimed.block_number, log_window=1_000) == [claimed]
    assert asked == [(claimed.block_number, last)]
    assert walk(deployed_at_block=claimed.block_number + 1) == []  # before the start: not searched

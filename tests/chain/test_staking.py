"""AGT permit and StakingVault: stake, request unstake, withdraw after the delay, tiers."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

from app.wallet.contracts import SuiteConfig, send
from tests.chain.anvil import increase_time, latest_timestamp
from tests.chain.conftest import AGT_UNIT, Chain
from tests.chain.helpers import event_args, refused

DELAY = SuiteConfig().unbonding_delay_s
TIERS = SuiteConfig().tier_thresholds


def _approve_and_stake(chain: Chain, who: str, amount: int) -> None:
    send(chain.w3, chain.suite.agt.functions.approve(chain.suite.staking_vault.address, amount), who)
    send(chain.w3, chain.suite.staking_vault.functions.stake(amount), who)


def _permit_signature(chain: Chain, owner: LocalAccount, spender: str, value: int, deadline: int):
    agt = chain.suite.agt
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                       {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                       {"name": "deadline", "type": "uint256"}],
        },
        "primaryType": "Permit",
        "domain": {"name": "Alaya Token", "version": "1", "chainId": chain.w3.eth.chain_id,
                   "verifyingContract": agt.address},
        "message": {"owner": owner.address, "spender": spender, "value": value,
                    "nonce": agt.functions.nonces(owner.address).call(), "deadline": deadline},
    }
    return Account.sign_typed_data(owner.key, full_message=typed)


def _funded_key(chain: Chain) -> LocalAccount:
    holder = Account.create()
    chain.w3.provider.make_request("anvil_setBalance", [holder.address, hex(10**18)])
    chain.fund(holder.address, 1_000 * AGT_UNIT)
    return holder


def test_permit_sets_allowance_without_a_transaction_from_the_owner(chain: Chain) -> None:
    holder = _funded_key(chain)
    deadline = latest_timestamp(chain.w3) + 3600
    signed = _permit_signature(chain, holder, chain.bob, 123, deadline)
    agt = chain.suite.agt
    send(chain.w3, agt.functions.permit(holder.address, chain.bob, 123, deadline, signed.v,
                                        signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")), chain.bob)
    assert agt.functions.allowance(holder.address, chain.bob).call() == 123
    assert agt.functions.nonces(holder.address).call() == 1


def test_permit_refusals_are_decoded(chain: Chain) -> None:
    holder = _funded_key(chain)
    agt = chain.suite.agt
    past = latest_timestamp(chain.w3) - 1
    signed = _permit_signature(chain, holder, chain.bob, 5, past)
    args = (signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))
    with refused("ERC2612ExpiredSignature", deadline=past):
        send(chain.w3, agt.functions.permit(holder.address, chain.bob, 5, past, *args), chain.bob)
    future = past + 3600
    signed = _permit_signature(chain, holder, chain.bob, 5, future)
    args = (signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))
    with refused("ERC2612InvalidSigner", owner=chain.alice):  # a permit replayed for someone else
        send(chain.w3, agt.functions.permit(chain.alice, chain.bob, 5, future, *args), chain.bob)


def test_stake_with_permit_in_one_transaction(chain: Chain) -> None:
    holder = _funded_key(chain)
    vault = chain.suite.staking_vault
    deadline = latest_timestamp(chain.w3) + 600
    signed = _permit_signature(chain, holder, vault.address, 150 * AGT_UNIT, deadline)
    send(chain.w3, vault.functions.stakeWithPermit(150 * AGT_UNIT, deadline, signed.v, signed.r.to_bytes(32, "big"),
                                                   signed.s.to_bytes(32, "big")), holder)
    assert vault.functions.stakeOf(holder.address).call() == 150 * AGT_UNIT
    assert vault.functions.tierOf(holder.address).call() == 1


def test_stake_with_permit_survives_a_front_run_permit(chain: Chain) -> None:
    """Someone who copies the permit from the mempool and submits it first must not block the stake."""
    holder = _funded_key(chain)
    vault, agt = chain.suite.staking_vault, chain.suite.agt
    deadline = latest_timestamp(chain.w3) + 600
    signed = _permit_signature(chain, holder, vault.address, 10, deadline)
    signature = (signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))
    send(chain.w3, agt.functions.permit(holder.address, vault.address, 10, deadline, *signature), chain.bob)
    send(chain.w3, vault.functions.stakeWithPermit(10, deadline, *signature), holder)
    assert vault.functions.stakeOf(holder.address).call() == 10
    with refused("ERC20InsufficientAllowance", allowance=0, needed=10):  # a spent permit grants nothing twice
        send(chain.w3, vault.functions.stakeWithPermit(10, deadline, *signature), holder)


def test_stake_unstake_withdraw_after_the_unbonding_delay(chain: Chain) -> None:
    vault, agt = chain.suite.staking_vault, chain.suite.agt
    before = agt.functions.balanceOf(chain.alice).call()
    _approve_and_stake(chain, chain.alice, 400 * AGT_UNIT)
    receipt = send(chain.w3, vault.functions.requestUnstake(150 * AGT_UNIT), chain.alice)
    unlock_at = event_args(vault, "UnstakeRequested", receipt)["unlockAt"]
    assert unlock_at == latest_timestamp(chain.w3) + DELAY
    assert vault.functions.stakeOf(chain.alice).call() == 250 * AGT_UNIT
    with refused("StillBonding", unlockAt=unlock_at):
        send(chain.w3, vault.functions.withdraw(), chain.alice)
    increase_time(chain.w3, DELAY - 10)
    with refused("StillBonding"):
        send(chain.w3, vault.functions.withdraw(), chain.alice)
    increase_time(chain.w3, 10)
    send(chain.w3, vault.functions.withdraw(), chain.alice)
    assert agt.functions.balanceOf(chain.alice).call() == before - 250 * AGT_UNIT
    assert vault.functions.pendingUnstakeOf(chain.alice).call() == [0, 0]
    assert vault.functions.totalStaked().call() == 250 * AGT_UNIT
    with refused("NothingToWithdraw"):
        send(chain.w3, vault.functions.withdraw(), chain.alice)


def test_staking_refusals(chain: Chain) -> None:
    vault = chain.suite.staking_vault
    with refused("ZeroAmount"):
        send(chain.w3, vault.functions.stake(0), chain.alice)
    with refused("ERC20InsufficientAllowance", spender=vault.address, allowance=0, needed=5):
        send(chain.w3, vault.functions.stake(5), chain.alice)
    _approve_and_stake(chain, chain.alice, 10)
    with refused("InsufficientStake", requested=11, available=10):
        send(chain.w3, vault.functions.requestUnstake(11), chain.alice)
    with refused("ZeroAmount"):
        send(chain.w3, vault.functions.requestUnstake(0), chain.alice)


def test_tier_follows_active_stake(chain: Chain) -> None:
    vault = chain.suite.staking_vault
    assert vault.functions.tierThresholds().call() == list(TIERS)
    assert vault.functions.tierOf(chain.alice).call() == 0
    _approve_and_stake(chain, chain.alice, TIERS[0] - 1)
    assert vault.functions.tierOf(chain.alice).call() == 0
    _approve_and_stake(chain, chain.alice, 1)
    assert vault.functions.tierOf(chain.alice).call() == 1
    _approve_and_stake(chain, chain.alice, TIERS[2] - TIERS[0])
    assert vault.functions.tierOf(chain.alice).call() == 3
    send(chain.w3, vault.functions.requestUnstake(TIERS[2] - TIERS[1] + 1), chain.alice)  # pending stops counting
    assert vault.functions.tierOf(chain.alice).call() == 1


def test_tier_thresholds_are_owner_only_and_ascending(chain: Chain) -> None:
    vault = chain.suite.staking_vault
    with refused("OwnableUnauthorizedAccount", account=chain.alice):
        send(chain.w3, vault.functions.setTierThresholds([1, 2]), chain.alice)
    with refused("ThresholdsNotAscending", index=1):
        send(chain.w3, vault.functions.setTierThresholds([5, 5]), chain.admin)
    with refused("ThresholdsNotAscending", index=0):
        send(chain.w3, vault.functions.setTierThresholds([0]), chain.admin)
    with refused("TooManyTiers", count=17, max=16):
        send(chain.w3, vault.functions.setTierThresholds(list(range(1, 18))), chain.admin)
    send(chain.w3, vault.functions.setTierThresholds([7]), chain.admin)
    assert vault.functions.tierThresholds().call() == [7]

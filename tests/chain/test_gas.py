"""Gas of the main calls, against ceilings: a contract change that makes a user's call much dearer fails here.

Run with `-s` to see the table. The ceilings are the figures measured when the contracts were
written (anvil, cancun, optimizer 200 runs) plus about 15%."""

from __future__ import annotations

from eth_account import Account

from app.wallet.contracts import SuiteConfig, load_artifact, send, voucher_typed_data
from app.wallet.merkle import MerkleTree, submission_leaf
from tests.chain.anvil import increase_time, latest_timestamp
from tests.chain.conftest import Chain

CEILINGS = {  # measured, +15%, rounded up to 1,000
    "deploy AGT": 1_115_000,
    "deploy StakingVault": 1_138_000,
    "deploy AlayaNFT": 1_917_000,
    "deploy Medallion": 1_652_000,
    "deploy RewardPool": 1_679_000,
    "deploy AuditAnchor": 709_000,
    "AGT approve": 54_000,
    "StakingVault stake (first)": 120_000,
    "StakingVault requestUnstake": 91_000,
    "StakingVault withdraw": 50_000,
    "AlayaNFT join": 113_000,
    "AlayaNFT upgrade": 88_000,
    "Medallion award": 146_000,
    "RewardPool openEpoch": 88_000,
    "RewardPool fund": 100_000,
    "RewardPool claim": 120_000,
    "AuditAnchor anchor": 82_000,
}


def _measure(chain: Chain) -> dict[str, int]:
    w3, suite, alice = chain.w3, chain.suite, chain.alice
    gas: dict[str, int] = {}

    def record(label: str, receipt) -> None:
        gas[label] = int(receipt["gasUsed"])

    for name, args in (("AGT", (chain.treasury, 10**27)), ("StakingVault", (suite.agt.address, 60, [1], chain.admin)),
                       ("AlayaNFT", (suite.agt.address, [1], chain.admin)),
                       ("Medallion", (chain.admin, chain.admin)), ("RewardPool", (chain.admin, chain.admin)),
                       ("AuditAnchor", (chain.admin, chain.admin))):
        artifact = load_artifact(name)
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        record(f"deploy {name}", send(w3, factory.constructor(*args), chain.admin))
    record("AGT approve", send(w3, suite.agt.functions.approve(suite.staking_vault.address, 10**21), alice))
    record("StakingVault stake (first)", send(w3, suite.staking_vault.functions.stake(10**21), alice))
    record("StakingVault requestUnstake", send(w3, suite.staking_vault.functions.requestUnstake(10**20), alice))
    increase_time(w3, SuiteConfig().unbonding_delay_s)
    record("StakingVault withdraw", send(w3, suite.staking_vault.functions.withdraw(), alice))
    record("AlayaNFT join", send(w3, suite.alaya_nft.functions.join(), alice))
    send(w3, suite.agt.functions.approve(suite.alaya_nft.address, 10**21), alice)
    record("AlayaNFT upgrade", send(w3, suite.alaya_nft.functions.upgrade(), alice))
    record("Medallion award", send(w3, suite.medallion.functions.award(alice, 1), chain.coordinator))
    now = latest_timestamp(w3)
    pool = suite.reward_pool
    record("RewardPool openEpoch", send(w3, pool.functions.openEpoch(1, suite.agt.address, now, now + 10**6),
                                        chain.coordinator))
    send(w3, suite.agt.functions.approve(pool.address, 10**21), chain.treasury)
    record("RewardPool fund", send(w3, pool.functions.fund(1, 10**21), chain.treasury))
    typed = voucher_typed_data(pool, w3.eth.chain_id, epoch=1, account=alice, amount=10**20, deadline=now + 10**5)
    signature = Account.sign_typed_data(chain.coordinator.key, full_message=typed).signature
    record("RewardPool claim", send(w3, pool.functions.claim((1, alice, 10**20, now + 10**5), signature), chain.bob))
    root = MerkleTree.build([submission_leaf(1, alice, bytes([i]) * 32) for i in range(100)]).root
    record("AuditAnchor anchor", send(w3, suite.audit_anchor.functions.anchor(1, root, 100), chain.coordinator))
    return gas


def test_gas_of_main_calls_stays_under_ceilings(chain: Chain) -> None:
    gas = _measure(chain)
    print("\n" + "\n".join(f"{label:32} {used:>10,} gas  (ceiling {CEILINGS[label]:,})" for label, used in gas.items()))
    assert set(gas) == set(CEILINGS)
    over = {label: used for label, used in gas.items() if used > CEILINGS[label]}
    assert not over, over

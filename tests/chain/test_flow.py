"""The chain half of the contributor's journey, in one run: stake to a tier, buy a level, earn a
medallion, claim the epoch's voucher, and prove a submission against the anchored root."""

from __future__ import annotations

import hashlib
import time

from eth_account import Account

from app.wallet.contracts import SuiteConfig, send, voucher_typed_data
from app.wallet.merkle import MerkleTree, epoch_id, submission_leaf
from tests.chain.anvil import latest_timestamp
from tests.chain.conftest import Chain

CONFIG = SuiteConfig()


def test_contributor_journey_on_chain(chain: Chain) -> None:
    started = time.perf_counter()
    w3, suite, me, coordinator = chain.w3, chain.suite, chain.alice, chain.coordinator
    stake = CONFIG.tier_thresholds[1]
    send(w3, suite.agt.functions.approve(suite.staking_vault.address, stake), me)
    send(w3, suite.staking_vault.functions.stake(stake), me)
    assert suite.staking_vault.functions.tierOf(me).call() == 2  # what the coordinator routes on

    send(w3, suite.alaya_nft.functions.join(), me)
    send(w3, suite.agt.functions.approve(suite.alaya_nft.address, CONFIG.upgrade_prices[0]), me)
    send(w3, suite.alaya_nft.functions.upgrade(), me)
    send(w3, suite.medallion.functions.award(me, 1), coordinator)
    assert suite.alaya_nft.functions.levelOf(me).call() == 1 and suite.medallion.functions.balanceOf(me).call() == 1

    epoch = epoch_id("2026-12")
    now = latest_timestamp(w3)
    pool = suite.reward_pool
    send(w3, pool.functions.openEpoch(epoch, suite.agt.address, now, now + 86_400), coordinator)
    send(w3, suite.agt.functions.approve(pool.address, 10**21), chain.treasury)
    send(w3, pool.functions.fund(epoch, 10**21), chain.treasury)
    voucher = {"epoch": epoch, "account": me, "amount": 37 * 10**18, "deadline": now + 3600}
    typed = voucher_typed_data(pool, w3.eth.chain_id, **voucher)
    signature = Account.sign_typed_data(coordinator.key, full_message=typed).signature
    balance = suite.agt.functions.balanceOf(me).call()
    send(w3, pool.functions.claim(tuple(voucher.values()), signature), me)
    assert suite.agt.functions.balanceOf(me).call() == balance + voucher["amount"]

    accepted = [(w3.eth.accounts[i % 5], hashlib.sha256(f"submission {i}".encode()).digest()) for i in range(50)]
    mine = (me, hashlib.sha256(b"my submission").digest())
    tree = MerkleTree.build([submission_leaf(epoch, who, digest) for who, digest in [*accepted, mine]])
    send(w3, suite.audit_anchor.functions.anchor(epoch, tree.root, tree.leaf_count), coordinator)
    proof = tree.proof(submission_leaf(epoch, *mine))
    assert suite.audit_anchor.functions.verifySubmission(epoch, *mine, proof).call() is True
    print(f"\non-chain journey: {time.perf_counter() - started:.2f} s")

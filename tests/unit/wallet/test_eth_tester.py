"""The contracts on eth-tester's in-process EVM (py-evm's Prague VM runs our cancun bytecode):
fast checks without a node, and proof that reverts decode on this backend too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import EthereumTesterProvider, Web3

from app.wallet.contracts import SuiteConfig, deploy_suite, send
from app.wallet.merkle import MerkleTree, submission_leaf
from app.wallet.revert import ContractReverted


@pytest.fixture(scope="module")
def w3() -> Iterator[Web3]:
    yield Web3(EthereumTesterProvider())


def test_suite_deploys_and_stakes_in_process(w3: Web3) -> None:
    admin, treasury, coordinator, alice = w3.eth.accounts[:4]
    suite = deploy_suite(w3, admin, coordinator=coordinator, treasury=treasury)
    agt, vault = suite.agt, suite.staking_vault
    send(w3, agt.functions.transfer(alice, 500), treasury)
    send(w3, agt.functions.approve(vault.address, 500), alice)
    send(w3, vault.functions.stake(500), alice)
    send(w3, vault.functions.requestUnstake(200), alice)
    with pytest.raises(ContractReverted) as caught:
        send(w3, vault.functions.withdraw(), alice)
    unlock_at = vault.functions.pendingUnstakeOf(alice).call()[1]
    assert caught.value.revert.name == "StillBonding" and caught.value.revert.args == {"unlockAt": unlock_at}
    assert unlock_at - w3.eth.get_block("latest")["timestamp"] == SuiteConfig().unbonding_delay_s

    leaves = [submission_leaf(1, alice, bytes([i]) * 32) for i in range(5)]
    tree = MerkleTree.build(leaves)
    send(w3, suite.audit_anchor.functions.anchor(1, tree.root, 5), coordinator)
    assert all(suite.audit_anchor.functions.verifyLeaf(1, leaf, tree.proof(leaf)).call() for leaf in leaves)

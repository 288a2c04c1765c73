"""AuditAnchor: the coordinator anchors a root per epoch; proofs built by app.wallet.merkle verify on chain."""

from __future__ import annotations

import hashlib

import pytest

from app.wallet.contracts import call, send
from app.wallet.merkle import MerkleTree, epoch_id, submission_leaf
from tests.chain.conftest import Chain
from tests.chain.helpers import event_args, refused

EPOCH = epoch_id("2026-12")


def _submissions(chain: Chain, count: int) -> list[tuple[str, bytes]]:
    contributors = chain.w3.eth.accounts
    return [(contributors[i % len(contributors)], hashlib.sha256(f"payload {i}".encode()).digest())
            for i in range(count)]


@pytest.mark.parametrize("count", [1, 2, 7])
def test_every_submission_verifies_and_tampering_fails(chain: Chain, count: int) -> None:
    anchor = chain.suite.audit_anchor
    submissions = _submissions(chain, count)
    leaves = [submission_leaf(EPOCH, who, digest) for who, digest in submissions]
    tree = MerkleTree.build(leaves)
    receipt = send(chain.w3, anchor.functions.anchor(EPOCH, tree.root, count), chain.coordinator)
    assert event_args(anchor, "RootAnchored", receipt) == {"epoch": EPOCH, "root": tree.root, "leafCount": count}
    for (who, digest), leaf in zip(submissions, leaves):
        assert anchor.functions.submissionLeaf(EPOCH, who, digest).call() == leaf
        proof = tree.proof(leaf)
        assert anchor.functions.verifySubmission(EPOCH, who, digest, proof).call() is True
        assert anchor.functions.verifyLeaf(EPOCH, leaf, proof).call() is True
        tampered_digest = bytes([digest[0] ^ 1]) + digest[1:]
        assert anchor.functions.verifySubmission(EPOCH, who, tampered_digest, proof).call() is False
        someone_else = chain.bob if who != chain.bob else chain.alice
        assert anchor.functions.verifySubmission(EPOCH, someone_else, digest, proof).call() is False
        if proof:
            bent = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert anchor.functions.verifySubmission(EPOCH, who, digest, bent).call() is False


def test_roots_are_final_and_coordinator_only(chain: Chain) -> None:
    anchor = chain.suite.audit_anchor
    root = MerkleTree.build([submission_leaf(EPOCH, chain.alice, b"\x01" * 32)]).root
    role = anchor.functions.ANCHOR_ROLE().call()
    with refused("AccessControlUnauthorizedAccount", account=chain.alice, neededRole=role):
        send(chain.w3, anchor.functions.anchor(EPOCH, root, 1), chain.alice)
    with refused("EmptyRoot"):
        send(chain.w3, anchor.functions.anchor(EPOCH, b"\x00" * 32, 1), chain.coordinator)
    with refused("EmptyRoot"):
        send(chain.w3, anchor.functions.anchor(EPOCH, root, 0), chain.coordinator)
    with refused("NoRootForEpoch", epoch=EPOCH):
        call(anchor.functions.verifyLeaf(EPOCH, root, []))
    send(chain.w3, anchor.functions.anchor(EPOCH, root, 1), chain.coordinator)
    with refused("RootAlreadyAnchored", epoch=EPOCH, root=root):
        send(chain.w3, anchor.functions.anchor(EPOCH, b"\x02" * 32, 1), chain.coordinator)
    stored_root, leaf_count, anchored_at = anchor.functions.anchors(EPOCH).call()
    assert (stored_root, leaf_count) == (root, 1) and anchored_at > 0

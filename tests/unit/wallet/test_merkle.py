"""merkle.py: OpenZeppelin-standard leaves, sorted-pair trees, proofs; bad input refused."""

from __future__ import annotations

import hashlib

import pytest
from eth_abi import encode
from eth_utils import keccak

from app.core.errors import ValidationError
from app.wallet.merkle import (MerkleTree, epoch_id, hash_pair, leaf_hash, process_proof, submission_leaf,
                               verify_proof)

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _leaves(count: int) -> list[bytes]:
    return [submission_leaf(202612, ALICE, hashlib.sha256(bytes([i])).digest()) for i in range(count)]


def test_submission_leaf_is_the_double_hash_of_the_abi_encoding() -> None:
    digest = hashlib.sha256(b"x").digest()
    expected = keccak(keccak(encode(["uint256", "address", "bytes32"], [202612, ALICE, digest])))
    assert submission_leaf(202612, ALICE, digest) == expected
    assert submission_leaf(202612, ALICE.lower(), "0x" + digest.hex()) == expected


def test_pairs_are_sorted_before_hashing() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    assert hash_pair(a, b) == hash_pair(b, a) == keccak(a + b)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 9, 16, 33])
def test_every_leaf_proves_and_nothing_else_does(count: int) -> None:
    leaves = _leaves(count)
    tree = MerkleTree.build(leaves)
    assert tree.leaf_count == count
    for leaf in leaves:
        proof = tree.proof(leaf)
        assert verify_proof(tree.root, leaf, proof)
        assert len(proof) <= count.bit_length()
    outsider = submission_leaf(202612, ALICE, b"\xff" * 32)
    assert not verify_proof(tree.root, outsider, tree.proof(leaves[0]))


def test_tree_does_not_depend_on_leaf_order() -> None:
    leaves = _leaves(6)
    assert MerkleTree.build(leaves).root == MerkleTree.build(list(reversed(leaves))).root


def test_single_leaf_tree_is_its_leaf() -> None:
    (leaf,) = _leaves(1)
    tree = MerkleTree.build([leaf])
    assert tree.root == leaf and tree.proof(leaf) == [] and process_proof(leaf, []) == leaf


def test_epoch_ids() -> None:
    assert epoch_id("2026-12") == 202612 and epoch_id("2027-01") == 202701
    for bad in ("2026-13", "2026-00", "2026-1", "26-12", 202612):
        with pytest.raises(ValidationError, match="YYYY-MM"):
            epoch_id(bad)


def test_bad_input_is_refused() -> None:
    leaves = _leaves(3)
    with pytest.raises(ValidationError, match="at least one leaf"):
        MerkleTree.build([])
    with pytest.raises(ValidationError, match="twice"):
        MerkleTree.build([leaves[0], leaves[0]])
    with pytest.raises(ValidationError, match="32 bytes, got 3 bytes"):
        MerkleTree.build([b"abc"])
    with pytest.raises(ValidationError, match="not in this tree"):
        MerkleTree.build(leaves[:2]).proof(leaves[2])
    with pytest.raises(ValidationError, match="not an address"):
        submission_leaf(1, "0x1234", b"\x00" * 32)
    with pytest.raises(ValidationError, match="non-negative integer"):
        submission_leaf(-1, ALICE, b"\x00" * 32)
    with pytest.raises(ValidationError, match="not hex"):
        submission_leaf(1, ALICE, "0xzz")
    with pytest.raises(ValidationError, match="2 values for 3 types"):
        leaf_hash(["uint256", "address", "bytes32"], [1, ALICE])
    with pytest.raises(ValidationError, match="do not fit"):
        leaf_hash(["uint8"], [300])
    with pytest.raises(ValidationError, match="root"):
        verify_proof(b"", leaves[0], [])

"""Merkle trees of accepted submissions, built exactly as AuditAnchor verifies them.

Conventions (OpenZeppelin's StandardMerkleTree, so its JS library builds the same root):

- leaf = keccak256(keccak256(abi.encode(types, values))): for a submission the types are
  `(uint256 epoch, address contributor, bytes32 payloadSha256)` (see `submission_leaf`);
  hashing twice keeps a 64-byte inner node from passing as a leaf;
- inner node = keccak256(min(a, b) ++ max(a, b)): pairs are sorted, so a proof is just the
  list of siblings, with no left/right flags (OpenZeppelin MerkleProof);
- layout: leaves sorted by hash, stored in a flat array of 2n-1 nodes, leaf i at index
  2n-2-i, node k's children at 2k+1 and 2k+2, the root at 0. Duplicate leaves are refused
  (a proof would be ambiguous).

An epoch's id on chain is YYYYMM as an integer (the coordinator's "2026-12" is 202612).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_abi.exceptions import EncodingError
from eth_utils import is_address, keccak, to_checksum_address

from app.core.errors import ValidationError

SUBMISSION_LEAF_TYPES = ("uint256", "address", "bytes32")
_EPOCH_TEXT = re.compile(r"(\d{4})-(\d{2})")


def epoch_id(epoch: str) -> int:
    """The on-chain id of a coordinator epoch: "2026-12" -> 202612."""
    match = _EPOCH_TEXT.fullmatch(epoch) if isinstance(epoch, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValidationError(f"an epoch is YYYY-MM, not {epoch!r}", where="epoch")
    return int(match.group(1)) * 100 + int(match.group(2))


def leaf_hash(types: Sequence[str], values: Sequence[object]) -> bytes:
    """keccak256(keccak256(abi.encode(values))): OpenZeppelin's standard leaf."""
    if len(types) != len(values):
        raise ValidationError(f"{len(values)} values for {len(types)} types", where="leaf")
    try:
        encoded = abi_encode(list(types), list(values))
    except (EncodingError, TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"values do not fit {tuple(types)}: {exc}", where="leaf") from exc
    return keccak(keccak(encoded))


def submission_leaf(epoch: int, contributor: str, payload_sha256: bytes | str) -> bytes:
    """The leaf of one accepted submission (AuditAnchor.submissionLeaf)."""
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ValidationError(f"the epoch id must be a non-negative integer, not {epoch!r}", where="epoch")
    if not isinstance(contributor, str) or not is_address(contributor):
        raise ValidationError(f"not an address: {contributor!r}", where="contributor")
    digest = _bytes32(payload_sha256, "payload_sha256")
    return leaf_hash(SUBMISSION_LEAF_TYPES, (epoch, to_checksum_address(contributor), digest))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """An inner node: the two children sorted, concatenated, hashed."""
    return keccak(a + b) if a < b else keccak(b + a)


@dataclass(frozen=True)
class MerkleTree:
    """A tree over already-hashed leaves. Build it with `MerkleTree.build(leaves)`."""

    nodes: tuple[bytes, ...]

    @classmethod
    def build(cls, leaves: Sequence[bytes]) -> MerkleTree:
        hashed = [_bytes32(leaf, "leaf") for leaf in leaves]
        if not hashed:
            raise ValidationError("a tree needs at least one leaf", where="leaves")
        if len(set(hashed)) != len(hashed):
            raise ValidationError("the same leaf appears twice", where="leaves")
        count = 2 * len(hashed) - 1
        nodes: list[bytes] = [b""] * count
        for index, leaf in enumerate(sorted(hashed)):
            nodes[count - 1 - index] = leaf
        for index in range(count - 1 - len(hashed), -1, -1):
            nodes[index] = hash_pair(nodes[2 * index + 1], nodes[2 * index + 2])
        return cls(tuple(nodes))

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    @property
    def leaf_count(self) -> int:
        return (len(self.nodes) + 1) // 2

    def proof(self, leaf: bytes) -> list[bytes]:
        """The siblings from `leaf` up to the root (what AuditAnchor.verifyLeaf takes)."""
        target = _bytes32(leaf, "leaf")
        first_leaf = len(self.nodes) - self.leaf_count
        try:
            index = self.nodes.index(target, first_leaf)
        except ValueError:
            raise ValidationError(f"leaf 0x{target.hex()} is not in this tree", where="leaf") from None
        siblings = []
        while index > 0:
            siblings.append(self.nodes[index - 1 if index % 2 == 0 else index + 1])
            index = (index - 1) // 2
        return siblings


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` leads to from `leaf` (MerkleProof.processProof)."""
    node = _bytes32(leaf, "leaf")
    for sibling in proof:
        node = hash_pair(node, _bytes32(sibling, "proof"))
    return node


def verify_proof(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """Whether `proof` shows `leaf` under `root`, as the contract checks it."""
    return process_proof(leaf, proof) == _bytes32(root, "root")


def _bytes32(value: bytes | str, where: str) -> bytes:
    if isinstance(value, str):
        text = value.removeprefix("0x")
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise ValidationError(f"not hex: {text[:80]!r}", where=where) from None
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        shown = f"{len(value)} bytes" if isinstance(value, (bytes, bytearray)) else type(value).__name__
        raise ValidationError(f"must be 32 bytes, got {shown}", where=where)
    return bytes(value)

"""app.wallet.merkle builds the same trees as OpenZeppelin's own StandardMerkleTree (npm)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from app.wallet.merkle import MerkleTree, submission_leaf
from tests.chain.anvil import NODE_MODULES, REPO_ROOT, require_node_modules

SCRIPT = Path(__file__).with_name("oz_merkle_tree.js")
CONTRIBUTORS = ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"]


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_root_and_proofs_match_openzeppelin(count: int) -> None:
    require_node_modules(NODE_MODULES / "@openzeppelin" / "merkle-tree")
    values = [(202600 + i, CONTRIBUTORS[i % 3], hashlib.sha256(bytes([i])).digest()) for i in range(count)]
    reference = json.loads(subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps([[str(e), who, "0x" + d.hex()] for e, who, d in values]),
        capture_output=True, text=True, check=True, cwd=REPO_ROOT, timeout=60).stdout)
    leaves = [submission_leaf(*value) for value in values]
    tree = MerkleTree.build(leaves)
    assert "0x" + tree.root.hex() == reference["root"]
    for leaf, expected in zip(leaves, reference["proofs"]):
        assert ["0x" + node.hex() for node in tree.proof(leaf)] == expected

// Reads [[epoch, contributor, payloadSha256], ...] as JSON on stdin and prints OpenZeppelin's
// StandardMerkleTree root and each value's proof: the reference app/wallet/merkle.py must match.
"use strict";
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");

const values = JSON.parse(require("fs").readFileSync(0, "utf8"));
const tree = StandardMerkleTree.of(values, ["uint256", "address", "bytes32"]);
const proofs = values.map((_, index) => tree.getProof(index));
process.stdout.write(JSON.stringify({ root: tree.root, proofs }));

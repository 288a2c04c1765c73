// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title AuditAnchor, the public record of accepted work
/// @notice Once per epoch the coordinator posts the Merkle root of the submissions it accepted;
///         anyone can then prove that a submission is included.
/// @dev Leaf encoding (OpenZeppelin StandardMerkleTree convention, built identically by
///      app/wallet/merkle.py):
///        leaf = keccak256(bytes.concat(keccak256(abi.encode(uint256 epoch, address contributor, bytes32 payloadSha256))))
///      Inner nodes hash the sorted pair: keccak256(min(a, b) ++ max(a, b)) (MerkleProof's convention).
///      The double hash keeps a 64-byte inner node from being passed off as a leaf.
contract AuditAnchor is AccessControl {
    bytes32 public constant ANCHOR_ROLE = keccak256("ANCHOR_ROLE");

    struct Anchor {
        bytes32 root;
        uint64 leafCount;
        uint64 anchoredAt;
    }

    mapping(uint256 epochId => Anchor) public anchors;

    event RootAnchored(uint256 indexed epoch, bytes32 root, uint64 leafCount);

    /// @notice Epoch `epoch` already has a root anchored (`root`); roots are final.
    error RootAlreadyAnchored(uint256 epoch, bytes32 root);
    /// @notice An anchored root must be non-zero and cover at least one submission.
    error EmptyRoot();
    /// @notice No root is anchored for epoch `epoch` yet.
    error NoRootForEpoch(uint256 epoch);

    constructor(address admin, address coordinator) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ANCHOR_ROLE, coordinator);
    }

    /// @notice Post the root of epoch `epoch`'s accepted submissions (once per epoch).
    function anchor(uint256 epoch, bytes32 root, uint64 leafCount) external onlyRole(ANCHOR_ROLE) {
        if (root == bytes32(0) || leafCount == 0) revert EmptyRoot();
        bytes32 existing = anchors[epoch].root;
        if (existing != bytes32(0)) revert RootAlreadyAnchored(epoch, existing);
        anchors[epoch] = Anchor(root, leafCount, uint64(block.timestamp));
        emit RootAnchored(epoch, root, leafCount);
    }

    /// @notice The leaf of one accepted submission, as the tree holds it.
    function submissionLeaf(uint256 epoch, address contributor, bytes32 payloadSha256) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(epoch, contributor, payloadSha256))));
    }

    /// @notice Whether `contributor`'s submission with `payloadSha256` is in epoch `epoch`'s anchored root.
    function verifySubmission(uint256 epoch, address contributor, bytes32 payloadSha256, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return verifyLeaf(epoch, submissionLeaf(epoch, contributor, payloadSha256), proof);
    }

    /// @notice Whether `leaf` (already hashed as above) is in epoch `epoch`'s anchored root.
    function verifyLeaf(uint256 epoch, bytes32 leaf, bytes32[] calldata proof) public view returns (bool) {
        bytes32 root = anchors[epoch].root;
        if (root == bytes32(0)) revert NoRootForEpoch(epoch);
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }
}

// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title Medallion, soulbound achievement badges
/// @notice Achievement NFTs minted by the coordinator. They cannot be transferred or sold: an
///         achievement belongs to the person who earned it (ERC-5192 "locked" from birth).
/// @dev One medallion per (account, kind). Kinds are numbers the coordinator defines off chain.
contract Medallion is ERC721, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    /// ERC-5192 minimal soulbound interface id.
    bytes4 private constant _ERC5192_ID = 0xb45a3c0e;

    uint256 public nextTokenId = 1;
    mapping(uint256 tokenId => uint256) public kindOf;
    mapping(address account => mapping(uint256 kind => uint256)) public medallionOf;
    string private _baseTokenURI;

    /// ERC-5192: emitted once per token, at mint.
    event Locked(uint256 tokenId);
    event MedallionAwarded(address indexed account, uint256 indexed kind, uint256 tokenId);

    /// @notice Medallions are soulbound: token `tokenId` cannot be transferred.
    error Soulbound(uint256 tokenId);
    /// @notice `account` already has a medallion of kind `kind` (token `tokenId`).
    error AlreadyAwarded(address account, uint256 kind, uint256 tokenId);

    constructor(address admin, address minter) ERC721("Alaya Medallion", "MEDAL") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, minter);
    }

    /// @notice Award `account` a medallion of `kind`.
    function award(address account, uint256 kind) external onlyRole(MINTER_ROLE) returns (uint256 tokenId) {
        uint256 held = medallionOf[account][kind];
        if (held != 0) revert AlreadyAwarded(account, kind, held);
        tokenId = nextTokenId++;
        kindOf[tokenId] = kind;
        medallionOf[account][kind] = tokenId;
        _safeMint(account, tokenId);
        emit Locked(tokenId);
        emit MedallionAwarded(account, kind, tokenId);
    }

    /// @notice ERC-5192: every medallion is locked to its holder.
    function locked(uint256 tokenId) external view returns (bool) {
        _requireOwned(tokenId);
        return true;
    }

    function setBaseURI(string calldata baseURI) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _baseTokenURI = baseURI;
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC721, AccessControl) returns (bool) {
        return interfaceId == _ERC5192_ID || super.supportsInterface(interfaceId);
    }

    function _baseURI() internal view override returns (string memory) {
        return _baseTokenURI;
    }

    /// @dev Only mints pass (from == 0); transfers and burns are refused.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        if (_ownerOf(tokenId) != address(0)) revert Soulbound(tokenId);
        return super._update(to, tokenId, auth);
    }
}

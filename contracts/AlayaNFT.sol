// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title AlayaNFT, the membership card
/// @notice One membership NFT per account. It starts at level 0; each upgrade to the next level
///         burns that level's price in AGT (approve this contract for the price first).
/// @dev Burned, not sent to a treasury: upgrades are a sink for AGT. `upgradePrices[i]` is the
///      price of going from level i to level i + 1, so the highest level is upgradePrices.length.
///      The card is transferable, but an account can hold only one, so levelOf(account) is defined.
contract AlayaNFT is ERC721, Ownable2Step, ReentrancyGuard {
    /// Prices are read in one go by the wallet: keep the list short.
    uint256 public constant MAX_LEVELS = 32;

    ERC20Burnable public immutable agt;
    uint256 public nextTokenId = 1;
    mapping(uint256 tokenId => uint256) public levelOfToken;
    mapping(address account => uint256) public membershipOf;
    uint256[] private _upgradePrices;
    string private _baseTokenURI;

    event Joined(address indexed account, uint256 indexed tokenId);
    event LevelUpgraded(uint256 indexed tokenId, address indexed account, uint256 level, uint256 pricePaid);
    event UpgradePricesSet(uint256[] prices);

    /// @notice `account` already holds membership card `tokenId`.
    error AlreadyMember(address account, uint256 tokenId);
    /// @notice `account` holds no membership card.
    error NotMember(address account);
    /// @notice Card `tokenId` is already at the highest level, `level`.
    error MaxLevelReached(uint256 tokenId, uint256 level);
    /// @notice At most `max` levels are allowed, `count` prices were given.
    error TooManyLevels(uint256 count, uint256 max);
    /// @notice The AGT token address must not be zero.
    error ZeroToken();

    constructor(ERC20Burnable agtToken, uint256[] memory prices, address owner)
        ERC721("Alaya Membership", "ALAYA")
        Ownable(owner)
    {
        if (address(agtToken) == address(0)) revert ZeroToken();
        agt = agtToken;
        _setUpgradePrices(prices);
    }

    /// @notice Mint your membership card, at level 0. Free; one per account.
    function join() external returns (uint256 tokenId) {
        tokenId = nextTokenId++;
        _safeMint(msg.sender, tokenId);
        emit Joined(msg.sender, tokenId);
    }

    /// @notice Upgrade your card one level, burning that level's price in AGT from your balance.
    function upgrade() external nonReentrant returns (uint256 level) {
        uint256 tokenId = membershipOf[msg.sender];
        if (tokenId == 0) revert NotMember(msg.sender);
        uint256 current = levelOfToken[tokenId];
        if (current >= _upgradePrices.length) revert MaxLevelReached(tokenId, current);
        uint256 price = _upgradePrices[current];
        level = current + 1;
        levelOfToken[tokenId] = level;
        agt.burnFrom(msg.sender, price);
        emit LevelUpgraded(tokenId, msg.sender, level, price);
    }

    /// @notice The level of `account`'s card; 0 also when it holds none (see membershipOf).
    function levelOf(address account) external view returns (uint256) {
        return levelOfToken[membershipOf[account]];
    }

    /// @notice Price of each upgrade: index i takes a card from level i to level i + 1.
    function upgradePrices() external view returns (uint256[] memory) {
        return _upgradePrices;
    }

    function setUpgradePrices(uint256[] calldata prices) external onlyOwner {
        _setUpgradePrices(prices);
    }

    function setBaseURI(string calldata baseURI) external onlyOwner {
        _baseTokenURI = baseURI;
    }

    function _baseURI() internal view override returns (string memory) {
        return _baseTokenURI;
    }

    /// @dev Keeps membershipOf in step with ownership and refuses a second card to one account.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        if (to != address(0)) {
            uint256 held = membershipOf[to];
            if (held != 0) revert AlreadyMember(to, held);
            membershipOf[to] = tokenId;
        }
        from = super._update(to, tokenId, auth);
        if (from != address(0)) delete membershipOf[from];
    }

    function _setUpgradePrices(uint256[] memory prices) private {
        if (prices.length > MAX_LEVELS) revert TooManyLevels(prices.length, MAX_LEVELS);
        _upgradePrices = prices;
        emit UpgradePricesSet(prices);
    }
}

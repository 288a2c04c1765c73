// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title StakingVault
/// @notice Stake AGT to unlock task tiers. No yield: the stake is a threshold, not an investment.
///         Unstaking is two steps: request (the amount stops counting at once), then withdraw once
///         the unbonding delay has passed.
/// @dev The tier of an account is the number of thresholds its active stake reaches (0: none).
///      One pending request per account: a new request adds to it and restarts the delay.
contract StakingVault is Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// Tiers are read on every lease routing decision: keep the loop short.
    uint256 public constant MAX_TIERS = 16;

    struct PendingUnstake {
        uint256 amount;
        uint64 unlockAt;
    }

    IERC20 public immutable token;
    uint64 public immutable unbondingDelay;
    uint256 public totalStaked;
    mapping(address account => uint256) public stakeOf;
    mapping(address account => PendingUnstake) public pendingUnstakeOf;
    uint256[] private _tierThresholds;

    event Staked(address indexed account, uint256 amount, uint256 activeStake);
    event UnstakeRequested(address indexed account, uint256 amount, uint256 pending, uint64 unlockAt);
    event Withdrawn(address indexed account, uint256 amount);
    event TierThresholdsSet(uint256[] thresholds);

    /// @notice The amount must be more than zero.
    error ZeroAmount();
    /// @notice You asked to unstake `requested` but only `available` is staked.
    error InsufficientStake(uint256 requested, uint256 available);
    /// @notice There is nothing waiting to be withdrawn.
    error NothingToWithdraw();
    /// @notice The unstaked amount is still bonding until `unlockAt`.
    error StillBonding(uint64 unlockAt);
    /// @notice Tier thresholds must be above zero and strictly increasing (problem at index `index`).
    error ThresholdsNotAscending(uint256 index);
    /// @notice At most `max` tiers are allowed, `count` were given.
    error TooManyTiers(uint256 count, uint256 max);
    /// @notice The staking token address must not be zero.
    error ZeroToken();

    constructor(IERC20 stakingToken, uint64 unbondingDelaySeconds, uint256[] memory thresholds, address owner)
        Ownable(owner)
    {
        if (address(stakingToken) == address(0)) revert ZeroToken();
        token = stakingToken;
        unbondingDelay = unbondingDelaySeconds;
        _setTierThresholds(thresholds);
    }

    /// @notice Stake `amount` (approve this vault first, or use stakeWithPermit).
    function stake(uint256 amount) external nonReentrant {
        _stake(msg.sender, amount);
    }

    /// @notice Approve by EIP-2612 signature and stake in one transaction.
    /// @dev The permit is tried, not required: if someone front-ran it with the same signature the
    ///      allowance is already there and the stake still goes through.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _stake(msg.sender, amount);
    }

    /// @notice Stop `amount` of your stake from counting; withdraw it after the unbonding delay.
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 active = stakeOf[msg.sender];
        if (amount > active) revert InsufficientStake(amount, active);
        stakeOf[msg.sender] = active - amount;
        totalStaked -= amount;
        PendingUnstake storage pending = pendingUnstakeOf[msg.sender];
        pending.amount += amount;
        pending.unlockAt = uint64(block.timestamp) + unbondingDelay;
        emit UnstakeRequested(msg.sender, amount, pending.amount, pending.unlockAt);
    }

    /// @notice Withdraw what you asked to unstake, once its unbonding delay has passed.
    function withdraw() external nonReentrant {
        PendingUnstake memory pending = pendingUnstakeOf[msg.sender];
        if (pending.amount == 0) revert NothingToWithdraw();
        if (block.timestamp < pending.unlockAt) revert StillBonding(pending.unlockAt);
        delete pendingUnstakeOf[msg.sender];
        token.safeTransfer(msg.sender, pending.amount);
        emit Withdrawn(msg.sender, pending.amount);
    }

    /// @notice The tier `account` has now: how many thresholds its active stake reaches.
    function tierOf(address account) external view returns (uint256 tier) {
        uint256 active = stakeOf[account];
        uint256 count = _tierThresholds.length;
        while (tier < count && active >= _tierThresholds[tier]) {
            ++tier;
        }
    }

    /// @notice The stake needed for each tier: index 0 is tier 1.
    function tierThresholds() external view returns (uint256[] memory) {
        return _tierThresholds;
    }

    function setTierThresholds(uint256[] calldata thresholds) external onlyOwner {
        _setTierThresholds(thresholds);
    }

    function _stake(address account, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(account, address(this), amount);
        uint256 active = stakeOf[account] + amount;
        stakeOf[account] = active;
        totalStaked += amount;
        emit Staked(account, amount, active);
    }

    function _setTierThresholds(uint256[] memory thresholds) private {
        if (thresholds.length > MAX_TIERS) revert TooManyTiers(thresholds.length, MAX_TIERS);
        uint256 previous = 0;
        for (uint256 i = 0; i < thresholds.length; ++i) {
            if (thresholds[i] <= previous) revert ThresholdsNotAscending(i);
            previous = thresholds[i];
        }
        _tierThresholds = thresholds;
        emit TierThresholdsSet(thresholds);
    }
}

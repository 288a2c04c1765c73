// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title RewardPool, redemption of off-chain credits
/// @notice Each epoch is a pool of one ERC-20 (AGT, or a requester's own token) with a claim window.
///         Contributors claim with a voucher the coordinator signed (EIP-712), once per epoch.
/// @dev The EIP-712 domain is ("Alaya RewardPool", "1", chainId, this pool), so a voucher is good on
///      one chain and one pool only. Tokens always go to the voucher's account, so anyone (a relayer)
///      may submit the claim. Epoch ids are chosen by the coordinator (YYYYMM for monthly epochs).
contract RewardPool is AccessControl, EIP712, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant EPOCH_MANAGER_ROLE = keccak256("EPOCH_MANAGER_ROLE");
    bytes32 public constant VOUCHER_SIGNER_ROLE = keccak256("VOUCHER_SIGNER_ROLE");
    bytes32 public constant VOUCHER_TYPEHASH =
        keccak256("Voucher(uint256 epoch,address account,uint256 amount,uint256 deadline)");

    struct Voucher {
        uint256 epoch;
        address account;
        uint256 amount;
        uint256 deadline;
    }

    struct Epoch {
        IERC20 token;
        uint64 opensAt;
        uint64 closesAt;
        uint256 funded;
        uint256 claimed;
    }

    mapping(uint256 epochId => Epoch) public epochs;
    mapping(uint256 epochId => mapping(address account => bool)) public claimed;

    event EpochOpened(uint256 indexed epoch, address indexed token, uint64 opensAt, uint64 closesAt);
    event EpochFunded(uint256 indexed epoch, address indexed funder, uint256 amount);
    event Claimed(uint256 indexed epoch, address indexed account, uint256 amount);
    event Swept(uint256 indexed epoch, address indexed to, uint256 amount);

    /// @notice Epoch `epoch` does not exist on this pool.
    error UnknownEpoch(uint256 epoch);
    /// @notice Epoch `epoch` already exists.
    error EpochExists(uint256 epoch);
    /// @notice A claim window must end after it opens (`opensAt` .. `closesAt`).
    error InvalidClaimWindow(uint64 opensAt, uint64 closesAt);
    /// @notice The pool token address must not be zero.
    error ZeroToken();
    /// @notice The amount must be more than zero.
    error ZeroAmount();
    /// @notice Claims for epoch `epoch` open at `opensAt`.
    error ClaimWindowNotOpen(uint256 epoch, uint64 opensAt);
    /// @notice Claims for epoch `epoch` closed at `closesAt`.
    error ClaimWindowClosed(uint256 epoch, uint64 closesAt);
    /// @notice Epoch `epoch` can be swept only after its claim window closes at `closesAt`.
    error ClaimWindowStillOpen(uint256 epoch, uint64 closesAt);
    /// @notice This voucher expired at `deadline`.
    error VoucherExpired(uint256 deadline);
    /// @notice `account` already claimed epoch `epoch`.
    error AlreadyClaimed(uint256 epoch, address account);
    /// @notice The voucher was not signed by the coordinator for this chain and pool (it recovers to `signer`).
    error InvalidVoucherSigner(address signer);
    /// @notice Epoch `epoch` holds `available`, less than the `requested` amount.
    error InsufficientPoolBalance(uint256 epoch, uint256 requested, uint256 available);

    constructor(address admin, address coordinator) EIP712("Alaya RewardPool", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(EPOCH_MANAGER_ROLE, coordinator);
        _grantRole(VOUCHER_SIGNER_ROLE, coordinator);
    }

    /// @notice Open epoch `epochId` paying in `token`, claimable from `opensAt` to `closesAt` (inclusive).
    function openEpoch(uint256 epochId, IERC20 token, uint64 opensAt, uint64 closesAt)
        external
        onlyRole(EPOCH_MANAGER_ROLE)
    {
        if (address(token) == address(0)) revert ZeroToken();
        if (closesAt <= opensAt) revert InvalidClaimWindow(opensAt, closesAt);
        if (address(epochs[epochId].token) != address(0)) revert EpochExists(epochId);
        epochs[epochId] = Epoch(token, opensAt, closesAt, 0, 0);
        emit EpochOpened(epochId, address(token), opensAt, closesAt);
    }

    /// @notice Add `amount` of the epoch's token to its pool (approve this pool first). Anyone may fund.
    function fund(uint256 epochId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Epoch storage epoch = _existing(epochId);
        // Count what arrived, not what was asked: fee-on-transfer tokens deliver less.
        uint256 before = epoch.token.balanceOf(address(this));
        epoch.token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = epoch.token.balanceOf(address(this)) - before;
        epoch.funded += received;
        emit EpochFunded(epochId, msg.sender, received);
    }

    /// @notice Pay a coordinator-signed voucher to its account.
    function claim(Voucher calldata voucher, bytes calldata signature) external nonReentrant {
        Epoch storage epoch = _existing(voucher.epoch);
        if (block.timestamp < epoch.opensAt) revert ClaimWindowNotOpen(voucher.epoch, epoch.opensAt);
        if (block.timestamp > epoch.closesAt) revert ClaimWindowClosed(voucher.epoch, epoch.closesAt);
        if (block.timestamp > voucher.deadline) revert VoucherExpired(voucher.deadline);
        if (claimed[voucher.epoch][voucher.account]) revert AlreadyClaimed(voucher.epoch, voucher.account);
        address signer = ECDSA.recover(voucherDigest(voucher), signature);
        if (!hasRole(VOUCHER_SIGNER_ROLE, signer)) revert InvalidVoucherSigner(signer);
        if (voucher.amount == 0) revert ZeroAmount();
        uint256 available = epoch.funded - epoch.claimed;
        if (voucher.amount > available) revert InsufficientPoolBalance(voucher.epoch, voucher.amount, available);
        claimed[voucher.epoch][voucher.account] = true;
        epoch.claimed += voucher.amount;
        epoch.token.safeTransfer(voucher.account, voucher.amount);
        emit Claimed(voucher.epoch, voucher.account, voucher.amount);
    }

    /// @notice After the claim window, send what nobody claimed to `to` (e.g. back to the requester).
    function sweep(uint256 epochId, address to) external onlyRole(EPOCH_MANAGER_ROLE) nonReentrant {
        Epoch storage epoch = _existing(epochId);
        if (block.timestamp <= epoch.closesAt) revert ClaimWindowStillOpen(epochId, epoch.closesAt);
        uint256 remaining = epoch.funded - epoch.claimed;
        if (remaining == 0) revert ZeroAmount();
        epoch.claimed = epoch.funded;
        epoch.token.safeTransfer(to, remaining);
        emit Swept(epochId, to, remaining);
    }

    /// @notice The EIP-712 digest the coordinator signs for `voucher`.
    function voucherDigest(Voucher calldata voucher) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(VOUCHER_TYPEHASH, voucher.epoch, voucher.account, voucher.amount, voucher.deadline))
        );
    }

    function _existing(uint256 epochId) private view returns (Epoch storage epoch) {
        epoch = epochs[epochId];
        if (address(epoch.token) == address(0)) revert UnknownEpoch(epochId);
    }
}

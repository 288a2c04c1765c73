// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title AGT, the Alaya token
/// @notice A fixed-supply ERC-20 with EIP-2612 permit (approve by signature, no gas for the holder).
/// @dev The whole supply is minted once to `initialHolder` (the treasury); there is no mint function.
///      Burnable because AlayaNFT level upgrades burn the price they charge.
contract AGT is ERC20, ERC20Burnable, ERC20Permit {
    /// @notice The token needs a holder for its initial supply.
    error ZeroInitialHolder();

    constructor(address initialHolder, uint256 initialSupply)
        ERC20("Alaya Token", "AGT")
        ERC20Permit("Alaya Token")
    {
        if (initialHolder == address(0)) revert ZeroInitialHolder();
        _mint(initialHolder, initialSupply);
    }
}

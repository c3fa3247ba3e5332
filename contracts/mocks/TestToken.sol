// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @notice A plain EIP-2612 token that anyone can mint, for tests, benchmarks and the demo.
contract TestToken is ERC20, ERC20Permit {
    constructor() ERC20("Trickle Test USD", "tUSD") ERC20Permit("Trickle Test USD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

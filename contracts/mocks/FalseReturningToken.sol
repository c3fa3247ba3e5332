// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A token that, once switched, answers `false` to `transfer` and `transferFrom` without moving
/// anything and without reverting, like some pre-standard tokens.
contract FalseReturningToken is ERC20 {
    bool public failTransfers;
    bool public failTransfersFrom;

    constructor() ERC20("False Token", "FALSE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setFailures(bool transfers, bool transfersFrom) external {
        failTransfers = transfers;
        failTransfersFrom = transfersFrom;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (failTransfers) return false;
        return super.transfer(to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (failTransfersFrom) return false;
        return super.transferFrom(from, to, value);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A payer whose ETH receive can be switched off, so refunds to it take the credit path.
contract EthRejecter {
    error EthRefused();

    bool public accepting = true;

    function setAccepting(bool accepting_) external {
        accepting = accepting_;
    }

    receive() external payable {
        if (!accepting) revert EthRefused();
    }
}

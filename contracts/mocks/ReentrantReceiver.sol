// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice An attacker account: when it receives ETH it re-enters `reentryTarget` with `reentryData`, reports the
/// outcome in `Reentered` (an event, so it fits the gas of a payout), and then either accepts the payment
/// (`bubble == false`) or reverts with the re-entry's error.
contract ReentrantReceiver {
    event Reentered(bool succeeded, bytes result);

    // Not `target`: TypeChain would type that getter over ethers' `BaseContract.target` and fail to compile.
    address public reentryTarget;
    bytes public reentryData;
    bool public bubble;

    function arm(address target_, bytes calldata reentryData_, bool bubble_) external {
        reentryTarget = target_;
        reentryData = reentryData_;
        bubble = bubble_;
    }

    /// @notice Calls `to` with `data` and `msg.value`, bubbling up a revert.
    function execute(address to, bytes calldata data) external payable returns (bytes memory result) {
        bool ok;
        // solhint-disable-next-line avoid-low-level-calls
        (ok, result) = to.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    receive() external payable {
        address target_ = reentryTarget;
        if (target_ == address(0)) return;
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory result) = target_.call(reentryData);
        emit Reentered(ok, result);
        if (!ok && bubble) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A contract account that acts as a payer or payee through `execute`, and whose ETH `receive`
/// accepts, reverts, or burns all its gas depending on `mode`.
contract ReceiverAccount {
    enum Mode {
        Accept,
        Revert,
        BurnGas
    }

    error ReceiveRefused();

    Mode public mode;

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @notice Calls `target` with `data` and `msg.value`, bubbling up a revert.
    function execute(address target, bytes calldata data) external payable returns (bytes memory result) {
        bool ok;
        // solhint-disable-next-line avoid-low-level-calls
        (ok, result) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    receive() external payable {
        Mode current = mode;
        if (current == Mode.Revert) revert ReceiveRefused();
        if (current == Mode.BurnGas) {
            while (true) {} // solhint-disable-line no-empty-blocks
        }
    }
}

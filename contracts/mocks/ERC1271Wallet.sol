// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice A contract wallet used as a voucher signer. Depending on `mode` it approves signatures of its
/// owner key, refuses everything, reverts, or burns all the gas it is given.
contract ERC1271Wallet is IERC1271 {
    enum Mode {
        Approve,
        Refuse,
        Revert,
        BurnGas
    }

    error WalletReverted();

    address public immutable owner;
    Mode public mode;

    constructor(address owner_) {
        owner = owner_;
    }

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        Mode current = mode;
        if (current == Mode.Revert) revert WalletReverted();
        if (current == Mode.BurnGas) {
            // Spins until the forwarded gas runs out.
            while (true) {} // solhint-disable-line no-empty-blocks
        }
        if (current == Mode.Approve) {
            (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(hash, signature);
            if (err == ECDSA.RecoverError.NoError && recovered == owner) return IERC1271.isValidSignature.selector;
        }
        return 0xffffffff;
    }
}

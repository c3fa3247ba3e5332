// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Permit2 signature transfer
/// @author Trickle
/// @notice The part of Uniswap's Permit2 `SignatureTransfer` that {PaymentChannels} calls: a one-time transfer the
/// token holder signed for one spender, with a witness (extra typed data) that the signature also covers.
/// Permit2 lives at the same address on every chain, `0x000000000022D473030F116dDEE9F6B43aC78BA3`.
interface IPermit2SignatureTransfer {
    /// @notice The token and the most that may be moved.
    /// @param token The ERC-20 token.
    /// @param amount The most the spender may move.
    struct TokenPermissions {
        address token;
        uint256 amount;
    }

    /// @notice What the holder signs, besides the spender (the caller) and the witness.
    /// @param permitted The token and the most that may be moved.
    /// @param nonce A nonce of the holder in Permit2's unordered nonce bitmap.
    /// @param deadline The last timestamp at which the signature is valid.
    struct PermitTransferFrom {
        TokenPermissions permitted;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice Where the transfer goes and how much of the permitted amount it moves.
    /// @param to The recipient.
    /// @param requestedAmount The amount moved, at most `permitted.amount`.
    struct SignatureTransferDetails {
        address to;
        uint256 requestedAmount;
    }

    /// @notice Moves tokens from `owner` with its signature of `PermitWitnessTransferFrom`, whose spender is the
    /// caller and whose witness is `witness` of the type `witnessTypeString`; burns the nonce.
    /// @param permit The signed permit.
    /// @param transferDetails Recipient and amount.
    /// @param owner The holder who signed.
    /// @param witness The EIP-712 hash of the witness struct.
    /// @param witnessTypeString The witness part of the EIP-712 type string.
    /// @param signature The holder's signature (65 bytes, 64-byte EIP-2098, or ERC-1271 bytes).
    function permitWitnessTransferFrom(
        PermitTransferFrom calldata permit,
        SignatureTransferDetails calldata transferDetails,
        address owner,
        bytes32 witness,
        string calldata witnessTypeString,
        bytes calldata signature
    ) external;
}

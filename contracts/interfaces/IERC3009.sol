// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ERC-3009 receive authorization
/// @author Trickle
/// @notice The part of ERC-3009 ("Transfer With Authorization", as USDC and EURC implement it) that
/// {PaymentChannels} calls: a transfer the token holder signed, which only its recipient can submit.
interface IERC3009 {
    /// @notice Moves `value` from `from` to `to`, the caller, with `from`'s signature of
    /// `ReceiveWithAuthorization(from, to, value, validAfter, validBefore, nonce)`; burns `nonce`.
    /// @param from The token holder who signed.
    /// @param to The recipient; must be the caller, so a front-runner cannot redirect the funds.
    /// @param value The amount moved.
    /// @param validAfter The authorization is valid strictly after this timestamp.
    /// @param validBefore The authorization is valid strictly before this timestamp.
    /// @param nonce A unique 32-byte nonce of `from`, burned by the transfer.
    /// @param v The signature's `v`.
    /// @param r The signature's `r`.
    /// @param s The signature's `s`.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice Whether `authorizer` has used (or cancelled) `nonce`.
    /// @param authorizer The token holder.
    /// @param nonce The nonce.
    /// @return True once used.
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool);
}

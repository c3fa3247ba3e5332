// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPaymentChannels} from "../interfaces/IPaymentChannels.sol";

/// @title Trickle split payee
/// @author Trickle
/// @notice The payee of split channels: a `PaymentChannels` channel whose payee is this contract and whose
/// `salt` is `splitSalt(recipients, weights, nonce)`. The channel id commits to the recipient list, so nobody
/// can change it after the open. Anyone may trigger a claim or a close; every recipient is paid (or credited)
/// its share in the same transaction.
/// @dev Declares the events and errors of {SplitPayee} so integrators can decode them.
interface ISplitPayee {
    /// @notice A claim or close of channel `channelId` brought `amount` in, split among `recipients` recipients.
    /// @param channelId The split channel.
    /// @param token Its token, `address(0)` for ETH.
    /// @param amount What arrived from the channel and was split, to the unit.
    /// @param recipients How many recipients the list has.
    event SplitDistributed(bytes32 indexed channelId, address indexed token, uint256 amount, uint256 recipients);
    /// @notice A share for `account` could not be delivered and was credited instead.
    /// @param token The share's token, `address(0)` for ETH.
    /// @param account Who the share was for and who can withdraw the credit.
    /// @param amount The credited amount.
    event ShareCredited(address indexed token, address indexed account, uint256 amount);
    /// @notice `account` took its credited `amount` of `token`, sent to `to`.
    /// @param token The credit's token.
    /// @param account The credit's owner.
    /// @param to Where it was sent.
    /// @param amount The amount sent.
    event CreditWithdrawn(address indexed token, address indexed account, address to, uint256 amount);

    /// @notice The channel's payee is not this contract.
    /// @param payee The config's payee.
    error SplitNotPayee(address payee);
    /// @notice The recipient list does not hash to the channel's salt.
    /// @param salt The channel's salt.
    /// @param listSalt `splitSalt` of the list given.
    error SplitListMismatch(bytes32 salt, bytes32 listSalt);
    /// @notice The list is unusable: empty, longer than `MAX_RECIPIENTS`, lengths that differ, or a zero
    /// total weight.
    /// @param recipients Length of the recipient list.
    /// @param weights Length of the weight list.
    error SplitListInvalid(uint256 recipients, uint256 weights);
    /// @notice `withdrawCredit` with nothing credited.
    /// @param token The token.
    /// @param account The caller.
    error CreditEmpty(address token, address account);
    /// @notice A credit withdrawal in ETH was refused by `to`.
    /// @param to The receiver.
    /// @param amount The amount.
    error EthTransferFailed(address to, uint256 amount);
    /// @notice Only `PaymentChannels` sends ETH here; ETH from anyone else would be stuck.
    /// @param sender The sender.
    error EthSenderNotChannels(address sender);

    /// @notice The `PaymentChannels` deployment whose channels this contract is the payee of.
    /// @return The deployment.
    function channels() external view returns (IPaymentChannels);

    /// @notice What `account` was credited in `token` and has not withdrawn.
    /// @param token The token, `address(0)` for ETH.
    /// @param account A recipient.
    /// @return The credit.
    function credits(address token, address account) external view returns (uint256);

    /// @notice The salt that commits a channel to this recipient list: `keccak256(abi.encode(recipients,
    /// weights, nonce))`. `nonce` lets one donor open several channels to the same list.
    /// @param recipients The recipients; the first one takes the rounding remainder.
    /// @param weights Their weights, in the same order.
    /// @param nonce Any 32 bytes.
    /// @return The channel salt.
    function splitSalt(address[] calldata recipients, uint96[] calldata weights, bytes32 nonce)
        external
        pure
        returns (bytes32);

    /// @notice Claims a voucher of the split channel `config` and splits what arrives among the list.
    /// Anyone may call it: the money can only go to the committed recipients.
    /// @param config The channel's config; its payee is this contract, its salt commits to the list.
    /// @param amount The voucher's cumulative amount.
    /// @param signature The channel signer's voucher signature.
    /// @param recipients The committed recipients; the first one takes the rounding remainder.
    /// @param weights Their weights, in the same order.
    /// @param nonce The list's nonce.
    /// @return distributed What arrived and was split.
    function claim(
        IPaymentChannels.ChannelConfig calldata config,
        uint256 amount,
        bytes calldata signature,
        address[] calldata recipients,
        uint96[] calldata weights,
        bytes32 nonce
    ) external returns (uint256 distributed);

    /// @notice Closes the split channel with a voucher (the payer gets the rest back) and splits what arrives.
    /// Anyone may call it. `amount` equal to what was claimed needs no signature.
    /// @param config The channel's config; its payee is this contract, its salt commits to the list.
    /// @param amount The voucher's cumulative amount.
    /// @param signature The channel signer's voucher signature.
    /// @param recipients The committed recipients; the first one takes the rounding remainder.
    /// @param weights Their weights, in the same order.
    /// @param nonce The list's nonce.
    /// @return distributed What arrived and was split.
    function close(
        IPaymentChannels.ChannelConfig calldata config,
        uint256 amount,
        bytes calldata signature,
        address[] calldata recipients,
        uint96[] calldata weights,
        bytes32 nonce
    ) external returns (uint256 distributed);

    /// @notice Sends the caller's whole credit of `token` to `to`.
    /// @param token The token, `address(0)` for ETH.
    /// @param to Where to send it (an address that cannot receive sends its credit elsewhere).
    function withdrawCredit(address token, address to) external;
}

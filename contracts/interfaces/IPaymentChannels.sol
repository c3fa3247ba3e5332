// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Trickle payment channels
/// @notice One contract holds every unidirectional payment channel. A payer locks a deposit once,
/// then pays a payee off-chain with cumulative EIP-712 vouchers; the payee claims or closes on-chain.
/// @dev Declares the types, events and errors of {PaymentChannels} so integrators can decode them.
interface IPaymentChannels {
    /// @notice The immutable parameters of a channel. Their hash is the channel id.
    /// @param payer Receives every unit that was not claimed; the only one who can `requestClose` and `withdraw`.
    /// @param payee Receives what the vouchers give; the only one who can `claim` and `close`.
    /// @param token ERC-20 token of the channel, or `address(0)` for ETH.
    /// @param signer Key that signs vouchers: the payer, a session key, or an ERC-1271 wallet.
    /// @param closeDelay Seconds the payee has to claim after the payer asks to close.
    /// @param salt Makes the id unique when the other fields repeat.
    struct ChannelConfig {
        address payer;
        address payee;
        address token;
        address signer;
        uint64 closeDelay;
        bytes32 salt;
    }

    /// @notice Where a channel is in its life.
    /// `None`: never opened. `Open`: takes deposits and claims. `Closing`: the payer asked to close;
    /// the payee can still claim or close until `closesAt`, the payer can withdraw from `closesAt` on.
    /// `Finished`: settled for good; the id can never be opened again.
    enum ChannelStatus {
        None,
        Open,
        Closing,
        Finished
    }

    /// @notice The mutable state of a channel, packed in one storage slot.
    /// @param deposit Everything deposited so far (what arrived, for fee-on-transfer tokens).
    /// @param claimed Cumulative amount paid to the payee so far.
    /// @param closesAt While `Closing`: the first second at which the payer can withdraw. Zero otherwise.
    /// @param status See {ChannelStatus}.
    struct Channel {
        uint104 deposit;
        uint104 claimed;
        uint40 closesAt;
        ChannelStatus status;
    }

    /// @notice One entry of {claimMany}.
    struct Claim {
        ChannelConfig config;
        uint256 amount;
        bytes signature;
    }

    /// @notice A channel was opened. Carries the full config so an indexer can rebuild the channel from logs.
    event ChannelOpened(
        bytes32 indexed channelId,
        address indexed payer,
        address indexed payee,
        address token,
        address signer,
        uint64 closeDelay,
        bytes32 salt,
        uint256 deposit
    );
    /// @notice `amount` was added to the deposit, which is now `deposit`.
    event ChannelToppedUp(bytes32 indexed channelId, uint256 amount, uint256 deposit);
    /// @notice The payee's cumulative claimed amount on this channel is now `claimed`.
    event ChannelClaimed(bytes32 indexed channelId, uint256 claimed);
    /// @notice The payer asked to close; the payer can withdraw from `closesAt` on.
    event ChannelCloseRequested(bytes32 indexed channelId, uint256 closesAt);
    /// @notice The payee closed the channel: `claimed` in total went to the payee, `refund` back to the payer.
    event ChannelClosed(bytes32 indexed channelId, uint256 claimed, uint256 refund);
    /// @notice The payer withdrew `refund` after the close delay; the channel is finished.
    event ChannelWithdrawn(bytes32 indexed channelId, uint256 refund);
    /// @notice A payout to `account` failed (reverting receiver, blocklisted address) and was credited instead.
    event PayoutCredited(address indexed token, address indexed account, uint256 amount);
    /// @notice `account` took its credited `amount` of `token`, sent to `to`.
    event CreditWithdrawn(address indexed token, address indexed account, address to, uint256 amount);

    /// @notice A channel with this id exists or existed; ids are never reused.
    error ChannelExists(bytes32 channelId);
    /// @notice The channel is not open (never opened, or finished).
    error ChannelNotOpen(bytes32 channelId, ChannelStatus status);
    /// @notice The payer already asked to close this channel.
    error ChannelClosing(bytes32 channelId, uint256 closesAt);
    /// @notice The close deadline has passed: the payee can no longer claim or close.
    error ChannelCloseDeadlinePassed(bytes32 channelId, uint256 closesAt);
    /// @notice `withdraw` needs a close request first.
    error ChannelCloseNotRequested(bytes32 channelId);
    /// @notice `withdraw` before the close deadline.
    error ChannelCloseDelayNotElapsed(bytes32 channelId, uint256 closesAt);
    /// @notice A config field is unusable: a zero payer, payee or signer, or a close delay above the maximum.
    error ChannelConfigInvalid();
    /// @notice Only the channel's payee can do this.
    error CallerNotPayee(address caller, address payee);
    /// @notice Only the channel's payer can do this.
    error CallerNotPayer(address caller, address payer);
    /// @notice The voucher does not raise the claimed amount.
    error VoucherAmountNotIncreasing(uint256 amount, uint256 claimed);
    /// @notice The voucher is for more than the deposit.
    error VoucherAmountTooHigh(uint256 amount, uint256 deposit);
    /// @notice The signature is not the channel signer's for this voucher.
    error VoucherSignatureInvalid(bytes32 channelId, address signer);
    /// @notice A deposit would exceed the stored width (`type(uint104).max`); it is refused, never truncated.
    error DepositTooLarge(uint256 deposit, uint256 max);
    /// @notice `msg.value` must equal the amount for ETH channels and be zero for token channels.
    error EthValueMismatch(uint256 sent, uint256 expected);
    /// @notice `claimMany` takes between 1 and `MAX_CLAIM_BATCH` claims.
    error ClaimBatchSizeInvalid(uint256 size, uint256 max);
    /// @notice There is no credit to withdraw.
    error CreditEmpty(address token, address account);
    /// @notice Sending credited ETH to `to` failed.
    error EthTransferFailed(address to, uint256 amount);

    /// @notice Opens a channel with its first deposit, taken from the caller.
    function open(ChannelConfig calldata config, uint256 amount) external payable returns (bytes32 channelId);

    /// @notice Opens an EIP-2612 token channel: approval and deposit in one transaction.
    function openWithPermit(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (bytes32 channelId);

    /// @notice Adds to the deposit of an open channel.
    function topUp(ChannelConfig calldata config, uint256 amount) external payable;

    /// @notice Pays the payee `amount - claimed` for a voucher of cumulative `amount`; the channel stays open.
    function claim(ChannelConfig calldata config, uint256 amount, bytes calldata signature) external;

    /// @notice Claims on many channels of the caller in one transaction.
    function claimMany(Claim[] calldata claims) external;

    /// @notice Claims with the voucher, refunds the rest of the deposit to the payer, finishes the channel.
    function close(ChannelConfig calldata config, uint256 amount, bytes calldata signature) external;

    /// @notice Starts the close countdown of `closeDelay` seconds.
    function requestClose(ChannelConfig calldata config) external;

    /// @notice After the countdown, refunds the payer what was not claimed and finishes the channel.
    function withdraw(ChannelConfig calldata config) external;

    /// @notice Sends the caller's credited `token` (failed payouts) to `to`.
    function withdrawCredit(address token, address to) external;

    /// @notice The state of a channel.
    function channels(bytes32 channelId)
        external
        view
        returns (uint104 deposit, uint104 claimed, uint40 closesAt, ChannelStatus status);

    /// @notice What failed payouts left for `account` in `token`.
    function credits(address token, address account) external view returns (uint256);

    /// @notice The id of a config: `keccak256(abi.encode(config))`.
    function channelId(ChannelConfig calldata config) external pure returns (bytes32);

    /// @notice The EIP-712 digest of `Voucher(bytes32 channelId,uint256 amount)` for this contract and chain.
    function voucherDigest(bytes32 channelId, uint256 amount) external view returns (bytes32);
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Trickle payment channels
/// @author Trickle
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
    /// @param closesAt Set by `requestClose`: the first second at which the payer can withdraw. Zero until
    /// then; kept once the channel is finished.
    /// @param status See {ChannelStatus}.
    struct Channel {
        uint104 deposit;
        uint104 claimed;
        uint40 closesAt;
        ChannelStatus status;
    }

    /// @notice One entry of {claimMany}: a voucher on one of the caller's channels in the batch's token. The
    /// channel's config is these four fields with the caller as `payee` and the batch's `token`.
    /// @param payer The config's payer.
    /// @param signer The config's voucher signer.
    /// @param closeDelay The config's close delay.
    /// @param salt The config's salt.
    /// @param amount The voucher's cumulative amount.
    /// @param signature The channel signer's signature of the voucher.
    struct Claim {
        address payer;
        address signer;
        uint64 closeDelay;
        bytes32 salt;
        uint256 amount;
        bytes signature;
    }

    /// @notice One entry of {claimManyCompact}: a {Claim} whose signer is an EOA, with its signature in the
    /// 64-byte EIP-2098 form.
    /// @param payer The config's payer.
    /// @param signer The config's voucher signer, an EOA.
    /// @param closeDelay The config's close delay.
    /// @param salt The config's salt.
    /// @param amount The voucher's cumulative amount.
    /// @param r The signature's `r`.
    /// @param vs The signature's `s`, with `v - 27` in its top bit.
    struct CompactClaim {
        address payer;
        address signer;
        uint64 closeDelay;
        bytes32 salt;
        uint256 amount;
        bytes32 r;
        bytes32 vs;
    }

    /// @notice A channel was opened. Carries the full config so an indexer can rebuild the channel from logs.
    /// @param channelId The new channel's id, `channelId(config)`.
    /// @param payer The config's payer.
    /// @param payee The config's payee.
    /// @param token The config's token, `address(0)` for ETH.
    /// @param signer The config's voucher signer.
    /// @param closeDelay The config's close delay, in seconds.
    /// @param salt The config's salt.
    /// @param deposit What arrived as the first deposit.
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
    /// @notice `funder` added `amount` to the deposit, which is now `deposit`.
    /// @param channelId The channel.
    /// @param funder Whose funds arrived: the caller of `topUp`, or the payer who signed a gasless top-up.
    /// @param amount What arrived with this top-up.
    /// @param deposit The channel's total deposit after it.
    event ChannelToppedUp(bytes32 indexed channelId, address indexed funder, uint256 amount, uint256 deposit);
    /// @notice The payee's cumulative claimed amount on this channel is now `claimed`; `paid` left the channel
    /// with this claim (to the payee, less a relayer's fee when relayed).
    /// @param channelId The channel.
    /// @param claimed The new cumulative claimed amount (the voucher's amount).
    /// @param paid What this claim took out of the channel: `claimed` minus the previous cumulative amount.
    event ChannelClaimed(bytes32 indexed channelId, uint256 claimed, uint256 paid);
    /// @notice The payer asked to close; the payer can withdraw from `closesAt` on. Indexes the payee, whose
    /// watchtower must see it in time.
    /// @param channelId The channel.
    /// @param payee The channel's payee, who can claim or close until `closesAt`.
    /// @param closesAt The first second at which `withdraw` works and `claim`/`close` no longer do.
    event ChannelCloseRequested(bytes32 indexed channelId, address indexed payee, uint256 closesAt);
    /// @notice The payee closed the channel: `claimed` in total went to the payee, `refund` back to the payer.
    /// Indexes the payer, whose refund it carries.
    /// @param channelId The channel, now finished.
    /// @param payer The channel's payer.
    /// @param claimed The final cumulative amount paid to the payee.
    /// @param refund What went back to the payer (or was credited to it).
    event ChannelClosed(bytes32 indexed channelId, address indexed payer, uint256 claimed, uint256 refund);
    /// @notice The payee gave `amount` of the unclaimed deposit back to the payer; the channel stays open with
    /// `deposit` left.
    /// @param channelId The channel.
    /// @param payer The channel's payer, who received `amount` (or a credit of it).
    /// @param amount What went back to the payer.
    /// @param deposit The channel's deposit after the refund.
    event ChannelRefunded(bytes32 indexed channelId, address indexed payer, uint256 amount, uint256 deposit);
    /// @notice A relayer submitted a settlement the payee signed and took `fee` out of the payee's payout, credited
    /// to it (`credits(token, relayer)`, taken with `withdrawCredit`). Emitted only when the fee is not zero.
    /// @param channelId The channel.
    /// @param relayer The caller, whose credit grew by `fee`.
    /// @param fee The relayer's fee, at most what the payee signed and at most the payout.
    event SettlementRelayed(bytes32 indexed channelId, address indexed relayer, uint256 fee);
    /// @notice The payer withdrew `refund` after the close delay; the channel is finished.
    /// @param channelId The channel, now finished.
    /// @param refund What went back to the payer (or was credited to it).
    event ChannelWithdrawn(bytes32 indexed channelId, uint256 refund);
    /// @notice A payout to `account` failed (reverting receiver, blocklisted address) and was credited instead.
    /// @param token The payout's token, `address(0)` for ETH.
    /// @param account Who the payout was for and who can withdraw the credit.
    /// @param amount The credited amount.
    event PayoutCredited(address indexed token, address indexed account, uint256 amount);
    /// @notice `account` took its credited `amount` of `token`, sent to `to`.
    /// @param token The credit's token, `address(0)` for ETH.
    /// @param account The credit's owner.
    /// @param to Where the credit was sent.
    /// @param amount The amount sent.
    event CreditWithdrawn(address indexed token, address indexed account, address to, uint256 amount);

    /// @notice A channel with this id exists or existed; ids are never reused.
    /// @param channelId The id.
    error ChannelExists(bytes32 channelId);
    /// @notice The channel is not open (never opened, or finished).
    /// @param channelId The channel.
    /// @param status Its status: `None` or `Finished`.
    error ChannelNotOpen(bytes32 channelId, ChannelStatus status);
    /// @notice The payer already asked to close this channel.
    /// @param channelId The channel.
    /// @param closesAt Its close deadline.
    error ChannelClosing(bytes32 channelId, uint256 closesAt);
    /// @notice The close deadline has passed: the payee can no longer claim or close.
    /// @param channelId The channel.
    /// @param closesAt Its close deadline.
    error ChannelCloseDeadlinePassed(bytes32 channelId, uint256 closesAt);
    /// @notice `withdraw` needs a close request first.
    /// @param channelId The channel.
    error ChannelCloseNotRequested(bytes32 channelId);
    /// @notice `withdraw` before the close deadline.
    /// @param channelId The channel.
    /// @param closesAt Its close deadline.
    error ChannelCloseDelayNotElapsed(bytes32 channelId, uint256 closesAt);
    /// @notice A config field is unusable: a zero payer, payee or signer, a close delay above the maximum, or a
    /// token address without code (for `openWithPermit` and the gasless deposits, ETH's `address(0)` too).
    error ChannelConfigInvalid();
    /// @notice Only the channel's payee can do this.
    /// @param caller The caller.
    /// @param payee The channel's payee.
    error CallerNotPayee(address caller, address payee);
    /// @notice Only the channel's payer can do this.
    /// @param caller The caller.
    /// @param payer The channel's payer.
    error CallerNotPayer(address caller, address payer);
    /// @notice The voucher does not raise the claimed amount.
    /// @param amount The voucher's cumulative amount.
    /// @param claimed What the channel has already paid the payee.
    error VoucherAmountNotIncreasing(uint256 amount, uint256 claimed);
    /// @notice The voucher is for more than the deposit.
    /// @param amount The voucher's cumulative amount.
    /// @param deposit The channel's deposit.
    error VoucherAmountTooHigh(uint256 amount, uint256 deposit);
    /// @notice The signature is not the channel signer's for this voucher.
    /// @param channelId The channel.
    /// @param signer The config's signer, who should have signed.
    error VoucherSignatureInvalid(bytes32 channelId, address signer);
    /// @notice A deposit would exceed the stored width (`type(uint104).max`); it is refused, never truncated.
    /// @param deposit The total deposit the call would have made.
    /// @param max The largest deposit a channel can hold.
    error DepositTooLarge(uint256 deposit, uint256 max);
    /// @notice `msg.value` must equal the amount for ETH channels and be zero for token channels.
    /// @param sent The `msg.value` sent.
    /// @param expected The `msg.value` expected.
    error EthValueMismatch(uint256 sent, uint256 expected);
    /// @notice `claimMany` takes between 1 and `MAX_CLAIM_BATCH` claims.
    /// @param size The number of claims given.
    /// @param max `MAX_CLAIM_BATCH`.
    error ClaimBatchSizeInvalid(uint256 size, uint256 max);
    /// @notice There is no credit to withdraw.
    /// @param token The token asked for.
    /// @param account The caller.
    error CreditEmpty(address token, address account);
    /// @notice A partial refund would leave less deposit than was already claimed, or refunds nothing.
    /// @param amount The refund asked for.
    /// @param refundable What the payee can still give back: `deposit - claimed`.
    error RefundAmountInvalid(uint256 amount, uint256 refundable);
    /// @notice A relayed refund must raise the channel's cumulative refunded amount.
    /// @param refunded The cumulative amount the payee signed.
    /// @param current What the channel has refunded so far.
    error RefundNotIncreasing(uint256 refunded, uint256 current);
    /// @notice The payee's signature of a relayed settlement is past its deadline.
    /// @param deadline The signed deadline.
    /// @param timestamp The block's timestamp.
    error SettlementExpired(uint256 deadline, uint256 timestamp);
    /// @notice The signature is not the payee's for this relayed settlement.
    /// @param channelId The channel.
    /// @param payee The config's payee, who should have signed.
    error SettlementSignatureInvalid(bytes32 channelId, address payee);
    /// @notice The relayer's fee is above what the settlement pays the payee.
    /// @param fee The signed fee.
    /// @param payout What the settlement pays out to the payee.
    error RelayFeeTooHigh(uint256 fee, uint256 payout);
    /// @notice Sending credited ETH to `to` failed.
    /// @param to The recipient.
    /// @param amount The amount it refused.
    error EthTransferFailed(address to, uint256 amount);

    /// @notice Opens a channel with its first deposit, taken from the caller. Anyone may fund a channel; its
    /// refunds always go to the config's payer. An id that exists or ever existed cannot be opened again.
    /// @param config The channel's immutable parameters; their hash is the id.
    /// @param amount The first deposit: `msg.value` for ETH, pulled with `transferFrom` for a token (a
    /// fee-on-transfer token is credited with what arrived). At most `MAX_DEPOSIT`.
    /// @return channelId The new channel's id.
    function open(ChannelConfig calldata config, uint256 amount) external payable returns (bytes32 channelId);

    /// @notice Opens an EIP-2612 token channel: approval and deposit in one transaction. Succeeds also when the
    /// permit was front-run, as long as the allowance is in place.
    /// @param config The channel's immutable parameters; `config.token` must support EIP-2612.
    /// @param amount The first deposit, pulled from the caller, who signed the permit.
    /// @param deadline The permit's deadline.
    /// @param v The permit signature's `v`.
    /// @param r The permit signature's `r`.
    /// @param s The permit signature's `s`.
    /// @return channelId The new channel's id.
    function openWithPermit(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (bytes32 channelId);

    /// @notice Opens a channel of an ERC-3009 token (USDC, EURC) from the payer's signed
    /// `ReceiveWithAuthorization`, submitted by anyone: the payer needs no gas. The authorization's recipient
    /// is this contract and its nonce is `depositNonce(channelId, amount, 0)`, so it opens exactly this
    /// channel with exactly this amount, and a front-runner can neither redirect it nor use it elsewhere.
    /// @param config The channel's immutable parameters; `config.payer` signed the authorization.
    /// @param amount The first deposit, the authorization's `value`. At most `MAX_DEPOSIT`.
    /// @param validAfter The authorization is valid strictly after this timestamp.
    /// @param validBefore The authorization is valid strictly before this timestamp.
    /// @param v The authorization signature's `v`.
    /// @param r The authorization signature's `r`.
    /// @param s The authorization signature's `s`.
    /// @return channelId The new channel's id.
    function openWithAuthorization(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (bytes32 channelId);

    /// @notice Adds to the deposit of an open ERC-3009 token channel from the payer's signed
    /// `ReceiveWithAuthorization`, submitted by anyone. Its nonce is `depositNonce(channelId, amount, salt)`.
    /// @param config The channel's config; `config.payer` signed the authorization.
    /// @param amount What to add, the authorization's `value`.
    /// @param validAfter The authorization is valid strictly after this timestamp.
    /// @param validBefore The authorization is valid strictly before this timestamp.
    /// @param salt The payer's pick that makes the nonce of each top-up unique (not zero, which `open` uses).
    /// @param v The authorization signature's `v`.
    /// @param r The authorization signature's `r`.
    /// @param s The authorization signature's `s`.
    function topUpWithAuthorization(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 salt,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice Opens a channel of any ERC-20 from the payer's Permit2 signature, submitted by anyone: the payer
    /// needs no gas once it has approved Permit2. The signature's spender is this contract and its witness is
    /// `ChannelDeposit(channelId)`, so it funds exactly this channel.
    /// @param config The channel's immutable parameters; `config.payer` signed the permit.
    /// @param amount The first deposit, the permit's amount.
    /// @param nonce The permit's Permit2 nonce.
    /// @param deadline The permit's deadline.
    /// @param signature The payer's Permit2 signature.
    /// @return channelId The new channel's id.
    function openWithPermit2(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 channelId);

    /// @notice Adds to the deposit of an open channel from the payer's Permit2 signature (witness
    /// `ChannelDeposit(channelId)`), submitted by anyone.
    /// @param config The channel's config; `config.payer` signed the permit.
    /// @param amount What to add, the permit's amount.
    /// @param nonce The permit's Permit2 nonce.
    /// @param deadline The permit's deadline.
    /// @param signature The payer's Permit2 signature.
    function topUpWithPermit2(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Adds to the deposit of an open channel, from anyone. Refused once the payer asked to close.
    /// @param config The channel's config.
    /// @param amount What to add, as for {open}; the total stays at most `MAX_DEPOSIT`.
    function topUp(ChannelConfig calldata config, uint256 amount) external payable;

    /// @notice Pays the payee `amount - claimed` for a voucher of cumulative `amount`; the channel stays open.
    /// Payee only; allowed while open and during the close countdown strictly before `closesAt`.
    /// @param config The channel's config.
    /// @param amount The voucher's cumulative amount: above what was claimed, at most the deposit.
    /// @param signature The config signer's EIP-712 signature of `Voucher(channelId, amount)`.
    function claim(ChannelConfig calldata config, uint256 amount, bytes calldata signature) external;

    /// @notice Claims on many channels of the caller in one token in one transaction, with one payout. Each
    /// channel's config is its entry's fields with the caller as payee and `token`, so a claim on a channel of
    /// another payee or another token finds no channel and reverts (`ChannelNotOpen`). Channels in several
    /// tokens take one call per token. One failing claim reverts the whole batch.
    /// @param token The token of every channel of the batch, `address(0)` for ETH.
    /// @param claims Between 1 and `MAX_CLAIM_BATCH` claims; a channel may appear more than once, with rising
    /// amounts.
    function claimMany(address token, Claim[] calldata claims) external;

    /// @notice {claimMany} for channels whose signer is an EOA, with 64-byte (EIP-2098) signatures: cheaper calldata.
    /// @param token The token of every channel of the batch, `address(0)` for ETH.
    /// @param claims Between 1 and `MAX_CLAIM_BATCH` claims.
    function claimManyCompact(address token, CompactClaim[] calldata claims) external;

    /// @notice Claims with the voucher, refunds the rest of the deposit to the payer, finishes the channel.
    /// Payee only, strictly before `closesAt` when closing.
    /// @param config The channel's config.
    /// @param amount The final cumulative amount: at least what was claimed, at most the deposit.
    /// @param signature The signer's signature of the voucher; ignored when `amount` equals what was claimed.
    function close(ChannelConfig calldata config, uint256 amount, bytes calldata signature) external;

    /// @notice {claim} submitted by anyone with the payee's signature of
    /// `RelayedClaim(channelId, amount, fee, deadline)`; the caller takes `fee` out of the payout.
    /// @param config The channel's config.
    /// @param amount The voucher's cumulative amount.
    /// @param signature The config signer's signature of the voucher.
    /// @param fee The relayer's fee, credited to the caller; at most the payout.
    /// @param deadline The last timestamp at which the payee's signature is valid.
    /// @param payeeSignature The payee's EIP-712 signature (ECDSA, or ERC-1271 for a contract payee).
    function claimRelayed(
        ChannelConfig calldata config,
        uint256 amount,
        bytes calldata signature,
        uint256 fee,
        uint256 deadline,
        bytes calldata payeeSignature
    ) external;

    /// @notice {close} submitted by anyone with the payee's signature of
    /// `RelayedClose(channelId, amount, fee, deadline)`; the caller takes `fee` out of the payee's payout.
    /// @param config The channel's config.
    /// @param amount The final cumulative amount.
    /// @param signature The signer's signature of the voucher; ignored when `amount` equals what was claimed.
    /// @param fee The relayer's fee, credited to the caller; at most what the close pays the payee.
    /// @param deadline The last timestamp at which the payee's signature is valid.
    /// @param payeeSignature The payee's EIP-712 signature (ECDSA, or ERC-1271 for a contract payee).
    function closeRelayed(
        ChannelConfig calldata config,
        uint256 amount,
        bytes calldata signature,
        uint256 fee,
        uint256 deadline,
        bytes calldata payeeSignature
    ) external;

    /// @notice Gives `amount` of the unclaimed deposit back to the payer; the channel stays open with a smaller
    /// deposit. Payee only, while the payee could still claim.
    /// @param config The channel's config.
    /// @param amount What to give back: more than zero, at most `deposit - claimed`.
    function refund(ChannelConfig calldata config, uint256 amount) external;

    /// @notice {refund} submitted by anyone with the payee's signature of
    /// `RelayedRefund(channelId, refunded, deadline)`, where `refunded` is the channel's new cumulative refunded
    /// amount: a signature refunds once, and never after a later refund.
    /// @param config The channel's config.
    /// @param refunded The cumulative amount refunded after this call; above the current one.
    /// @param deadline The last timestamp at which the payee's signature is valid.
    /// @param payeeSignature The payee's EIP-712 signature (ECDSA, or ERC-1271 for a contract payee).
    function refundRelayed(ChannelConfig calldata config, uint256 refunded, uint256 deadline, bytes calldata payeeSignature)
        external;

    /// @notice Starts the close countdown of `closeDelay` seconds. Payer only, once.
    /// @param config The channel's config.
    function requestClose(ChannelConfig calldata config) external;

    /// @notice After the countdown, refunds the payer what was not claimed and finishes the channel. Payer only,
    /// from `closesAt` on.
    /// @param config The channel's config.
    function withdraw(ChannelConfig calldata config) external;

    /// @notice Sends the caller's credited `token` (failed payouts, relay fees) to `to`.
    /// @param token The credit's token, `address(0)` for ETH.
    /// @param to Where to send it; lets a blocklisted account send its credit elsewhere.
    function withdrawCredit(address token, address to) external;

    /// @notice The state of a channel.
    /// @param channelId The channel.
    /// @return deposit Everything deposited so far.
    /// @return claimed Cumulative amount paid to the payee.
    /// @return closesAt While closing (and after), the close deadline; zero before a close request.
    /// @return status See {ChannelStatus}.
    function channels(bytes32 channelId)
        external
        view
        returns (uint104 deposit, uint104 claimed, uint40 closesAt, ChannelStatus status);

    /// @notice What failed payouts and relay fees left for `account` in `token`.
    /// @param token The token, `address(0)` for ETH.
    /// @param account The credit's owner.
    /// @return The amount `account` can take with {withdrawCredit}.
    function credits(address token, address account) external view returns (uint256);

    /// @notice What the payee has given back to the payer of a channel with partial refunds, in total.
    /// @param channelId The channel.
    /// @return The cumulative refunded amount.
    function refunded(bytes32 channelId) external view returns (uint256);

    /// @notice The ERC-3009 nonce a gasless deposit uses: `keccak256(abi.encode(channelId, amount, salt))`,
    /// with `salt` zero for `openWithAuthorization`.
    /// @param channelId The channel.
    /// @param amount The deposit.
    /// @param salt The top-up's salt, zero for an open.
    /// @return The nonce the payer signs.
    function depositNonce(bytes32 channelId, uint256 amount, bytes32 salt) external pure returns (bytes32);

    /// @notice The id of a config: `keccak256(abi.encode(config))`.
    /// @param config The config.
    /// @return The channel id.
    function channelId(ChannelConfig calldata config) external pure returns (bytes32);

    /// @notice The EIP-712 digest of `Voucher(bytes32 channelId,uint256 amount)` for this contract and chain.
    /// @param channelId The voucher's channel.
    /// @param amount The voucher's cumulative amount.
    /// @return The digest the signer signs.
    function voucherDigest(bytes32 channelId, uint256 amount) external view returns (bytes32);
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC3009} from "./interfaces/IERC3009.sol";
import {IPaymentChannels} from "./interfaces/IPaymentChannels.sol";
import {IPermit2SignatureTransfer} from "./interfaces/IPermit2SignatureTransfer.sol";

/// @title PaymentChannels
/// @author Trickle
/// @notice The Trickle singleton: every unidirectional payment channel, in ETH or any ERC-20, lives here.
/// @dev Lifecycle and timing rules, which the SDK and the tests rely on:
/// - `open` and `topUp` take funds from `msg.sender`; anyone may fund a channel, refunds always go to the payer.
/// - `topUp` is refused once the payer asked to close (`ChannelClosing`): a close request is final.
/// - The payee can `claim` and `close` while `block.timestamp < closesAt`; from `closesAt` on
///   (`block.timestamp >= closesAt`) only the payer's `withdraw` settles the channel.
/// - `closeDelay` is at most `MAX_CLOSE_DELAY` (365 days); zero is allowed, and the payee's policy decides
///   what it accepts. Deposits are at most `type(uint104).max` per channel, refused above, never truncated.
/// - A finished id can never be opened again, so vouchers of a finished channel stay worthless.
/// - Gasless deposits (`*WithAuthorization`, `*WithPermit2`) take funds from the payer's signature, whoever
///   submits them; relayed settlements (`*Relayed`) act on the payee's signature, whoever submits them, and
///   credit the relayer's fee to the caller (`withdrawCredit` takes it).
/// - A partial refund lowers the deposit; the payee's vouchers above the new deposit are then worth the deposit.
/// - A payout that cannot be delivered (reverting receiver, blocklisted address, a receiver burning gas)
///   is credited to its owner, who takes it with `withdrawCredit`; the other party is paid regardless.
contract PaymentChannels is IPaymentChannels, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- constants

    /// @notice EIP-712 type hash of `Voucher(bytes32 channelId,uint256 amount)`.
    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 channelId,uint256 amount)");
    /// @notice EIP-712 type hash of the payee's `RelayedClaim(bytes32 channelId,uint256 amount,uint256 fee,uint256 deadline)`.
    bytes32 public constant RELAYED_CLAIM_TYPEHASH =
        keccak256("RelayedClaim(bytes32 channelId,uint256 amount,uint256 fee,uint256 deadline)");
    /// @notice EIP-712 type hash of the payee's `RelayedClose(bytes32 channelId,uint256 amount,uint256 fee,uint256 deadline)`.
    bytes32 public constant RELAYED_CLOSE_TYPEHASH =
        keccak256("RelayedClose(bytes32 channelId,uint256 amount,uint256 fee,uint256 deadline)");
    /// @notice EIP-712 type hash of the payee's `RelayedRefund(bytes32 channelId,uint256 refunded,uint256 deadline)`.
    bytes32 public constant RELAYED_REFUND_TYPEHASH =
        keccak256("RelayedRefund(bytes32 channelId,uint256 refunded,uint256 deadline)");
    /// @notice Permit2, at the same address on every chain.
    address public constant PERMIT2 = 0x000000000022D473030F116dDEE9F6B43aC78BA3;
    /// @notice EIP-712 type hash of the Permit2 witness `ChannelDeposit(bytes32 channelId)`.
    bytes32 public constant CHANNEL_DEPOSIT_TYPEHASH = keccak256("ChannelDeposit(bytes32 channelId)");
    /// @notice The witness part of the Permit2 type string, as `permitWitnessTransferFrom` expects it.
    string public constant PERMIT2_WITNESS_TYPE =
        "ChannelDeposit witness)ChannelDeposit(bytes32 channelId)TokenPermissions(address token,uint256 amount)";
    /// @notice The longest close delay a channel may have.
    uint64 public constant MAX_CLOSE_DELAY = 365 days;
    /// @notice The largest deposit a channel can hold: the width of `Channel.deposit`.
    uint256 public constant MAX_DEPOSIT = type(uint104).max;
    /// @notice The most claims one `claimMany` takes, so a batch always fits in a block.
    uint256 public constant MAX_CLAIM_BATCH = 256;
    /// @notice Gas forwarded with an ETH payout. Enough for a smart-wallet receive hook; a receiver that
    /// burns it all only loses its own payout to a credit, and cannot make the other party's call run out of gas.
    uint256 public constant ETH_PAYOUT_GAS = 50_000;

    /// @dev The packed layout of a {Channel} slot, for the claim path that reads and writes it whole.
    uint256 private constant _AMOUNT_MASK = type(uint104).max;
    uint256 private constant _CLAIMED_SHIFT = 104;
    uint256 private constant _CLOSES_AT_SHIFT = 208;
    uint256 private constant _CLOSES_AT_MASK = type(uint40).max;
    uint256 private constant _STATUS_SHIFT = 248;

    // ---------------------------------------------------------------- storage

    /// @inheritdoc IPaymentChannels
    mapping(bytes32 channelId => Channel) public channels;
    /// @inheritdoc IPaymentChannels
    mapping(address token => mapping(address account => uint256)) public credits;
    /// @inheritdoc IPaymentChannels
    /// @dev Outside the channel slot, which is full: only channels with a partial refund pay for it.
    mapping(bytes32 channelId => uint256) public refunded;

    constructor() EIP712("Trickle", "1") {}

    // ---------------------------------------------------------------- payer side

    /// @inheritdoc IPaymentChannels
    function open(ChannelConfig calldata config, uint256 amount)
        external
        payable
        nonReentrant
        returns (bytes32 channelId_)
    {
        channelId_ = _open(config);
        uint256 deposit = _receive(config.token, amount);
        _store(channelId_, Channel(uint104(deposit), 0, 0, ChannelStatus.Open), deposit);
        _emitOpened(channelId_, config, deposit);
    }

    /// @inheritdoc IPaymentChannels
    /// @dev The permit is tried and its failure ignored: if someone front-ran it with the same signature,
    /// the allowance is already in place and the deposit still goes through; if not, `transferFrom` fails.
    /// A token without code (ETH's `address(0)` included) is refused with `ChannelConfigInvalid`: calling it
    /// would revert without a reason, which `try` cannot catch.
    function openWithPermit(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (bytes32 channelId_) {
        channelId_ = _open(config);
        if (config.token.code.length == 0) revert ChannelConfigInvalid();
        // solhint-disable-next-line no-empty-blocks
        try IERC20Permit(config.token).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        uint256 deposit = _receive(config.token, amount);
        _store(channelId_, Channel(uint104(deposit), 0, 0, ChannelStatus.Open), deposit);
        _emitOpened(channelId_, config, deposit);
    }

    /// @inheritdoc IPaymentChannels
    function topUp(ChannelConfig calldata config, uint256 amount) external payable nonReentrant {
        (bytes32 id, Channel memory channel) = _toppable(config);
        _credit(id, channel, msg.sender, _receive(config.token, amount));
    }

    /// @inheritdoc IPaymentChannels
    /// @dev The nonce is derived here, not taken from the caller: a signature made for another channel or
    /// amount names another nonce, so the token refuses it. ETH and code-less tokens are refused by the
    /// balance read in {_receiveWithAuthorization}.
    function openWithAuthorization(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (bytes32 channelId_) {
        channelId_ = _open(config);
        uint256 deposit = _receiveWithAuthorization(
            config, amount, validAfter, validBefore, _depositNonce(channelId_, amount, bytes32(0)), v, r, s
        );
        _store(channelId_, Channel(uint104(deposit), 0, 0, ChannelStatus.Open), deposit);
        _emitOpened(channelId_, config, deposit);
    }

    /// @inheritdoc IPaymentChannels
    function topUpWithAuthorization(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 salt,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant {
        (bytes32 id, Channel memory channel) = _toppable(config);
        uint256 received =
            _receiveWithAuthorization(config, amount, validAfter, validBefore, _depositNonce(id, amount, salt), v, r, s);
        _credit(id, channel, config.payer, received);
    }

    /// @inheritdoc IPaymentChannels
    function openWithPermit2(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant returns (bytes32 channelId_) {
        channelId_ = _open(config);
        uint256 deposit = _receiveWithPermit2(config, channelId_, amount, nonce, deadline, signature);
        _store(channelId_, Channel(uint104(deposit), 0, 0, ChannelStatus.Open), deposit);
        _emitOpened(channelId_, config, deposit);
    }

    /// @inheritdoc IPaymentChannels
    function topUpWithPermit2(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant {
        (bytes32 id, Channel memory channel) = _toppable(config);
        _credit(id, channel, config.payer, _receiveWithPermit2(config, id, amount, nonce, deadline, signature));
    }

    /// @inheritdoc IPaymentChannels
    function requestClose(ChannelConfig calldata config) external nonReentrant {
        if (msg.sender != config.payer) revert CallerNotPayer(msg.sender, config.payer);
        bytes32 id = _channelId(config);
        Channel memory channel = channels[id];
        if (channel.status != ChannelStatus.Open) {
            if (channel.status == ChannelStatus.Closing) revert ChannelClosing(id, channel.closesAt);
            revert ChannelNotOpen(id, channel.status);
        }
        // Cannot overflow uint40: closeDelay <= 365 days was checked at open.
        uint40 closesAt = uint40(block.timestamp + config.closeDelay);
        channel.closesAt = closesAt;
        channel.status = ChannelStatus.Closing;
        channels[id] = channel;
        emit ChannelCloseRequested(id, config.payee, closesAt);
    }

    /// @inheritdoc IPaymentChannels
    function withdraw(ChannelConfig calldata config) external nonReentrant {
        if (msg.sender != config.payer) revert CallerNotPayer(msg.sender, config.payer);
        bytes32 id = _channelId(config);
        Channel memory channel = channels[id];
        if (channel.status != ChannelStatus.Closing) {
            if (channel.status == ChannelStatus.Open) revert ChannelCloseNotRequested(id);
            revert ChannelNotOpen(id, channel.status);
        }
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp < channel.closesAt) revert ChannelCloseDelayNotElapsed(id, channel.closesAt);
        uint256 unclaimed = channel.deposit - channel.claimed;
        channel.status = ChannelStatus.Finished;
        channels[id] = channel;
        emit ChannelWithdrawn(id, unclaimed);
        _pay(config.token, config.payer, unclaimed);
    }

    // ---------------------------------------------------------------- payee side

    /// @inheritdoc IPaymentChannels
    function claim(ChannelConfig calldata config, uint256 amount, bytes calldata signature) external nonReentrant {
        if (msg.sender != config.payee) revert CallerNotPayee(msg.sender, config.payee);
        bytes32 id = _channelId(config);
        _requireVoucherSignature(id, config.signer, amount, signature, _domainSeparatorV4());
        _pay(config.token, config.payee, _settle(id, amount));
    }

    /// @inheritdoc IPaymentChannels
    /// @dev Replay-safe without a nonce: the claimed amount only rises, so a signature for `amount` works once.
    function claimRelayed(
        ChannelConfig calldata config,
        uint256 amount,
        bytes calldata signature,
        uint256 fee,
        uint256 deadline,
        bytes calldata payeeSignature
    ) external nonReentrant {
        bytes32 separator = _domainSeparatorV4();
        bytes32 id = _channelId(config);
        _checkPayeeSignature(
            id, _relayedHash(RELAYED_CLAIM_TYPEHASH, id, amount, fee, deadline), deadline, config.payee, payeeSignature,
            separator
        );
        _requireVoucherSignature(id, config.signer, amount, signature, separator);
        uint256 payout = _settle(id, amount);
        _payRelayed(id, config.token, config.payee, payout, fee);
    }

    /// @inheritdoc IPaymentChannels
    /// @dev The caller is the payee of every claim and `token` is the token of every claim, so neither travels
    /// per entry: each channel id is rebuilt from the entry's payer, signer, closeDelay and salt with these two
    /// (see {_batchPreimage}). Dropping the two words measured ~760 gas less per claim of a 100-claim ETH batch
    /// and ~1,000 for an ERC-20 one (their calldata, the payee check and the per-token sums a mixed batch needed).
    /// A claim on a channel of another payee or in another token names an id that was never opened: it reverts
    /// with `ChannelNotOpen`. The channel is settled before its voucher is checked, so such a claim fails on what
    /// it is (no such channel for the caller) and not on a signature made for another id; a bad signature still
    /// reverts the whole batch, the settlement and its event with it. One failing claim reverts the whole batch.
    function claimMany(address token, Claim[] calldata claims) external nonReentrant {
        uint256 count = _checkBatchSize(claims.length);
        bytes32 separator = _domainSeparatorV4();
        uint256 preimage = _batchPreimage(token);
        uint256 total;
        for (uint256 i; i < count; ++i) {
            Claim calldata entry = claims[i];
            bytes32 id;
            // The entry's first four words are payer, signer, closeDelay and salt: the payer goes to word 0 of
            // the preimage, the other three to words 3-5, after the payee and token written once per batch.
            // Copied as they are, unvalidated: an entry with dirty high bits in an address or `closeDelay` makes
            // a preimage that is no canonical `abi.encode(ChannelConfig)`, while every opened id is the hash of
            // one (`open` reads, and so validates, every config field). Its id was therefore never opened and
            // {_settle} reverts with `ChannelNotOpen` before anything else reads the entry.
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                mstore(preimage, calldataload(entry))
                calldatacopy(add(preimage, 0x60), add(entry, 0x20), 0x60)
                id := keccak256(preimage, 0xc0)
            }
            uint256 amount = entry.amount;
            // Cannot overflow: every payout comes out of a deposit this contract holds.
            unchecked {
                total += _settle(id, amount);
            }
            // {_requireVoucherSignature}, inlined: measured ~30 gas less a claim of a batch.
            address signer = entry.signer;
            if (!_isValidSignature(signer, _voucherDigest(separator, id, amount), entry.signature)) {
                revert VoucherSignatureInvalid(id, signer);
            }
        }
        _pay(token, msg.sender, total);
    }

    /// @inheritdoc IPaymentChannels
    /// @dev {claimMany} for ECDSA signers with 64-byte signatures in static fields. A `Claim` carries its
    /// signature as `bytes`: an offset word, a length word and 31 bytes of padding per entry, and their ABI
    /// checks; fixed `r` and `vs` words drop them (measured ~850 gas less per claim of a 100-claim batch).
    /// The channel ids are rebuilt as in {claimMany}, whose comments say why that is safe.
    function claimManyCompact(address token, CompactClaim[] calldata claims) external nonReentrant {
        uint256 count = _checkBatchSize(claims.length);
        bytes32 separator = _domainSeparatorV4();
        uint256 preimage = _batchPreimage(token);
        uint256 total;
        for (uint256 i; i < count; ++i) {
            CompactClaim calldata entry = claims[i];
            bytes32 id;
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                mstore(preimage, calldataload(entry))
                calldatacopy(add(preimage, 0x60), add(entry, 0x20), 0x60)
                id := keccak256(preimage, 0xc0)
            }
            uint256 amount = entry.amount;
            // Cannot overflow: every payout comes out of a deposit this contract holds.
            unchecked {
                total += _settle(id, amount);
            }
            // `s` is `vs` without its top bit, which carries `v` (27 + bit).
            uint256 vs = uint256(entry.vs);
            address signer = entry.signer;
            if (
                _recover(_voucherDigest(separator, id, amount), 27 + (vs >> 255), entry.r, vs & ((1 << 255) - 1))
                    != signer
            ) revert VoucherSignatureInvalid(id, signer);
        }
        _pay(token, msg.sender, total);
    }

    /// @inheritdoc IPaymentChannels
    /// @dev With `amount` equal to what was already claimed, no signature is needed: the payee simply
    /// releases the rest of the deposit to the payer.
    function close(ChannelConfig calldata config, uint256 amount, bytes calldata signature) external nonReentrant {
        if (msg.sender != config.payee) revert CallerNotPayee(msg.sender, config.payee);
        bytes32 id = _channelId(config);
        _pay(config.token, config.payee, _finish(id, config, amount, signature, _domainSeparatorV4()));
    }

    /// @inheritdoc IPaymentChannels
    /// @dev Replay-safe without a nonce: a close finishes the channel.
    function closeRelayed(
        ChannelConfig calldata config,
        uint256 amount,
        bytes calldata signature,
        uint256 fee,
        uint256 deadline,
        bytes calldata payeeSignature
    ) external nonReentrant {
        bytes32 separator = _domainSeparatorV4();
        bytes32 id = _channelId(config);
        _checkPayeeSignature(
            id, _relayedHash(RELAYED_CLOSE_TYPEHASH, id, amount, fee, deadline), deadline, config.payee, payeeSignature,
            separator
        );
        _payRelayed(id, config.token, config.payee, _finish(id, config, amount, signature, separator), fee);
    }

    /// @inheritdoc IPaymentChannels
    function refund(ChannelConfig calldata config, uint256 amount) external nonReentrant {
        if (msg.sender != config.payee) revert CallerNotPayee(msg.sender, config.payee);
        bytes32 id = _channelId(config);
        _refund(id, config, amount, refunded[id] + amount);
    }

    /// @inheritdoc IPaymentChannels
    /// @dev The signed amount is cumulative, like a voucher's, so the signature needs no nonce: once the
    /// channel's `refunded` reaches it, it is spent.
    function refundRelayed(ChannelConfig calldata config, uint256 refunded_, uint256 deadline, bytes calldata payeeSignature)
        external
        nonReentrant
    {
        bytes32 id = _channelId(config);
        _checkPayeeSignature(
            id, keccak256(abi.encode(RELAYED_REFUND_TYPEHASH, id, refunded_, deadline)), deadline, config.payee,
            payeeSignature, _domainSeparatorV4()
        );
        uint256 current = refunded[id];
        if (refunded_ <= current) revert RefundNotIncreasing(refunded_, current);
        unchecked {
            _refund(id, config, refunded_ - current, refunded_); // refunded_ > current, checked above
        }
    }

    // ---------------------------------------------------------------- credits

    /// @inheritdoc IPaymentChannels
    /// @dev `to` lets an account that cannot receive (a blocklisted address) send its credit elsewhere.
    function withdrawCredit(address token, address to) external nonReentrant {
        uint256 amount = credits[token][msg.sender];
        if (amount == 0) revert CreditEmpty(token, msg.sender);
        credits[token][msg.sender] = 0;
        emit CreditWithdrawn(token, msg.sender, to, amount);
        if (token == address(0)) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, ) = to.call{value: amount}("");
            if (!ok) revert EthTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IPaymentChannels
    /// @dev Through `abi.encode`, which validates every field: the view reverts on a non-canonical encoding
    /// (dirty high bits) instead of returning an id that no `open` could create. Same id as {_channelId}.
    function channelId(ChannelConfig calldata config) external pure returns (bytes32) {
        return keccak256(abi.encode(config));
    }

    /// @inheritdoc IPaymentChannels
    function depositNonce(bytes32 channelId_, uint256 amount, bytes32 salt) external pure returns (bytes32) {
        return _depositNonce(channelId_, amount, salt);
    }

    /// @inheritdoc IPaymentChannels
    function voucherDigest(bytes32 channelId_, uint256 amount) external view returns (bytes32) {
        return _voucherDigest(_domainSeparatorV4(), channelId_, amount);
    }

    // ---------------------------------------------------------------- internals

    /// @dev `keccak256(abi.encode(config))`, hashed straight from calldata: a `ChannelConfig` is six static
    /// words, so its ABI encoding is those 192 calldata bytes as they are. Skipping `abi.encode` saves its
    /// per-field validation and copy (with the digest below, measured ~800 gas less per claim of a batch).
    /// Safe without that validation: a config with dirty high bits in an address or `closeDelay` hashes to
    /// an id that no `open` ever created (`open` reads and so validates every field), so it can only meet a
    /// `ChannelNotOpen` revert. Scratch memory past the free pointer is written and left unclaimed.
    function _channelId(ChannelConfig calldata config) internal pure returns (bytes32 id) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, config, 0xc0)
            id := keccak256(ptr, 0xc0)
        }
    }

    /// @dev The EIP-712 digest of `Voucher(id, amount)` under the domain `separator`, hashed in scratch memory
    /// past the free pointer: `abi.encode` and `_hashTypedDataV4` would allocate memory and check the cached
    /// domain on every claim of a batch, which takes the separator once instead.
    function _voucherDigest(bytes32 separator, bytes32 id, uint256 amount) internal pure returns (bytes32 digest) {
        bytes32 typeHash = VOUCHER_TYPEHASH;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), id)
            mstore(add(ptr, 0x40), amount)
            let structHash := keccak256(ptr, 0x60)
            // keccak256("\x19\x01" || separator || structHash), as MessageHashUtils.toTypedDataHash.
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), separator)
            mstore(add(ptr, 0x22), structHash)
            digest := keccak256(ptr, 0x42)
        }
    }

    function _checkBatchSize(uint256 count) internal pure returns (uint256) {
        if (count == 0 || count > MAX_CLAIM_BATCH) revert ClaimBatchSizeInvalid(count, MAX_CLAIM_BATCH);
        return count;
    }

    /// @dev Allocates the 192-byte `abi.encode(ChannelConfig)` preimage of a batch's channel ids with the
    /// caller as payee (word 1) and `token` (word 2) in place; each claim writes the other four words. Both are
    /// clean: `caller()` is an address, and the ABI decoder refused a `token` argument with dirty high bits.
    /// Allocated rather than scratch: the voucher digest and the signature checks write past the free pointer.
    function _batchPreimage(address token) internal view returns (uint256 preimage) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            preimage := mload(0x40)
            mstore(0x40, add(preimage, 0xc0))
            mstore(add(preimage, 0x20), caller())
            mstore(add(preimage, 0x40), token)
        }
    }

    /// @dev Validates a new config and returns its id, which must never have been used.
    function _open(ChannelConfig calldata config) internal view returns (bytes32 id) {
        if (
            config.payer == address(0) || config.payee == address(0) || config.signer == address(0)
                || config.closeDelay > MAX_CLOSE_DELAY
        ) revert ChannelConfigInvalid();
        id = _channelId(config);
        if (channels[id].status != ChannelStatus.None) revert ChannelExists(id);
    }

    /// @dev Loads a channel that takes deposits: open, and no close requested.
    function _toppable(ChannelConfig calldata config) internal view returns (bytes32 id, Channel memory channel) {
        id = _channelId(config);
        channel = channels[id];
        if (channel.status != ChannelStatus.Open) {
            if (channel.status == ChannelStatus.Closing) revert ChannelClosing(id, channel.closesAt);
            revert ChannelNotOpen(id, channel.status);
        }
    }

    /// @dev Adds what `funder`'s top-up brought to the deposit.
    function _credit(bytes32 id, Channel memory channel, address funder, uint256 received) internal {
        uint256 deposit = channel.deposit + received;
        channel.deposit = uint104(deposit);
        _store(id, channel, deposit);
        emit ChannelToppedUp(id, funder, received, deposit);
    }

    /// @dev Writes a channel after a deposit, refusing what does not fit the stored width.
    function _store(bytes32 id, Channel memory channel, uint256 deposit) internal {
        if (deposit > MAX_DEPOSIT) revert DepositTooLarge(deposit, MAX_DEPOSIT);
        channels[id] = channel;
    }

    function _emitOpened(bytes32 id, ChannelConfig calldata config, uint256 deposit) internal {
        emit ChannelOpened(
            id, config.payer, config.payee, config.token, config.signer, config.closeDelay, config.salt, deposit
        );
    }

    /// @dev Takes `amount` from the caller and returns what actually arrived. Fee-on-transfer tokens are
    /// credited with the received amount, measured by the balance change. A token without code is refused.
    function _receive(address token, uint256 amount) internal returns (uint256 received) {
        if (token == address(0)) {
            if (msg.value != amount) revert EthValueMismatch(msg.value, amount);
            return amount;
        }
        if (msg.value != 0) revert EthValueMismatch(msg.value, 0);
        uint256 balanceBefore = _balanceOfThis(token);
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        received = _balanceOfThis(token) - balanceBefore;
    }

    /// @dev The ERC-3009 nonce of a gasless deposit: it names the channel and the amount, so the signature
    /// cannot move funds into another channel or another amount.
    function _depositNonce(bytes32 id, uint256 amount, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(abi.encode(id, amount, salt));
    }

    /// @dev `keccak256(abi.encode(CHANNEL_DEPOSIT_TYPEHASH, id))`, the Permit2 witness, hashed in scratch space
    /// (0x00-0x3f) instead of through `abi.encode`'s allocation.
    function _depositWitness(bytes32 id) internal pure returns (bytes32 witness) {
        bytes32 typeHash = CHANNEL_DEPOSIT_TYPEHASH;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(0x00, typeHash)
            mstore(0x20, id)
            witness := keccak256(0x00, 0x40)
        }
    }

    /// @dev Pulls `amount` from the payer with its ERC-3009 `ReceiveWithAuthorization` and returns what arrived
    /// (the balance change, as {_receive}). `receiveWithAuthorization` only pays its caller, so nobody else can
    /// spend the signature; the token checks the signature and burns `nonce`.
    function _receiveWithAuthorization(
        ChannelConfig calldata config,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) internal returns (uint256 received) {
        address token = config.token;
        uint256 balanceBefore = _balanceOfThis(token);
        IERC3009(token).receiveWithAuthorization(
            config.payer, address(this), amount, validAfter, validBefore, nonce, v, r, s
        );
        received = _balanceOfThis(token) - balanceBefore;
    }

    /// @dev Pulls `amount` from the payer through Permit2 with a witness naming the channel, and returns what
    /// arrived. Permit2 checks the payer's signature over this contract as spender and over the witness, and
    /// burns the nonce: a signature for another channel or spender does not verify.
    function _receiveWithPermit2(
        ChannelConfig calldata config,
        bytes32 id,
        uint256 amount,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) internal returns (uint256 received) {
        address token = config.token;
        uint256 balanceBefore = _balanceOfThis(token);
        IPermit2SignatureTransfer(PERMIT2).permitWitnessTransferFrom(
            IPermit2SignatureTransfer.PermitTransferFrom(
                IPermit2SignatureTransfer.TokenPermissions(token, amount), nonce, deadline
            ),
            IPermit2SignatureTransfer.SignatureTransferDetails(address(this), amount),
            config.payer,
            _depositWitness(id),
            PERMIT2_WITNESS_TYPE,
            signature
        );
        received = _balanceOfThis(token) - balanceBefore;
    }

    /// @dev `token.balanceOf(address(this))`, refusing a token that does not answer with a word: an address
    /// without code (a high-level call would revert there without a reason) or a contract that is no ERC-20.
    /// Assembly instead of `IERC20.balanceOf`: measured 280 gas cheaper per token deposit than the two high-level
    /// calls, and 420 cheaper than adding an `EXTCODESIZE` check to them.
    function _balanceOfThis(address token) internal view returns (uint256 held) {
        bool answered;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            // Scratch space (0x00-0x3f) holds the call and its answer; no memory is allocated.
            mstore(0x00, 0x70a08231) // balanceOf(address)
            mstore(0x20, address())
            // Two statements: Yul evaluates arguments right to left, so a single `and(staticcall(..), gt(..))`
            // would read `returndatasize()` before the call.
            let succeeded := staticcall(gas(), token, 0x1c, 0x24, 0x00, 0x20)
            answered := and(succeeded, gt(returndatasize(), 0x1f))
            held := mload(0x00)
        }
        if (!answered) revert ChannelConfigInvalid();
    }

    /// @dev Closes a channel with a voucher of cumulative `amount`: records it, refunds the rest to the payer and
    /// returns what the payee is owed now. The caller checked who may close.
    function _finish(
        bytes32 id,
        ChannelConfig calldata config,
        uint256 amount,
        bytes calldata signature,
        bytes32 separator
    ) internal returns (uint256 payout) {
        Channel memory channel = _settleable(id);
        uint256 claimed = channel.claimed;
        if (amount < claimed) revert VoucherAmountNotIncreasing(amount, claimed);
        if (amount > claimed) _checkVoucher(id, config.signer, amount, channel.deposit, signature, separator);
        uint256 refund_ = channel.deposit - amount;
        // amount <= deposit <= type(uint104).max, checked above.
        channel.claimed = uint104(amount);
        channel.status = ChannelStatus.Finished;
        channels[id] = channel;
        emit ChannelClosed(id, config.payer, amount, refund_);
        _pay(config.token, config.payer, refund_);
        payout = amount - claimed;
    }

    /// @dev Gives `amount` of the unclaimed deposit back to the payer, raising the cumulative refund to `total`.
    function _refund(bytes32 id, ChannelConfig calldata config, uint256 amount, uint256 total) internal {
        Channel memory channel = _settleable(id);
        uint256 refundable = channel.deposit - channel.claimed;
        if (amount == 0 || amount > refundable) revert RefundAmountInvalid(amount, refundable);
        unchecked {
            channel.deposit -= uint104(amount); // amount <= deposit - claimed, checked above
        }
        channels[id] = channel;
        refunded[id] = total;
        emit ChannelRefunded(id, config.payer, amount, channel.deposit);
        _pay(config.token, config.payer, amount);
    }

    /// @dev Pays a relayed settlement: the rest of `payout` to the payee, `fee` to the relayer (the caller) as a
    /// credit it takes in bulk with {withdrawCredit}. A relayer settles many channels between two withdrawals,
    /// so its credit slot is usually non-zero: the credit costs a warm-slot write (5,000 with its cold read),
    /// where a second payout cost a token transfer (measured 7,800 for an ERC-20, 6,800 for ETH to the
    /// caller). `SettlementRelayed` is the credit's event, so a settlement without a fee emits none.
    function _payRelayed(bytes32 id, address token, address payee, uint256 payout, uint256 fee) internal {
        if (fee > payout) revert RelayFeeTooHigh(fee, payout);
        if (fee != 0) {
            credits[token][msg.sender] += fee;
            emit SettlementRelayed(id, msg.sender, fee);
        }
        unchecked {
            _pay(token, payee, payout - fee); // fee <= payout, checked above
        }
    }

    /// @dev Checks the payee's EIP-712 signature of a relayed settlement whose struct hash is `structHash`.
    /// The type hash inside it names the entry point, the domain names this contract and chain, and the
    /// channel id names the channel: a signature is good for one settlement only.
    function _checkPayeeSignature(
        bytes32 id,
        bytes32 structHash,
        uint256 deadline,
        address payee,
        bytes calldata signature,
        bytes32 separator
    ) internal view {
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp > deadline) revert SettlementExpired(deadline, block.timestamp);
        if (!_isValidSignature(payee, MessageHashUtils.toTypedDataHash(separator, structHash), signature)) {
            revert SettlementSignatureInvalid(id, payee);
        }
    }

    /// @dev `keccak256(abi.encode(typeHash, id, amount, fee, deadline))` in scratch memory past the free pointer,
    /// without the allocation of `abi.encode`: the relayed claim and close are measured gas rows.
    function _relayedHash(bytes32 typeHash, bytes32 id, uint256 amount, uint256 fee, uint256 deadline)
        internal
        pure
        returns (bytes32 structHash)
    {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), id)
            mstore(add(ptr, 0x40), amount)
            mstore(add(ptr, 0x60), fee)
            mstore(add(ptr, 0x80), deadline)
            structHash := keccak256(ptr, 0xa0)
        }
    }

    /// @dev Loads a channel the payee can still settle: open, or closing before its deadline.
    function _settleable(bytes32 id) internal view returns (Channel memory channel) {
        channel = channels[id];
        _requireSettleable(id, channel.status, channel.closesAt);
    }

    function _requireSettleable(bytes32 id, ChannelStatus status, uint256 closesAt) internal view {
        if (status == ChannelStatus.Open) return;
        if (status != ChannelStatus.Closing) revert ChannelNotOpen(id, status);
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp >= closesAt) revert ChannelCloseDeadlinePassed(id, closesAt);
    }

    /// @dev Records a claim of cumulative `amount` and returns what the payee is owed now. The caller checks the
    /// voucher signature (before or after: a failed check reverts this too) and that it may claim for the payee
    /// (the batches do so by building the id from `msg.sender`).
    /// Works on the channel's packed slot (layout: `deposit` bits 0-103, `claimed` 104-207, `closesAt`
    /// 208-247, `status` 248-255, as Solidity packs {Channel}) with one SLOAD and one SSTORE: the struct copy
    /// costs a second SLOAD and the unpacking and repacking of every field, once per claim of a batch
    /// (measured ~700 gas a claim). The signature is checked outside so that this one body serves `bytes` and
    /// 64-byte signatures alike: splitting it around the check measured ~200 gas more a claim.
    function _settle(bytes32 id, uint256 amount) internal returns (uint256 payout) {
        Channel storage stored = channels[id];
        uint256 packed;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            packed := sload(stored.slot)
        }
        uint256 status = packed >> _STATUS_SHIFT;
        if (status != uint256(ChannelStatus.Open)) {
            _requireSettleable(id, ChannelStatus(status), (packed >> _CLOSES_AT_SHIFT) & _CLOSES_AT_MASK);
        }
        uint256 claimed = (packed >> _CLAIMED_SHIFT) & _AMOUNT_MASK;
        if (amount <= claimed) revert VoucherAmountNotIncreasing(amount, claimed);
        uint256 deposit = packed & _AMOUNT_MASK;
        if (amount > deposit) revert VoucherAmountTooHigh(amount, deposit);
        // amount <= deposit <= type(uint104).max, checked above: it fills the `claimed` field exactly.
        packed = (packed & ~(_AMOUNT_MASK << _CLAIMED_SHIFT)) | (amount << _CLAIMED_SHIFT);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(stored.slot, packed)
        }
        unchecked {
            payout = amount - claimed; // amount > claimed, checked above
        }
        emit ChannelClaimed(id, amount, payout);
    }

    /// @dev Reverts unless `signature` is the config signer's for the voucher `(id, amount)`.
    function _requireVoucherSignature(
        bytes32 id,
        address signer,
        uint256 amount,
        bytes calldata signature,
        bytes32 separator
    ) internal view {
        if (!_isValidSignature(signer, _voucherDigest(separator, id, amount), signature)) {
            revert VoucherSignatureInvalid(id, signer);
        }
    }

    /// @dev `separator` is `_domainSeparatorV4()`, taken once per transaction by the caller.
    function _checkVoucher(
        bytes32 id,
        address signer,
        uint256 amount,
        uint256 deposit,
        bytes calldata signature,
        bytes32 separator
    ) internal
        view
    {
        if (amount > deposit) revert VoucherAmountTooHigh(amount, deposit);
        if (!_isValidSignature(signer, _voucherDigest(separator, id, amount), signature)) {
            revert VoucherSignatureInvalid(id, signer);
        }
    }

    /// @dev ECDSA first, ERC-1271 only when that fails and the signer has code. Checking the code size
    /// first (as `SignatureChecker.isValidSignatureNow` does) costs a cold EXTCODESIZE on every claim.
    /// Trying ECDSA first is safe: it accepts only a 65-byte, low-s, v in {27, 28} signature that recovers
    /// to `signer` itself, which for a contract signer would need the private key of the contract's address.
    function _isValidSignature(address signer, bytes32 digest, bytes calldata signature)
        internal
        view
        returns (bool)
    {
        if (_recoverCalldata(digest, signature) == signer) return true;
        return signer.code.length != 0
            && SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature);
    }

    /// @dev The EOA that signed `digest` with a 65-byte `r | s | v` signature, or `address(0)`. Accepts exactly
    /// what OpenZeppelin's `ECDSA.tryRecoverCalldata` accepts (length 65, `s` in the lower half of the curve
    /// order, `v` 27 or 28), in assembly because it runs once per claim of a batch: the library's error enum
    /// and memory bookkeeping measured ~400 gas more a claim. `signer` is never `address(0)` (`open` refuses
    /// it), so the `address(0)` of a refused signature never matches it.
    function _recoverCalldata(bytes32 digest, bytes calldata signature) internal view returns (address) {
        if (signature.length != 65) return address(0);
        // The same steps as {_recover}, inlined: reading `r`, `s` and `v` into locals for the call measured
        // ~60 gas more a claim of a batch.
        address recovered;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let s := calldataload(add(signature.offset, 0x20))
            if iszero(gt(s, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0)) {
                let ptr := mload(0x40)
                mstore(ptr, digest)
                mstore(add(ptr, 0x20), byte(0, calldataload(add(signature.offset, 0x40))))
                mstore(add(ptr, 0x40), calldataload(signature.offset))
                mstore(add(ptr, 0x60), s)
                mstore(0x00, 0)
                pop(staticcall(gas(), 0x01, ptr, 0x80, 0x00, 0x20))
                recovered := mload(0x00)
            }
        }
        return recovered;
    }

    /// @dev `ecrecover` through the precompile, or `address(0)` for a high `s`, a `v` other than 27 or 28, or no
    /// valid point.
    function _recover(bytes32 digest, uint256 v, bytes32 r, uint256 s) internal view returns (address recovered) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            // s <= n / 2 (secp256k1 order n): the one canonical form of each signature.
            if iszero(gt(s, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0)) {
                let ptr := mload(0x40)
                mstore(ptr, digest)
                mstore(add(ptr, 0x20), v)
                mstore(add(ptr, 0x40), r)
                mstore(add(ptr, 0x60), s)
                // The precompile returns nothing for a `v` other than 27 or 28, or for no valid point:
                // `recovered` then reads the zero left in scratch space.
                mstore(0x00, 0)
                pop(staticcall(gas(), 0x01, ptr, 0x80, 0x00, 0x20))
                recovered := mload(0x00)
            }
        }
    }

    /// @dev Sends a payout, or credits it to `to` when delivery fails, so that one party that cannot
    /// receive never blocks the other. ETH is sent with `ETH_PAYOUT_GAS` so a receiver cannot exhaust
    /// the caller's gas; tokens with `trySafeTransfer`, which reports failure instead of reverting.
    function _pay(address token, address to, uint256 amount) internal {
        if (amount == 0) return;
        bool delivered;
        if (token == address(0)) {
            // solhint-disable-next-line avoid-low-level-calls
            (delivered, ) = to.call{value: amount, gas: ETH_PAYOUT_GAS}("");
        } else {
            delivered = IERC20(token).trySafeTransfer(to, amount);
        }
        if (!delivered) {
            credits[token][to] += amount;
            emit PayoutCredited(token, to, amount);
        }
    }
}

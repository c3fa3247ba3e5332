// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IPaymentChannels} from "../interfaces/IPaymentChannels.sol";
import {ISplitPayee} from "./ISplitPayee.sol";

/// @title SplitPayee
/// @author Trickle
/// @notice One singleton that is the payee of every split channel of one `PaymentChannels` deployment.
/// @dev Rules the SDK and the tests rely on:
/// - A split channel is an ordinary channel with `payee = address(this)` and
///   `salt = splitSalt(recipients, weights, nonce)`: the channel id commits to the list, and `PaymentChannels`
///   needs no change. The list is checked at every claim (it cannot be checked at the open, which this
///   contract does not see): a list the SDK would refuse (empty, zero total weight) makes the channel
///   unclaimable, and the payer takes its deposit back with `requestClose` and `withdraw`.
/// - What is split is what arrived (balance after minus balance before the channel call), so a
///   fee-on-transfer token splits what it delivered, not what it was asked to send.
/// - Rounding: recipient `i > 0` gets `floor(arrived * weights[i] / totalWeight)`, recipient 0 the rest, so
///   every unit that arrived leaves in the same transaction and no recipient after the first is ever paid
///   above its exact share. The first recipient's extra is below one unit per other recipient per claim.
/// - A recipient that cannot receive (reverting receiver, blocklisted address, one burning its gas) is
///   credited and withdraws later; the others are paid regardless. This contract holds only such credits.
contract SplitPayee is ISplitPayee, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The longest recipient list. Bounds the loop so a claim fits one transaction: a 1,000-recipient
    /// ETH claim measured about 11M gas (`npm run bench:gas`), inside EIP-7825's cap of 2^24 gas per
    /// transaction (about 1,500 recipients) and a 30M block (about 2,700). Each recipient is a cold account
    /// and a value transfer; an account that never held ETH costs 25,000 more, so such lists must be shorter.
    uint256 public constant MAX_RECIPIENTS = 1_000;
    /// @notice Gas forwarded with an ETH share, as `PaymentChannels` does: enough for a smart-wallet
    /// receive hook; a receiver burning it all only loses its share to a credit.
    uint256 public constant ETH_PAYOUT_GAS = 50_000;

    /// @notice The `PaymentChannels` deployment whose channels this contract is the payee of.
    /// @dev Named as the interface's view, which integrators call; solhint's SNAKE_CASE rule would rename it.
    IPaymentChannels public immutable channels; // solhint-disable-line immutable-vars-naming
    /// @inheritdoc ISplitPayee
    mapping(address token => mapping(address account => uint256)) public credits;

    /// @notice Binds this payee to one `PaymentChannels` deployment.
    /// @param channels_ The `PaymentChannels` deployment.
    constructor(IPaymentChannels channels_) {
        channels = channels_;
    }

    /// @notice Takes the ETH payouts of split channels.
    /// @dev ETH payouts of split channels arrive here. Refusing everyone else keeps stray ETH out: it could
    /// never be attributed to a list and would be stuck.
    receive() external payable {
        if (msg.sender != address(channels)) revert EthSenderNotChannels(msg.sender);
    }

    /// @inheritdoc ISplitPayee
    function splitSalt(address[] calldata recipients, uint96[] calldata weights, bytes32 nonce)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(recipients, weights, nonce));
    }

    /// @inheritdoc ISplitPayee
    function claim(
        IPaymentChannels.ChannelConfig calldata config,
        uint256 amount,
        bytes calldata signature,
        address[] calldata recipients,
        uint96[] calldata weights,
        bytes32 nonce
    ) external nonReentrant returns (uint256 distributed) {
        uint256 totalWeight = _checkList(config, recipients, weights, nonce);
        uint256 before = _held(config.token);
        channels.claim(config, amount, signature);
        distributed = _held(config.token) - before;
        _split(config, distributed, recipients, weights, totalWeight);
    }

    /// @inheritdoc ISplitPayee
    function close(
        IPaymentChannels.ChannelConfig calldata config,
        uint256 amount,
        bytes calldata signature,
        address[] calldata recipients,
        uint96[] calldata weights,
        bytes32 nonce
    ) external nonReentrant returns (uint256 distributed) {
        uint256 totalWeight = _checkList(config, recipients, weights, nonce);
        uint256 before = _held(config.token);
        channels.close(config, amount, signature);
        distributed = _held(config.token) - before;
        _split(config, distributed, recipients, weights, totalWeight);
    }

    /// @inheritdoc ISplitPayee
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

    /// @dev Checks that `config` is a split channel of this contract committed to this list; returns the
    /// total weight. The sum cannot overflow: at most `MAX_RECIPIENTS` weights of 96 bits.
    function _checkList(
        IPaymentChannels.ChannelConfig calldata config,
        address[] calldata recipients,
        uint96[] calldata weights,
        bytes32 nonce
    ) internal view returns (uint256 totalWeight) {
        if (config.payee != address(this)) revert SplitNotPayee(config.payee);
        bytes32 listSalt = splitSalt(recipients, weights, nonce);
        if (listSalt != config.salt) revert SplitListMismatch(config.salt, listSalt);
        uint256 count = recipients.length;
        if (count == 0 || count > MAX_RECIPIENTS || weights.length != count) {
            revert SplitListInvalid(count, weights.length);
        }
        unchecked {
            for (uint256 i; i < count; ++i) totalWeight += weights[i];
        }
        if (totalWeight == 0) revert SplitListInvalid(count, weights.length);
    }

    /// @dev Pays every recipient its share of `arrived`; recipient 0 takes the rounding remainder, so the
    /// shares sum to `arrived` exactly. `arrived * weight` cannot overflow: `arrived` fits 104 bits (a
    /// channel's deposit), a weight 96.
    function _split(
        IPaymentChannels.ChannelConfig calldata config,
        uint256 arrived,
        address[] calldata recipients,
        uint96[] calldata weights,
        uint256 totalWeight
    ) internal {
        if (arrived == 0) return;
        address token = config.token;
        uint256 count = recipients.length;
        uint256 rest = arrived;
        unchecked {
            for (uint256 i = 1; i < count; ++i) {
                uint256 share = (arrived * weights[i]) / totalWeight;
                rest -= share; // the shares of i > 0 sum to at most `arrived`
                _pay(token, recipients[i], share);
            }
        }
        _pay(token, recipients[0], rest);
        emit SplitDistributed(keccak256(abi.encode(config)), token, arrived, count);
    }

    /// @dev What this contract holds of `token`, credits included (they are outside every before/after pair).
    function _held(address token) internal view returns (uint256) {
        return token == address(0) ? address(this).balance : IERC20(token).balanceOf(address(this));
    }

    /// @dev Delivers a share, or credits it when delivery fails, so one recipient never blocks the others.
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
            emit ShareCredited(token, to, amount);
        }
    }
}

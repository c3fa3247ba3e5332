// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ITipJar} from "./ITipJar.sol";

/// @title TipJar
/// @author Trickle
/// @notice Micro-donations from one budget to any number of creators: one transaction to fund the budget,
/// none per tip or per new creator, one per creator to collect from every donor.
/// @dev Rules the SDK and the tests rely on:
/// - A tally is signed as EIP-712 `Tally(bytes32 budgetId,uint256 total,bytes32 tallyHash)` under the domain
///   `{name: "Trickle TipJar", version: "1", chainId, verifyingContract}`; `total` is the sum of its amounts.
/// - Only the hash of the last settled tally is stored, not an amount per (budget, creator) pair: a new pair
///   costs calldata, not a new storage slot. The settler sends the settled tally back and the contract checks
///   it against the hash; a new tally must extend it, so no creator's settled amount ever goes down.
/// - Settling credits balances inside this contract, no transfer per creator; a creator collects its balance
///   of every donor at once. The same balances hold a donor refund that could not be delivered.
/// - Timing is the channel's: settle while open or closing before `closesAt`; from `closesAt` on only the
///   donor's `withdraw`, which returns `deposit - settled`.
/// - What a creator must trust: a tally is paid if it is settled before the deadline and extends the settled
///   one; a donor who signs two tallies that do not extend each other can make one of them unsettlable
///   (docs/donations.md: the creator SDK refuses such a fork and caps what it lets one donor owe).
contract TipJar is ITipJar, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice EIP-712 type hash of `Tally(bytes32 budgetId,uint256 total,bytes32 tallyHash)`.
    bytes32 public constant TALLY_TYPEHASH = keccak256("Tally(bytes32 budgetId,uint256 total,bytes32 tallyHash)");
    /// @notice The longest close delay a budget may have.
    uint64 public constant MAX_CLOSE_DELAY = 365 days;
    /// @notice The largest deposit a budget can hold: the width of `Budget.deposit`.
    uint256 public constant MAX_DEPOSIT = type(uint104).max;
    /// @notice The most settlements one `settleMany` takes.
    uint256 public constant MAX_SETTLE_BATCH = 256;
    /// @notice Gas forwarded with an ETH refund, as `PaymentChannels` does.
    uint256 public constant ETH_PAYOUT_GAS = 50_000;

    /// @inheritdoc ITipJar
    mapping(bytes32 budgetId => Budget) public budgets;
    /// @inheritdoc ITipJar
    mapping(bytes32 budgetId => bytes32) public settledTallies;
    /// @inheritdoc ITipJar
    mapping(address token => mapping(address account => uint256)) public balances;

    constructor() EIP712("Trickle TipJar", "1") {}

    // ---------------------------------------------------------------- donor side

    /// @inheritdoc ITipJar
    function open(BudgetConfig calldata config, uint256 amount)
        external
        payable
        nonReentrant
        returns (bytes32 budgetId_)
    {
        if (config.donor == address(0) || config.signer == address(0) || config.closeDelay > MAX_CLOSE_DELAY) {
            revert BudgetConfigInvalid();
        }
        budgetId_ = keccak256(abi.encode(config));
        if (budgets[budgetId_].status != BudgetStatus.None) revert BudgetExists(budgetId_);
        uint256 deposit = _receive(config.token, amount, 0);
        budgets[budgetId_] = Budget(uint104(deposit), 0, 0, BudgetStatus.Open);
        emit BudgetOpened(budgetId_, config.donor, config.token, deposit);
    }

    /// @inheritdoc ITipJar
    function topUp(BudgetConfig calldata config, uint256 amount) external payable nonReentrant {
        bytes32 id = keccak256(abi.encode(config));
        Budget memory budget = budgets[id];
        if (budget.status != BudgetStatus.Open) {
            if (budget.status == BudgetStatus.Closing) revert BudgetClosing(id, budget.closesAt);
            revert BudgetNotOpen(id, budget.status);
        }
        uint256 deposit = _receive(config.token, amount, budget.deposit);
        uint256 received = deposit - budget.deposit;
        budget.deposit = uint104(deposit);
        budgets[id] = budget;
        emit BudgetToppedUp(id, received, deposit);
    }

    /// @inheritdoc ITipJar
    function requestClose(BudgetConfig calldata config) external nonReentrant {
        if (msg.sender != config.donor) revert CallerNotDonor(msg.sender, config.donor);
        bytes32 id = keccak256(abi.encode(config));
        Budget memory budget = budgets[id];
        if (budget.status != BudgetStatus.Open) {
            if (budget.status == BudgetStatus.Closing) revert BudgetClosing(id, budget.closesAt);
            revert BudgetNotOpen(id, budget.status);
        }
        // Cannot overflow uint40: closeDelay <= 365 days was checked at open.
        uint40 closesAt = uint40(block.timestamp + config.closeDelay);
        budget.closesAt = closesAt;
        budget.status = BudgetStatus.Closing;
        budgets[id] = budget;
        emit BudgetCloseRequested(id, closesAt);
    }

    /// @inheritdoc ITipJar
    function withdraw(BudgetConfig calldata config) external nonReentrant {
        if (msg.sender != config.donor) revert CallerNotDonor(msg.sender, config.donor);
        bytes32 id = keccak256(abi.encode(config));
        Budget memory budget = budgets[id];
        if (budget.status != BudgetStatus.Closing) {
            if (budget.status == BudgetStatus.Open) revert BudgetCloseNotRequested(id);
            revert BudgetNotOpen(id, budget.status);
        }
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp < budget.closesAt) revert BudgetCloseDelayNotElapsed(id, budget.closesAt);
        uint256 refund = budget.deposit - budget.settled;
        budget.status = BudgetStatus.Finished;
        budgets[id] = budget;
        emit BudgetWithdrawn(id, refund);
        _pay(config.token, config.donor, refund);
    }

    // ---------------------------------------------------------------- settling and collecting

    /// @inheritdoc ITipJar
    function settle(Settlement calldata settlement) external nonReentrant {
        _settle(settlement);
    }

    /// @inheritdoc ITipJar
    function settleMany(Settlement[] calldata settlements) external nonReentrant {
        _settleMany(settlements);
    }

    /// @inheritdoc ITipJar
    function settleManyAndCollect(Settlement[] calldata settlements, address token, address to)
        external
        nonReentrant
    {
        _settleMany(settlements);
        _collect(token, to);
    }

    /// @inheritdoc ITipJar
    function collect(address token, address to) external nonReentrant {
        _collect(token, to);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ITipJar
    function budgetId(BudgetConfig calldata config) external pure returns (bytes32) {
        return keccak256(abi.encode(config));
    }

    /// @inheritdoc ITipJar
    function tallyHash(Tally calldata tally) external pure returns (bytes32) {
        return _tallyHash(tally);
    }

    /// @inheritdoc ITipJar
    function tallyDigest(bytes32 budgetId_, uint256 total, bytes32 tallyHash_) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(TALLY_TYPEHASH, budgetId_, total, tallyHash_)));
    }

    // ---------------------------------------------------------------- internals

    function _settleMany(Settlement[] calldata settlements) internal {
        uint256 count = settlements.length;
        if (count == 0 || count > MAX_SETTLE_BATCH) revert SettleBatchSizeInvalid(count, MAX_SETTLE_BATCH);
        for (uint256 i; i < count; ++i) {
            _settle(settlements[i]);
        }
    }

    /// @dev Checks the settled tally against its stored hash, the new tally against it and the signature,
    /// then credits every creator the increase of its cumulative amount. Each amount is at most `MAX_DEPOSIT`
    /// (checked), so the total of at most calldata-bounded entries cannot overflow.
    function _settle(Settlement calldata settlement) internal {
        BudgetConfig calldata config = settlement.config;
        bytes32 id = keccak256(abi.encode(config));
        Budget memory budget = budgets[id];
        if (budget.status != BudgetStatus.Open) {
            if (budget.status != BudgetStatus.Closing) revert BudgetNotOpen(id, budget.status);
            // solhint-disable-next-line not-rely-on-time
            if (block.timestamp >= budget.closesAt) revert BudgetCloseDeadlinePassed(id, budget.closesAt);
        }
        Tally calldata settledTally = settlement.settledTally;
        bytes32 stored = settledTallies[id];
        bytes32 given = _tallyHash(settledTally);
        if (given != stored) revert TallySettledMismatch(stored, given);

        Tally calldata tally = settlement.tally;
        uint256 count = tally.creators.length;
        uint256 settledCount = settledTally.creators.length;
        if (tally.amounts.length != count || count < settledCount) revert TallyNotExtending(count);
        address token = config.token;
        uint256 total;
        for (uint256 i; i < count; ++i) {
            address creator = tally.creators[i];
            uint256 amount = tally.amounts[i];
            if (amount > MAX_DEPOSIT) revert TallyAboveDeposit(amount, budget.deposit);
            uint256 increase = amount;
            if (i < settledCount) {
                uint256 before = settledTally.amounts[i];
                if (creator != settledTally.creators[i] || amount < before) revert TallyNotExtending(i);
                increase = amount - before;
            }
            unchecked {
                total += amount; // at most `count` terms below 2^104 each
            }
            if (increase != 0) balances[token][creator] += increase;
        }
        if (total <= budget.settled) revert TallyNotIncreasing(total, budget.settled);
        if (total > budget.deposit) revert TallyAboveDeposit(total, budget.deposit);
        bytes32 newHash = keccak256(abi.encode(tally.creators, tally.amounts));
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(TALLY_TYPEHASH, id, total, newHash)));
        if (!SignatureChecker.isValidSignatureNowCalldata(config.signer, digest, settlement.signature)) {
            revert TallySignatureInvalid(id, config.signer);
        }
        // total <= deposit <= type(uint104).max, checked above.
        budget.settled = uint104(total);
        budgets[id] = budget;
        settledTallies[id] = newHash;
        emit TallySettled(id, total, newHash);
    }

    function _collect(address token, address to) internal {
        uint256 amount = balances[token][msg.sender];
        if (amount == 0) revert BalanceEmpty(token, msg.sender);
        balances[token][msg.sender] = 0;
        emit BalanceCollected(token, msg.sender, to, amount);
        if (token == address(0)) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, ) = to.call{value: amount}("");
            if (!ok) revert EthTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    /// @dev The empty tally hashes to zero, the value of a budget that settled nothing yet.
    function _tallyHash(Tally calldata tally) internal pure returns (bytes32) {
        if (tally.creators.length == 0 && tally.amounts.length == 0) return bytes32(0);
        return keccak256(abi.encode(tally.creators, tally.amounts));
    }

    /// @dev Takes `amount` from the caller and returns the new deposit `held + arrived`. A token is credited
    /// with what actually arrived (fee-on-transfer tokens); a deposit above `MAX_DEPOSIT` is refused.
    function _receive(address token, uint256 amount, uint256 held) internal returns (uint256 deposit) {
        uint256 arrived = amount;
        if (token == address(0)) {
            if (msg.value != amount) revert DepositValueMismatch(msg.value, amount);
        } else {
            if (msg.value != 0) revert DepositValueMismatch(msg.value, amount);
            uint256 before = IERC20(token).balanceOf(address(this));
            IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
            arrived = IERC20(token).balanceOf(address(this)) - before;
        }
        deposit = held + arrived;
        if (deposit > MAX_DEPOSIT) revert DepositTooLarge(deposit, MAX_DEPOSIT);
    }

    /// @dev Sends a refund, or credits it to the donor's balance when delivery fails.
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
            balances[token][to] += amount;
            emit BalanceCredited(token, to, amount);
        }
    }
}

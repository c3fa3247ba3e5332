// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Trickle tip jar
/// @author Trickle
/// @notice One budget per donor pays any number of creators. The donor locks the budget once, then signs,
/// off-chain, a growing tally: the list of every creator it tipped with the cumulative amount each got.
/// Anyone settles a tally on-chain; each creator's increase is added to its balance here, which the creator
/// collects in one transaction whatever the number of donors. See docs/donations.md for the trust model.
/// @dev Declares the types, events and errors of {TipJar} so integrators can decode them.
interface ITipJar {
    /// @notice The immutable parameters of a budget. Their hash is the budget id.
    /// @param donor Funds the budget, takes back what was not settled; the only one who can close it.
    /// @param token ERC-20 token of the budget, or `address(0)` for ETH.
    /// @param signer Key that signs tallies: the donor, a session key, or an ERC-1271 wallet.
    /// @param closeDelay Seconds creators have to settle after the donor asks to close.
    /// @param salt Makes the id unique when the other fields repeat.
    struct BudgetConfig {
        address donor;
        address token;
        address signer;
        uint64 closeDelay;
        bytes32 salt;
    }

    /// @notice Where a budget is in its life; the same states as a channel's.
    enum BudgetStatus {
        None,
        Open,
        Closing,
        Finished
    }

    /// @notice The mutable state of a budget, packed in one storage slot.
    /// @param deposit Everything deposited so far (what arrived).
    /// @param settled The total of the last settled tally: what creators got from this budget so far.
    /// @param closesAt Set by `requestClose`: the first second at which the donor can withdraw.
    /// @param status See {BudgetStatus}.
    struct Budget {
        uint104 deposit;
        uint104 settled;
        uint40 closesAt;
        BudgetStatus status;
    }

    /// @notice A tally: every creator a budget tipped, in the order first tipped, with its cumulative amount.
    /// A later tally extends an earlier one: the same creators first, each with at least its earlier amount.
    /// @param creators The creators.
    /// @param amounts Their cumulative amounts.
    struct Tally {
        address[] creators;
        uint256[] amounts;
    }

    /// @notice One entry of {settleMany}.
    /// @param config The budget's config.
    /// @param settledTally The tally settled last (empty for the first settlement), as the budget stores its hash.
    /// @param tally The new tally.
    /// @param signature The budget signer's signature of the new tally.
    struct Settlement {
        BudgetConfig config;
        Tally settledTally;
        Tally tally;
        bytes signature;
    }

    /// @notice A budget was opened with `deposit`.
    /// @param budgetId The new budget's id.
    /// @param donor The config's donor.
    /// @param token The config's token, `address(0)` for ETH.
    /// @param deposit What arrived as the first deposit.
    event BudgetOpened(bytes32 indexed budgetId, address indexed donor, address token, uint256 deposit);
    /// @notice `amount` was added; the deposit is now `deposit`.
    /// @param budgetId The budget.
    /// @param amount What arrived with this top-up.
    /// @param deposit The budget's total deposit after it.
    event BudgetToppedUp(bytes32 indexed budgetId, uint256 amount, uint256 deposit);
    /// @notice A tally of total `settled` and hash `tallyHash` was settled; its creators' balances grew by the
    /// difference with the previous one. The tally itself is in the transaction's calldata.
    /// @param budgetId The budget.
    /// @param settled The new tally's total.
    /// @param tallyHash The new tally's hash, now stored.
    event TallySettled(bytes32 indexed budgetId, uint256 settled, bytes32 tallyHash);
    /// @notice The donor asked to close; it can withdraw from `closesAt` on.
    /// @param budgetId The budget.
    /// @param closesAt The first second at which `withdraw` works and `settle` no longer does.
    event BudgetCloseRequested(bytes32 indexed budgetId, uint256 closesAt);
    /// @notice The donor took back `refund`, what was not settled; the budget is finished.
    /// @param budgetId The budget, now finished.
    /// @param refund What went back to the donor (or was credited to its balance).
    event BudgetWithdrawn(bytes32 indexed budgetId, uint256 refund);
    /// @notice A refund to `account` could not be delivered and was added to its balance instead.
    /// @param token The refund's token, `address(0)` for ETH.
    /// @param account The donor.
    /// @param amount The credited amount.
    event BalanceCredited(address indexed token, address indexed account, uint256 amount);
    /// @notice `account` collected its `amount` of `token`, sent to `to`.
    /// @param token The token, `address(0)` for ETH.
    /// @param account The balance's owner.
    /// @param to Where it was sent.
    /// @param amount The amount sent.
    event BalanceCollected(address indexed token, address indexed account, address to, uint256 amount);

    /// @notice A budget with this id exists or existed; ids are never reused.
    error BudgetExists(bytes32 budgetId);
    /// @notice The budget is not open (never opened, or finished).
    error BudgetNotOpen(bytes32 budgetId, BudgetStatus status);
    /// @notice The donor already asked to close this budget.
    error BudgetClosing(bytes32 budgetId, uint256 closesAt);
    /// @notice The close deadline has passed: tallies can no longer be settled.
    error BudgetCloseDeadlinePassed(bytes32 budgetId, uint256 closesAt);
    /// @notice `withdraw` needs a close request first.
    error BudgetCloseNotRequested(bytes32 budgetId);
    /// @notice `withdraw` before the close deadline.
    error BudgetCloseDelayNotElapsed(bytes32 budgetId, uint256 closesAt);
    /// @notice A zero donor or signer, or a close delay above the maximum.
    error BudgetConfigInvalid();
    /// @notice Only the budget's donor can do this.
    error CallerNotDonor(address caller, address donor);
    /// @notice The deposit would exceed `MAX_DEPOSIT`.
    error DepositTooLarge(uint256 deposit, uint256 max);
    /// @notice `msg.value` does not match the ETH amount, or ETH was sent for a token budget.
    error DepositValueMismatch(uint256 value, uint256 amount);
    /// @notice `settledTally` is not the tally the budget settled last.
    error TallySettledMismatch(bytes32 stored, bytes32 given);
    /// @notice The new tally is malformed or does not extend the settled one at `index` (another creator,
    /// a smaller amount, fewer creators, or lists of different lengths).
    error TallyNotExtending(uint256 index);
    /// @notice The new tally's total does not exceed what was settled.
    error TallyNotIncreasing(uint256 total, uint256 settled);
    /// @notice The new tally's total is above the deposit.
    error TallyAboveDeposit(uint256 total, uint256 deposit);
    /// @notice The signature is not the budget signer's for this tally.
    error TallySignatureInvalid(bytes32 budgetId, address signer);
    /// @notice `settleMany` with no settlement or more than `MAX_SETTLE_BATCH`.
    error SettleBatchSizeInvalid(uint256 count, uint256 max);
    /// @notice `collect` with an empty balance.
    error BalanceEmpty(address token, address account);
    /// @notice An ETH collection was refused by `to`.
    error EthTransferFailed(address to, uint256 amount);

    /// @notice A budget's state.
    /// @param budgetId The budget.
    /// @return deposit Everything deposited so far.
    /// @return settled The total of the last settled tally.
    /// @return closesAt The close deadline, zero until `requestClose`.
    /// @return status See {BudgetStatus}.
    function budgets(bytes32 budgetId)
        external
        view
        returns (uint104 deposit, uint104 settled, uint40 closesAt, BudgetStatus status);
    /// @notice The hash of the tally a budget settled last, zero before the first settlement.
    /// @param budgetId The budget.
    /// @return The stored hash.
    function settledTallies(bytes32 budgetId) external view returns (bytes32);
    /// @notice What `account` holds here in `token` and can collect now.
    /// @param token The token, `address(0)` for ETH.
    /// @param account A creator (or a donor with a refund that could not be sent).
    /// @return The balance.
    function balances(address token, address account) external view returns (uint256);

    /// @notice Opens a budget with its first deposit, taken from the caller. Payable for ETH.
    /// @param config The budget's config.
    /// @param amount The deposit; `msg.value` must equal it for ETH and be zero for a token.
    /// @return budgetId The new budget's id.
    function open(BudgetConfig calldata config, uint256 amount) external payable returns (bytes32 budgetId);
    /// @notice Adds to an open budget's deposit; anyone may fund it.
    /// @param config The budget's config.
    /// @param amount What to add.
    function topUp(BudgetConfig calldata config, uint256 amount) external payable;
    /// @notice Settles a tally of the budget: anyone may call it, the money only goes to the tally's creators.
    /// @param settlement The budget, its settled tally, the new tally and the signer's signature of it.
    function settle(Settlement calldata settlement) external;
    /// @notice Settles tallies of many budgets, so a creator's balance slot is paid for once per transaction.
    /// @param settlements One entry per budget, at most `MAX_SETTLE_BATCH`.
    function settleMany(Settlement[] calldata settlements) external;
    /// @notice Settles tallies of many budgets, then sends the caller's whole balance of `token` to `to`:
    /// a creator takes everything every donor gave it in one transaction.
    /// @param settlements One entry per budget, at most `MAX_SETTLE_BATCH`.
    /// @param token The token to collect, `address(0)` for ETH.
    /// @param to Where to send the caller's balance.
    function settleManyAndCollect(Settlement[] calldata settlements, address token, address to) external;
    /// @notice Sends the caller's whole balance of `token` to `to`.
    /// @param token The token, `address(0)` for ETH.
    /// @param to Where to send it (an address that cannot receive sends its balance elsewhere).
    function collect(address token, address to) external;
    /// @notice Starts the close countdown. Donor only.
    /// @param config The budget's config.
    function requestClose(BudgetConfig calldata config) external;
    /// @notice After the countdown, refunds what was not settled and finishes the budget. Donor only.
    /// @param config The budget's config.
    function withdraw(BudgetConfig calldata config) external;

    /// @notice `keccak256(abi.encode(config))`.
    /// @param config A budget config.
    /// @return The budget id.
    function budgetId(BudgetConfig calldata config) external pure returns (bytes32);
    /// @notice `keccak256(abi.encode(tally.creators, tally.amounts))`; zero for the empty tally.
    /// @param tally A tally.
    /// @return The hash the budget stores once it is settled.
    function tallyHash(Tally calldata tally) external pure returns (bytes32);
    /// @notice The EIP-712 digest of `Tally(bytes32 budgetId,uint256 total,bytes32 tallyHash)`.
    /// @param budgetId The budget.
    /// @param total The tally's total.
    /// @param tallyHash_ The tally's hash.
    /// @return The digest the budget's signer signs.
    function tallyDigest(bytes32 budgetId, uint256 total, bytes32 tallyHash_) external view returns (bytes32);
}

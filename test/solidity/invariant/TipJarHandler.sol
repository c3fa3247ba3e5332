// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ITipJar} from "../../../contracts/donations/ITipJar.sol";
import {TipJar} from "../../../contracts/donations/TipJar.sol";
import {TestToken} from "../../../contracts/mocks/TestToken.sol";
import {EthRejecter} from "../utils/EthRejecter.sol";
import {TrickleTestBase} from "../utils/TrickleTestBase.sol";
import {vm} from "../utils/Vm.sol";

/// @notice Drives random sequences over tip-jar budgets: opens, top-ups, tips (a new signed tally that extends
/// the last one), settlements of any signed tally (old ones included), batched settlements, forked tallies the
/// donor signs to cheat, close requests, time jumps, withdrawals and collections. Keeps a model of what every
/// creator was signed and settled, independent of the contract, for the invariant suite.
contract TipJarHandler is TrickleTestBase {
    struct BudgetModel {
        ITipJar.BudgetConfig config;
        bytes32 id;
        uint256 deposit;
        /// Total of the latest signed tally.
        uint256 signedTotal;
        /// Index in `snapshots` of the tally settled last; `type(uint256).max` before any.
        uint256 settledIndex;
        uint256 closesAt;
        ITipJar.BudgetStatus status;
        uint256 donorRefunded;
    }

    uint256 internal constant DONOR_KEY = 0xD0D0;
    uint256 internal constant MAX_BUDGETS = 5;
    uint256 internal constant MAX_TIPS = 12;
    uint64 internal constant DELAY = 1 days;
    uint256 internal constant NONE = type(uint256).max;

    TipJar public immutable jar;
    TestToken public immutable token;
    EthRejecter public immutable rejectingCreator;
    address public immutable donor;
    address public immutable vault;

    address[] internal creatorPool;
    BudgetModel[] internal models;
    mapping(uint256 budget => ITipJar.Tally[]) internal snapshots;
    /// Per token and creator: the sum over budgets of its amount in the latest signed tally.
    mapping(address token => mapping(address creator => uint256)) public signedTo;
    /// Per token and creator: the sum over budgets of its amount in the settled tally.
    mapping(address token => mapping(address creator => uint256)) public settledTo;
    /// Per token and account: what left the jar to the vault on its behalf.
    mapping(address token => mapping(address account => uint256)) public collected;

    uint256 public ghostUnexpectedReverts;
    uint256 public ghostUnexpectedSuccesses;
    uint256 public ghostWrongAmounts;

    constructor(TipJar jar_, TestToken token_) {
        jar = jar_;
        token = token_;
        rejectingCreator = new EthRejecter();
        donor = vm.addr(DONOR_KEY);
        vault = vm.addr(0x7A017);
        creatorPool.push(vm.addr(0xC1));
        creatorPool.push(vm.addr(0xC2));
        creatorPool.push(address(rejectingCreator));
        creatorPool.push(vm.addr(0xC4));
    }

    // ---------------------------------------------------------------- actions

    function open(bool useToken, uint256 deposit) external {
        if (models.length >= MAX_BUDGETS) return;
        deposit = _bound(deposit, 1, 1e30);
        address tokenAddress = useToken ? address(token) : ETH;
        ITipJar.BudgetConfig memory config =
            ITipJar.BudgetConfig(donor, tokenAddress, donor, DELAY, bytes32(models.length));
        _fund(tokenAddress, deposit);
        jar.open{value: useToken ? 0 : deposit}(config, deposit);
        models.push(
            BudgetModel(config, keccak256(abi.encode(config)), deposit, 0, NONE, 0, ITipJar.BudgetStatus.Open, 0)
        );
    }

    function topUp(uint256 index, uint256 amount) external {
        if (models.length == 0) return;
        BudgetModel storage m = models[index % models.length];
        amount = _bound(amount, 1, 1e30);
        _fund(m.config.token, amount);
        try jar.topUp{value: m.config.token == ETH ? amount : 0}(m.config, amount) {
            if (m.status != ITipJar.BudgetStatus.Open) ++ghostUnexpectedSuccesses;
            m.deposit += amount;
        } catch {
            if (m.status == ITipJar.BudgetStatus.Open) ++ghostUnexpectedReverts;
        }
    }

    /// The donor tips: a new tally with `amount` more for a creator, within the deposit as the SDK keeps it.
    function tip(uint256 index, uint256 creatorSeed, uint256 amount) external {
        if (models.length == 0) return;
        index %= models.length;
        BudgetModel storage m = models[index];
        if (m.signedTotal >= m.deposit || snapshots[index].length >= MAX_TIPS) return;
        amount = _bound(amount, 1, m.deposit - m.signedTotal);
        address creator = creatorPool[creatorSeed % creatorPool.length];
        ITipJar.Tally memory next = _withTip(_latest(index), creator, amount);
        snapshots[index].push();
        ITipJar.Tally storage stored = snapshots[index][snapshots[index].length - 1];
        stored.creators = next.creators;
        stored.amounts = next.amounts;
        m.signedTotal += amount;
        signedTo[m.config.token][creator] += amount;
    }

    /// Anyone settles any signed tally: it goes through exactly when it is newer than the settled one and the
    /// budget can still be settled.
    function settle(uint256 index, uint256 snapshotSeed) external {
        if (models.length == 0) return;
        index %= models.length;
        uint256 count = snapshots[index].length;
        if (count == 0) return;
        uint256 k = snapshotSeed % count;
        BudgetModel storage m = models[index];
        bool allowed = _settleable(m) && (m.settledIndex == NONE || k > m.settledIndex);
        ITipJar.Settlement memory entry = _settlement(index, k);
        try jar.settle(entry) {
            if (!allowed) ++ghostUnexpectedSuccesses;
            _applySettled(index, k);
        } catch {
            if (allowed) ++ghostUnexpectedReverts;
        }
    }

    /// Every budget with a newer tally, settled in one batch.
    function settleMany() external {
        uint256 count;
        ITipJar.Settlement[] memory batch = new ITipJar.Settlement[](models.length);
        uint256[] memory picked = new uint256[](models.length);
        for (uint256 i; i < models.length; ++i) {
            uint256 latest = snapshots[i].length;
            if (latest == 0 || !_settleable(models[i])) continue;
            if (models[i].settledIndex != NONE && models[i].settledIndex == latest - 1) continue;
            batch[count] = _settlement(i, latest - 1);
            picked[count++] = i;
        }
        if (count == 0) return;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(batch, count)
        }
        try jar.settleMany(batch) {
            for (uint256 j; j < count; ++j) _applySettled(picked[j], snapshots[picked[j]].length - 1);
        } catch {
            ++ghostUnexpectedReverts;
        }
    }

    /// The donor signs a tally that takes from a creator already settled and hands it to another: the jar
    /// must refuse it whatever the signature.
    function settleFork(uint256 index, uint256 creatorSeed) external {
        if (models.length == 0) return;
        index %= models.length;
        BudgetModel storage m = models[index];
        if (m.settledIndex == NONE) return;
        ITipJar.Tally memory settled = snapshots[index][m.settledIndex];
        ITipJar.Tally memory fork = ITipJar.Tally(new address[](settled.creators.length), new uint256[](settled.creators.length));
        for (uint256 i; i < settled.creators.length; ++i) {
            fork.creators[i] = settled.creators[i];
            fork.amounts[i] = settled.amounts[i];
        }
        uint256 victim = creatorSeed % settled.creators.length;
        fork.amounts[victim] -= 1; // settled amounts are positive: every tip is
        // The gain goes to someone else than the victim, or it would be an honest extension.
        address gainer = creatorPool[(creatorSeed / 7) % creatorPool.length];
        if (gainer == fork.creators[victim]) gainer = vm.addr(0xF0F0);
        fork = _withTip(fork, gainer, 2);
        try jar.settle(_signed(index, settled, fork)) {
            ++ghostUnexpectedSuccesses;
        } catch {}
    }

    function requestClose(uint256 index) external {
        if (models.length == 0) return;
        BudgetModel storage m = models[index % models.length];
        vm.prank(donor);
        try jar.requestClose(m.config) {
            if (m.status != ITipJar.BudgetStatus.Open) ++ghostUnexpectedSuccesses;
            m.status = ITipJar.BudgetStatus.Closing;
            m.closesAt = block.timestamp + DELAY;
        } catch {
            if (m.status == ITipJar.BudgetStatus.Open) ++ghostUnexpectedReverts;
        }
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1, 2 days));
    }

    function withdraw(uint256 index) external {
        if (models.length == 0) return;
        BudgetModel storage m = models[index % models.length];
        bool allowed = m.status == ITipJar.BudgetStatus.Closing && block.timestamp >= m.closesAt;
        uint256 before = _balanceOf(m.config.token, donor) + jar.balances(m.config.token, donor);
        vm.prank(donor);
        try jar.withdraw(m.config) {
            if (!allowed) ++ghostUnexpectedSuccesses;
            m.status = ITipJar.BudgetStatus.Finished;
            m.donorRefunded = _balanceOf(m.config.token, donor) + jar.balances(m.config.token, donor) - before;
            if (m.donorRefunded != m.deposit - _settledTotal(models.length, m)) ++ghostWrongAmounts;
        } catch {
            if (allowed) ++ghostUnexpectedReverts;
        }
    }

    function toggleRejecter() external {
        rejectingCreator.setAccepting(!rejectingCreator.accepting());
    }

    /// A creator (or the donor, for a credited refund) collects to the vault.
    function collect(uint256 accountSeed, bool useToken) external {
        address account = accountSeed % 5 == 4 ? donor : creatorPool[accountSeed % 4];
        address tokenAddress = useToken ? address(token) : ETH;
        uint256 amount = jar.balances(tokenAddress, account);
        uint256 before = _balanceOf(tokenAddress, vault);
        vm.prank(account);
        try jar.collect(tokenAddress, vault) {
            if (amount == 0) ++ghostUnexpectedSuccesses;
            if (_balanceOf(tokenAddress, vault) - before != amount) ++ghostWrongAmounts;
            collected[tokenAddress][account] += amount;
        } catch {
            if (amount != 0) ++ghostUnexpectedReverts;
        }
    }

    // ---------------------------------------------------------------- views for the invariant suite

    function budgetCount() external view returns (uint256) {
        return models.length;
    }

    function budget(uint256 index) external view returns (BudgetModel memory) {
        return models[index];
    }

    function creators() external view returns (address[] memory) {
        return creatorPool;
    }

    /// The settled tally's total and hash as the model has it.
    function settledOf(uint256 index) external view returns (uint256 total, bytes32 hash) {
        BudgetModel storage m = models[index];
        if (m.settledIndex == NONE) return (0, bytes32(0));
        ITipJar.Tally storage t = snapshots[index][m.settledIndex];
        for (uint256 i; i < t.amounts.length; ++i) total += t.amounts[i];
        hash = keccak256(abi.encode(t.creators, t.amounts));
    }

    // ---------------------------------------------------------------- internals

    function _settleable(BudgetModel storage m) internal view returns (bool) {
        return m.status == ITipJar.BudgetStatus.Open
            || (m.status == ITipJar.BudgetStatus.Closing && block.timestamp < m.closesAt);
    }

    function _settledTotal(uint256, BudgetModel storage m) internal view returns (uint256 total) {
        (, total,,) = jar.budgets(m.id);
    }

    function _latest(uint256 index) internal view returns (ITipJar.Tally memory) {
        uint256 count = snapshots[index].length;
        if (count == 0) return ITipJar.Tally(new address[](0), new uint256[](0));
        return snapshots[index][count - 1];
    }

    function _withTip(ITipJar.Tally memory tally, address creator, uint256 amount)
        internal
        pure
        returns (ITipJar.Tally memory next)
    {
        uint256 count = tally.creators.length;
        for (uint256 i; i < count; ++i) {
            if (tally.creators[i] == creator) {
                next = ITipJar.Tally(tally.creators, new uint256[](count));
                for (uint256 j; j < count; ++j) next.amounts[j] = tally.amounts[j];
                next.amounts[i] += amount;
                return next;
            }
        }
        next = ITipJar.Tally(new address[](count + 1), new uint256[](count + 1));
        for (uint256 j; j < count; ++j) {
            next.creators[j] = tally.creators[j];
            next.amounts[j] = tally.amounts[j];
        }
        next.creators[count] = creator;
        next.amounts[count] = amount;
    }

    function _settlement(uint256 index, uint256 k) internal view returns (ITipJar.Settlement memory) {
        BudgetModel storage m = models[index];
        ITipJar.Tally memory settled = m.settledIndex == NONE
            ? ITipJar.Tally(new address[](0), new uint256[](0))
            : snapshots[index][m.settledIndex];
        return _signed(index, settled, snapshots[index][k]);
    }

    function _signed(uint256 index, ITipJar.Tally memory settled, ITipJar.Tally memory next)
        internal
        view
        returns (ITipJar.Settlement memory)
    {
        uint256 total;
        for (uint256 i; i < next.amounts.length; ++i) total += next.amounts[i];
        bytes32 hash = keccak256(abi.encode(next.creators, next.amounts));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(DONOR_KEY, jar.tallyDigest(models[index].id, total, hash));
        return ITipJar.Settlement(models[index].config, settled, next, abi.encodePacked(r, s, v));
    }

    /// The model's view of a settlement: each creator's settled amount grows by its increase.
    function _applySettled(uint256 index, uint256 k) internal {
        BudgetModel storage m = models[index];
        ITipJar.Tally storage next = snapshots[index][k];
        address tokenAddress = m.config.token;
        for (uint256 i; i < next.creators.length; ++i) {
            uint256 before = 0;
            if (m.settledIndex != NONE) {
                ITipJar.Tally storage prev = snapshots[index][m.settledIndex];
                if (i < prev.creators.length) before = prev.amounts[i];
            }
            settledTo[tokenAddress][next.creators[i]] += next.amounts[i] - before;
        }
        m.settledIndex = k;
    }

    function _fund(address tokenAddress, uint256 amount) internal {
        if (tokenAddress == ETH) {
            vm.deal(address(this), amount);
        } else {
            token.mint(address(this), amount);
            token.approve(address(jar), amount);
        }
    }

    receive() external payable {}
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ITipJar} from "../../contracts/donations/ITipJar.sol";
import {TipJar} from "../../contracts/donations/TipJar.sol";
import {TestToken} from "../../contracts/mocks/TestToken.sol";
import {TipJarHandler} from "./invariant/TipJarHandler.sol";
import {TrickleTestBase} from "./utils/TrickleTestBase.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The money properties of the tip jar after every call of random sequences (see {TipJarHandler}):
/// the jar holds exactly what open budgets have not settled plus every balance (nothing stuck, nothing
/// created); every creator got exactly what settled tallies give it and never more than the donor signed to
/// it; a budget's settled total and tally hash are the model's; a forked tally never settles; the donor gets
/// back exactly `deposit - settled`.
contract TipJarInvariantTest is TrickleTestBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    TipJar internal jar;
    TestToken internal token;
    TipJarHandler internal handler;

    function setUp() public {
        jar = new TipJar();
        token = new TestToken();
        handler = new TipJarHandler(jar, token);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = TipJarHandler.open.selector;
        selectors[1] = TipJarHandler.topUp.selector;
        selectors[2] = TipJarHandler.tip.selector;
        selectors[3] = TipJarHandler.settle.selector;
        selectors[4] = TipJarHandler.settleMany.selector;
        selectors[5] = TipJarHandler.settleFork.selector;
        selectors[6] = TipJarHandler.requestClose.selector;
        selectors[7] = TipJarHandler.warp.selector;
        selectors[8] = TipJarHandler.withdraw.selector;
        selectors[9] = TipJarHandler.toggleRejecter.selector;
        selectors[10] = TipJarHandler.collect.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), selectors);
    }

    /// hardhat-config: invariant.failOnRevert = true
    function invariant_tipJarMoneyProperties() public view {
        vm.assertEq(handler.ghostUnexpectedReverts(), 0, "every call the rules allow went through");
        vm.assertEq(handler.ghostUnexpectedSuccesses(), 0, "no call the rules forbid went through (forks included)");
        vm.assertEq(handler.ghostWrongAmounts(), 0, "refunds and collections moved exactly what they say");
        _assertBudgetsFollowTheModel();
        _assertHoldsWhatItOwes(ETH);
        _assertHoldsWhatItOwes(address(token));
        _assertCreatorsGetWhatWasSignedAndSettled(ETH);
        _assertCreatorsGetWhatWasSignedAndSettled(address(token));
    }

    function _assertBudgetsFollowTheModel() internal view {
        uint256 count = handler.budgetCount();
        for (uint256 i; i < count; ++i) {
            TipJarHandler.BudgetModel memory m = handler.budget(i);
            (uint104 deposit, uint104 settled,, ITipJar.BudgetStatus status) = jar.budgets(m.id);
            (uint256 modelSettled, bytes32 modelHash) = handler.settledOf(i);
            vm.assertEq(deposit, m.deposit, "deposit follows the calls");
            vm.assertEq(settled, modelSettled, "settled total is the settled tally's total");
            vm.assertEq(jar.settledTallies(m.id), modelHash, "stored hash is the settled tally's");
            vm.assertLe(settled, deposit, "never settled above the deposit");
            vm.assertLe(settled, m.signedTotal, "never settled above what the donor signed");
            vm.assertEq(uint256(status), uint256(m.status), "status follows the calls");
            if (status == ITipJar.BudgetStatus.Finished) {
                vm.assertEq(m.donorRefunded, deposit - settled, "the donor got back exactly deposit - settled");
            }
        }
    }

    /// Nothing stuck, nothing created: balance == sum over live budgets of (deposit - settled) + all balances.
    function _assertHoldsWhatItOwes(address tokenAddress) internal view {
        uint256 owed;
        uint256 count = handler.budgetCount();
        for (uint256 i; i < count; ++i) {
            TipJarHandler.BudgetModel memory m = handler.budget(i);
            if (m.config.token != tokenAddress) continue;
            (uint104 deposit, uint104 settled,, ITipJar.BudgetStatus status) = jar.budgets(m.id);
            if (status != ITipJar.BudgetStatus.Finished) owed += deposit - settled;
        }
        address[] memory creators = handler.creators();
        for (uint256 k; k < creators.length; ++k) owed += jar.balances(tokenAddress, creators[k]);
        owed += jar.balances(tokenAddress, handler.donor());
        vm.assertEq(_balanceOf(tokenAddress, address(jar)), owed, "jar balance == unsettled deposits + balances");
    }

    /// No creator paid more than its share of signed tallies: what it holds plus what it collected is exactly
    /// what the settled tallies give it, which is never above what the donor signed to it.
    function _assertCreatorsGetWhatWasSignedAndSettled(address tokenAddress) internal view {
        address[] memory creators = handler.creators();
        for (uint256 k; k < creators.length; ++k) {
            address creator = creators[k];
            uint256 got = jar.balances(tokenAddress, creator) + handler.collected(tokenAddress, creator);
            vm.assertEq(got, handler.settledTo(tokenAddress, creator), "a creator gets exactly its settled amounts");
            vm.assertLe(got, handler.signedTo(tokenAddress, creator), "a creator never gets above what was signed to it");
        }
    }
}

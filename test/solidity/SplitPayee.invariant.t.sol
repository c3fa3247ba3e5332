// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PaymentChannels} from "../../contracts/PaymentChannels.sol";
import {SplitPayee} from "../../contracts/donations/SplitPayee.sol";
import {TestToken} from "../../contracts/mocks/TestToken.sol";
import {SplitHandler} from "./invariant/SplitHandler.sol";
import {TrickleTestBase} from "./utils/TrickleTestBase.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The money properties of split channels after every call of random sequences (see {SplitHandler}):
/// no recipient after the first is paid more than its exact share of what was claimed, the first no less than
/// its own; the shares sum to what was claimed (nothing lost to rounding); SplitPayee holds exactly the credits
/// it owes (nothing stuck); nothing is claimed above the highest signed voucher.
contract SplitPayeeInvariantTest is TrickleTestBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    PaymentChannels internal channels;
    SplitPayee internal split;
    TestToken internal token;
    SplitHandler internal handler;

    function setUp() public {
        channels = new PaymentChannels();
        split = new SplitPayee(channels);
        token = new TestToken();
        handler = new SplitHandler(channels, split, token);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](5);
        selectors[0] = SplitHandler.open.selector;
        selectors[1] = SplitHandler.claim.selector;
        selectors[2] = SplitHandler.close.selector;
        selectors[3] = SplitHandler.toggleRejecter.selector;
        selectors[4] = SplitHandler.withdrawCredit.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), selectors);
    }

    /// hardhat-config: invariant.failOnRevert = true
    function invariant_splitMoneyProperties() public view {
        vm.assertEq(handler.ghostUnexpectedReverts(), 0, "every claim, close and withdrawal the rules allow went through");
        uint256 count = handler.channelCount();
        for (uint256 i; i < count; ++i) {
            SplitHandler.SplitModel memory m = handler.model(i);
            (, uint104 claimed,,) = channels.channels(m.id);
            vm.assertEq(claimed, m.claimed, "the channel's claimed amount follows the calls");
            vm.assertLe(m.claimed, m.maxSigned, "nothing claimed above the highest signed voucher");
            (address[] memory list, uint96[] memory weights) = handler.listOf(m.list);
            uint256 totalWeight;
            for (uint256 r; r < weights.length; ++r) totalWeight += weights[r];
            uint256 sum;
            for (uint256 r; r < list.length; ++r) {
                uint256 got = handler.received(i, r);
                sum += got;
                if (r == 0) {
                    vm.assertGe(got * totalWeight, m.claimed * weights[0], "the first recipient gets at least its share");
                } else {
                    vm.assertLe(got * totalWeight, m.claimed * weights[r], "no other recipient gets above its share");
                }
            }
            vm.assertEq(sum, m.claimed, "the shares sum to what was claimed: nothing lost to rounding");
        }
        _assertHoldsOnlyCredits(ETH);
        _assertHoldsOnlyCredits(address(token));
    }

    function _assertHoldsOnlyCredits(address tokenAddress) internal view {
        address[] memory accounts = handler.recipients();
        uint256 owed;
        for (uint256 k; k < accounts.length; ++k) owed += split.credits(tokenAddress, accounts[k]);
        vm.assertEq(_balanceOf(tokenAddress, address(split)), owed, "SplitPayee holds exactly its credits: nothing stuck");
    }
}

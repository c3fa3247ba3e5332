// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PaymentChannels} from "../../contracts/PaymentChannels.sol";
import {IPaymentChannels} from "../../contracts/interfaces/IPaymentChannels.sol";
import {TestToken} from "../../contracts/mocks/TestToken.sol";
import {ChannelsHandler} from "./invariant/ChannelsHandler.sol";
import {TrickleTestBase} from "./utils/TrickleTestBase.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The money properties of DESIGN.md, checked after every call of random sequences of open, topUp,
/// claim, claimMany, close, requestClose, withdraw, the gasless opens and top-ups (ERC-3009 and Permit2), the
/// relayed claims, closes and refunds, refunds, credit withdrawals, time jumps, replays and attacks (see
/// {ChannelsHandler}).
/// @dev Runs and depth come from `test.solidity.invariant` in hardhat.config.ts (`TRICKLE_DEEP=1` for the
/// long campaign). `failOnRevert` is on: the handler catches every contract revert itself, so a revert
/// reaching the fuzzer is a handler bug, never a silently discarded sequence.
contract PaymentChannelsInvariantTest is TrickleTestBase {
    /// @dev The shape the invariant runner reads from `targetSelectors()`.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    PaymentChannels internal channels;
    TestToken internal token;
    ChannelsHandler internal handler;

    function setUp() public {
        channels = new PaymentChannels();
        token = new TestToken();
        handler = new ChannelsHandler(channels, token);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev Only the actions: the handler's views would spend depth without changing anything.
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](19);
        selectors[0] = ChannelsHandler.open.selector;
        selectors[1] = ChannelsHandler.topUp.selector;
        selectors[2] = ChannelsHandler.signVoucher.selector;
        selectors[3] = ChannelsHandler.claim.selector;
        selectors[4] = ChannelsHandler.claimMany.selector;
        selectors[5] = ChannelsHandler.close.selector;
        selectors[6] = ChannelsHandler.requestClose.selector;
        selectors[7] = ChannelsHandler.withdraw.selector;
        selectors[8] = ChannelsHandler.warp.selector;
        selectors[9] = ChannelsHandler.toggleRejectingPayer.selector;
        selectors[10] = ChannelsHandler.withdrawCredit.selector;
        selectors[11] = ChannelsHandler.replayVoucher.selector;
        selectors[12] = ChannelsHandler.attack.selector;
        selectors[13] = ChannelsHandler.openWithAuthorization.selector;
        selectors[14] = ChannelsHandler.topUpWithAuthorization.selector;
        selectors[15] = ChannelsHandler.relayedSettlement.selector;
        selectors[16] = ChannelsHandler.openWithPermit2.selector;
        selectors[17] = ChannelsHandler.topUpWithPermit2.selector;
        selectors[18] = ChannelsHandler.replaySettlement.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), selectors);
    }

    /// @notice Every property at once, so one campaign checks them all after every call.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_moneyProperties() public view {
        _assertContractHoldsWhatChannelsOwe(ETH);
        _assertContractHoldsWhatChannelsOwe(address(token));
        _assertContractHoldsWhatChannelsOwe(address(handler.usdc()));
        uint256 count = handler.channelCount();
        for (uint256 i; i < count; ++i) {
            ChannelsHandler.ChannelModel memory m = handler.channelModel(i);
            _assertChannelFollowsTheRules(m);
            _assertPayeeGetsNoMoreThanSigned(m);
            _assertPayerGetsBackWhatWasNotClaimed(m);
        }
        _assertNoReplayNorAttackPaid();
        _assertSettledAmountsOnlyGrow();
    }

    /// @dev Property 1: the contract's balance of a token is the sum over open and closing channels of
    /// `deposit - claimed`, plus the credits not yet withdrawn. Not a unit more, not a unit less.
    function _assertContractHoldsWhatChannelsOwe(address tokenAddress) internal view {
        uint256 owed;
        uint256 count = handler.channelCount();
        for (uint256 i; i < count; ++i) {
            ChannelsHandler.ChannelModel memory m = handler.channelModel(i);
            if (m.config.token != tokenAddress) continue;
            (uint104 deposit, uint104 claimed,, IPaymentChannels.ChannelStatus status) = channels.channels(m.id);
            if (status == IPaymentChannels.ChannelStatus.Open || status == IPaymentChannels.ChannelStatus.Closing) {
                owed += deposit - claimed;
            }
        }
        address[] memory accounts = handler.payoutAccounts();
        for (uint256 k; k < accounts.length; ++k) {
            owed += channels.credits(tokenAddress, accounts[k]);
        }
        vm.assertEq(_balanceOf(tokenAddress, address(channels)), owed, "P1: balance == sum(deposit - claimed) + credits");
    }

    /// @dev The stored channel is exactly what the documented rules give for the calls that went through.
    function _assertChannelFollowsTheRules(ChannelsHandler.ChannelModel memory m) internal view {
        (uint104 deposit, uint104 claimed, uint40 closesAt, IPaymentChannels.ChannelStatus status) =
            channels.channels(m.id);
        vm.assertEq(deposit, m.deposit, "stored deposit follows the rules");
        vm.assertEq(claimed, m.claimed, "stored claimed follows the rules");
        vm.assertEq(closesAt, m.closesAt, "stored closesAt follows the rules");
        vm.assertEq(uint256(status), uint256(m.status), "stored status follows the rules");
    }

    /// @dev Property 2: what the payee received from a channel is what was claimed, and never more than the
    /// deposit nor than the highest voucher the channel's signer signed.
    function _assertPayeeGetsNoMoreThanSigned(ChannelsHandler.ChannelModel memory m) internal pure {
        vm.assertEq(m.payeeReceived + m.relayerFees, m.claimed, "P2: payee and relayers received exactly the claimed amount");
        vm.assertLe(m.payeeReceived, m.deposit, "P2: payee received no more than the deposit");
        vm.assertLe(m.payeeReceived, m.maxSigned, "P2: payee received no more than the highest signed voucher");
    }

    /// @dev Property 5: once finished (withdrawn after the delay, or closed), the payer got back every unit
    /// that was not claimed; before that, nothing.
    function _assertPayerGetsBackWhatWasNotClaimed(ChannelsHandler.ChannelModel memory m) internal pure {
        uint256 expected =
            (m.status == IPaymentChannels.ChannelStatus.Finished ? m.deposit - m.claimed : 0) + m.partialRefunds;
        vm.assertEq(m.payerRefunded, expected, "P5: payer refunded exactly deposit - claimed");
    }

    /// @dev Property 3 and the attacker: replays and attacks are tried all along; none may ever succeed.
    function _assertNoReplayNorAttackPaid() internal view {
        vm.assertEq(handler.ghostReplaySuccesses(), 0, "P3: a voucher worked on another channel, contract, chain or id");
        vm.assertEq(handler.ghostReplayPaid(), 0, "P3: a replayed voucher paid");
        vm.assertEq(handler.ghostAttackSuccesses(), 0, "an attack went through");
        vm.assertEq(handler.ghostAttackerExtracted(), 0, "an attack extracted funds");
        vm.assertEq(handler.ghostUnexpectedSuccesses(), 0, "an operation the rules forbid went through");
    }

    /// @dev Settled amounts never decrease, a finished channel never changes, every allowed operation
    /// (withdraw after the delay above all) goes through and moves exactly the amounts it says.
    function _assertSettledAmountsOnlyGrow() internal view {
        vm.assertEq(handler.ghostSettledDecreases(), 0, "a deposit or claimed amount decreased, or a status went back");
        vm.assertEq(handler.ghostFinishedChanges(), 0, "a finished channel changed");
        vm.assertEq(handler.ghostWithdrawBlocked(), 0, "P5: withdraw after the delay reverted");
        vm.assertEq(handler.ghostRefundMismatches(), 0, "P5: a refund differed from deposit - claimed");
        vm.assertEq(handler.ghostPayoutMismatches(), 0, "a payout or deposit moved a different amount");
        vm.assertEq(handler.ghostUnexpectedReverts(), 0, "an operation the rules allow reverted");
    }
}

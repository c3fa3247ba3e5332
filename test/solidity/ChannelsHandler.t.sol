// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PaymentChannels} from "../../contracts/PaymentChannels.sol";
import {TestToken} from "../../contracts/mocks/TestToken.sol";
import {ChannelsHandler} from "./invariant/ChannelsHandler.sol";
import {TrickleTestBase} from "./utils/TrickleTestBase.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The invariant suite's gasless and relayed actions are not vacuous: with ordinary seeds each one goes
/// through (or, for a replay, is refused) against the handler's model, so a campaign really exercises them.
contract ChannelsHandlerTest is TrickleTestBase {
    ChannelsHandler internal handler;

    function setUp() public {
        handler = new ChannelsHandler(new PaymentChannels(), new TestToken());
    }

    function test_permit2OpenAndTopUpGoThrough() public {
        uint256 before = handler.channelCount();
        handler.openWithPermit2(0, 1, 3600, 1_000_001);
        vm.assertEq(handler.channelCount(), before + 1, "openWithPermit2 opened a channel");
        vm.assertEq(handler.successes("openWithPermit2"), 1, "openWithPermit2 went through");
        ChannelsHandler.ChannelModel memory m = handler.channelModel(before);
        vm.assertEq(m.config.token, address(handler.token()), "a Permit2 channel holds the ERC-20");
        // 1,000,001 mod 4 == 1: the open is submitted twice, the second must fail. 4,000 mod 8 == 0: a top-up of
        // exactly the signed channel; 9,001 mod 4 == 1: then replayed, which must fail.
        handler.topUpWithPermit2(before, 4_000);
        handler.topUpWithPermit2(before, 9_001);
        vm.assertEq(handler.successes("topUpWithPermit2"), 2, "topUpWithPermit2 went through");
        vm.assertEq(handler.channelModel(before).deposit, 1_000_001 + 4_000 + 9_001, "the model follows the deposits");
        vm.assertEq(handler.ghostReplaySuccesses(), 0, "a replayed Permit2 signature was refused");
        vm.assertEq(handler.ghostUnexpectedReverts() + handler.ghostUnexpectedSuccesses(), 0, "as the rules say");
    }

    function test_relayerFeeIsCreditedAndWithdrawn() public {
        // Channel 1 holds the ERC-20; a voucher of 1,000 (seed 32,008) relayed with a fee of 7 (seed 57).
        handler.relayedSettlement(1, 32_008, 57, 0);
        vm.assertEq(handler.successes("claimRelayed"), 1, "claimRelayed went through");
        PaymentChannels channels = handler.channels();
        vm.assertEq(channels.credits(address(handler.token()), handler.relayer()), 7, "the fee was credited");
        // Seed 4: the ERC-20, withdrawn by the relayer.
        handler.withdrawCredit(4);
        vm.assertEq(handler.successes("withdrawCredit"), 1, "the relayer withdrew its fees");
        vm.assertEq(channels.credits(address(handler.token()), handler.relayer()), 0, "nothing left credited");
        vm.assertEq(handler.ghostPayoutMismatches() + handler.ghostUnexpectedReverts(), 0, "as the rules say");
    }

    function test_relayedSettlementReplaysAreRefused() public {
        for (uint256 mode; mode < 4; ++mode) {
            handler.replaySettlement(0, mode, 500);
        }
        vm.assertEq(handler.successes("settlementReplayRefused"), 4, "the replays were tried and refused");
        vm.assertEq(handler.ghostReplaySuccesses(), 0, "no relayed signature worked elsewhere");
        vm.assertEq(handler.ghostReplayPaid(), 0, "no replay paid");
    }
}

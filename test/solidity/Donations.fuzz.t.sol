// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PaymentChannels} from "../../contracts/PaymentChannels.sol";
import {IPaymentChannels} from "../../contracts/interfaces/IPaymentChannels.sol";
import {ITipJar} from "../../contracts/donations/ITipJar.sol";
import {SplitPayee} from "../../contracts/donations/SplitPayee.sol";
import {TipJar} from "../../contracts/donations/TipJar.sol";
import {TrickleTestBase} from "./utils/TrickleTestBase.sol";
import {vm} from "./utils/Vm.sol";

/// @notice Split claims and tally settlements with fuzzed weights and amounts, checked to the unit.
contract DonationsFuzzTest is TrickleTestBase {
    uint256 internal constant PAYER_KEY = 0xA11CE;

    PaymentChannels internal channels;
    SplitPayee internal split;
    TipJar internal jar;
    address internal payer;
    address[] internal people;

    function setUp() public {
        channels = new PaymentChannels();
        split = new SplitPayee(channels);
        jar = new TipJar();
        payer = vm.addr(PAYER_KEY);
        for (uint256 i; i < 4; ++i) people.push(vm.addr(0x1000 + i));
    }

    function testFuzz_splitPaysEveryShareExactlyAndTheRemainderToTheFirst(
        uint96[4] memory weightSeeds,
        uint256 deposit,
        uint256 first,
        uint256 second
    ) public {
        deposit = _bound(deposit, 2, MAX_DEPOSIT);
        first = _bound(first, 1, deposit - 1);
        second = _bound(second, first + 1, deposit);
        uint96[] memory weights = new uint96[](4);
        uint256 total;
        for (uint256 i; i < 4; ++i) {
            weights[i] = weightSeeds[i];
            total += weights[i];
        }
        vm.assume(total > 0);
        IPaymentChannels.ChannelConfig memory config = IPaymentChannels.ChannelConfig(
            payer, address(split), ETH, payer, 1 days, split.splitSalt(people, weights, bytes32(0))
        );
        vm.deal(address(this), deposit);
        bytes32 id = channels.open{value: deposit}(config, deposit);

        uint256[4] memory expected;
        uint256 claimed;
        for (uint256 step; step < 2; ++step) {
            uint256 amount = step == 0 ? first : second;
            uint256 arrived = amount - claimed;
            split.claim(config, amount, _signVoucher(PAYER_KEY, address(channels), id, amount), people, weights, bytes32(0));
            uint256 rest = arrived;
            for (uint256 i = 1; i < 4; ++i) {
                uint256 share = arrived * weights[i] / total;
                expected[i] += share;
                rest -= share;
            }
            expected[0] += rest;
            claimed = amount;
        }
        uint256 sum;
        for (uint256 i; i < 4; ++i) {
            vm.assertEq(people[i].balance, expected[i], "each recipient got exactly its share");
            sum += people[i].balance;
            if (i > 0) vm.assertLe(people[i].balance * total, second * weights[i], "never above the exact share");
        }
        vm.assertEq(sum, second, "the shares sum to the claim");
        vm.assertEq(address(split).balance, 0, "nothing stays in SplitPayee");
    }

    function testFuzz_tallySettlementCreditsExactlyEachIncrease(uint64[3] memory first, uint64[3] memory extra, uint256 key)
        public
    {
        key = _key(key);
        address donor = vm.addr(key);
        uint256 deposit = uint256(type(uint64).max) * 6;
        ITipJar.BudgetConfig memory config = ITipJar.BudgetConfig(donor, ETH, donor, 1 days, bytes32(0));
        vm.deal(address(this), deposit);
        bytes32 id = jar.open{value: deposit}(config, deposit);
        ITipJar.Tally memory empty = ITipJar.Tally(new address[](0), new uint256[](0));
        ITipJar.Tally memory one = ITipJar.Tally(new address[](3), new uint256[](3));
        ITipJar.Tally memory two = ITipJar.Tally(new address[](3), new uint256[](3));
        uint256 total;
        for (uint256 i; i < 3; ++i) {
            one.creators[i] = people[i];
            two.creators[i] = people[i];
            one.amounts[i] = uint256(first[i]) + 1;
            two.amounts[i] = one.amounts[i] + extra[i];
            total += two.amounts[i];
        }
        jar.settle(_settlement(key, id, config, empty, one));
        bool increases = total > one.amounts[0] + one.amounts[1] + one.amounts[2];
        if (!increases) vm.expectRevert();
        jar.settle(_settlement(key, id, config, one, two));
        for (uint256 i; i < 3; ++i) {
            uint256 want = increases ? two.amounts[i] : one.amounts[i];
            vm.assertEq(jar.balances(ETH, people[i]), want, "each creator holds exactly its cumulative amount");
        }
        (, uint104 settled,,) = jar.budgets(id);
        vm.assertEq(address(jar).balance, deposit, "the jar still holds the whole deposit until collections");
        vm.assertLe(settled, deposit, "settled within the deposit");
    }

    function _settlement(
        uint256 key,
        bytes32 id,
        ITipJar.BudgetConfig memory config,
        ITipJar.Tally memory settled,
        ITipJar.Tally memory next
    ) internal view returns (ITipJar.Settlement memory) {
        uint256 total;
        for (uint256 i; i < next.amounts.length; ++i) total += next.amounts[i];
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, jar.tallyDigest(id, total, keccak256(abi.encode(next.creators, next.amounts))));
        return ITipJar.Settlement(config, settled, next, abi.encodePacked(r, s, v));
    }
}

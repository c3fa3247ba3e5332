// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PaymentChannels} from "../../contracts/PaymentChannels.sol";
import {IPaymentChannels} from "../../contracts/interfaces/IPaymentChannels.sol";
import {TestToken} from "../../contracts/mocks/TestToken.sol";
import {TrickleTestBase} from "./utils/TrickleTestBase.sol";
import {vm} from "./utils/Vm.sol";

/// @notice Each operation of PaymentChannels with fuzzed amounts, delays and signer keys, checking the
/// balances of funder, payer, payee and contract and the stored channel exactly after every step.
contract PaymentChannelsFuzzTest is TrickleTestBase {
    uint256 internal constant PAYER_KEY = 0xA11CE;
    uint256 internal constant PAYEE_KEY = 0xB0B;
    uint256 internal constant FUNDER_KEY = 0xF00D;

    PaymentChannels internal channels;
    TestToken internal token;
    address internal payer;
    address internal payee;
    address internal funder;

    function setUp() public {
        channels = new PaymentChannels();
        token = new TestToken();
        payer = vm.addr(PAYER_KEY);
        payee = vm.addr(PAYEE_KEY);
        funder = vm.addr(FUNDER_KEY);
    }

    // ---------------------------------------------------------------- open

    function testFuzz_openTakesTheDepositFromTheFunder(uint256 amount, uint64 closeDelay, bool useToken, bytes32 salt)
        public
    {
        amount = _bound(amount, 1, MAX_DEPOSIT);
        closeDelay = uint64(_bound(closeDelay, 0, MAX_CLOSE_DELAY));
        IPaymentChannels.ChannelConfig memory config = _config(useToken, PAYER_KEY, closeDelay, salt);
        _fund(config.token, amount);

        bytes32 id = _callOpen(config, amount);

        vm.assertEq(id, _channelId(config), "open returns keccak256(abi.encode(config))");
        vm.assertEq(channels.channelId(config), id, "channelId view agrees with the SDK's hash");
        _assertChannel(id, amount, 0, 0, IPaymentChannels.ChannelStatus.Open);
        vm.assertEq(_balanceOf(config.token, funder), 0, "funder paid the whole deposit");
        vm.assertEq(_balanceOf(config.token, address(channels)), amount, "contract holds the deposit");

        // The id exists now: it can never be opened a second time.
        _fund(config.token, amount);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelExists.selector, id));
        _callOpen(config, amount);
    }

    function testFuzz_openRefusesDepositsWiderThanStorage(uint256 amount, bool useToken) public {
        amount = _bound(amount, MAX_DEPOSIT + 1, type(uint128).max);
        IPaymentChannels.ChannelConfig memory config = _config(useToken, PAYER_KEY, 1 days, bytes32(0));
        _fund(config.token, amount);

        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.DepositTooLarge.selector, amount, MAX_DEPOSIT));
        _callOpen(config, amount);
        vm.assertEq(_balanceOf(config.token, funder), amount, "a refused open takes nothing");
    }

    function testFuzz_openRefusesCloseDelaysAboveTheMaximum(uint64 closeDelay) public {
        closeDelay = uint64(_bound(closeDelay, uint256(MAX_CLOSE_DELAY) + 1, type(uint64).max));
        IPaymentChannels.ChannelConfig memory config = _config(false, PAYER_KEY, closeDelay, bytes32(0));
        _fund(ETH, 1 ether);

        vm.expectRevert(IPaymentChannels.ChannelConfigInvalid.selector);
        _callOpen(config, 1 ether);
    }

    // ---------------------------------------------------------------- topUp

    function testFuzz_topUpAddsToTheDeposit(uint256 first, uint256 second, bool useToken) public {
        first = _bound(first, 1, MAX_DEPOSIT - 1);
        second = _bound(second, 1, MAX_DEPOSIT - first);
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(useToken, PAYER_KEY, first, 1 days);
        _fund(config.token, second);

        vm.prank(funder);
        channels.topUp{value: config.token == ETH ? second : 0}(config, second);

        _assertChannel(id, first + second, 0, 0, IPaymentChannels.ChannelStatus.Open);
        vm.assertEq(_balanceOf(config.token, funder), 0, "funder paid the top-up");
        vm.assertEq(_balanceOf(config.token, address(channels)), first + second, "contract holds both deposits");
    }

    function testFuzz_topUpRefusesOverflowAndClosingChannels(uint256 first, uint256 excess, bool useToken) public {
        first = _bound(first, 1, MAX_DEPOSIT);
        uint256 tooMuch = MAX_DEPOSIT - first + _bound(excess, 1, 1e30);
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(useToken, PAYER_KEY, first, 1 days);
        _fund(config.token, tooMuch);
        uint256 value = config.token == ETH ? tooMuch : 0;

        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.DepositTooLarge.selector, first + tooMuch, MAX_DEPOSIT)
        );
        vm.prank(funder);
        channels.topUp{value: value}(config, tooMuch);

        vm.prank(payer);
        channels.requestClose(config);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.ChannelClosing.selector, id, block.timestamp + 1 days)
        );
        vm.prank(funder);
        channels.topUp{value: value}(config, tooMuch);
        _assertChannel(id, first, 0, block.timestamp + 1 days, IPaymentChannels.ChannelStatus.Closing);
    }

    // ---------------------------------------------------------------- claim

    function testFuzz_claimPaysTheIncreaseOfTheCumulativeAmount(
        uint256 deposit,
        uint256 first,
        uint256 second,
        uint256 signerSeed,
        bool useToken
    ) public {
        deposit = _bound(deposit, 2, MAX_DEPOSIT);
        first = _bound(first, 1, deposit - 1);
        second = _bound(second, first + 1, deposit);
        uint256 signerKey = _key(signerSeed);
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(useToken, signerKey, deposit, 1 days);

        _claim(config, first, _signVoucher(signerKey, address(channels), id, first));
        vm.assertEq(_balanceOf(config.token, payee), first, "payee got the first voucher");
        _assertChannel(id, deposit, first, 0, IPaymentChannels.ChannelStatus.Open);

        _claim(config, second, _signVoucher(signerKey, address(channels), id, second));
        vm.assertEq(_balanceOf(config.token, payee), second, "payee got exactly the highest voucher in total");
        vm.assertEq(_balanceOf(config.token, address(channels)), deposit - second, "contract keeps the rest");
        _assertChannel(id, deposit, second, 0, IPaymentChannels.ChannelStatus.Open);

        // The first voucher is spent: replaying it pays nothing.
        bytes memory old = _signVoucher(signerKey, address(channels), id, first);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.VoucherAmountNotIncreasing.selector, first, second));
        _claim(config, first, old);

        // A voucher above the deposit is refused even when genuinely signed.
        bytes memory tooHigh = _signVoucher(signerKey, address(channels), id, deposit + 1);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.VoucherAmountTooHigh.selector, deposit + 1, deposit));
        _claim(config, deposit + 1, tooHigh);
    }

    function testFuzz_claimRefusesVouchersOfAnyOtherKey(uint256 signerSeed, uint256 otherSeed, uint256 amount) public {
        uint256 signerKey = _key(signerSeed);
        uint256 otherKey = _key(otherSeed);
        vm.assume(vm.addr(signerKey) != vm.addr(otherKey));
        amount = _bound(amount, 1, 1e30);
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(false, signerKey, amount, 1 days);
        bytes memory forged = _signVoucher(otherKey, address(channels), id, amount);
        bytes memory malleated = _malleate(_signVoucher(signerKey, address(channels), id, amount));

        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.VoucherSignatureInvalid.selector, id, config.signer));
        _claim(config, amount, forged);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.VoucherSignatureInvalid.selector, id, config.signer));
        _claim(config, amount, malleated);
        vm.assertEq(payee.balance, 0, "no forged or malleated voucher paid");
    }

    function testFuzz_onlyThePayeeClaimsOrCloses(address caller, uint256 amount) public {
        vm.assume(caller != payee && caller != address(vm));
        amount = _bound(amount, 1, 1e30);
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(false, PAYER_KEY, amount, 1 days);
        bytes memory voucher = _signVoucher(PAYER_KEY, address(channels), id, amount);

        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.CallerNotPayee.selector, caller, payee));
        vm.prank(caller);
        channels.claim(config, amount, voucher);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.CallerNotPayee.selector, caller, payee));
        vm.prank(caller);
        channels.close(config, amount, voucher);
        _assertChannel(id, amount, 0, 0, IPaymentChannels.ChannelStatus.Open);
    }

    function testFuzz_voucherIsBoundToItsChannelContractAndChain(uint256 amount, uint64 otherChain) public {
        amount = _bound(amount, 1, 1e30);
        otherChain = uint64(_bound(otherChain, 1, type(uint64).max / 2));
        vm.assume(otherChain != HOME_CHAIN_ID);
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(false, PAYER_KEY, amount, 1 days);
        (IPaymentChannels.ChannelConfig memory sibling, bytes32 siblingId) =
            _openFunded(false, PAYER_KEY, amount, 2 days);
        bytes memory voucher = _signVoucher(PAYER_KEY, address(channels), id, amount);

        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.VoucherSignatureInvalid.selector, siblingId, sibling.signer)
        );
        _claim(sibling, amount, voucher);

        PaymentChannels otherDeployment = new PaymentChannels();
        _fund(ETH, amount);
        vm.prank(funder);
        otherDeployment.open{value: amount}(config, amount);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.VoucherSignatureInvalid.selector, id, config.signer));
        vm.prank(payee);
        otherDeployment.claim(config, amount, voucher);

        vm.chainId(otherChain);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.VoucherSignatureInvalid.selector, id, config.signer));
        _claim(config, amount, voucher);
        vm.chainId(HOME_CHAIN_ID);

        _claim(config, amount, voucher);
        vm.assertEq(payee.balance, amount, "the voucher pays once, on its own channel, contract and chain");
    }

    // ---------------------------------------------------------------- claimMany

    /// @dev The four channels of {testFuzz_claimManyPaysExactlyTheSumOfIncrements} and what the test expects.
    struct BatchCase {
        IPaymentChannels.ChannelConfig[4] configs;
        bytes32[4] ids;
        uint256[4] deposits;
        uint256[4] claimed;
        uint256 paidBefore;
        uint256 increments;
        uint256 first;
    }

    /// @notice A batch of up to eight claims over four channels of one token, a channel appearing any number of
    /// times with rising amounts, some channels partly claimed before: the payee receives exactly the sum of the
    /// increments in one payout, each channel records its last amount, and the contract still holds exactly
    /// every channel's `deposit - claimed`.
    function testFuzz_claimManyPaysExactlyTheSumOfIncrements(
        uint256[4] memory deposits,
        uint256[4] memory claimedBefore,
        uint256[8] memory steps,
        uint16 picks,
        bool useToken
    ) public {
        BatchCase memory t = _openBatchCase(deposits, claimedBefore, useToken);
        address batchToken = t.configs[0].token;
        vm.assertEq(_balanceOf(batchToken, payee), t.paidBefore, "the single claims paid");
        IPaymentChannels.Claim[] memory claims = _buildBatch(t, steps, picks);
        vm.assume(claims.length > 0);

        vm.prank(payee);
        channels.claimMany(batchToken, claims);

        vm.assertEq(_balanceOf(batchToken, payee), t.paidBefore + t.increments, "payee got exactly the sum of increments");
        uint256 held;
        for (uint256 c; c < 4; ++c) {
            _assertChannel(t.ids[c], t.deposits[c], t.claimed[c], 0, IPaymentChannels.ChannelStatus.Open);
            held += t.deposits[c] - t.claimed[c];
        }
        vm.assertEq(_balanceOf(batchToken, address(channels)), held, "solvent: the contract holds every deposit - claimed");

        // Replaying the same batch fails as a whole and pays nothing more.
        vm.expectRevert(
            abi.encodeWithSelector(
                IPaymentChannels.VoucherAmountNotIncreasing.selector, claims[0].amount, t.claimed[t.first]
            )
        );
        vm.prank(payee);
        channels.claimMany(batchToken, claims);
        vm.assertEq(_balanceOf(batchToken, payee), t.paidBefore + t.increments, "a failed batch pays nothing");
    }

    function _openBatchCase(uint256[4] memory deposits, uint256[4] memory claimedBefore, bool useToken)
        internal
        returns (BatchCase memory t)
    {
        for (uint256 c; c < 4; ++c) {
            t.deposits[c] = _bound(deposits[c], 1, MAX_DEPOSIT);
            (t.configs[c], t.ids[c]) = _openFunded(useToken, PAYER_KEY, t.deposits[c], 1 days);
            t.claimed[c] = _bound(claimedBefore[c], 0, t.deposits[c]);
            if (t.claimed[c] != 0) {
                _claim(t.configs[c], t.claimed[c], _signVoucher(PAYER_KEY, address(channels), t.ids[c], t.claimed[c]));
                t.paidBefore += t.claimed[c];
            }
        }
    }

    /// @dev Up to eight entries, channel `picks` two bits at a time, each above what its channel has claimed so
    /// far; a channel with nothing left is skipped (no valid voucher exists). Updates `t` to the batch's result.
    function _buildBatch(BatchCase memory t, uint256[8] memory steps, uint16 picks)
        internal
        view
        returns (IPaymentChannels.Claim[] memory claims)
    {
        claims = new IPaymentChannels.Claim[](8);
        uint256 count;
        for (uint256 e; e < 8; ++e) {
            uint256 c = (picks >> (2 * e)) & 3;
            if (t.claimed[c] == t.deposits[c]) continue;
            uint256 amount = _bound(steps[e], t.claimed[c] + 1, t.deposits[c]);
            t.increments += amount - t.claimed[c];
            t.claimed[c] = amount;
            if (count == 0) t.first = c;
            claims[count++] =
                _claimOf(t.configs[c], amount, _signVoucher(PAYER_KEY, address(channels), t.ids[c], amount));
        }
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(claims, count)
        }
    }

    /// @notice A claim names its channel by the caller and the batch token: a channel of another payee, or one in
    /// another token, does not exist for the batch and reverts it whole with `ChannelNotOpen`.
    function testFuzz_claimManyFindsNoChannelOfAnotherPayeeOrToken(uint256 amount, address caller, bool wrongToken)
        public
    {
        amount = _bound(amount, 1, MAX_DEPOSIT);
        vm.assume(caller != payee && caller != address(vm));
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(false, PAYER_KEY, amount, 1 days);
        IPaymentChannels.Claim[] memory claims = new IPaymentChannels.Claim[](1);
        claims[0] = _claimOf(config, amount, _signVoucher(PAYER_KEY, address(channels), id, amount));
        IPaymentChannels.ChannelConfig memory named = config;
        if (wrongToken) named.token = address(token);
        else named.payee = caller;
        vm.assertTrue(_channelId(named) != id, "another payee or token names another id");

        vm.expectRevert(
            abi.encodeWithSelector(
                IPaymentChannels.ChannelNotOpen.selector, _channelId(named), IPaymentChannels.ChannelStatus.None
            )
        );
        vm.prank(named.payee);
        channels.claimMany(named.token, claims);
        _assertChannel(id, amount, 0, 0, IPaymentChannels.ChannelStatus.Open);
        vm.assertEq(address(channels).balance, amount, "nothing left the contract");
    }

    /// @notice Dirty high bits in an entry's payer or signer (the words copied unvalidated into the id preimage)
    /// name an id no `open` ever made: the batch reverts with `ChannelNotOpen` for that id and pays nothing.
    function testFuzz_claimManyDirtyBitsNameNoChannel(uint96 dirt, bool inSigner) public {
        vm.assume(dirt != 0);
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(false, PAYER_KEY, 1 ether, 1 days);
        IPaymentChannels.Claim[] memory claims = new IPaymentChannels.Claim[](1);
        claims[0] = _claimOf(config, 1 ether, _signVoucher(PAYER_KEY, address(channels), id, 1 ether));
        bytes memory data = abi.encodeCall(IPaymentChannels.claimMany, (ETH, claims));
        // selector, token, array offset, length, entry offset, then the entry: payer, signer, ...
        uint256 word = 4 + 32 * (inSigner ? 5 : 4);
        uint256 dirty = (uint256(dirt) << 160) | uint256(uint160(inSigner ? config.signer : config.payer));
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(add(add(data, 0x20), word), dirty)
        }
        bytes32 dirtyId = inSigner
            ? keccak256(abi.encode(config.payer, config.payee, config.token, dirty, config.closeDelay, config.salt))
            : keccak256(abi.encode(dirty, config.payee, config.token, config.signer, config.closeDelay, config.salt));

        vm.prank(payee);
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory reason) = address(channels).call(data);
        vm.assertTrue(!ok, "a dirty entry is refused");
        vm.assertEq(
            keccak256(reason),
            keccak256(
                abi.encodeWithSelector(IPaymentChannels.ChannelNotOpen.selector, dirtyId, IPaymentChannels.ChannelStatus.None)
            ),
            "ChannelNotOpen for the dirty id"
        );
        _assertChannel(id, 1 ether, 0, 0, IPaymentChannels.ChannelStatus.Open);
    }

    /// @dev The {claimMany} entry of a voucher on `config`: the config without its payee and token.
    function _claimOf(IPaymentChannels.ChannelConfig memory config, uint256 amount, bytes memory signature)
        internal
        pure
        returns (IPaymentChannels.Claim memory)
    {
        return IPaymentChannels.Claim(config.payer, config.signer, config.closeDelay, config.salt, amount, signature);
    }

    // ---------------------------------------------------------------- close

    function testFuzz_closeSplitsTheDepositAndFinishesTheChannel(
        uint256 deposit,
        uint256 claimedBefore,
        uint256 amount,
        bool useToken
    ) public {
        deposit = _bound(deposit, 1, MAX_DEPOSIT);
        claimedBefore = _bound(claimedBefore, 0, deposit);
        amount = _bound(amount, claimedBefore, deposit);
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(useToken, PAYER_KEY, deposit, 1 days);
        if (claimedBefore > 0) _claim(config, claimedBefore, _signVoucher(PAYER_KEY, address(channels), id, claimedBefore));

        // Closing at the amount already claimed needs no voucher: the payee only releases the rest.
        bytes memory voucher = amount == claimedBefore ? bytes("") : _signVoucher(PAYER_KEY, address(channels), id, amount);
        vm.prank(payee);
        channels.close(config, amount, voucher);

        vm.assertEq(_balanceOf(config.token, payee), amount, "payee got the voucher amount in total");
        vm.assertEq(_balanceOf(config.token, payer), deposit - amount, "payer got the rest");
        vm.assertEq(_balanceOf(config.token, address(channels)), 0, "nothing stays in the contract");
        _assertChannel(id, deposit, amount, 0, IPaymentChannels.ChannelStatus.Finished);
        _assertFinishedForGood(config, id, deposit);
    }

    // ---------------------------------------------------------------- requestClose and withdraw

    function testFuzz_withdrawAfterTheDelayRefundsEveryUnclaimedUnit(
        uint256 deposit,
        uint256 claimedBefore,
        uint256 lateClaim,
        uint64 closeDelay,
        uint256 wait,
        bool useToken
    ) public {
        deposit = _bound(deposit, 1, MAX_DEPOSIT);
        claimedBefore = _bound(claimedBefore, 0, deposit);
        closeDelay = uint64(_bound(closeDelay, 1, MAX_CLOSE_DELAY));
        wait = _bound(wait, 0, 3 * 365 days);
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(useToken, PAYER_KEY, deposit, closeDelay);
        if (claimedBefore > 0) _claim(config, claimedBefore, _signVoucher(PAYER_KEY, address(channels), id, claimedBefore));

        vm.prank(payer);
        channels.requestClose(config);
        _assertChannel(id, deposit, claimedBefore, block.timestamp + closeDelay, IPaymentChannels.ChannelStatus.Closing);
        // Read back from the contract (just checked) rather than kept in a local: see HOME_CHAIN_ID.
        (,, uint40 closesAt,) = channels.channels(id);

        // One second before the deadline the payee can still claim and the payer cannot withdraw.
        vm.warp(closesAt - 1);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelCloseDelayNotElapsed.selector, id, closesAt));
        vm.prank(payer);
        channels.withdraw(config);
        uint256 claimed = claimedBefore;
        if (deposit > claimedBefore) {
            claimed = _bound(lateClaim, claimedBefore + 1, deposit);
            _claim(config, claimed, _signVoucher(PAYER_KEY, address(channels), id, claimed));
        }

        // From the deadline on, only the payer's withdraw settles, and it refunds exactly what is left.
        vm.warp(closesAt + wait);
        bytes memory latest = _signVoucher(PAYER_KEY, address(channels), id, deposit);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelCloseDeadlinePassed.selector, id, closesAt));
        _claim(config, deposit, latest);

        vm.prank(payer);
        channels.withdraw(config);

        vm.assertEq(_balanceOf(config.token, payer), deposit - claimed, "payer got back every unclaimed unit");
        vm.assertEq(_balanceOf(config.token, payee), claimed, "payee kept what it claimed");
        vm.assertEq(_balanceOf(config.token, address(channels)), 0, "nothing stays in the contract");
        _assertChannel(id, deposit, claimed, closesAt, IPaymentChannels.ChannelStatus.Finished);
        _assertFinishedForGood(config, id, deposit);
    }

    function testFuzz_onlyThePayerRequestsCloseOrWithdraws(address caller) public {
        vm.assume(caller != payer && caller != address(vm));
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(false, PAYER_KEY, 1 ether, 0);

        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.CallerNotPayer.selector, caller, payer));
        vm.prank(caller);
        channels.requestClose(config);

        vm.prank(payer);
        channels.requestClose(config);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.CallerNotPayer.selector, caller, payer));
        vm.prank(caller);
        channels.withdraw(config);
        _assertChannel(id, 1 ether, 0, block.timestamp, IPaymentChannels.ChannelStatus.Closing);
    }

    // ---------------------------------------------------------------- partial refunds and relayed settlement

    function testFuzz_refundGivesBackPartOfTheUnclaimedDepositOnly(
        uint256 deposit,
        uint256 claimed,
        uint256 refund,
        bool useToken
    ) public {
        deposit = _bound(deposit, 2, MAX_DEPOSIT);
        claimed = _bound(claimed, 1, deposit - 1);
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(useToken, PAYER_KEY, deposit, 1 days);
        _claim(config, claimed, _signVoucher(PAYER_KEY, address(channels), id, claimed));
        uint256 refundable = deposit - claimed;

        uint256 tooMuch = refundable + 1 + _bound(refund, 0, 1e30);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.RefundAmountInvalid.selector, tooMuch, refundable));
        vm.prank(payee);
        channels.refund(config, tooMuch);

        refund = _bound(refund, 1, refundable);
        vm.prank(payee);
        channels.refund(config, refund);
        _assertChannel(id, deposit - refund, claimed, 0, IPaymentChannels.ChannelStatus.Open);
        vm.assertEq(_balanceOf(config.token, payer), refund, "payer received exactly the refund");
        vm.assertEq(_balanceOf(config.token, address(channels)), deposit - claimed - refund, "contract holds the rest");
        vm.assertEq(channels.refunded(id), refund, "refunded is cumulative");
    }

    function testFuzz_relayedClaimPaysTheRelayerNoMoreThanSignedNorThanThePayout(
        uint256 deposit,
        uint256 amount,
        uint256 fee,
        bool useToken
    ) public {
        deposit = _bound(deposit, 1, MAX_DEPOSIT);
        amount = _bound(amount, 1, deposit);
        (IPaymentChannels.ChannelConfig memory config, bytes32 id) = _openFunded(useToken, PAYER_KEY, deposit, 1 days);
        bytes memory voucher = _signVoucher(PAYER_KEY, address(channels), id, amount);
        address relayer = vm.addr(0x5E1A7);
        uint256 deadline = block.timestamp;

        if (fee > amount) {
            bytes memory greedy = _signRelayed(channels.RELAYED_CLAIM_TYPEHASH(), id, amount, fee, deadline);
            vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.RelayFeeTooHigh.selector, fee, amount));
            vm.prank(relayer);
            channels.claimRelayed(config, amount, voucher, fee, deadline, greedy);
            fee = _bound(fee, 0, amount);
        }
        bytes memory payeeSignature = _signRelayed(channels.RELAYED_CLAIM_TYPEHASH(), id, amount, fee, deadline);
        // Any other fee than the signed one is refused.
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.SettlementSignatureInvalid.selector, id, payee));
        vm.prank(relayer);
        channels.claimRelayed(config, amount, voucher, fee == 0 ? 1 : fee - 1, deadline, payeeSignature);

        vm.prank(relayer);
        channels.claimRelayed(config, amount, voucher, fee, deadline, payeeSignature);
        _assertChannel(id, deposit, amount, 0, IPaymentChannels.ChannelStatus.Open);
        vm.assertEq(_balanceOf(config.token, payee), amount - fee, "payee received the payout less the fee");
        vm.assertEq(channels.credits(config.token, relayer), fee, "relayer was credited exactly the signed fee");
        vm.assertEq(_balanceOf(config.token, relayer), 0, "the fee stays in the contract until withdrawn");
        vm.assertEq(
            _balanceOf(config.token, address(channels)), deposit - amount + fee, "contract holds the rest and the fee"
        );
    }

    function _signRelayed(bytes32 typeHash, bytes32 id, uint256 amount, uint256 fee, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Trickle"), keccak256("1"), block.chainid, address(channels))
        );
        bytes32 structHash = keccak256(abi.encode(typeHash, id, amount, fee, deadline));
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(PAYEE_KEY, keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
        return abi.encodePacked(r, s, v);
    }

    // ---------------------------------------------------------------- helpers

    function _config(bool useToken, uint256 signerKey, uint64 closeDelay, bytes32 salt)
        internal
        view
        returns (IPaymentChannels.ChannelConfig memory)
    {
        return IPaymentChannels.ChannelConfig({
            payer: payer,
            payee: payee,
            token: useToken ? address(token) : ETH,
            signer: vm.addr(signerKey),
            closeDelay: closeDelay,
            salt: salt
        });
    }

    /// @dev Gives the funder exactly `amount` more of `tokenAddress`, approved for the contract.
    function _fund(address tokenAddress, uint256 amount) internal {
        if (tokenAddress == ETH) {
            vm.deal(funder, funder.balance + amount);
        } else {
            token.mint(funder, amount);
            vm.prank(funder);
            token.approve(address(channels), type(uint256).max);
        }
    }

    function _callOpen(IPaymentChannels.ChannelConfig memory config, uint256 amount) internal returns (bytes32) {
        vm.prank(funder);
        return channels.open{value: config.token == ETH ? amount : 0}(config, amount);
    }

    uint256 private _salt;

    /// @dev Opens a fresh channel (a new salt each time) funded with exactly `deposit`.
    function _openFunded(bool useToken, uint256 signerKey, uint256 deposit, uint64 closeDelay)
        internal
        returns (IPaymentChannels.ChannelConfig memory config, bytes32 id)
    {
        config = _config(useToken, signerKey, closeDelay, bytes32(++_salt));
        _fund(config.token, deposit);
        id = _callOpen(config, deposit);
    }

    function _claim(IPaymentChannels.ChannelConfig memory config, uint256 amount, bytes memory signature) internal {
        vm.prank(payee);
        channels.claim(config, amount, signature);
    }

    function _assertChannel(
        bytes32 id,
        uint256 deposit,
        uint256 claimed,
        uint256 closesAt,
        IPaymentChannels.ChannelStatus status
    ) internal view {
        (uint104 storedDeposit, uint104 storedClaimed, uint40 storedClosesAt, IPaymentChannels.ChannelStatus storedStatus) =
            channels.channels(id);
        vm.assertEq(storedDeposit, deposit, "stored deposit");
        vm.assertEq(storedClaimed, claimed, "stored claimed");
        vm.assertEq(storedClosesAt, closesAt, "stored closesAt");
        vm.assertEq(uint256(storedStatus), uint256(status), "stored status");
    }

    /// @dev A finished channel refuses every operation, and its id cannot be opened again.
    function _assertFinishedForGood(IPaymentChannels.ChannelConfig memory config, bytes32 id, uint256 deposit) internal {
        bytes memory notOpen = abi.encodeWithSelector(
            IPaymentChannels.ChannelNotOpen.selector, id, IPaymentChannels.ChannelStatus.Finished
        );
        bytes memory voucher = _signVoucher(PAYER_KEY, address(channels), id, deposit);
        vm.expectRevert(notOpen);
        _claim(config, deposit, voucher);
        vm.expectRevert(notOpen);
        vm.prank(payer);
        channels.requestClose(config);
        vm.expectRevert(notOpen);
        vm.prank(payer);
        channels.withdraw(config);
        _fund(config.token, 1);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelExists.selector, id));
        _callOpen(config, 1);
    }
}

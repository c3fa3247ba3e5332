// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PaymentChannels} from "../../../contracts/PaymentChannels.sol";
import {IPaymentChannels} from "../../../contracts/interfaces/IPaymentChannels.sol";
import {TestToken} from "../../../contracts/mocks/TestToken.sol";
import {TestUsdc} from "../../../contracts/mocks/TestUsdc.sol";
import {EthRejecter} from "../utils/EthRejecter.sol";
import {Permit2SignatureTransfer} from "../utils/Permit2SignatureTransfer.sol";
import {TrickleTestBase} from "../utils/TrickleTestBase.sol";
import {vm} from "../utils/Vm.sol";

/// @notice Drives random sequences of channel operations for the invariant suite, over several channels,
/// payers, payees, signer keys and three tokens (ETH, an ERC-20, and an ERC-3009 stablecoin whose channels
/// are opened and topped up gaslessly), ERC-20 channels opened and topped up gaslessly through Permit2, with
/// relayed claims, closes and refunds, the payee's own refunds, and relayed signatures replayed elsewhere.
/// @dev Every call is made with try/catch, so the fuzzer never discards a sequence because of a revert.
/// The handler keeps a model of every channel (what the documented rules say its state must be) and
/// compares each outcome with it; whatever breaks a rule is counted in a `ghost*` variable that the
/// invariant test asserts to be zero. Money is measured as balance plus credit, so a payout that was
/// credited instead of delivered still counts as received.
contract ChannelsHandler is TrickleTestBase {
    /// @notice A channel as the rules say it must be, plus what the handler saw being paid.
    struct ChannelModel {
        IPaymentChannels.ChannelConfig config;
        bytes32 id;
        uint256 signerKey;
        uint256 deposit;
        uint256 claimed;
        uint256 closesAt;
        IPaymentChannels.ChannelStatus status;
        /// Highest cumulative amount the channel's signer ever signed for this channel.
        uint256 maxSigned;
        /// What the payee received (delivered or credited) from this channel.
        uint256 payeeReceived;
        /// What the payer received (delivered or credited) back from this channel.
        uint256 payerRefunded;
        /// What partial refunds gave back to the payer while the channel was open (part of `payerRefunded`).
        uint256 partialRefunds;
        /// What relayers took out of the payee's payouts.
        uint256 relayerFees;
    }

    struct SignedVoucher {
        uint256 amount;
        bytes signature;
    }

    /// @dev What `_observe` last read from the contract, to catch any value moving backwards.
    struct Observed {
        uint256 deposit;
        uint256 claimed;
        uint256 closesAt;
        IPaymentChannels.ChannelStatus status;
    }

    uint256 internal constant MAX_CHANNELS = 8;
    uint256 internal constant VOUCHERS_KEPT = 8;
    uint64 internal constant MAX_TEST_DELAY = 3 days;
    uint256 internal constant PAYER_KEY = 0xA11CE;
    uint256 internal constant ATTACKER_KEY = 0xBAD;

    PaymentChannels public immutable channels;
    /// The ERC-3009 stablecoin of the gasless channels; its payer is always the EOA payer, who signs.
    TestUsdc public immutable usdc;
    /// Submits what payers and payees signed, and takes the relay fees.
    address public immutable relayer;
    /// A second deployment: vouchers of `channels` must be worthless on it.
    PaymentChannels public immutable otherDeployment;
    TestToken public immutable token;
    /// A payer whose ETH receive can be switched off, so refunds go through the credit path.
    EthRejecter public immutable rejectingPayer;
    address public immutable payerEoa;
    address public immutable funder;
    address public immutable attacker;
    /// Where the rejecting payer sends its credits.
    address public immutable creditVault;
    address[2] internal payees;
    uint256[2] internal payeeKeys;
    uint256 internal authorizationCounter;
    /// The EOA payer's next Permit2 nonce; spaced so that campaigns touch several bitmap words.
    uint256 internal permit2Nonce;
    uint256[2] internal sessionKeys;

    ChannelModel[] internal models;
    Observed[] internal observed;
    mapping(uint256 index => SignedVoucher[]) internal vouchers;
    mapping(bytes32 id => bool) internal openedOnOtherDeployment;

    // ---------------------------------------------------------------- ghosts (all must stay zero)

    /// An operation the rules forbid went through.
    uint256 public ghostUnexpectedSuccesses;
    /// An operation the rules allow reverted.
    uint256 public ghostUnexpectedReverts;
    /// A party received (or the funder paid) a different amount than the operation says.
    uint256 public ghostPayoutMismatches;
    /// Property 3: a voucher paid on another channel, deployment, chain, or a reopened id.
    uint256 public ghostReplaySuccesses;
    uint256 public ghostReplayPaid;
    /// Attacks (payer or outsider claiming/closing, forged, malleated or old vouchers) that went through.
    uint256 public ghostAttackSuccesses;
    uint256 public ghostAttackerExtracted;
    /// Property 5: `withdraw` after the delay reverted, or refunded other than `deposit - claimed`.
    uint256 public ghostWithdrawBlocked;
    uint256 public ghostRefundMismatches;
    /// A deposit or claimed amount went down, or a status went back.
    uint256 public ghostSettledDecreases;
    /// A finished channel changed in any way.
    uint256 public ghostFinishedChanges;

    /// @notice The action that broke a rule most recently, for the failure message.
    string public lastViolation;

    /// @notice How many times each action went through, to see what a campaign exercised.
    mapping(string action => uint256) public successes;

    constructor(PaymentChannels channels_, TestToken token_) {
        channels = channels_;
        token = token_;
        otherDeployment = new PaymentChannels();
        rejectingPayer = new EthRejecter();
        payerEoa = vm.addr(PAYER_KEY);
        funder = vm.addr(0xF00D);
        attacker = vm.addr(ATTACKER_KEY);
        creditVault = vm.addr(0xC0FFEE);
        payeeKeys = [uint256(0xB0B1), uint256(0xB0B2)];
        payees = [vm.addr(0xB0B1), vm.addr(0xB0B2)];
        relayer = vm.addr(0x5E1A7);
        usdc = new TestUsdc();
        usdc.mint(payerEoa, type(uint192).max);
        // Permit2 at its canonical address; the EOA payer approved it once, as every Permit2 user has.
        address permit2 = channels_.PERMIT2();
        vm.etch(permit2, address(new Permit2SignatureTransfer()).code);
        token_.mint(payerEoa, type(uint192).max);
        vm.prank(payerEoa);
        token_.approve(permit2, type(uint256).max);
        usdc.mint(funder, type(uint192).max);
        sessionKeys = [uint256(0x5E551), uint256(0x5E552)];

        // The funder pays every deposit; its balance is far above anything a campaign can spend.
        vm.deal(funder, type(uint192).max);
        token.mint(funder, type(uint192).max);
        vm.startPrank(funder);
        token.approve(address(channels), type(uint256).max);
        token.approve(address(otherDeployment), type(uint256).max);
        usdc.approve(address(channels), type(uint256).max);
        usdc.approve(address(otherDeployment), type(uint256).max);
        vm.stopPrank();

        // Start every run with one channel per (payer, token), so short sequences reach claims and closes.
        // Each payee gets one ETH and one token channel, so `claimMany` meets a channel in another token from the start.
        _open(0, 0, 0, 0, 1 hours, 1 ether);
        _open(1, 0, 1, 1, 1 days, 5_000e6);
        _open(0, 1, 1, 1, 0, 123_456);
        _open(1, 1, 0, 0, 2 days, 3 ether);
    }

    // ---------------------------------------------------------------- views for the invariant test

    function channelCount() external view returns (uint256) {
        return models.length;
    }

    function channelModel(uint256 index) external view returns (ChannelModel memory) {
        return models[index];
    }

    /// @notice Every address a payout can go to, so the test can sum the credits.
    function payoutAccounts() external view returns (address[] memory accounts) {
        accounts = new address[](5);
        accounts[0] = payerEoa;
        accounts[1] = address(rejectingPayer);
        accounts[2] = payees[0];
        accounts[3] = payees[1];
        accounts[4] = relayer;
    }

    // ---------------------------------------------------------------- actions

    /// @dev Checks, after every action, that no stored amount went down and no finished channel moved.
    modifier observe() {
        _;
        _observe();
    }

    function open(
        uint256 payerSeed,
        uint256 payeeSeed,
        uint256 signerSeed,
        uint256 tokenSeed,
        uint256 delaySeed,
        uint256 amountSeed
    ) external observe {
        if (models.length >= MAX_CHANNELS) return;
        // One time in sixteen a close delay above the maximum, which `open` must refuse.
        uint256 closeDelay =
            delaySeed % 16 == 0 ? MAX_CLOSE_DELAY + 1 + (delaySeed >> 4) % 1000 : _bound(delaySeed, 0, MAX_TEST_DELAY);
        _open(payerSeed, payeeSeed, signerSeed, tokenSeed, closeDelay, _amount(amountSeed));
    }

    function topUp(uint256 channelSeed, uint256 amountSeed) external observe {
        uint256 i = channelSeed % models.length;
        ChannelModel storage m = models[i];
        uint256 amount = _amount(amountSeed);
        bool allowed = m.status == IPaymentChannels.ChannelStatus.Open && m.deposit + amount <= MAX_DEPOSIT;

        uint256 funderBefore = _balanceOf(m.config.token, funder);
        vm.prank(funder);
        bool ok;
        try channels.topUp{value: m.config.token == ETH ? amount : 0}(m.config, amount) {
            ok = true;
        } catch {}
        if (!_expected("topUp", ok, allowed)) return;
        if (funderBefore - _balanceOf(m.config.token, funder) != amount) ++ghostPayoutMismatches;
        m.deposit += amount;
    }

    /// @notice The channel's signer signs a new cumulative voucher, sometimes above the deposit.
    function signVoucher(uint256 channelSeed, uint256 amountSeed) external observe {
        uint256 i = channelSeed % models.length;
        _addVoucher(i, _voucherAmount(models[i], amountSeed));
        ++successes["signVoucher"];
    }

    function claim(uint256 channelSeed, uint256 voucherSeed) external observe {
        uint256 i = channelSeed % models.length;
        ChannelModel storage m = models[i];
        SignedVoucher memory voucher = _pickVoucher(i, voucherSeed);
        bool allowed = _settleable(m) && voucher.amount > m.claimed && voucher.amount <= m.deposit;

        uint256 before = _received(m.config.token, m.config.payee);
        vm.prank(m.config.payee);
        bool ok;
        try channels.claim(m.config, voucher.amount, voucher.signature) {
            ok = true;
        } catch {}
        if (!_expected("claim", ok, allowed)) return;
        uint256 got = _received(m.config.token, m.config.payee) - before;
        if (got != voucher.amount - m.claimed) ++ghostPayoutMismatches;
        m.payeeReceived += got;
        m.claimed = voucher.amount;
    }

    /// @notice One payee claims up to four entries in one token (possibly the same channel twice). One entry in
    /// sixteen is any channel at all, often of the other payee or another token: the batch must then fail whole.
    function claimMany(uint256 payeeSeed, uint256 countSeed, uint256 pickSeed) external observe {
        address payee = payees[payeeSeed % 2];
        uint256[] memory candidates = new uint256[](models.length);
        uint256 candidateCount;
        for (uint256 k; k < models.length; ++k) {
            if (models[k].config.payee == payee) candidates[candidateCount++] = k;
        }
        if (candidateCount == 0) return;
        // The batch's token: the token of one of the payee's channels, and the candidates narrowed to it.
        address batchToken = models[candidates[(pickSeed >> 64) % candidateCount]].config.token;
        uint256 kept;
        for (uint256 k; k < candidateCount; ++k) {
            if (models[candidates[k]].config.token == batchToken) candidates[kept++] = candidates[k];
        }
        candidateCount = kept;

        // An empty batch (one time in eight) must be refused.
        uint256 count = countSeed % 8 == 0 ? 0 : _bound(countSeed >> 3, 1, 4);
        IPaymentChannels.Claim[] memory batch = new IPaymentChannels.Claim[](count);
        uint256[] memory indexes = new uint256[](count);
        // Replays the batch on the model: entries settle in order, each against the claimed amount so far.
        uint256[] memory claimedAfter = new uint256[](models.length);
        for (uint256 k; k < models.length; ++k) claimedAfter[k] = models[k].claimed;
        bool allowed = count > 0;
        uint256 expectedPayout;
        for (uint256 e; e < count; ++e) {
            uint256 seed = uint256(keccak256(abi.encode(pickSeed, e)));
            uint256 i = seed % 16 == 0 ? (seed >> 4) % models.length : candidates[(seed >> 4) % candidateCount];
            indexes[e] = i;
            ChannelModel storage m = models[i];
            SignedVoucher memory voucher = _batchVoucher(i, claimedAfter[i], seed >> 8);
            batch[e] = _claimOf(m.config, voucher);
            if (
                m.config.payee != payee || m.config.token != batchToken || !_settleable(m)
                    || voucher.amount <= claimedAfter[i] || voucher.amount > m.deposit
            ) {
                allowed = false;
            } else {
                expectedPayout += voucher.amount - claimedAfter[i];
                claimedAfter[i] = voucher.amount;
            }
        }

        uint256[3] memory before = [_received(ETH, payee), _received(address(token), payee), _received(address(usdc), payee)];
        // Half the batches go through claimManyCompact: every signer here is an EOA.
        bool compact = (pickSeed >> 128) % 2 == 1;
        vm.prank(payee);
        bool ok = compact ? _claimManyCompact(batchToken, batch) : _claimMany(batchToken, batch);
        if (!_expected(compact ? "claimManyCompact" : "claimMany", ok, allowed)) return;
        uint256[3] memory expected;
        expected[_tokenIndex(batchToken)] = expectedPayout;
        if (_received(ETH, payee) - before[0] != expected[0]) ++ghostPayoutMismatches;
        if (_received(address(token), payee) - before[1] != expected[1]) ++ghostPayoutMismatches;
        if (_received(address(usdc), payee) - before[2] != expected[2]) ++ghostPayoutMismatches;
        for (uint256 e; e < count; ++e) {
            ChannelModel storage m = models[indexes[e]];
            // The batch total was checked above; each channel is credited with its own share.
            m.payeeReceived += claimedAfter[indexes[e]] - m.claimed;
            m.claimed = claimedAfter[indexes[e]];
        }
    }

    /// @dev The {claimMany} entry of a voucher on `config`: the config without its payee and token.
    function _claimOf(IPaymentChannels.ChannelConfig memory config, SignedVoucher memory voucher)
        internal
        pure
        returns (IPaymentChannels.Claim memory)
    {
        return IPaymentChannels.Claim(
            config.payer, config.signer, config.closeDelay, config.salt, voucher.amount, voucher.signature
        );
    }

    function _claimMany(address batchToken, IPaymentChannels.Claim[] memory batch) internal returns (bool ok) {
        try channels.claimMany(batchToken, batch) {
            ok = true;
        } catch {}
    }

    function _claimManyCompact(address batchToken, IPaymentChannels.Claim[] memory batch) internal returns (bool ok) {
        IPaymentChannels.CompactClaim[] memory compact = new IPaymentChannels.CompactClaim[](batch.length);
        for (uint256 e; e < batch.length; ++e) {
            IPaymentChannels.Claim memory entry = batch[e];
            (bytes32 r, bytes32 vs) = _compact(entry.signature);
            compact[e] = IPaymentChannels.CompactClaim(
                entry.payer, entry.signer, entry.closeDelay, entry.salt, entry.amount, r, vs
            );
        }
        try channels.claimManyCompact(batchToken, compact) {
            ok = true;
        } catch {}
    }

    /// @notice Opens an ERC-3009 stablecoin channel from the EOA payer's signed authorization, submitted by the
    /// relayer, who pays nothing; one time in eight the relayer tampers with the amount, which must fail.
    function openWithAuthorization(uint256 payeeSeed, uint256 signerSeed, uint256 delaySeed, uint256 amountSeed)
        external
        observe
    {
        if (models.length >= MAX_CHANNELS) return;
        uint256 signerKey = signerSeed % 3 == 0 ? PAYER_KEY : sessionKeys[signerSeed % 2];
        IPaymentChannels.ChannelConfig memory config = IPaymentChannels.ChannelConfig({
            payer: payerEoa,
            payee: payees[payeeSeed % 2],
            token: address(usdc),
            signer: vm.addr(signerKey),
            closeDelay: uint64(_bound(delaySeed, 0, MAX_TEST_DELAY)),
            salt: bytes32(models.length)
        });
        bytes32 id = _channelId(config);
        uint256 amount = _amount(amountSeed);
        (uint8 v, bytes32 r, bytes32 s) = _signAuthorization(id, amount, bytes32(0));
        bool tampered = amountSeed % 8 == 7;
        uint256 submitted = tampered ? amount + 1 : amount;
        bool allowed = !tampered && amount <= MAX_DEPOSIT;

        uint256 payerBefore = usdc.balanceOf(payerEoa);
        uint256 relayerBefore = usdc.balanceOf(relayer);
        vm.prank(relayer);
        bool ok;
        try channels.openWithAuthorization(config, submitted, 0, block.timestamp + 1, v, r, s) returns (bytes32 opened) {
            ok = opened == id;
        } catch {}
        if (!_expected("openWithAuthorization", ok, allowed)) return;
        if (payerBefore - usdc.balanceOf(payerEoa) != amount) ++ghostPayoutMismatches;
        if (usdc.balanceOf(relayer) != relayerBefore) ++ghostPayoutMismatches;

        ChannelModel storage m = models.push();
        m.config = config;
        m.id = id;
        m.signerKey = signerKey;
        m.deposit = amount;
        m.status = IPaymentChannels.ChannelStatus.Open;
        observed.push(Observed(amount, 0, 0, IPaymentChannels.ChannelStatus.Open));
    }

    /// @notice Tops up a stablecoin channel from the payer's signed authorization; one time in eight the
    /// relayer submits it for another channel, which must fail.
    function topUpWithAuthorization(uint256 channelSeed, uint256 amountSeed) external observe {
        uint256 i = channelSeed % models.length;
        ChannelModel storage m = models[i];
        if (m.config.token != address(usdc)) return;
        uint256 amount = _bound(amountSeed, 1, 1e24);
        bytes32 salt = keccak256(abi.encode("top-up", ++authorizationCounter));
        (uint8 v, bytes32 r, bytes32 s) = _signAuthorization(m.id, amount, salt);
        bool elsewhere = amountSeed % 8 == 7;
        ChannelModel storage target = elsewhere ? models[(i + 1) % models.length] : m;
        bool allowed = !elsewhere && m.status == IPaymentChannels.ChannelStatus.Open && m.deposit + amount <= MAX_DEPOSIT;

        uint256 payerBefore = usdc.balanceOf(payerEoa);
        vm.prank(relayer);
        bool ok;
        try channels.topUpWithAuthorization(target.config, amount, 0, block.timestamp + 1, salt, v, r, s) {
            ok = true;
        } catch {}
        if (!_expected("topUpWithAuthorization", ok, allowed)) return;
        if (payerBefore - usdc.balanceOf(payerEoa) != amount) ++ghostPayoutMismatches;
        m.deposit += amount;
    }

    /// @notice Opens an ERC-20 channel from the EOA payer's Permit2 signature (witness: the channel id), submitted
    /// by the relayer, who pays nothing; one time in eight the relayer tampers with the amount, and one time in
    /// four it submits the signature a second time: both must fail.
    function openWithPermit2(uint256 payeeSeed, uint256 signerSeed, uint256 delaySeed, uint256 amountSeed)
        external
        observe
    {
        if (models.length >= MAX_CHANNELS) return;
        uint256 signerKey = signerSeed % 3 == 0 ? PAYER_KEY : sessionKeys[signerSeed % 2];
        IPaymentChannels.ChannelConfig memory config = IPaymentChannels.ChannelConfig({
            payer: payerEoa,
            payee: payees[payeeSeed % 2],
            token: address(token),
            signer: vm.addr(signerKey),
            closeDelay: uint64(_bound(delaySeed, 0, MAX_TEST_DELAY)),
            salt: bytes32(models.length)
        });
        bytes32 id = _channelId(config);
        uint256 amount = _amount(amountSeed);
        uint256 nonce = _nextPermit2Nonce();
        bytes memory signature = _signPermit2(id, amount, nonce, block.timestamp);
        bool tampered = amountSeed % 8 == 7;
        uint256 submitted = tampered ? amount + 1 : amount;
        bool allowed = !tampered && amount <= MAX_DEPOSIT;

        uint256 payerBefore = token.balanceOf(payerEoa);
        uint256 relayerBefore = token.balanceOf(relayer);
        vm.prank(relayer);
        bool ok;
        try channels.openWithPermit2(config, submitted, nonce, block.timestamp, signature) returns (bytes32 opened) {
            ok = opened == id;
        } catch {}
        if (!_expected("openWithPermit2", ok, allowed)) return;
        if (payerBefore - token.balanceOf(payerEoa) != amount) ++ghostPayoutMismatches;
        if (token.balanceOf(relayer) != relayerBefore) ++ghostPayoutMismatches;
        if (amountSeed % 4 == 1) {
            vm.prank(relayer);
            try channels.openWithPermit2(config, amount, nonce, block.timestamp, signature) {
                ++ghostReplaySuccesses;
            } catch {}
        }

        ChannelModel storage m = models.push();
        m.config = config;
        m.id = id;
        m.signerKey = signerKey;
        m.deposit = amount;
        m.status = IPaymentChannels.ChannelStatus.Open;
        observed.push(Observed(amount, 0, 0, IPaymentChannels.ChannelStatus.Open));
    }

    /// @notice Tops up an ERC-20 channel of the EOA payer from its Permit2 signature; one time in eight the relayer
    /// submits it for another channel, and one time in four it submits it a second time: both must fail.
    function topUpWithPermit2(uint256 channelSeed, uint256 amountSeed) external observe {
        uint256 i = channelSeed % models.length;
        ChannelModel storage m = models[i];
        if (m.config.token != address(token) || m.config.payer != payerEoa) return;
        uint256 amount = _bound(amountSeed, 1, 1e24);
        uint256 nonce = _nextPermit2Nonce();
        bytes memory signature = _signPermit2(m.id, amount, nonce, block.timestamp);
        bool elsewhere = amountSeed % 8 == 7;
        ChannelModel storage target = elsewhere ? models[(i + 1) % models.length] : m;
        bool allowed = !elsewhere && m.status == IPaymentChannels.ChannelStatus.Open && m.deposit + amount <= MAX_DEPOSIT;

        uint256 payerBefore = token.balanceOf(payerEoa);
        vm.prank(relayer);
        bool ok;
        try channels.topUpWithPermit2(target.config, amount, nonce, block.timestamp, signature) {
            ok = true;
        } catch {}
        if (!_expected("topUpWithPermit2", ok, allowed)) return;
        if (payerBefore - token.balanceOf(payerEoa) != amount) ++ghostPayoutMismatches;
        m.deposit += amount;
        if (amountSeed % 4 == 1) {
            vm.prank(relayer);
            try channels.topUpWithPermit2(m.config, amount, nonce, block.timestamp, signature) {
                ++ghostReplaySuccesses;
                m.deposit += amount;
            } catch {}
        }
    }

    /// @notice A settlement the payee signed, submitted by the relayer: a claim or a close with a fee (one time
    /// in eight above the payout, which must fail), or a refund; or the payee's own partial refund.
    function relayedSettlement(uint256 channelSeed, uint256 voucherSeed, uint256 feeSeed, uint256 modeSeed)
        external
        observe
    {
        uint256 i = channelSeed % models.length;
        uint256 mode = modeSeed % 4;
        if (mode == 0) _claimRelayed(i, voucherSeed, feeSeed);
        else if (mode == 1) _closeRelayed(i, voucherSeed, feeSeed);
        else _refund(i, feeSeed, mode == 3);
    }

    function _claimRelayed(uint256 i, uint256 voucherSeed, uint256 feeSeed) internal {
        ChannelModel storage m = models[i];
        SignedVoucher memory voucher = _pickVoucher(i, voucherSeed);
        uint256 payout = voucher.amount > m.claimed ? voucher.amount - m.claimed : 0;
        uint256 fee = feeSeed % 8 == 0 ? payout + 1 : _bound(feeSeed >> 3, 0, payout);
        bool allowed = _settleable(m) && voucher.amount > m.claimed && voucher.amount <= m.deposit && fee <= payout;
        bytes memory payeeSignature =
            _signSettlement(m, channels.RELAYED_CLAIM_TYPEHASH(), voucher.amount, fee, block.timestamp);

        uint256 payeeBefore = _received(m.config.token, m.config.payee);
        uint256 relayerBefore = _received(m.config.token, relayer);
        vm.prank(relayer);
        bool ok;
        try channels.claimRelayed(m.config, voucher.amount, voucher.signature, fee, block.timestamp, payeeSignature) {
            ok = true;
        } catch {}
        if (!_expected("claimRelayed", ok, allowed)) return;
        uint256 got = _received(m.config.token, m.config.payee) - payeeBefore;
        uint256 took = _received(m.config.token, relayer) - relayerBefore;
        if (got != payout - fee || took != fee) ++ghostPayoutMismatches;
        m.payeeReceived += got;
        m.relayerFees += took;
        m.claimed = voucher.amount;
    }

    function _closeRelayed(uint256 i, uint256 voucherSeed, uint256 feeSeed) internal {
        ChannelModel storage m = models[i];
        SignedVoucher memory voucher =
            voucherSeed % 4 == 0 ? SignedVoucher(m.claimed, "") : _pickVoucher(i, voucherSeed >> 2);
        uint256 payout = voucher.amount > m.claimed ? voucher.amount - m.claimed : 0;
        uint256 fee = feeSeed % 8 == 0 ? payout + 1 : _bound(feeSeed >> 3, 0, payout);
        bool allowed = _settleable(m) && voucher.amount >= m.claimed && voucher.amount <= m.deposit && fee <= payout;
        bytes memory payeeSignature =
            _signSettlement(m, channels.RELAYED_CLOSE_TYPEHASH(), voucher.amount, fee, block.timestamp);

        uint256 payeeBefore = _received(m.config.token, m.config.payee);
        uint256 payerBefore = _received(m.config.token, m.config.payer);
        uint256 relayerBefore = _received(m.config.token, relayer);
        vm.prank(relayer);
        bool ok;
        try channels.closeRelayed(m.config, voucher.amount, voucher.signature, fee, block.timestamp, payeeSignature) {
            ok = true;
        } catch {}
        if (!_expected("closeRelayed", ok, allowed)) return;
        uint256 got = _received(m.config.token, m.config.payee) - payeeBefore;
        uint256 took = _received(m.config.token, relayer) - relayerBefore;
        uint256 toPayer = _received(m.config.token, m.config.payer) - payerBefore;
        if (got != payout - fee || took != fee) ++ghostPayoutMismatches;
        if (toPayer != m.deposit - voucher.amount) ++ghostRefundMismatches;
        m.payeeReceived += got;
        m.relayerFees += took;
        m.payerRefunded += toPayer;
        m.claimed = voucher.amount;
        m.status = IPaymentChannels.ChannelStatus.Finished;
    }

    /// @dev A partial refund of up to a little more than what the payee can give back (the excess must fail).
    function _refund(uint256 i, uint256 amountSeed, bool relayed) internal {
        ChannelModel storage m = models[i];
        uint256 refundable = m.deposit - m.claimed;
        uint256 amount = _bound(amountSeed, 0, refundable + 1);
        bool allowed = _settleable(m) && amount > 0 && amount <= refundable;

        uint256 payerBefore = _received(m.config.token, m.config.payer);
        bool ok;
        if (relayed) {
            uint256 total = channels.refunded(m.id) + amount;
            bytes memory payeeSignature = _signRefund(m, total, block.timestamp);
            vm.prank(relayer);
            try channels.refundRelayed(m.config, total, block.timestamp, payeeSignature) {
                ok = true;
            } catch {}
        } else {
            vm.prank(m.config.payee);
            try channels.refund(m.config, amount) {
                ok = true;
            } catch {}
        }
        if (!_expected(relayed ? "refundRelayed" : "refund", ok, allowed)) return;
        uint256 toPayer = _received(m.config.token, m.config.payer) - payerBefore;
        if (toPayer != amount) ++ghostRefundMismatches;
        m.payerRefunded += toPayer;
        m.partialRefunds += toPayer;
        m.deposit -= amount;
        // The one rule by which a deposit goes down.
        observed[i].deposit = m.deposit;
    }

    /// @notice The payee closes with a voucher, or (one time in four) at the claimed amount without one.
    function close(uint256 channelSeed, uint256 voucherSeed) external observe {
        uint256 i = channelSeed % models.length;
        ChannelModel storage m = models[i];
        SignedVoucher memory voucher =
            voucherSeed % 4 == 0 ? SignedVoucher(m.claimed, "") : _pickVoucher(i, voucherSeed >> 2);
        bool allowed = _settleable(m) && voucher.amount >= m.claimed && voucher.amount <= m.deposit;

        uint256 payeeBefore = _received(m.config.token, m.config.payee);
        uint256 payerBefore = _received(m.config.token, m.config.payer);
        vm.prank(m.config.payee);
        bool ok;
        try channels.close(m.config, voucher.amount, voucher.signature) {
            ok = true;
        } catch {}
        if (!_expected("close", ok, allowed)) return;
        uint256 toPayee = _received(m.config.token, m.config.payee) - payeeBefore;
        uint256 toPayer = _received(m.config.token, m.config.payer) - payerBefore;
        if (toPayee != voucher.amount - m.claimed) ++ghostPayoutMismatches;
        if (toPayer != m.deposit - voucher.amount) ++ghostRefundMismatches;
        m.payeeReceived += toPayee;
        m.payerRefunded += toPayer;
        m.claimed = voucher.amount;
        m.status = IPaymentChannels.ChannelStatus.Finished;
    }

    function requestClose(uint256 channelSeed) external observe {
        ChannelModel storage m = models[channelSeed % models.length];
        bool allowed = m.status == IPaymentChannels.ChannelStatus.Open;
        vm.prank(m.config.payer);
        bool ok;
        try channels.requestClose(m.config) {
            ok = true;
        } catch {}
        if (!_expected("requestClose", ok, allowed)) return;
        m.status = IPaymentChannels.ChannelStatus.Closing;
        m.closesAt = block.timestamp + m.config.closeDelay;
    }

    function withdraw(uint256 channelSeed) external observe {
        ChannelModel storage m = models[channelSeed % models.length];
        bool allowed = m.status == IPaymentChannels.ChannelStatus.Closing && block.timestamp >= m.closesAt;

        uint256 payerBefore = _received(m.config.token, m.config.payer);
        vm.prank(m.config.payer);
        bool ok;
        try channels.withdraw(m.config) {
            ok = true;
        } catch {}
        if (allowed && !ok) ++ghostWithdrawBlocked;
        if (!_expected("withdraw", ok, allowed)) return;
        uint256 refund = _received(m.config.token, m.config.payer) - payerBefore;
        if (refund != m.deposit - m.claimed) ++ghostRefundMismatches;
        m.payerRefunded += refund;
        m.status = IPaymentChannels.ChannelStatus.Finished;
    }

    /// @notice Moves time forward: by a random span, or (one time in three) to the very second at which,
    /// or just before which, a closing channel's countdown ends.
    function warp(uint256 secondsSeed, uint256 channelSeed) external observe {
        uint256 target = block.timestamp + _bound(secondsSeed, 0, 2 * MAX_TEST_DELAY);
        if (secondsSeed % 3 == 0) {
            ChannelModel storage m = models[channelSeed % models.length];
            if (m.status == IPaymentChannels.ChannelStatus.Closing) {
                uint256 boundary = m.closesAt - ((secondsSeed >> 2) % 2);
                if (boundary > block.timestamp) target = boundary;
            }
        }
        vm.warp(target);
        ++successes["warp"];
    }

    function toggleRejectingPayer() external observe {
        rejectingPayer.setAccepting(!rejectingPayer.accepting());
        ++successes["toggleRejectingPayer"];
    }

    /// @notice The rejecting payer takes its credited refunds, or the relayer its credited fees, to another address.
    function withdrawCredit(uint256 tokenSeed) external observe {
        uint256 pick = tokenSeed % 3;
        address tokenAddress = pick == 0 ? ETH : pick == 1 ? address(token) : address(usdc);
        address account = (tokenSeed >> 2) % 2 == 0 ? address(rejectingPayer) : relayer;
        uint256 credit = channels.credits(tokenAddress, account);
        uint256 vaultBefore = _balanceOf(tokenAddress, creditVault);
        vm.prank(account);
        bool ok;
        try channels.withdrawCredit(tokenAddress, creditVault) {
            ok = true;
        } catch {}
        if (!_expected("withdrawCredit", ok, credit > 0)) return;
        if (_balanceOf(tokenAddress, creditVault) - vaultBefore != credit) ++ghostPayoutMismatches;
        if (channels.credits(tokenAddress, account) != 0) ++ghostPayoutMismatches;
    }

    /// @notice Property 3: a voucher genuinely signed for one channel is tried on another channel of the
    /// same signer, on another deployment, on another chain id, and on a finished (reopened) id.
    function replayVoucher(uint256 channelSeed, uint256 modeSeed, uint256 amountSeed) external observe {
        uint256 i = channelSeed % models.length;
        uint256 mode = modeSeed % 4;
        if (mode == 0) _replayOnAnotherChannel(i, modeSeed >> 2, amountSeed);
        else if (mode == 1) _replayOnAnotherDeployment(i, amountSeed);
        else if (mode == 2) _replayOnAnotherChain(i, amountSeed);
        else _replayOnAFinishedId(i);
    }

    /// @notice Attempts that must always fail: the payer claiming or closing with the vouchers it holds,
    /// an outsider claiming, closing, asking to close or withdrawing, the payee using a voucher signed by
    /// the wrong key, a malleated (high-s) signature, or an old voucher; the payer or an outsider claiming
    /// through `claimMany`.
    function attack(uint256 channelSeed, uint256 modeSeed, uint256 voucherSeed) external observe {
        uint256 i = channelSeed % models.length;
        ChannelModel storage m = models[i];
        IPaymentChannels.ChannelConfig memory config = m.config;
        uint256 mode = modeSeed % 9;
        uint256 extractedBefore = _partiesHold(config.token, config);

        SignedVoucher memory voucher = _pickVoucher(i, voucherSeed);
        address caller = mode < 2 ? config.payer : mode < 5 ? attacker : mode < 8 ? config.payee : address(0);
        bytes memory call;
        if (mode == 8) {
            // The payer or an outsider slipping the channel into a batch of its own.
            caller = voucherSeed % 2 == 0 ? config.payer : attacker;
            IPaymentChannels.Claim[] memory batch = new IPaymentChannels.Claim[](1);
            batch[0] = _claimOf(config, voucher);
            call = abi.encodeCall(IPaymentChannels.claimMany, (config.token, batch));
        } else if (mode == 0 || mode == 2) {
            call = abi.encodeCall(IPaymentChannels.claim, (config, voucher.amount, voucher.signature));
        } else if (mode == 1 || mode == 3) {
            call = abi.encodeCall(IPaymentChannels.close, (config, voucher.amount, voucher.signature));
        } else if (mode == 4) {
            call = voucherSeed % 2 == 0
                ? abi.encodeCall(IPaymentChannels.requestClose, (config))
                : abi.encodeCall(IPaymentChannels.withdraw, (config));
        } else {
            // The payee with a voucher it must not be able to use, for an amount it could otherwise claim.
            if (!_settleable(m) || m.deposit == m.claimed) return;
            uint256 amount = _bound(voucherSeed, m.claimed + 1, m.deposit);
            bytes memory signature;
            if (mode == 5) {
                signature = _signVoucher(ATTACKER_KEY, address(channels), m.id, amount);
            } else if (mode == 6) {
                signature = _malleate(_addVoucher(i, amount));
            } else {
                // Old voucher: one at or below what was already claimed.
                if (m.claimed == 0) return;
                amount = _bound(voucherSeed, 1, m.claimed);
                signature = _addVoucher(i, amount);
            }
            call = abi.encodeCall(IPaymentChannels.claim, (config, amount, signature));
        }

        vm.prank(caller);
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, ) = address(channels).call(call);
        if (ok) {
            ++ghostAttackSuccesses;
            uint256 held = _partiesHold(config.token, config);
            if (held > extractedBefore) ghostAttackerExtracted += held - extractedBefore;
        } else {
            ++successes["attackRefused"];
        }
    }

    /// @notice Property 3 for the payee's relayed signatures: a claim it signed for one channel is tried on another
    /// channel, as a close (another entry point), and under another chain id; a signed close is tried as a
    /// claim. The voucher is always genuine and claimable, so only the payee's signature can refuse it.
    function replaySettlement(uint256 channelSeed, uint256 modeSeed, uint256 amountSeed) external observe {
        uint256 i = channelSeed % models.length;
        ChannelModel storage m = models[i];
        if (!_settleable(m) || m.deposit == m.claimed) return;
        uint256 amount = _bound(amountSeed, m.claimed + 1, m.deposit);
        bytes memory voucher = _addVoucher(i, amount);
        uint256 mode = modeSeed % 4;
        bytes memory payeeSignature;
        bytes memory call;
        if (mode == 0) {
            // Signed for another channel of the same payee, submitted here.
            uint256 j = (i + 1 + (modeSeed >> 2) % models.length) % models.length;
            if (j == i || models[j].config.payee != m.config.payee) return;
            bytes32 structHash = keccak256(abi.encode(channels.RELAYED_CLAIM_TYPEHASH(), models[j].id, amount, 0, block.timestamp));
            payeeSignature = _signTrickle(_payeeKey(m), structHash);
            call = abi.encodeCall(IPaymentChannels.claimRelayed, (m.config, amount, voucher, 0, block.timestamp, payeeSignature));
        } else if (mode == 1) {
            payeeSignature = _signSettlement(m, channels.RELAYED_CLAIM_TYPEHASH(), amount, 0, block.timestamp);
            call = abi.encodeCall(IPaymentChannels.closeRelayed, (m.config, amount, voucher, 0, block.timestamp, payeeSignature));
        } else if (mode == 2) {
            payeeSignature = _signSettlement(m, channels.RELAYED_CLOSE_TYPEHASH(), amount, 0, block.timestamp);
            call = abi.encodeCall(IPaymentChannels.claimRelayed, (m.config, amount, voucher, 0, block.timestamp, payeeSignature));
        } else {
            // Signed for the home chain, submitted on another one.
            payeeSignature = _signSettlement(m, channels.RELAYED_CLAIM_TYPEHASH(), amount, 0, block.timestamp);
            call = abi.encodeCall(IPaymentChannels.claimRelayed, (m.config, amount, voucher, 0, block.timestamp, payeeSignature));
        }
        uint256 heldBefore = _partiesHold(m.config.token, m.config) + _received(m.config.token, relayer);
        if (mode == 3) vm.chainId(HOME_CHAIN_ID + 1 + amountSeed % 1000);
        vm.prank(relayer);
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, ) = address(channels).call(call);
        if (mode == 3) vm.chainId(HOME_CHAIN_ID);
        if (ok) {
            ++ghostReplaySuccesses;
            uint256 held = _partiesHold(m.config.token, m.config) + _received(m.config.token, relayer);
            if (held > heldBefore) ghostReplayPaid += held - heldBefore;
        } else {
            ++successes["settlementReplayRefused"];
        }
    }

    // ---------------------------------------------------------------- replays

    function _replayOnAnotherChannel(uint256 i, uint256 targetSeed, uint256 amountSeed) internal {
        uint256 n = models.length;
        uint256 j = (i + 1 + targetSeed % (n - 1)) % n;
        // Prefer a target with the same signer: then the channel id is the only thing that differs.
        for (uint256 step; step < n; ++step) {
            uint256 k = (j + step) % n;
            if (k != i && models[k].config.signer == models[i].config.signer) {
                j = k;
                break;
            }
        }
        ChannelModel storage target = models[j];
        if (!_settleable(target) || target.deposit == target.claimed) return;
        uint256 amount = _bound(amountSeed, target.claimed + 1, target.deposit);
        bytes memory signature = _addVoucher(i, amount);

        uint256 before = _received(target.config.token, target.config.payee);
        vm.prank(target.config.payee);
        try channels.claim(target.config, amount, signature) {
            _recordReplay(_received(target.config.token, target.config.payee) - before);
        } catch {
            ++successes["replayRefused"];
        }
    }

    function _replayOnAnotherDeployment(uint256 i, uint256 amountSeed) internal {
        ChannelModel storage m = models[i];
        if (!openedOnOtherDeployment[m.id]) {
            // The same config, funded to the brim, so only the voucher's domain can stop the claim.
            vm.prank(funder);
            otherDeployment.open{value: m.config.token == ETH ? MAX_DEPOSIT : 0}(m.config, MAX_DEPOSIT);
            openedOnOtherDeployment[m.id] = true;
        }
        uint256 amount = _bound(amountSeed, 1, MAX_DEPOSIT);
        bytes memory signature = _addVoucher(i, amount);

        uint256 before = _received(m.config.token, m.config.payee);
        vm.prank(m.config.payee);
        try otherDeployment.claim(m.config, amount, signature) {
            _recordReplay(_received(m.config.token, m.config.payee) - before);
        } catch {
            ++successes["replayRefused"];
        }
    }

    function _replayOnAnotherChain(uint256 i, uint256 amountSeed) internal {
        ChannelModel storage m = models[i];
        if (!_settleable(m) || m.deposit == m.claimed) return;
        uint256 amount = _bound(amountSeed, m.claimed + 1, m.deposit);
        // Signed for the home chain: a valid voucher there, which must be worthless anywhere else.
        bytes memory signature = _addVoucher(i, amount);
        vm.chainId(HOME_CHAIN_ID + 1 + amountSeed % 1000);

        uint256 before = _received(m.config.token, m.config.payee);
        vm.prank(m.config.payee);
        try channels.claim(m.config, amount, signature) {
            _recordReplay(_received(m.config.token, m.config.payee) - before);
        } catch {
            ++successes["replayRefused"];
        }
        vm.chainId(HOME_CHAIN_ID);
    }

    /// @dev A finished id can be neither opened again nor claimed on with its old vouchers.
    function _replayOnAFinishedId(uint256 i) internal {
        uint256 n = models.length;
        for (uint256 step; step < n; ++step) {
            ChannelModel storage m = models[(i + step) % n];
            if (m.status != IPaymentChannels.ChannelStatus.Finished) continue;
            vm.prank(funder);
            try channels.open{value: m.config.token == ETH ? m.deposit : 0}(m.config, m.deposit) {
                _recordReplay(0);
            } catch {
                ++successes["replayRefused"];
            }
            SignedVoucher memory best = _pickVoucher((i + step) % n, 0);
            uint256 before = _received(m.config.token, m.config.payee);
            vm.prank(m.config.payee);
            try channels.claim(m.config, best.amount, best.signature) {
                _recordReplay(_received(m.config.token, m.config.payee) - before);
            } catch {
                ++successes["replayRefused"];
            }
            return;
        }
    }

    function _recordReplay(uint256 paid) internal {
        ++ghostReplaySuccesses;
        ghostReplayPaid += paid;
    }

    // ---------------------------------------------------------------- internals

    function _tokenIndex(address tokenAddress) internal view returns (uint256) {
        return tokenAddress == ETH ? 0 : tokenAddress == address(token) ? 1 : 2;
    }

    /// @dev The EOA payer's ERC-3009 `ReceiveWithAuthorization` of `amount` into channel `id`, as USDC checks it.
    function _signAuthorization(bytes32 id, uint256 amount, bytes32 salt)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Trickle Test USDC"), keccak256("2"), block.chainid, address(usdc))
        );
        bytes32 structHash = keccak256(
            abi.encode(
                usdc.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(), payerEoa, address(channels), amount, 0, block.timestamp + 1,
                keccak256(abi.encode(id, amount, salt))
            )
        );
        return vm.sign(PAYER_KEY, keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
    }

    /// @dev A fresh Permit2 nonce of the EOA payer: consecutive ones share a bitmap word, every 97th starts another.
    function _nextPermit2Nonce() internal returns (uint256) {
        permit2Nonce += permit2Nonce % 97 == 96 ? 256 : 1;
        return permit2Nonce;
    }

    /// @dev The EOA payer's Permit2 `PermitWitnessTransferFrom` of `amount` of the ERC-20 to the channels contract,
    /// with the witness `ChannelDeposit(id)`, as the SDK's `permit2DepositTypedData` builds it.
    function _signPermit2(bytes32 id, uint256 amount, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        address permit2 = channels.PERMIT2();
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,uint256 chainId,address verifyingContract)"),
                keccak256("Permit2"),
                block.chainid,
                permit2
            )
        );
        bytes32 typeHash = keccak256(
            abi.encodePacked(
                "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,",
                channels.PERMIT2_WITNESS_TYPE()
            )
        );
        bytes32 permissions =
            keccak256(abi.encode(keccak256("TokenPermissions(address token,uint256 amount)"), address(token), amount));
        bytes32 witness = keccak256(abi.encode(channels.CHANNEL_DEPOSIT_TYPEHASH(), id));
        bytes32 structHash = keccak256(abi.encode(typeHash, permissions, address(channels), nonce, deadline, witness));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PAYER_KEY, keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
        return abi.encodePacked(r, s, v);
    }

    function _payeeKey(ChannelModel storage m) internal view returns (uint256) {
        return m.config.payee == payees[0] ? payeeKeys[0] : payeeKeys[1];
    }

    /// @dev The payee's signature of a relayed claim or close (`typeHash`) under the contract's domain.
    function _signSettlement(ChannelModel storage m, bytes32 typeHash, uint256 amount, uint256 fee, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return _signTrickle(_payeeKey(m), keccak256(abi.encode(typeHash, m.id, amount, fee, deadline)));
    }

    function _signRefund(ChannelModel storage m, uint256 refunded, uint256 deadline) internal view returns (bytes memory) {
        return _signTrickle(
            _payeeKey(m), keccak256(abi.encode(channels.RELAYED_REFUND_TYPEHASH(), m.id, refunded, deadline))
        );
    }

    function _signTrickle(uint256 key, bytes32 structHash) internal view returns (bytes memory) {
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Trickle"), keccak256("1"), block.chainid, address(channels))
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
        return abi.encodePacked(r, s, v);
    }

    /// @dev A 65-byte signature in its 64-byte EIP-2098 form; `r` and `vs` of zero for any other length.
    function _compact(bytes memory signature) internal pure returns (bytes32 r, bytes32 vs) {
        if (signature.length != 65) return (bytes32(0), bytes32(0));
        bytes32 s;
        uint8 v;
        // solhint-disable-next-line no-inline-assembly
        assembly {
            r := mload(add(signature, 32))
            s := mload(add(signature, 64))
            v := byte(0, mload(add(signature, 96)))
        }
        vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
    }

    function _open(
        uint256 payerSeed,
        uint256 payeeSeed,
        uint256 signerSeed,
        uint256 tokenSeed,
        uint256 closeDelay,
        uint256 amount
    ) internal {
        bool byEoa = payerSeed % 2 == 0;
        // The EOA payer sometimes signs its own vouchers; the contract payer always uses a session key.
        uint256 signerKey = byEoa && signerSeed % 3 == 0 ? PAYER_KEY : sessionKeys[signerSeed % 2];
        IPaymentChannels.ChannelConfig memory config = IPaymentChannels.ChannelConfig({
            payer: byEoa ? payerEoa : address(rejectingPayer),
            payee: payees[payeeSeed % 2],
            token: tokenSeed % 2 == 0 ? ETH : address(token),
            signer: vm.addr(signerKey),
            closeDelay: uint64(closeDelay),
            salt: bytes32(models.length)
        });
        bool allowed = amount <= MAX_DEPOSIT && closeDelay <= MAX_CLOSE_DELAY;

        uint256 funderBefore = _balanceOf(config.token, funder);
        uint256 contractBefore = _balanceOf(config.token, address(channels));
        vm.prank(funder);
        bool ok;
        try channels.open{value: config.token == ETH ? amount : 0}(config, amount) returns (bytes32 id) {
            ok = id == _channelId(config);
        } catch {}
        if (!_expected("open", ok, allowed)) return;
        if (funderBefore - _balanceOf(config.token, funder) != amount) ++ghostPayoutMismatches;
        if (_balanceOf(config.token, address(channels)) - contractBefore != amount) ++ghostPayoutMismatches;

        ChannelModel storage m = models.push();
        m.config = config;
        m.id = _channelId(config);
        m.signerKey = signerKey;
        m.deposit = amount;
        m.status = IPaymentChannels.ChannelStatus.Open;
        observed.push(Observed(amount, 0, 0, IPaymentChannels.ChannelStatus.Open));
    }

    /// @dev Compares an outcome with the rules; returns whether the operation went through as allowed.
    function _expected(string memory action, bool ok, bool allowed) internal returns (bool) {
        if (ok && !allowed) {
            ++ghostUnexpectedSuccesses;
            lastViolation = string.concat(action, " went through against the rules");
        }
        if (!ok && allowed) {
            ++ghostUnexpectedReverts;
            lastViolation = string.concat(action, " reverted though the rules allow it");
        }
        if (ok && allowed) ++successes[action];
        return ok && allowed;
    }

    function _observe() internal {
        for (uint256 k; k < models.length; ++k) {
            (uint104 deposit, uint104 claimed, uint40 closesAt, IPaymentChannels.ChannelStatus status) =
                channels.channels(models[k].id);
            Observed storage last = observed[k];
            if (deposit < last.deposit || claimed < last.claimed || uint8(status) < uint8(last.status)) {
                ++ghostSettledDecreases;
            }
            if (
                last.status == IPaymentChannels.ChannelStatus.Finished
                    && (deposit != last.deposit || claimed != last.claimed || closesAt != last.closesAt
                        || status != last.status)
            ) ++ghostFinishedChanges;
            observed[k] = Observed(deposit, claimed, closesAt, status);
        }
    }

    /// @dev Mostly small amounts; one time in eight, one at the edge of the stored width (may exceed it).
    function _amount(uint256 seed) internal pure returns (uint256) {
        if (seed % 8 == 0) return _bound(seed >> 3, MAX_DEPOSIT - 1e18, MAX_DEPOSIT + 1e18);
        return _bound(seed, 1, 1e24);
    }

    /// @dev Usually above what was claimed, sometimes anywhere up to a quarter above the deposit.
    function _voucherAmount(ChannelModel storage m, uint256 seed) internal view returns (uint256) {
        uint256 cap = m.deposit + m.deposit / 4 + 1;
        uint256 low = seed % 4 == 0 || m.claimed >= cap ? 1 : m.claimed + 1;
        return _bound(seed >> 2, low, cap);
    }

    /// @dev The signer signs `amount` for channel `i`; kept for later claims (a bounded, rolling set).
    function _addVoucher(uint256 i, uint256 amount) internal returns (bytes memory signature) {
        ChannelModel storage m = models[i];
        signature = _signVoucher(m.signerKey, address(channels), m.id, amount);
        SignedVoucher[] storage list = vouchers[i];
        if (list.length < VOUCHERS_KEPT) list.push(SignedVoucher(amount, signature));
        else list[amount % VOUCHERS_KEPT] = SignedVoucher(amount, signature);
        if (amount > m.maxSigned) m.maxSigned = amount;
    }

    /// @dev Half the time the highest voucher kept, else any kept one; signs a fresh one when none is kept.
    function _pickVoucher(uint256 i, uint256 seed) internal returns (SignedVoucher memory best) {
        SignedVoucher[] storage list = vouchers[i];
        if (list.length == 0 || seed % 5 == 0) {
            uint256 amount = _voucherAmount(models[i], seed >> 3);
            return SignedVoucher(amount, _addVoucher(i, amount));
        }
        if (seed % 2 == 1) return list[(seed >> 1) % list.length];
        for (uint256 k; k < list.length; ++k) {
            if (list[k].amount >= best.amount) best = list[k];
        }
    }

    /// @dev For a batch entry: three times in four a fresh voucher above what the batch has claimed so far
    /// on that channel (so whole batches go through), else any voucher.
    function _batchVoucher(uint256 i, uint256 claimedSoFar, uint256 seed) internal returns (SignedVoucher memory) {
        ChannelModel storage m = models[i];
        if (seed % 4 == 0 || claimedSoFar >= m.deposit) return _pickVoucher(i, seed >> 2);
        uint256 amount = _bound(seed >> 2, claimedSoFar + 1, m.deposit);
        return SignedVoucher(amount, _addVoucher(i, amount));
    }

    function _settleable(ChannelModel storage m) internal view returns (bool) {
        return m.status == IPaymentChannels.ChannelStatus.Open
            || (m.status == IPaymentChannels.ChannelStatus.Closing && block.timestamp < m.closesAt);
    }

    /// @dev What `account` holds of `tokenAddress`, counting what the contract credited to it.
    function _received(address tokenAddress, address account) internal view returns (uint256) {
        return _balanceOf(tokenAddress, account) + channels.credits(tokenAddress, account);
    }

    /// @dev Everything the attacker, payer and payee of `config` hold, so any gain from an attack shows.
    function _partiesHold(address tokenAddress, IPaymentChannels.ChannelConfig memory config)
        internal
        view
        returns (uint256)
    {
        return _received(tokenAddress, attacker) + _received(tokenAddress, config.payer)
            + _received(tokenAddress, config.payee);
    }
}

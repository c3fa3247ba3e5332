// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PaymentChannels} from "../../../contracts/PaymentChannels.sol";
import {IPaymentChannels} from "../../../contracts/interfaces/IPaymentChannels.sol";
import {SplitPayee} from "../../../contracts/donations/SplitPayee.sol";
import {TestToken} from "../../../contracts/mocks/TestToken.sol";
import {EthRejecter} from "../utils/EthRejecter.sol";
import {TrickleTestBase} from "../utils/TrickleTestBase.sol";
import {vm} from "../utils/Vm.sol";

/// @notice Drives random sequences over split channels: opens on three committed lists (one recipient can
/// switch its ETH receive off), claims and closes with vouchers of random amounts by random callers, credit
/// withdrawals. Records what every recipient received from each channel (balance plus credit), so the
/// invariant suite can compare it with the shares of what was claimed.
contract SplitHandler is TrickleTestBase {
    struct SplitModel {
        IPaymentChannels.ChannelConfig config;
        bytes32 id;
        uint256 list;
        uint256 deposit;
        uint256 claimed;
        uint256 maxSigned;
        bool finished;
    }

    uint256 internal constant PAYER_KEY = 0xA11CE;
    uint256 internal constant MAX_CHANNELS = 6;
    uint256 internal constant RECIPIENTS = 4;

    PaymentChannels public immutable channels;
    SplitPayee public immutable split;
    TestToken public immutable token;
    EthRejecter public immutable rejecter;
    address public immutable payer;
    address public immutable vault;

    address[] internal recipientPool;
    address[][3] internal lists;
    uint96[][3] internal weightLists;
    SplitModel[] internal models;
    /// What recipient `r` of a channel's list received from that channel, delivered or credited.
    mapping(uint256 channel => mapping(uint256 r => uint256)) public received;

    /// An operation the rules allow reverted.
    uint256 public ghostUnexpectedReverts;

    constructor(PaymentChannels channels_, SplitPayee split_, TestToken token_) {
        channels = channels_;
        split = split_;
        token = token_;
        rejecter = new EthRejecter();
        payer = vm.addr(PAYER_KEY);
        vault = vm.addr(0x7A017);
        recipientPool.push(vm.addr(0xB0B));
        recipientPool.push(address(rejecter));
        recipientPool.push(vm.addr(0xCA401));
        recipientPool.push(vm.addr(0xDA7E));
        // Three lists: equal weights (rounding dust every claim), skewed 96-bit weights, a zero weight.
        lists[0] = [recipientPool[0], recipientPool[1], recipientPool[2]];
        weightLists[0] = [uint96(1), 1, 1];
        lists[1] = [recipientPool[1], recipientPool[3]];
        weightLists[1] = [type(uint96).max, 7];
        lists[2] = [recipientPool[2], recipientPool[0], recipientPool[3], recipientPool[1]];
        weightLists[2] = [uint96(3), 0, 5, 11];
    }

    // ---------------------------------------------------------------- actions

    function open(uint256 listSeed, bool useToken, uint256 deposit) external {
        if (models.length >= MAX_CHANNELS) return;
        uint256 list = listSeed % 3;
        deposit = _bound(deposit, 1, 1e30);
        address tokenAddress = useToken ? address(token) : ETH;
        IPaymentChannels.ChannelConfig memory config = IPaymentChannels.ChannelConfig({
            payer: payer,
            payee: address(split),
            token: tokenAddress,
            signer: payer,
            closeDelay: 1 days,
            salt: split.splitSalt(lists[list], weightLists[list], bytes32(models.length))
        });
        if (useToken) {
            token.mint(address(this), deposit);
            token.approve(address(channels), deposit);
        } else {
            vm.deal(address(this), deposit);
        }
        channels.open{value: useToken ? 0 : deposit}(config, deposit);
        models.push(SplitModel(config, _channelId(config), list, deposit, 0, 0, false));
    }

    function claim(uint256 index, uint256 amount, address caller) external {
        if (models.length == 0) return;
        index %= models.length;
        SplitModel storage m = models[index];
        if (m.finished || m.claimed == m.deposit) return;
        amount = _bound(amount, m.claimed + 1, m.deposit);
        bytes memory signature = _sign(m, amount);
        uint256[] memory before = _holdings(m);
        vm.prank(caller);
        try split.claim(m.config, amount, signature, lists[m.list], weightLists[m.list], bytes32(index)) {
            m.claimed = amount;
            _record(index, m, before);
        } catch {
            ++ghostUnexpectedReverts;
        }
    }

    function close(uint256 index, uint256 amount, address caller) external {
        if (models.length == 0) return;
        index %= models.length;
        SplitModel storage m = models[index];
        if (m.finished) return;
        amount = _bound(amount, m.claimed, m.deposit);
        bytes memory signature = amount > m.claimed ? _sign(m, amount) : bytes("");
        uint256[] memory before = _holdings(m);
        vm.prank(caller);
        try split.close(m.config, amount, signature, lists[m.list], weightLists[m.list], bytes32(index)) {
            m.claimed = amount;
            m.finished = true;
            _record(index, m, before);
        } catch {
            ++ghostUnexpectedReverts;
        }
    }

    function toggleRejecter() external {
        rejecter.setAccepting(!rejecter.accepting());
    }

    /// A recipient takes its credit to the vault; that moves money out of SplitPayee, never into a share.
    function withdrawCredit(uint256 recipientSeed, bool useToken) external {
        address recipient = recipientPool[recipientSeed % RECIPIENTS];
        address tokenAddress = useToken ? address(token) : ETH;
        if (split.credits(tokenAddress, recipient) == 0) return;
        vm.prank(recipient);
        try split.withdrawCredit(tokenAddress, vault) {} catch {
            ++ghostUnexpectedReverts;
        }
    }

    // ---------------------------------------------------------------- views for the invariant suite

    function channelCount() external view returns (uint256) {
        return models.length;
    }

    function model(uint256 index) external view returns (SplitModel memory) {
        return models[index];
    }

    function listOf(uint256 list) external view returns (address[] memory, uint96[] memory) {
        return (lists[list], weightLists[list]);
    }

    function recipients() external view returns (address[] memory) {
        return recipientPool;
    }

    // ---------------------------------------------------------------- internals

    function _sign(SplitModel storage m, uint256 amount) internal returns (bytes memory) {
        if (amount > m.maxSigned) m.maxSigned = amount;
        return _signVoucher(PAYER_KEY, address(channels), m.id, amount);
    }

    function _holdings(SplitModel storage m) internal view returns (uint256[] memory held) {
        address[] storage list = lists[m.list];
        held = new uint256[](list.length);
        for (uint256 r; r < list.length; ++r) {
            held[r] = _balanceOf(m.config.token, list[r]) + split.credits(m.config.token, list[r]);
        }
    }

    function _record(uint256 index, SplitModel storage m, uint256[] memory before) internal {
        uint256[] memory afterCall = _holdings(m);
        for (uint256 r; r < before.length; ++r) {
            received[index][r] += afterCall[r] - before[r];
        }
    }

    receive() external payable {}
}

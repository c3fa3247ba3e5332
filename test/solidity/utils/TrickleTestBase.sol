// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IPaymentChannels} from "../../../contracts/interfaces/IPaymentChannels.sol";
import {vm} from "./Vm.sol";

/// @notice What Trickle's Solidity tests and invariant handlers share: input bounding, voucher signing as
/// the SDK does it (the EIP-712 digest is rebuilt here, not asked from the contract), and balance reads.
abstract contract TrickleTestBase {
    address internal constant ETH = address(0);
    uint256 internal constant MAX_DEPOSIT = type(uint104).max;
    uint64 internal constant MAX_CLOSE_DELAY = 365 days;
    uint256 internal constant SECP256K1_ORDER =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 channelId,uint256 amount)");

    /// @dev The chain the tests run on, read once at deployment. The via-IR optimizer takes `block.chainid`
    /// and `block.timestamp` as constant within a call and may read them again where a local copy is used,
    /// after a `vm.chainId` or `vm.warp` changed them: tests never keep them in locals across a cheatcode.
    uint256 internal immutable HOME_CHAIN_ID = block.chainid;

    /// @dev Maps any fuzzed `x` into `[min, max]`, keeping in-range values as they are so the fuzzer's
    /// edge values (0, 1, max) still land on the edges of the range.
    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        if (size == 0) return x; // the full uint256 range
        return min + (x % size);
    }

    /// @dev A private key that is valid for secp256k1, from any fuzzed value.
    function _key(uint256 seed) internal pure returns (uint256) {
        return _bound(seed, 1, SECP256K1_ORDER - 1);
    }

    function _channelId(IPaymentChannels.ChannelConfig memory config) internal pure returns (bytes32) {
        return keccak256(abi.encode(config));
    }

    /// @dev The voucher digest for `verifyingContract` on the current chain, built from the EIP-712 spec.
    function _voucherDigest(address verifyingContract, bytes32 id, uint256 amount) internal view returns (bytes32) {
        bytes32 domainSeparator = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Trickle"), keccak256("1"), block.chainid, verifyingContract)
        );
        bytes32 structHash = keccak256(abi.encode(VOUCHER_TYPEHASH, id, amount));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    /// @dev A 65-byte `r || s || v` voucher signature by `key` for `id` on `verifyingContract`.
    function _signVoucher(uint256 key, address verifyingContract, bytes32 id, uint256 amount)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _voucherDigest(verifyingContract, id, amount));
        return abi.encodePacked(r, s, v);
    }

    /// @dev The same signature with `s` mirrored to `n - s` and `v` flipped: valid for raw ecrecover,
    /// refused by a checker that enforces low-s.
    function _malleate(bytes memory signature) internal pure returns (bytes memory) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        // solhint-disable-next-line no-inline-assembly
        assembly {
            r := mload(add(signature, 32))
            s := mload(add(signature, 64))
            v := byte(0, mload(add(signature, 96)))
        }
        return abi.encodePacked(r, bytes32(SECP256K1_ORDER - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    function _balanceOf(address token, address account) internal view returns (uint256) {
        return token == ETH ? account.balance : IERC20(token).balanceOf(account);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract SmokeTest {
    function testFuzzAdd(uint8 a) public pure { require(uint16(a) + 1 > a, "x"); }
}

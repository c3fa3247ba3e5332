// The build helper of the demo and the tasks keeps our own diagnostics and drops dependencies' warnings.
import { expect } from "chai";
import { withoutDependencyWarnings } from "../../scripts/lib/build-contracts.ts";

const dependencyWarning = `Warning: Transient storage as defined by EIP-1153 can break the composability of smart contracts.
   --> ./node_modules/@openzeppelin/contracts/utils/TransientSlot.sol:108:13:
    |
108 |             tstore(slot, value)
    |             ^^^^^^`;
const ownWarning = `Warning: Unused local variable.
  --> contracts/PaymentChannels.sol:10:5:
   |
10 |     uint256 unused;
   |     ^^^^^^^^^^^^^^`;
const error = `Error: Expected ';' but got '}'
  --> node_modules/@openzeppelin/contracts/utils/Broken.sol:3:1:`;

describe("buildContracts output", () => {
  it("drops a warning located in node_modules", () => {
    expect(withoutDependencyWarnings(`\n${dependencyWarning}\n\n`).trim()).to.equal("");
  });

  it("keeps warnings about the project's own contracts and every error", () => {
    const output = [dependencyWarning, ownWarning, error, "Compiled 15 Solidity files"].join("\n\n");
    expect(withoutDependencyWarnings(output)).to.equal([ownWarning, error, "Compiled 15 Solidity files"].join("\n\n"));
  });
});

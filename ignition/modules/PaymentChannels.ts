// Deploys the Trickle singleton. Deploy it with the create2 strategy and the salt below to get the same
// address on every chain: the constructor takes no arguments, so the init code is chain-independent.
//
//   npx hardhat ignition deploy ignition/modules/PaymentChannels.ts --strategy create2
//
// (the salt comes from `ignition.strategyConfig.create2` in hardhat.config.ts), or from a script with
// `deployPaymentChannels(connection)` in scripts/lib/deploy.ts.
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * The CREATE2 salt of the Trickle deployment: keccak256("Trickle PaymentChannels v1").
 * CreateX reads the first 20 bytes as a deployer guard and byte 21 as a cross-chain guard. These 20
 * bytes are neither zero nor any deployer's address, so CreateX hashes the salt alone
 * (`keccak256(abi.encode(salt))`): anyone may deploy, on any chain, and always lands on the same address.
 * Anyone deploying first is harmless: the code has no owner and no constructor arguments.
 */
export const PAYMENT_CHANNELS_SALT = "0x5151c9f5b50f1ae4e5ff86043c1bdbb7f4c0e3d05a57f5bf8096edb811ad7694";

export default buildModule("PaymentChannels", (m) => {
  const paymentChannels = m.contract("PaymentChannels");
  return { paymentChannels };
});

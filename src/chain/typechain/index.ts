// `trickle/typechain`: the TypeChain (ethers v6) types of `PaymentChannels` and its factory, whose ABI and
// bytecode are those of the contract this package was built with.
export type { PaymentChannels, PaymentChannelsInterface, IPaymentChannels } from "./PaymentChannels.ts";
export type * from "./common.ts";
export { PaymentChannels__factory } from "./factories/PaymentChannels__factory.ts";

// Prices in currency units: exact, both ways, with a typed error for more precision than the token has.
import { defineToken, ETH_TOKEN, formatAmount, parseAmount, toUnits } from "trickle";

const USDC = defineToken({ symbol: "USDC", decimals: 6, address: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48" });

console.log(parseAmount("0.001 USDC", [USDC, ETH_TOKEN]).units); // 1000n
console.log(toUnits("4.99 USDC", USDC)); // 4990000n: a plan or catalog price
console.log(formatAmount(4_990_000n, USDC)); // "4.99 USDC"
try {
  parseAmount("0.0000001 USDC", USDC);
} catch (error) {
  console.log((error as { code: string }).code); // AMOUNT_TOO_PRECISE: never rounded
}

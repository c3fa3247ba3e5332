// Asserts that a promise rejects with a given Trickle error class (and message part), and returns the error.
import { expect } from "chai";

export async function expectRejection<T extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
  messagePart = "",
): Promise<T> {
  let outcome: unknown;
  try {
    await promise;
  } catch (error) {
    outcome = error;
  }
  expect(outcome, "the promise rejects").to.be.instanceOf(type);
  expect((outcome as Error).message).to.include(messagePart);
  return outcome as T;
}

/**
 * The secp256k1 operations vouchers need, behind one interface with two implementations:
 * - `native`: libsecp256k1 through the `secp256k1` package's shipped prebuilt binary (no install script);
 *   signs about 20x and recovers about 25x faster than `@noble/curves` on the benchmark machine.
 * - `noble`: `@noble/curves`, pure JavaScript, used where the binary cannot load (a browser, a platform
 *   without a prebuild, a blocked native addon).
 *
 * Both produce identical signatures (RFC 6979 deterministic nonces, low `s`) and recover identical keys;
 * test/voucher/backends.test.ts checks that on random keys and signatures.
 */
import { secp256k1 as noble } from "@noble/curves/secp256k1.js";

/** A 64-byte `r | s` signature with its recovery id (`v - 27` in Ethereum's encoding). */
export interface RecoverableSignature {
  signature: Uint8Array;
  recovery: 0 | 1;
}

export interface Secp256k1Backend {
  readonly name: "native" | "noble";
  /**
   * Signs a 32-byte digest with a low `s` and a recovery id of 0 or 1 (ids 2 and 3, which `ecrecover` cannot
   * use, are avoided by signing again with extra nonce entropy). Throws on an invalid private key.
   */
  sign(digest: Uint8Array, privateKey: Uint8Array): RecoverableSignature;
  /**
   * The 65-byte uncompressed public key that `signature` (r and s in [1, n-1]) and `recovery` recover for
   * `digest`, or `undefined` when none does (`r` is not the x of a curve point, or the key is at infinity):
   * exactly the cases where the `ecrecover` precompile returns the zero address.
   */
  recover(digest: Uint8Array, signature: Uint8Array, recovery: 0 | 1): Uint8Array | undefined;
  /** The 65-byte uncompressed public key of a valid private key. */
  publicKey(privateKey: Uint8Array): Uint8Array;
  /** Whether 32 bytes are a private key: an integer in [1, n-1]. */
  isPrivateKey(privateKey: Uint8Array): boolean;
}

/** The part of the `secp256k1` package's API used here (its `bindings` entry: native only, no JS fallback). */
interface NativeSecp256k1 {
  ecdsaSign(
    message: Uint8Array,
    privateKey: Uint8Array,
    options?: { data?: Uint8Array },
  ): {
    signature: Uint8Array;
    recid: number;
  };
  ecdsaRecover(signature: Uint8Array, recid: number, message: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyCreate(privateKey: Uint8Array, compressed: boolean): Uint8Array;
  privateKeyVerify(privateKey: Uint8Array): boolean;
}

/** Extra RFC 6979 entropy for the next attempt after a recovery id of 2 or 3 (probability about 2^-127). */
function retryEntropy(attempt: number): Uint8Array {
  const data = new Uint8Array(32);
  data[31] = attempt;
  return data;
}

export function nativeBackend(binding: NativeSecp256k1): Secp256k1Backend {
  return {
    name: "native",
    sign(digest, privateKey) {
      for (let attempt = 0; ; attempt++) {
        const { signature, recid } =
          attempt === 0
            ? binding.ecdsaSign(digest, privateKey)
            : binding.ecdsaSign(digest, privateKey, { data: retryEntropy(attempt) });
        if (recid === 0 || recid === 1) return { signature, recovery: recid };
      }
    },
    recover(digest, signature, recovery) {
      try {
        return binding.ecdsaRecover(signature, recovery, digest, false);
      } catch {
        return undefined; // libsecp256k1 found no key: the precompile returns address(0) for the same inputs
      }
    },
    publicKey: (privateKey) => binding.publicKeyCreate(privateKey, false),
    isPrivateKey: (privateKey) => privateKey.length === 32 && binding.privateKeyVerify(privateKey),
  };
}

export const nobleBackend: Secp256k1Backend = {
  name: "noble",
  sign(digest, privateKey) {
    for (let attempt = 0; ; attempt++) {
      const recovered = noble.sign(digest, privateKey, {
        prehash: false,
        lowS: true,
        format: "recovered",
        ...(attempt === 0 ? {} : { extraEntropy: retryEntropy(attempt) }),
      });
      // `recovered` format: recovery id first, then r | s.
      const recovery = recovered[0];
      if (recovery === 0 || recovery === 1) return { signature: recovered.slice(1), recovery };
    }
  },
  recover(digest, signature, recovery) {
    const recovered = new Uint8Array(65);
    recovered[0] = recovery;
    recovered.set(signature, 1);
    try {
      const compressed = noble.recoverPublicKey(recovered, digest, { prehash: false });
      return noble.Point.fromBytes(compressed).toBytes(false);
    } catch {
      return undefined;
    }
  },
  publicKey: (privateKey) => noble.getPublicKey(privateKey, false),
  isPrivateKey: (privateKey) => noble.utils.isValidSecretKey(privateKey),
};

/**
 * A known answer (RFC 6979, checked against `@noble/curves`) that a loaded binary must reproduce before it is
 * trusted with money: a broken or mismatched prebuild falls back to `noble` instead of signing garbage.
 */
const SELF_TEST_KEY = new Uint8Array(32).fill(0x11);
const SELF_TEST_DIGEST = new Uint8Array(32).fill(0x22);
const SELF_TEST_SIGNATURE =
  "cfd18ee918d6729134adbc61212142cf71fcf186dfc3123cfca8f7062e0fad5a" +
  "703cc467d9857349ddb6e148bd1663f5050f3f6b9d788d64349c357f14eb4a5f";

function passesSelfTest(backend: Secp256k1Backend): boolean {
  const { signature, recovery } = backend.sign(SELF_TEST_DIGEST, SELF_TEST_KEY);
  let hex = "";
  for (const byte of signature) hex += byte.toString(16).padStart(2, "0");
  return recovery === 0 && hex === SELF_TEST_SIGNATURE;
}

/** Loads `secp256k1/bindings` (the native entry, which throws instead of falling back to slow `elliptic`). */
function requireNativeBinding(): unknown {
  // `process.getBuiltinModule` reaches `createRequire` without a static `node:module` import, so bundlers
  // for browsers see no Node-only dependency; there `process` is absent and noble is used.
  const moduleApi = globalThis.process?.getBuiltinModule?.("node:module") as typeof import("node:module") | undefined;
  if (moduleApi === undefined) throw new Error("no Node.js module loader");
  return moduleApi.createRequire(import.meta.url)("secp256k1/bindings");
}

/** The native backend when its binding loads and passes the self-test, else `noble`. */
export function loadSecp256k1Backend(loadNative: () => unknown = requireNativeBinding): Secp256k1Backend {
  try {
    const backend = nativeBackend(loadNative() as NativeSecp256k1);
    return passesSelfTest(backend) ? backend : nobleBackend;
  } catch {
    return nobleBackend;
  }
}

/**
 * The backend the SDK uses, chosen once at import. `TRICKLE_SECP256K1=noble` forces the fallback
 * (to compare the two, or where native code is not wanted).
 */
export const defaultSecp256k1Backend: Secp256k1Backend =
  globalThis.process?.env?.TRICKLE_SECP256K1 === "noble" ? nobleBackend : loadSecp256k1Backend();

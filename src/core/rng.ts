import { check, InputError } from "./errors.js";
import { type Matrix, matrix } from "./matrix.js";

/** A seeded pseudo-random source (xoshiro128**); the same seed gives the same stream everywhere. */
export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
  /** Uniform in [lo, hi), 53 bits of resolution. */
  uniform(lo?: number, hi?: number): number;
  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number;
  /** Fills `out` with int(n) draws (n ≤ 2³¹), the same as out.length calls of int(n), faster; returns out. */
  ints(out: Int32Array, n: number): Int32Array;
  /** Gaussian with the given mean and standard deviation (Box–Muller). */
  normal(mean?: number, std?: number): number;
  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array;
  /** A rows×cols matrix of independent N(0, std²) entries. */
  normalMatrix(rows: number, cols: number, std?: number): Matrix;
}

/** The splitmix32 output function: a bijective 32-bit mix. */
function mix32(z: number): number {
  let t = z ^ (z >>> 16);
  t = Math.imul(t, 0x21f0aaad);
  t ^= t >>> 15;
  t = Math.imul(t, 0x735a2d97);
  return (t ^ (t >>> 15)) >>> 0;
}

/**
 * A uniform number in [0, 1) that depends only on (seed, index): row i's sampling key, the same whichever
 * chunk, worker or shard sees the row (keeping the k smallest keys is a seeded uniform sample).
 */
export function hashUniform(seed: number, index: number): number {
  const high = mix32(((seed >>> 0) ^ Math.floor(seed / 2 ** 32)) + 0x9e3779b9);
  const h1 = mix32((index >>> 0) ^ mix32(high ^ Math.floor(index / 2 ** 32)));
  const h2 = mix32(h1 ^ 0x85ebca6b);
  return (h1 * 2 ** 21 + (h2 >>> 11)) / 2 ** 53;
}

/**
 * The seeded uniform sample of k of n rows that keeping the k smallest hashUniform keys gives (the sample a
 * streamed `measure --pairwise-max k` keeps), in row order; all rows where k ≥ n.
 */
export function uniformSampleRows(n: number, k: number, seed: number): Int32Array {
  if (k >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const keys = Float64Array.from({ length: n }, (_, i) => hashUniform(seed, i));
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((i, j) => keys[i] - keys[j]);
  return order.slice(0, k).sort();
}

/** Creates a generator from an integer seed (state expanded with splitmix32). */
export function createRng(seed: number): Rng {
  check(Number.isSafeInteger(seed), "createRng", "an integer seed", () => String(seed));
  let z = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
  const splitmix32 = () => {
    z = (z + 0x9e3779b9) | 0;
    return mix32(z);
  };
  const state = Int32Array.of(splitmix32(), splitmix32(), splitmix32(), splitmix32());
  const uint32 = () => nextUint32(state);
  const unit = () => ((uint32() >>> 5) * 67108864 + (uint32() >>> 6)) / 9007199254740992;
  let spare: number | undefined;
  const standardNormal = () => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    const u = 1 - unit(); // (0, 1]: log never sees 0
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * unit();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
  const int = (n: number) => below(state, n, limitFor(n));
  const ints = (out: Int32Array, n: number) => {
    if (n > 2 ** 31)
      throw new InputError("Rng.ints", "an integer n in [1, 2^31] (draws held as int32)", String(n));
    const limit = limitFor(n);
    for (let i = 0; i < out.length; i++) out[i] = below(state, n, limit);
    return out;
  };
  return {
    uint32,
    uniform: (lo = 0, hi = 1) => lo + (hi - lo) * unit(),
    int,
    ints,
    normal: (mean = 0, std = 1) => mean + std * standardNormal(),
    permutation(n) {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = i;
      for (let i = n - 1; i > 0; i--) {
        const j = int(i + 1);
        const swapped = out[i];
        out[i] = out[j];
        out[j] = swapped;
      }
      return out;
    },
    normalMatrix(rows, cols, std = 1) {
      const out = matrix(rows, cols);
      for (let i = 0; i < out.data.length; i++) out.data[i] = std * standardNormal();
      return out;
    },
  };
}

/**
 * The largest multiple of n within 2^32, below which a uniform 32-bit draw modulo n is unbiased; tested
 * inline, not by check(): its message closure cost more than a draw (bootstrap draws millions).
 */
function limitFor(n: number): number {
  if (!(Number.isInteger(n) && n >= 1 && n <= 2 ** 32))
    throw new InputError("Rng.int", "an integer n in [1, 2^32]", String(n));
  return 2 ** 32 - (2 ** 32 % n);
}

/**
 * A uniform integer in [0, n) from state `s`: 32-bit draws at or above `limit` are rejected. x mod n as
 * x − ⌊x/n⌋·n, ≈ 10× faster than `%` on doubles: for x, n < 2³² the quotient's rounding cannot reach the
 * next integer (x/n is at least 1/n below it, more than its ulp), so the result is exact.
 */
function below(s: Int32Array, n: number, limit: number): number {
  for (;;) {
    const x = nextUint32(s);
    if (x < limit) return x - Math.floor(x / n) * n;
  }
}

/** The next output of xoshiro128** and its state step, on the state's four 32-bit words. */
function nextUint32(s: Int32Array): number {
  const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
  const t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return result;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

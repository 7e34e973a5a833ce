/**
 * The first-order sums of paired rows (pairStats' fused normalise-and-sum pass): per pair of rows, the
 * float64 squared norms and dot product, then Σ â, Σ b̂, Σ â·b̂, Σ ‖â‖², Σ ‖b̂‖² of the normalised rows.
 * Internal to stats.ts.
 *
 * As a plain JS loop, which V8 neither vectorises nor frees of bounds checks, the pass took ≈ 3.4 ns per
 * element pair, and bound `stats --no-moments`; it runs in the WebAssembly SIMD kernel `gapSums`
 * (assembly/kernels.ts) instead, ≈ 0.75 ns, fed blocks of rows copied into its memory: a block is still in
 * cache when the kernel reads it, the kernel's memory stays a few hundred KB whatever the chunk, and the
 * many calls let V8 tier the kernel up (it does so only between calls). The kernel rounds every term as
 * the JS loop does and sums the rows in the same order; only each row's squared norms and dot product
 * are summed in another order (four partial sums), so the two agree to rounding (≈ 1e-16 relative), not
 * bit for bit. Where the engine lacks WebAssembly SIMD the JS loop (`engine: "js"`, the reference) runs.
 */
import {
  ensureMemory,
  instantiateKernelsSync,
  type Kernels,
  RESERVED_BYTES,
  type WasmMemory,
} from "../core/gemm/wasm.js";
import type { Matrix } from "../core/matrix.js";

/** Σ â_i, Σ b̂_i (length d), Σ â_i·b̂_i, Σ ‖â_i‖², Σ ‖b̂_i‖² over the rows, float64. */
export interface FirstOrderSums {
  sumA: Float64Array;
  sumB: Float64Array;
  paired: number;
  squaresA: number;
  squaresB: number;
}

/** Bytes of rows (A's and B's together) copied into the kernel's memory per call. */
const BLOCK_BYTES = 256 * 1024;

// One instance per thread (each worker thread loads its own copy of this module), made on first use and
// kept: the kernel is pure and every call is synchronous, so calls never interleave on its memory, and
// instantiating for each chunk would cost more than small chunks take. null: no WebAssembly SIMD here.
let instance: { kernels: Kernels; memory: WasmMemory } | null | undefined;

/**
 * The first-order sums of equally shaped a and b (at least one column), or the index of the first row
 * whose squared norm in a or b is 0 or not finite. `engine: "js"` runs the reference loop.
 */
export function firstOrderSums(
  a: Matrix,
  b: Matrix,
  engine: "wasm" | "js" = "wasm",
): FirstOrderSums | number {
  if (engine === "wasm") {
    instance ??= instantiateKernelsSync() ?? null;
    if (instance) return kernelSums(a, b, instance.kernels, instance.memory);
  }
  return loopSums(a, b);
}

function kernelSums(a: Matrix, b: Matrix, kernels: Kernels, memory: WasmMemory): FirstOrderSums | number {
  const { rows, cols: d } = a;
  const block = Math.max(1, Math.floor(BLOCK_BYTES / (8 * d)));
  // scalars, Σ â, Σ b̂, then a block of A's rows and one of B's (64-byte aligned)
  const align = (bytes: number) => Math.ceil(bytes / 64) * 64;
  const scalars = RESERVED_BYTES;
  const sumA = scalars + 64;
  const sumB = sumA + align(8 * d);
  const blockA = sumB + align(8 * d);
  const blockB = blockA + align(4 * d * block);
  ensureMemory(memory, blockB + 4 * d * block, "pairStats");
  const heap = new Float32Array(memory.buffer);
  new Float64Array(memory.buffer, scalars, 8 + 2 * (align(8 * d) / 8)).fill(0);
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(rows, r0 + block);
    heap.set(a.data.subarray(r0 * d, r1 * d), blockA / 4);
    heap.set(b.data.subarray(r0 * d, r1 * d), blockB / 4);
    const bad = kernels.gapSums(blockA, blockB, r1 - r0, d, sumA, sumB, scalars);
    if (bad >= 0) return r0 + bad;
  }
  const [paired, squaresA, squaresB] = new Float64Array(memory.buffer, scalars, 3);
  return {
    sumA: new Float64Array(memory.buffer.slice(sumA, sumA + 8 * d)),
    sumB: new Float64Array(memory.buffer.slice(sumB, sumB + 8 * d)),
    paired,
    squaresA,
    squaresB,
  };
}

/** The reference: plain loops, each row's sums in element order. */
function loopSums(a: Matrix, b: Matrix): FirstOrderSums | number {
  const { rows, cols: d } = a;
  const [da, db] = [a.data, b.data];
  const sumA = new Float64Array(d);
  const sumB = new Float64Array(d);
  let paired = 0;
  let squaresA = 0;
  let squaresB = 0;
  for (let i = 0; i < rows; i++) {
    const base = i * d;
    let na = 0;
    let nb = 0;
    let ab = 0;
    for (let j = 0; j < d; j++) {
      const x = da[base + j];
      const y = db[base + j];
      na += x * x;
      nb += y * y;
      ab += x * y;
    }
    // a NaN or ±Inf entry makes the squared norm NaN or Inf
    if (!(na > 0 && na < Number.POSITIVE_INFINITY && nb > 0 && nb < Number.POSITIVE_INFINITY)) return i;
    const ia = 1 / Math.sqrt(na);
    const ib = 1 / Math.sqrt(nb);
    paired += ab * ia * ib;
    squaresA += na * ia * ia;
    squaresB += nb * ib * ib;
    for (let j = 0; j < d; j++) {
      sumA[j] += da[base + j] * ia;
      sumB[j] += db[base + j] * ib;
    }
  }
  return { sumA, sumB, paired, squaresA, squaresB };
}

/**
 * The first-order sums of paired rows (pairStats' fused normalise-and-sum pass): per pair of rows, the
 * float64 squared norms and dot product, then Σ â, Σ b̂, Σ â·b̂, Σ ‖â‖², Σ ‖b̂‖² of the normalised rows.
 * Internal: stats.ts sums with it, the stream reads its chunks into kernelArena's buffers.
 *
 * As a plain JS loop, which V8 neither vectorises nor frees of bounds checks, the pass took ≈ 3.4 ns per
 * element pair, and bound `stats --no-moments`; it runs in the WebAssembly SIMD kernel `gapSums`
 * (assembly/kernels.ts) instead, ≈ 0.75 ns, fed blocks of rows copied into its memory (a block is still in
 * cache when the kernel reads it, and the kernel's memory stays a few hundred KB whatever the chunk), or
 * rows read into its memory in the first place (kernelArena). The kernel rounds every term as
 * the JS loop does and sums the rows in the same order; only each row's squared norms and dot product
 * are summed in another order (four partial sums), so the two agree to rounding (≈ 1e-16 relative), not
 * bit for bit. Where the engine lacks WebAssembly SIMD the JS loop (`engine: "js"`, the reference) runs.
 */
import {
  callingThreadKernels,
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

type Instance = { kernels: Kernels; memory: WasmMemory };

/** A kernel instance on shared memory, the next free byte in it (see kernelArena) and its sums' place. */
interface Arena extends Instance {
  top: number;
  scratch?: { at: number; bytes: number };
}

// The buffers (one per size the memory has had) of every arena's memory: rows in them are the kernel's own
const arenaOf = new WeakMap<ArrayBufferLike, Arena>();

/**
 * An allocator of byte buffers inside a kernel instance's memory: rows read into them are summed where
 * they lie, with no copy into the kernel's memory (the stream reads its chunks into them: the copy was a
 * fifth of `stats`). The memory is shared, so growing it never detaches a buffer handed out. Undefined
 * where memory cannot be shared or the engine lacks WebAssembly SIMD; buffers are never freed, so reuse them.
 */
export function kernelArena(): ((bytes: number) => Uint8Array) | undefined {
  const shared = instantiateKernelsSync({ shared: true });
  if (!shared) return undefined;
  const arena: Arena = { ...shared, top: RESERVED_BYTES };
  return (bytes) => {
    const at = reserve(arena, bytes); // first: it may grow the memory, and with it the buffer to view
    return new Uint8Array(arena.memory.buffer, at, bytes);
  };
}

/** Reserves `bytes` (64-byte aligned) in the arena's memory, grown to fit; returns their offset. */
function reserve(arena: Arena, bytes: number): number {
  const at = Math.ceil(arena.top / 64) * 64;
  arena.top = at + bytes;
  ensureMemory(arena.memory, arena.top, "kernelArena");
  arenaOf.set(arena.memory.buffer, arena);
  return at;
}

/**
 * The first-order sums of equally shaped a and b (at least one column), or the index of the first row
 * whose squared norm in a or b is 0 or not finite. `engine: "js"` runs the reference loop.
 */
export function firstOrderSums(
  a: Matrix,
  b: Matrix,
  engine: "wasm" | "js" = "wasm",
): FirstOrderSums | number {
  if (engine === "js") return loopSums(a, b);
  const arena = arenaOf.get(a.data.buffer);
  if (arena && arenaOf.get(b.data.buffer) === arena) return kernelSums(a, b, arena, arena);
  const instance = callingThreadKernels(); // each worker thread has its own
  return instance ? kernelSums(a, b, instance) : loopSums(a, b);
}

/**
 * The kernel over blocks of rows: rows already in an `arena`'s memory where they lie; else each block is
 * first copied in (the copy still in cache when the kernel reads it). Either way the many calls let V8
 * tier the kernel up, which it does only between calls.
 */
function kernelSums(
  a: Matrix,
  b: Matrix,
  { kernels, memory }: Instance,
  arena?: Arena,
): FirstOrderSums | number {
  const { rows, cols: d } = a;
  const block = Math.max(1, Math.floor(BLOCK_BYTES / (8 * d)));
  // scalars, Σ â, Σ b̂, then (copying) a block of A's rows and one of B's, 64-byte aligned
  const align = (bytes: number) => Math.ceil(bytes / 64) * 64;
  const sumsBytes = 64 + 2 * align(8 * d);
  const copyBytes = arena ? 0 : align(4 * d * block) + 4 * d * block;
  if (arena && (arena.scratch?.bytes ?? 0) < sumsBytes)
    arena.scratch = { at: reserve(arena, sumsBytes), bytes: sumsBytes };
  const scalars = arena?.scratch?.at ?? RESERVED_BYTES;
  const sumA = scalars + 64;
  const sumB = sumA + align(8 * d);
  const blockA = sumB + align(8 * d);
  const blockB = blockA + align(4 * d * block);
  ensureMemory(memory, scalars + sumsBytes + copyBytes, "pairStats");
  new Float64Array(memory.buffer, scalars, sumsBytes / 8).fill(0);
  const heap = new Float32Array(memory.buffer);
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(rows, r0 + block);
    let [atA, atB] = [a.data.byteOffset + 4 * r0 * d, b.data.byteOffset + 4 * r0 * d];
    if (!arena) {
      heap.set(a.data.subarray(r0 * d, r1 * d), blockA / 4);
      heap.set(b.data.subarray(r0 * d, r1 * d), blockB / 4);
      [atA, atB] = [blockA, blockB];
    }
    const bad = kernels.gapSums(atA, atB, r1 - r0, d, sumA, sumB, scalars);
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

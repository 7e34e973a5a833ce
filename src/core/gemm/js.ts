import { type Matrix, matrix, transpose, transposedRowsF64 } from "../matrix.js";
import { createWorkerPool, type SpawnWorker } from "../workers.js";
import type { GemmBackend } from "./index.js";
import { gemmRowsKernel } from "./kernel.js";

/** One slice of a product for a worker: rows [rowStart, rowEnd) of C = A·Btᵀ over shared buffers. */
interface KernelJob {
  a: SharedArrayBuffer;
  bt: SharedArrayBuffer;
  c: SharedArrayBuffer;
  n: number;
  k: number;
  rowStart: number;
  rowEnd: number;
}

// The kernel travels to the workers as source text (see kernel.ts).
const KERNEL_HANDLER = `(() => {
  const kernel = (${gemmRowsKernel.toString()});
  return (j) => kernel(new Float32Array(j.a), new Float32Array(j.bt), new Float32Array(j.c), j.n, j.k, j.rowStart, j.rowEnd);
})()`;

/** Threads for a backend: how many, and how to start one (Node's worker_threads or Web Workers). */
export interface ThreadOptions {
  /** Worker threads to split large products over (default 1: the calling thread only). */
  threads?: number;
  spawn?: SpawnWorker;
}

// Rows per step of the float64 Gram: a 1 MB transposed float64 block per 512 columns stays in cache.
const GRAM_BLOCK_ELEMENTS = 2 ** 17;

// Below this many multiply-adds, copying to shared memory and waking workers costs more than it saves.
const PARALLEL_MIN_MACS = 4_000_000;

function shared(source: Float32Array): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(source.byteLength);
  new Float32Array(buffer).set(source);
  return buffer;
}

/** The plain-TypeScript backend: register-tiled float64-accumulating kernel, split over worker threads. */
export function createJsBackend({ threads = 1, spawn }: ThreadOptions = {}): GemmBackend {
  const pool = spawn && threads > 1 ? createWorkerPool(threads, KERNEL_HANDLER, spawn) : undefined;
  return {
    name: "js",
    async gemm(a: Matrix, b: Matrix, transB: boolean): Promise<Matrix> {
      const bt = transB ? b : transpose(b);
      const [m, n, k] = [a.rows, bt.rows, a.cols];
      if (!pool || m < 8 || m * n * k < PARALLEL_MIN_MACS) {
        const out = matrix(m, n);
        gemmRowsKernel(a.data, bt.data, out.data, n, k, 0, m);
        return out;
      }
      const job = { a: shared(a.data), bt: shared(bt.data), c: new SharedArrayBuffer(m * n * 4), n, k };
      // rows split on multiples of 4 so every worker uses the 4×4 register tile
      const step = Math.ceil(m / pool.size / 4) * 4;
      const jobs: KernelJob[] = [];
      for (let start = 0; start < m; start += step)
        jobs.push({ ...job, rowStart: start, rowEnd: Math.min(m, start + step) });
      await pool.run(jobs);
      return matrix(m, n, new Float32Array(job.c));
    },
    async gramF64(x: Matrix, y: Matrix = x): Promise<Float64Array> {
      const out = new Float64Array(x.cols * y.cols);
      const part = new Float64Array(x.cols * y.cols);
      // XᵀY = Σ over row blocks of (block X)ᵀ·(block Y): only the blocks' transposes are held at a time
      const step = Math.max(1, Math.floor(GRAM_BLOCK_ELEMENTS / Math.max(x.cols, y.cols, 1)));
      for (let start = 0; start < x.rows; start += step) {
        const end = Math.min(x.rows, start + step);
        const blockX = transposedRowsF64(x, start, end);
        const blockY = y === x ? blockX : transposedRowsF64(y, start, end);
        gemmRowsKernel(blockX, blockY, part, y.cols, end - start, 0, x.cols);
        for (let k = 0; k < out.length; k++) out[k] += part[k];
      }
      return out;
    },
    dispose: async () => pool?.dispose(),
  };
}

import { InputError } from "../errors.js";
import { checkNorms, type Matrix, matrix, topK } from "../matrix.js";
import { createWorkerPool, spawnWebWorker } from "../workers.js";
import { type GemmBackend, getBackend, registerBackend, splitGram, useBackend } from "./index.js";
import type { ThreadOptions } from "./js.js";
import { WASM_KERNELS } from "./wasm-binary.js";

// The slice of the WebAssembly JS API used here (the project compiles without the DOM library).
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: unknown }>;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmApi };

/** The kernels' exports (assembly/kernels.ts); pointers are byte offsets into the shared memory. */
export interface Kernels {
  scratchBytes(): number;
  packedBytes(k: number, n: number): number;
  packB(...args: number[]): void;
  normalize(...args: number[]): void;
  gemm(...args: number[]): void;
  gram(...args: number[]): void;
  topk(...args: number[]): void;
  /** Eigenvalues of a packed symmetric matrix into d (e: scratch); 0, or 1 where QL did not converge. */
  symmetricEigenvalues(a: number, n: number, d: number, e: number): number;
  /** Eigenvalues into d and eigenvectors into the rows of vt (work: 6n doubles); 0, or 1 where QL did not converge. */
  symmetricEigenSystem(a: number, n: number, d: number, vt: number, work: number): number;
  adamw(p: number, g: number, m: number, v: number, n: number, ...hyper: number[]): void;
  /** Adds rows to the first-order sums of their normalised rows; −1, or the first zero/NaN/Inf row. */
  gapSums(a: number, b: number, rows: number, d: number, sumA: number, sumB: number, scalars: number): number;
}

type KernelName = "packB" | "gemm" | "gram" | "topk" | "normalize";

// Each worker instantiates the module over the same memory. A call then takes chunks of rows from a
// shared counter until none are left (so a slower core does less), runs the kernel on each and copies
// that chunk's rows of the outputs out — in parallel, from the cache that just wrote them.
const KERNEL_HANDLER = `(() => {
  let kernels;
  let memory;
  return (message) => {
    if (message.module) {
      memory = message.memory;
      kernels = new WebAssembly.Instance(message.module, { env: { memory } }).exports;
      return 0;
    }
    const { kernel, args, rows, chunk, scratch, outputs } = message;
    const next = new Int32Array(message.next);
    for (let r0 = Atomics.add(next, 0, chunk); r0 < rows; r0 = Atomics.add(next, 0, chunk)) {
      const r1 = Math.min(rows, r0 + chunk);
      kernels[kernel](...args, r0, r1, scratch);
      for (const { at, rowBytes, to } of outputs)
        new Uint8Array(to, r0 * rowBytes, (r1 - r0) * rowBytes).set(new Uint8Array(memory.buffer, at + r0 * rowBytes, (r1 - r0) * rowBytes));
    }
    return 0;
  };
})()`;

/** A result in wasm memory: `rowBytes` per row from byte offset `at`. */
interface Output {
  at: number;
  rowBytes: number;
}

/** Bytes below this stay untouched (the module's own static area, which is empty today). */
export const RESERVED_BYTES = 65536;
const PAGE_BYTES = 65536;
const MAX_PAGES = 65536; // the 4 GiB a 32-bit WebAssembly memory can address
// Below this many multiply-adds a product runs on the calling thread: waking workers costs more.
const PARALLEL_MIN_MACS = 4_000_000;

function decode(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/** The fastest kernel variant this engine validates (relaxed SIMD, else SIMD128); undefined without SIMD. */
function kernelVariant(shared: boolean) {
  const variants = [
    { base64: shared ? WASM_KERNELS.relaxedShared : WASM_KERNELS.relaxed, instructions: "relaxed-simd" },
    { base64: shared ? WASM_KERNELS.simdShared : WASM_KERNELS.simd, instructions: "simd128" },
  ] as const;
  for (const { base64, instructions } of variants) {
    const bytes = decode(base64);
    if (WebAssembly.validate(bytes)) return { bytes, instructions };
  }
  return undefined;
}

/**
 * The SIMD128 kernels (never relaxed SIMD: the same bits in every engine), instantiated synchronously on
 * a memory of their own, for work on the calling thread — `shared`, a memory whose buffer never detaches
 * when it grows (where memory can be shared); undefined without SIMD.
 */
export function instantiateKernelsSync(
  options: { shared?: boolean } = {},
): { kernels: Kernels; memory: WasmMemory } | undefined {
  const shared = options.shared ?? false;
  if (shared && !canShareMemory()) return undefined;
  if (shared) simdSharedModule ??= compileSimdKernels(WASM_KERNELS.simdShared);
  else simdModule ??= compileSimdKernels(WASM_KERNELS.simd);
  const module = shared ? simdSharedModule : simdModule;
  if (!module) return undefined;
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared });
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  return { kernels: exports as Kernels, memory };
}

/**
 * This thread's SIMD128 kernels on an unshared memory, made on first use and kept, for synchronous work
 * that leaves nothing in the memory between calls (the eigenvalues, the first-order sums): such calls never
 * interleave, so they share one instance and one memory. Undefined without SIMD.
 */
export function callingThreadKernels(): { kernels: Kernels; memory: WasmMemory } | undefined {
  callingThread ??= instantiateKernelsSync() ?? null;
  return callingThread ?? undefined;
}

let callingThread: { kernels: Kernels; memory: WasmMemory } | null | undefined;

/** callingThreadKernels for work that has no other way to run: an InputError naming `where` without SIMD. */
export function requiredKernels(where: string): { kernels: Kernels; memory: WasmMemory } {
  const instance = callingThreadKernels();
  if (!instance) throw new InputError(where, "an engine with WebAssembly SIMD", "none");
  return instance;
}

// The compiled SIMD128 modules, kept: compiling takes ≈ 5 ms, instantiating on a new memory almost nothing.
let simdModule: object | null | undefined;
let simdSharedModule: object | null | undefined;

function compileSimdKernels(base64: string): object | null {
  const bytes = decode(base64);
  return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
}

/** Grows `memory` to hold at least `bytes`; an InputError beyond what WebAssembly can address. */
export function ensureMemory(memory: WasmMemory, bytes: number, where: string): void {
  const pages = Math.ceil(bytes / PAGE_BYTES);
  if (pages > MAX_PAGES)
    throw new InputError(where, "operands within 4 GiB of WebAssembly memory", `${bytes} bytes`);
  const have = memory.buffer.byteLength / PAGE_BYTES;
  if (pages > have) memory.grow(pages - have);
}

/**
 * `count` float32 arrays of `length` each, end to end in `memory` above RESERVED_BYTES, 16-byte aligned
 * (grown to fit): parameters, gradients and moments for the adamw kernel, which stay valid views as long
 * as the memory does not grow again.
 */
export function float32Arrays(
  memory: WasmMemory,
  length: number,
  count: number,
  where: string,
): Float32Array[] {
  const stride = Math.ceil(length / 4) * 16;
  ensureMemory(memory, RESERVED_BYTES + count * stride, where);
  return Array.from(
    { length: count },
    (_, k) => new Float32Array(memory.buffer, RESERVED_BYTES + k * stride, length),
  );
}

/** Whether this engine runs the WebAssembly kernels (they need 128-bit SIMD). */
export function wasmSupported(): boolean {
  return kernelVariant(false) !== undefined;
}

// Threads need memory shared between workers: in browsers only on cross-origin-isolated pages.
function canShareMemory(): boolean {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return typeof SharedArrayBuffer !== "undefined" && isolated !== false;
}

/** The wasm backend, with the instruction set it runs, its threads and a fused top-k. */
export interface WasmBackend extends GemmBackend {
  /** "relaxed-simd" (fused multiply-add) or "simd128". */
  readonly instructions: "relaxed-simd" | "simd128";
  /** Worker threads products are split over (1: the calling thread, e.g. on a page without isolation). */
  readonly threads: number;
}

/**
 * The WebAssembly SIMD backend: packed, register-tiled float32 products (float64 for the Gram), split
 * over `threads` workers sharing one memory when `spawn` is given and memory can be shared, else run
 * on the calling thread. Throws an InputError where the engine lacks WebAssembly SIMD.
 */
export async function createWasmBackend({ threads = 1, spawn }: ThreadOptions = {}): Promise<WasmBackend> {
  const shared = spawn !== undefined && threads > 1 && canShareMemory();
  const variant = kernelVariant(shared);
  if (!variant) throw new InputError("wasm backend", "an engine with WebAssembly SIMD", "none");
  const module = await WebAssembly.compile(variant.bytes);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared });
  const main = (await WebAssembly.instantiate(module, { env: { memory } })).exports as unknown as Kernels;
  const pool = shared && spawn ? createWorkerPool(threads, KERNEL_HANDLER, spawn) : undefined;
  let started: Promise<unknown> | undefined;
  const start = () => {
    started ??= pool?.broadcast({ module, memory });
    return started;
  };
  const parts = pool?.size ?? 1;
  const scratch = main.scratchBytes();

  // One call at a time owns the memory above the scratch areas.
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  };

  /** Offsets of blocks of the given byte sizes above the scratch areas (64-byte aligned); grows memory. */
  const reserve = (sizes: number[]): number[] => {
    let end = RESERVED_BYTES + parts * scratch;
    const offsets = sizes.map((size) => {
      const offset = end;
      end += Math.ceil(size / 64) * 64;
      return offset;
    });
    ensureMemory(memory, end, "wasm backend");
    return offsets;
  };
  const put = (offset: number, data: Float32Array) =>
    new Float32Array(memory.buffer, offset, data.length).set(data);

  /**
   * Runs `kernel(...args, r0, r1, scratch)` over rows [0, rows) — on the workers in chunks of `chunk` rows
   * when `macs` is large — and returns a copy of each output's rows.
   */
  const run = async (
    kernel: KernelName,
    args: number[],
    { rows, chunk, macs }: { rows: number; chunk: number; macs: number },
    outputs: Output[] = [],
  ): Promise<ArrayBufferLike[]> => {
    if (!pool || rows <= chunk || macs < PARALLEL_MIN_MACS) {
      main[kernel](...args, 0, rows, RESERVED_BYTES);
      return outputs.map(({ at, rowBytes }) => memory.buffer.slice(at, at + rows * rowBytes));
    }
    await start();
    const copies = outputs.map((output, o) => ({ ...output, to: outputArena(o, rows * output.rowBytes) }));
    const next = new SharedArrayBuffer(4);
    await pool.run(
      Array.from({ length: parts }, (_, t) => {
        const scratchAt = RESERVED_BYTES + t * scratch;
        return { kernel, args, rows, chunk, next, scratch: scratchAt, outputs: copies };
      }),
    );
    // out of the arena into memory of the caller's own
    return copies.map(({ to, rowBytes }) => new Uint8Array(new Uint8Array(to, 0, rows * rowBytes)).buffer);
  };
  // Workers copy results into one shared buffer per output, kept from call to call (grown when short). A
  // fresh SharedArrayBuffer per call stays resident until every worker has collected the message that
  // carried it, and workers allocate too little to collect often: measure --backend wasm on 30,000 pairs
  // held 3.9 GB of them.
  const arenas: SharedArrayBuffer[] = [];
  const outputArena = (o: number, bytes: number) => {
    if (!(arenas[o] && arenas[o].byteLength >= bytes)) arenas[o] = new SharedArrayBuffer(bytes);
    return arenas[o];
  };
  // rows per chunk: about 8 per worker, in multiples of the 4-row register tile
  const chunkOf = (rows: number, perWorker = 8) => Math.max(4, Math.ceil(rows / parts / perWorker / 4) * 4);

  /** Packs B (k×n, or n×k when transB) for gemm and topk, its panels split over the workers. */
  const packB = async (b: Matrix, transB: boolean, macs: number, from: number, to: number) => {
    const [k, n] = transB ? [b.cols, b.rows] : [b.rows, b.cols];
    const panels = Math.ceil(n / 8);
    await run("packB", [from, k, n, transB ? 1 : 0, to], { rows: panels, chunk: chunkOf(panels, 2), macs });
  };

  // XᵀY of the float32 `data` parts in float64 (splitGram adds a SplitMatrix's remainders)
  const gram32 = (x: Matrix, y: Matrix): Promise<Float64Array> =>
    exclusive(async () => {
      const [rows, kx, ky] = [x.rows, x.cols, y.cols];
      if (rows === 0) return new Float64Array(kx * ky);
      const [px, py, pc] = reserve([4 * x.data.length, y === x ? 0 : 4 * y.data.length, 8 * kx * ky]);
      put(px, x.data);
      if (y !== x) put(py, y.data);
      const from = y === x ? px : py;
      // one chunk per worker: each packs all of Y again, so fewer chunks pack less
      const [c] = await run(
        "gram",
        [px, from, pc, rows, kx, ky],
        { rows: kx, chunk: chunkOf(kx, 1), macs: rows * kx * ky },
        [{ at: pc, rowBytes: 8 * ky }],
      );
      return new Float64Array(c);
    });

  return {
    name: "wasm",
    instructions: variant.instructions,
    threads: parts,
    gemm: (a, b, transB) =>
      exclusive(async () => {
        const [m, k, n] = [a.rows, a.cols, transB ? b.rows : b.cols];
        if (k === 0) return matrix(m, n);
        const macs = m * n * k;
        const [pa, pb, packed, pc] = reserve([
          4 * a.data.length,
          4 * b.data.length,
          main.packedBytes(k, n),
          4 * m * n,
        ]);
        put(pa, a.data);
        put(pb, b.data);
        await packB(b, transB, macs, pb, packed);
        const [c] = await run("gemm", [pa, packed, pc, k, n], { rows: m, chunk: chunkOf(m), macs }, [
          { at: pc, rowBytes: 4 * n },
        ]);
        return matrix(m, n, new Float32Array(c));
      }),
    gramF64: (x, y = x) => splitGram(gram32, x, y),
    topK: (queries, gallery, k, cosine) =>
      exclusive(async () => {
        const [m, n, d] = [queries.rows, gallery.rows, queries.cols];
        const macs = m * n * d;
        const [pq, pg, packed, pv, pi, norms] = reserve([
          4 * queries.data.length,
          4 * gallery.data.length,
          main.packedBytes(d, n),
          4 * m * k,
          4 * m * k,
          8 * Math.max(m, n),
        ]);
        put(pq, queries.data);
        put(pg, gallery.data);
        if (cosine)
          for (const [at, rows, where] of [
            [pq, m, "scoreTopK queries"],
            [pg, n, "scoreTopK gallery"],
          ] as const) {
            await run("normalize", [at, norms, d], { rows, chunk: chunkOf(rows), macs: rows * d });
            checkNorms(new Float64Array(memory.buffer, norms, rows), where);
          }
        if (d === 0) return topK(matrix(m, n), k);
        await packB(gallery, true, macs, pg, packed);
        const outputs = [pv, pi].map((at) => ({ at, rowBytes: 4 * k }));
        const args = [pq, packed, pv, pi, d, n, k];
        const [values, indices] = await run("topk", args, { rows: m, chunk: chunkOf(m), macs }, outputs);
        return { k, values: new Float32Array(values), indices: new Int32Array(indices) };
      }),
    prepare: () => {
      start()?.catch(() => undefined);
    },
    dispose: async () => pool?.dispose(),
  };
}

/**
 * Browser set-up (auto there is wasm, else js): registers the wasm backend on `threads` Web Workers —
 * on the calling thread where the page is not cross-origin isolated — and selects it when the engine has
 * WebAssembly SIMD. Returns the selected backend's name.
 */
export async function initBrowserBackends(threads = hardwareConcurrency()): Promise<string> {
  if (wasmSupported()) {
    registerBackend(await createWasmBackend({ threads, spawn: spawnWebWorker }));
    useBackend("wasm");
  }
  return getBackend().name;
}

function hardwareConcurrency(): number {
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

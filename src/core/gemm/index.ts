import { mulAB, mulABt } from "../dense64.js";
import { check, InputError } from "../errors.js";
import { type Matrix, matrix, type SplitMatrix, type TopK, transpose } from "../matrix.js";
import { createJsBackend } from "./js.js";
import { gemmRowsKernel } from "./kernel.js";

/** A float32 tensor: row-major values and their dims. */
export interface Tensor32 {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** A matrix-multiply implementation; every backend returns the same numbers up to float32 rounding. */
export interface GemmBackend {
  readonly name: string;
  /** C = A·Bᵀ when `transB`, else A·B. */
  gemm(a: Matrix, b: Matrix, transB: boolean): Promise<Matrix>;
  /**
   * XᵀY (X.cols×Y.cols, row-major; Y = X when omitted) accumulated and returned in float64; rows of a
   * SplitMatrix count as data + lo.
   */
  gramF64(x: Matrix, y?: Matrix): Promise<Float64Array>;
  /**
   * x·y (x m×k, y k×n; with `transB` y n×k, and x·yᵀ) in float64, row-major: only a backend with a fast
   * float64 product has it (onnxruntime's); mulF64 falls back to dense64 on this thread.
   */
  productF64?(
    x: Float64Array,
    y: Float64Array,
    m: number,
    k: number,
    n: number,
    transB: boolean,
  ): Promise<Float64Array>;
  /**
   * The k highest scores per row of Q·Gᵀ (descending, ties to the lower index) without holding all scores;
   * with `cosine`, of the L2-normalised rows (rejecting rows without a norm as normalizeRows does).
   */
  topK?(queries: Matrix, gallery: Matrix, k: number, cosine: boolean): Promise<TopK>;
  /**
   * Runs the ONNX graph `build` makes (once per `key`: the session is cached) on float32 feeds and returns
   * its outputs by name — written into `fetches` where given — or undefined where the backend runs no
   * ONNX (only ort does). A graph's idle threads spin between its nodes and sleep once the run returns.
   */
  runGraph?(
    key: string,
    build: () => Uint8Array,
    feeds: Record<string, Tensor32>,
    fetches?: Record<string, Tensor32>,
  ): Promise<Record<string, Tensor32> | undefined>;
  /** Starts slow one-time set-up (sessions, threads) in the background, so the first product does not wait. */
  prepare?(): void;
  /** Releases threads or sessions; the backend must not be used afterwards. */
  dispose?(): Promise<void>;
}

/** Options for matmul. */
export interface MatmulOptions {
  /** Multiply by Bᵀ instead of B (both stored row-major). */
  transB?: boolean;
  /** Backend name or instance; default: the selected backend (see useBackend). */
  backend?: string | GemmBackend;
}

const backends = new Map<string, GemmBackend>([["js", createJsBackend()]]);
let selected = "js";

/** Adds (or replaces) a backend under its name. */
export function registerBackend(backend: GemmBackend): void {
  backends.set(backend.name, backend);
}

// Off onnxruntime a float64 product runs in dense64's JS loops (≈ 30× a float32 multiply-add's time in
// WebAssembly) and a float64 Gram as two or three float32 products of split rows on one thread: counted
// 32×, the budget stays a time. Measured: align eval on features_clip ran its first 512³ float64 products
// in JS (≈ 0.3 s, where loading onnxruntime takes ≈ 0.1 s); measure on it takes 0.45 s with its Grams in
// WebAssembly, 0.41 s loading onnxruntime for them.
const F64_MAC_WEIGHT = 32;

/**
 * A backend named `name` that runs products on `small` until they have cost `budget` multiply-adds
 * (float64 ones weighted by their cost there), or at once for a product that alone costs that much, and from then on on
 * `large`, created only then: for short-lived processes, whose small jobs end before a heavy library
 * would have loaded. Each backend alone is deterministic, but which one runs a product depends on the
 * products before it.
 */
export function deferredBackend(
  name: string,
  small: GemmBackend,
  large: () => Promise<GemmBackend>,
  budget: number,
): GemmBackend {
  let spent = 0;
  let loaded: Promise<GemmBackend> | undefined;
  const pick = (macs: number): GemmBackend | Promise<GemmBackend> => {
    spent += macs;
    if (!loaded && spent < budget) return small;
    loaded ??= large();
    return loaded;
  };
  return {
    name,
    gemm: async (a, b, transB) =>
      (await pick(a.rows * a.cols * (transB ? b.rows : b.cols))).gemm(a, b, transB),
    gramF64: async (x, y = x) => (await pick(F64_MAC_WEIGHT * x.rows * x.cols * y.cols)).gramF64(x, y),
    productF64: async (x, y, m, k, n, transB) =>
      mulF64(x, y, m, k, n, { transB, backend: await pick(F64_MAC_WEIGHT * m * k * n) }),
    // a graph is whole work (a training step, run many times): it goes to the large backend
    runGraph: async (key, build, feeds, fetches) => {
      loaded ??= large();
      return (await loaded).runGraph?.(key, build, feeds, fetches);
    },
    async dispose() {
      await small.dispose?.();
      await (await loaded)?.dispose?.();
    },
  };
}

/** Makes `name` the default backend for matmul. */
export function useBackend(name: string): void {
  selected = getBackend(name).name;
}

/** The backend registered under `name`, or the selected one; a backend given itself is returned as it is. */
export function getBackend(name: string | GemmBackend = selected): GemmBackend {
  if (typeof name === "object") return name;
  const backend = backends.get(name);
  if (!backend)
    throw new InputError("backend", `one of ${[...backends.keys()].join(", ")}`, JSON.stringify(name));
  return backend;
}

/** Names of the registered backends. */
export function listBackends(): string[] {
  return [...backends.keys()];
}

function checkShapes(a: Matrix, b: Matrix, transB: boolean): void {
  const inner = transB ? b.cols : b.rows;
  check(a.cols === inner, "matmul", `inner dimensions to agree (A is ${a.rows}×${a.cols})`, () =>
    transB ? `Bᵀ from B ${b.rows}×${b.cols}` : `B ${b.rows}×${b.cols}`,
  );
}

/** Matrix product A·B, or A·Bᵀ with `transB`, on the chosen backend. */
export async function matmul(a: Matrix, b: Matrix, options: MatmulOptions = {}): Promise<Matrix> {
  const transB = options.transB ?? false;
  checkShapes(a, b, transB);
  const backend = getBackend(options.backend);
  if (a.rows === 0 || (transB ? b.rows : b.cols) === 0) return matrix(a.rows, transB ? b.rows : b.cols);
  return backend.gemm(a, b, transB);
}

/** Synchronous A·B (or A·Bᵀ) on the calling thread: for small products inside loops. */
export function matmulSync(a: Matrix, b: Matrix, options: { transB?: boolean } = {}): Matrix {
  const transB = options.transB ?? false;
  checkShapes(a, b, transB);
  const bt = transB ? b : transpose(b);
  const out = matrix(a.rows, bt.rows);
  gemmRowsKernel(a.data, bt.data, out.data, bt.rows, a.cols, 0, a.rows);
  return out;
}

/** The Gram matrix XᵀX in float64 (cols×cols, row-major): for spectra, where float32 would blur small eigenvalues. */
export async function gramF64(
  x: Matrix,
  options: Pick<MatmulOptions, "backend"> = {},
): Promise<Float64Array> {
  const backend = getBackend(options.backend);
  return backend.gramF64(x);
}

/**
 * x·y (x m×k, y k×n; with `transB` y n×k, and x·yᵀ) in float64, row-major: on the backend's float64
 * product where it has one (onnxruntime: ≈ 15× dense64's at 512³), else dense64's on this thread.
 */
export async function mulF64(
  x: Float64Array,
  y: Float64Array,
  m: number,
  k: number,
  n: number,
  options: Pick<MatmulOptions, "transB" | "backend"> = {},
): Promise<Float64Array> {
  const transB = options.transB ?? false;
  check(
    x.length === m * k && y.length === k * n,
    "mulF64",
    `an ${m}×${k} and a ${transB ? `${n}×${k}` : `${k}×${n}`} matrix`,
    () => `${x.length} and ${y.length} values`,
  );
  const backend = getBackend(options.backend);
  if (m === 0 || n === 0) return new Float64Array(m * n);
  if (backend.productF64) return backend.productF64(x, y, m, k, n, transB);
  return transB ? mulABt(x, m, y, n, k) : mulAB(x, m, y, k, n);
}

/** The cross product XᵀY in float64 (X.cols×Y.cols, row-major) of two matrices with paired rows. */
export async function crossF64(
  x: Matrix,
  y: Matrix,
  options: Pick<MatmulOptions, "backend"> = {},
): Promise<Float64Array> {
  check(x.rows === y.rows, "crossF64", `paired rows (X has ${x.rows})`, () => `Y with ${y.rows}`);
  const backend = getBackend(options.backend);
  return backend.gramF64(x, y);
}

/**
 * XᵀY in float64 for a backend whose kernels read float32 alone (`gram`, on the `data` parts): hiᵀhi, plus
 * hiᵀlo + loᵀhi where x or y is a SplitMatrix — products of float32 parts are exact in float64, and loᵀlo
 * (≈ 2⁻⁴⁸ relative) is left out.
 */
export async function splitGram(
  gram: (x: Matrix, y: Matrix) => Promise<Float64Array>,
  x: Matrix,
  y: Matrix,
): Promise<Float64Array> {
  const [loX, loY] = [x, y].map((m) => (m as Partial<SplitMatrix>).lo);
  const out = await gram(x, y);
  const low = (m: Matrix, lo: Float32Array) => matrix(m.rows, m.cols, lo);
  const hiLo = loY && (await gram(x, low(y, loY)));
  // with Y = X, loᵀhi is the transpose of hiᵀlo
  const loHi = loX && y !== x && (await gram(low(x, loX), y));
  const [p, q] = [x.cols, y.cols];
  for (let i = 0; i < p; i++)
    for (let j = 0; j < q; j++)
      out[i * q + j] +=
        (hiLo ? hiLo[i * q + j] : 0) + (loHi ? loHi[i * q + j] : y === x && hiLo ? hiLo[j * q + i] : 0);
  return out;
}

import { check } from "./errors.js";
import { type GemmBackend, getBackend, matmul } from "./gemm/index.js";
import { type Matrix, matrix, normalizeRows, sliceRows, type TopK, topK } from "./matrix.js";
import { constant, graphBody, intAttribute, model, tensorInfo } from "./onnx.js";

/** Options for visiting a score matrix block by block. */
export interface BlockOptions {
  /** Most score entries per block (default 2^21 = 8 MB of float32); two blocks are held while the next is computed. */
  maxBlockElements?: number;
  /** Matmul backend (name or instance); default: the selected one. */
  backend?: string | GemmBackend;
  /** Called after each block with (rows done, rows in total). */
  onProgress?: (done: number, total: number) => void;
}

/** One block of scores: rows [rowStart, rowStart + scores.rows) of x against columns [colStart, y.rows) of y. */
export interface ScoreBlock {
  /** The products s = x_i·y_j, or exp(c·(clamp(s·ix_i·iy_j, −1, 1) − 1)) where `exponentiated` (see forEachScoreBlock). */
  scores: Matrix;
  rowStart: number;
  colStart: number;
  /** Set where the backend applied forEachScoreBlock's `exp` option. */
  exponentiated?: true;
}

const DEFAULT_MAX_BLOCK_ELEMENTS = 2 ** 21;
/**
 * Fewest scores for which `exp` runs as a graph: below, JS's exp (≈ 10–20 ns a score) costs less than
 * starting onnxruntime and its session (≈ 50–100 ms) for a small set.
 */
const EXP_GRAPH_MIN_SCORES = 2 ** 23;

/**
 * Visits S = x·yᵀ in blocks of whole rows, never holding all of S. With `upperOnly` (x and y the same
 * rows) each block covers only columns from its first row on, halving the work for symmetric S. With
 * `exp` = c, a backend that runs ONNX graphs delivers exp(c·(clamp(s, −1, 1) − 1)) instead (marked `exponentiated`) for
 * a large S, computed where the product is: no exp per entry in JS; with `inverseNorms` (ix, iy) too, of
 * the cosines s·ix_i·iy_j of rows taken as they are.
 */
export async function forEachScoreBlock(
  x: Matrix,
  y: Matrix,
  options: BlockOptions & {
    upperOnly?: boolean;
    exp?: number;
    inverseNorms?: { x: Float64Array; y: Float64Array };
  },
  visit: (block: ScoreBlock) => void,
): Promise<void> {
  const maxElements = options.maxBlockElements ?? DEFAULT_MAX_BLOCK_ELEMENTS;
  const blockRows = Math.max(1, Math.min(x.rows, Math.floor(maxElements / Math.max(1, y.rows))));
  const backend = getBackend(options.backend);
  let useGraph =
    options.exp !== undefined && backend.runGraph !== undefined && x.rows * y.rows >= EXP_GRAPH_MIN_SCORES;
  const compute = async (rowStart: number): Promise<ScoreBlock> => {
    const rowEnd = Math.min(x.rows, rowStart + blockRows);
    const colStart = options.upperOnly ? rowStart : 0;
    const [xs, ys] = [sliceRows(x, rowStart, rowEnd), sliceRows(y, colStart, y.rows)];
    const scales = options.inverseNorms && {
      x: options.inverseNorms.x.subarray(rowStart, rowEnd),
      y: options.inverseNorms.y.subarray(colStart),
    };
    const exponentials = useGraph
      ? await expScores(xs, ys, options.exp as number, scales, backend)
      : undefined;
    if (exponentials) return { scores: exponentials, rowStart, colStart, exponentiated: true };
    // a backend whose graphs turn out not to run (onnxruntime failed to load) gives the plain products
    useGraph = false;
    return { scores: await matmul(xs, ys, { backend, transB: true }), rowStart, colStart };
  };
  if (x.rows === 0) return;
  // the next block's product runs on the backend's threads while this one is visited here
  let pending = compute(0);
  for (let rowStart = 0; rowStart < x.rows; rowStart += blockRows) {
    const block = await pending;
    if (rowStart + blockRows < x.rows) {
      pending = compute(rowStart + blockRows);
      pending.catch(() => {}); // if visit throws, the block computed ahead is dropped, not an unhandled rejection
    }
    visit(block);
    options.onProgress?.(Math.min(x.rows, rowStart + blockRows), x.rows);
  }
}

/** exp(c·(clamp(x_i·y_j·sx_i·sy_j, −1, 1) − 1)) as one graph run (scales 1 where none), or undefined where the backend runs none. */
async function expScores(
  x: Matrix,
  y: Matrix,
  c: number,
  scales: { x: Float64Array; y: Float64Array } | undefined,
  backend: GemmBackend,
): Promise<Matrix | undefined> {
  const scale = (s: Float64Array | undefined, n: number) =>
    s ? Float32Array.from(s) : new Float32Array(n).fill(1);
  const out = await backend.runGraph?.("exp_scores", expScoresModel, {
    x: { data: x.data, dims: [x.rows, x.cols] },
    y: { data: y.data, dims: [y.rows, y.cols] },
    c: { data: Float32Array.of(c), dims: [1] },
    sx: { data: scale(scales?.x, x.rows), dims: [x.rows, 1] },
    sy: { data: scale(scales?.y, y.rows), dims: [1, y.rows] },
  });
  return out && matrix(x.rows, y.rows, out.e.data);
}

/**
 * The graph of expScores: inputs x (m×k), y (n×k), c ([1]), sx (m×1), sy (1×n); output
 * e = exp(c·(clamp(x·yᵀ ⊙ sx·sy, −1, 1) − 1)) (m×n).
 */
function expScoresModel(): Uint8Array {
  const { body, op } = graphBody([constant("one", "float32", [1]), constant("minus_one", "float32", [-1])]);
  op("Gemm", ["x", "y"], "s", [intAttribute("transB", 1)]);
  op("Mul", ["s", "sx"], "s_x");
  op("Mul", ["s_x", "sy"], "scaled");
  // rounding can put a cosine just outside [−1, 1]
  op("Min", ["scaled", "one"], "at_most_one");
  op("Max", ["at_most_one", "minus_one"], "cosine");
  op("Sub", ["cosine", "one"], "s_minus_one");
  op("Mul", ["s_minus_one", "c"], "z");
  op("Exp", ["z"], "e");
  return model(
    "gapkit_exp_scores",
    body,
    [
      tensorInfo("x", "float32", ["m", "k"]),
      tensorInfo("y", "float32", ["n", "k"]),
      tensorInfo("c", "float32", [1]),
      tensorInfo("sx", "float32", ["m", 1]),
      tensorInfo("sy", "float32", [1, "n"]),
    ],
    [tensorInfo("e", "float32", ["m", "n"])],
  );
}

/**
 * The k highest scores per row of S = x·yᵀ (descending, ties to the lower column) — with `cosine`, of
 * the L2-normalised rows: the k nearest gallery items y of each query x. Fused in the backend where it
 * has a top-k kernel (wasm), else per block of rows; never holds all of S.
 */
export async function scoreTopK(
  x: Matrix,
  y: Matrix,
  k: number,
  options: BlockOptions & { cosine?: boolean } = {},
): Promise<TopK> {
  check(Number.isInteger(k) && k >= 1 && k <= y.rows, "scoreTopK", `an integer k in [1, ${y.rows}]`, () =>
    String(k),
  );
  check(x.cols === y.cols, "scoreTopK", `rows of equal length (${x.cols})`, () => String(y.cols));
  const backend = getBackend(options.backend);
  const cosine = options.cosine ?? false;
  if (backend.topK && x.rows > 0) {
    const top = await backend.topK(x, y, k, cosine);
    options.onProgress?.(x.rows, x.rows);
    return top;
  }
  if (cosine) [x, y] = [normalizeRows(x, "scoreTopK queries"), normalizeRows(y, "scoreTopK gallery")];
  const indices = new Int32Array(x.rows * k);
  const values = new Float32Array(x.rows * k);
  await forEachScoreBlock(x, y, { ...options, backend }, ({ scores, rowStart }) => {
    const top = topK(scores, k);
    indices.set(top.indices, rowStart * k);
    values.set(top.values, rowStart * k);
  });
  return { k, indices, values };
}

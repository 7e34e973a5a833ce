import { check } from "./errors.js";
import { type GemmBackend, getBackend, matmul } from "./gemm/index.js";
import { type Matrix, normalizeRows, sliceRows, type TopK, topK } from "./matrix.js";

/** Options for visiting a score matrix block by block. */
export interface BlockOptions {
  /** Most score entries held at once (default 2^23 = 32 MB of float32). */
  maxBlockElements?: number;
  /** Matmul backend (name or instance); default: the selected one. */
  backend?: string | GemmBackend;
  /** Called after each block with (rows done, rows in total). */
  onProgress?: (done: number, total: number) => void;
}

/** One block of scores: rows [rowStart, rowStart + scores.rows) of x against columns [colStart, y.rows) of y. */
export interface ScoreBlock {
  scores: Matrix;
  rowStart: number;
  colStart: number;
}

const DEFAULT_MAX_BLOCK_ELEMENTS = 2 ** 23;

/**
 * Visits S = x·yᵀ in blocks of whole rows, never holding all of S. With `upperOnly` (x and y the same
 * rows) each block covers only columns from its first row on, halving the work for symmetric S.
 */
export async function forEachScoreBlock(
  x: Matrix,
  y: Matrix,
  options: BlockOptions & { upperOnly?: boolean },
  visit: (block: ScoreBlock) => void,
): Promise<void> {
  const maxElements = options.maxBlockElements ?? DEFAULT_MAX_BLOCK_ELEMENTS;
  const blockRows = Math.max(1, Math.min(x.rows, Math.floor(maxElements / Math.max(1, y.rows))));
  for (let rowStart = 0; rowStart < x.rows; rowStart += blockRows) {
    const rowEnd = Math.min(x.rows, rowStart + blockRows);
    const colStart = options.upperOnly ? rowStart : 0;
    const scores = await matmul(sliceRows(x, rowStart, rowEnd), sliceRows(y, colStart, y.rows), {
      backend: options.backend,
      transB: true,
    });
    visit({ scores, rowStart, colStart });
    options.onProgress?.(rowEnd, x.rows);
  }
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
  const backend = typeof options.backend === "object" ? options.backend : getBackend(options.backend);
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

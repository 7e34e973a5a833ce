import { type GemmBackend, matmul } from "./gemm/index.js";
import { type Matrix, sliceRows } from "./matrix.js";

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

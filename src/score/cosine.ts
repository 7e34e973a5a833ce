import type { BlockOptions } from "../core/blocks.js";
import { crossF64 } from "../core/gemm/index.js";
import { checkNorms, type Matrix, rowNorms, sliceRows, transpose } from "../core/matrix.js";

const DEFAULT_MAX_BLOCK_ELEMENTS = 2 ** 22;

/**
 * Visits the cosines S_ij = q_i·g_j / (‖q_i‖‖g_j‖) of raw rows in float64 (float64 products of the float32
 * rows, divided by float64 norms — numpy's float64 numbers to ~1e-15), a block of whole rows at a time:
 * `block` holds rows [rowStart, rowStart + rows) × all of g, row-major. Bounded memory for any size.
 */
export async function forEachCosineBlock(
  q: Matrix,
  g: Matrix,
  options: BlockOptions & { names?: { q: string; g: string } },
  visit: (block: Float64Array, rowStart: number, rows: number) => void,
): Promise<void> {
  const names = options.names ?? { q: "queries", g: "gallery" };
  const [qNorms, gNorms] = [rowNorms(q), rowNorms(g)];
  checkNorms(qNorms, names.q);
  checkNorms(gNorms, names.g);
  const gInverse = gNorms.map((n) => 1 / n);
  const gT = transpose(g);
  const maxElements = options.maxBlockElements ?? DEFAULT_MAX_BLOCK_ELEMENTS;
  const blockRows = Math.max(1, Math.min(q.rows, Math.floor(maxElements / Math.max(1, g.rows))));
  for (let rowStart = 0; rowStart < q.rows; rowStart += blockRows) {
    const rows = Math.min(blockRows, q.rows - rowStart);
    const block = await crossF64(transpose(sliceRows(q, rowStart, rowStart + rows)), gT, options);
    for (let r = 0; r < rows; r++) {
      const qInverse = 1 / qNorms[rowStart + r];
      for (let j = 0, at = r * g.rows; j < g.rows; j++, at++) block[at] *= qInverse * gInverse[j];
    }
    visit(block, rowStart, rows);
    options.onProgress?.(rowStart + rows, q.rows);
  }
}

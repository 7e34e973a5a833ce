import { crossF64, gramF64, type MatmulOptions } from "../core/gemm/index.js";
import { inverseRowNorms, type Matrix, matrix, type SplitMatrix } from "../core/matrix.js";

/**
 * Rows L2-normalised in float64, kept as two float32 parts: `data`, each value rounded (what normalizeRows
 * gives), and `lo`, what that rounding left, rounded — together ≈ 48 bits of every value.
 */
export type UnitRows = SplitMatrix;

/** The rows of m L2-normalised in float64 as float32 parts (a zero or non-finite norm throws, as in normalizeRows). */
export function unitRows(m: Matrix, where = "unitRows", firstRow = 0): UnitRows {
  const inverse = inverseRowNorms(m, where, firstRow);
  const hi = new Float32Array(m.data.length);
  const lo = new Float32Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    const inv = inverse[i];
    for (let k = i * m.cols, end = k + m.cols; k < end; k++) {
      const value = m.data[k] * inv;
      hi[k] = value;
      lo[k] = value - hi[k];
    }
  }
  return { ...matrix(m.rows, m.cols, hi), lo };
}

/**
 * Σ x̂_i ŷ_iᵀ over paired unit rows (X.cols × Y.cols, row-major, float64; Y = X when omitted), of their
 * float64 values (data + lo): the moment has the precision of the rows normalised in float64, not of their
 * float32 rounding.
 */
export async function unitMoment(
  x: UnitRows,
  y: UnitRows = x,
  options: Pick<MatmulOptions, "backend"> = {},
): Promise<Float64Array> {
  return y === x ? gramF64(x, options) : crossF64(x, y, options);
}

import { crossF64, gramF64, type MatmulOptions } from "../core/gemm/index.js";
import { type Matrix, matrix, normalizeRows, rowNorms } from "../core/matrix.js";

/**
 * Rows L2-normalised in float64, kept as two float32 parts: `data`, each value rounded (what normalizeRows
 * gives), and `lo`, what that rounding left, rounded — together ≈ 48 bits of every value.
 */
export interface UnitRows extends Matrix {
  readonly lo: Float32Array;
}

/** The rows of m L2-normalised in float64 as float32 parts (a zero or non-finite norm throws, as in normalizeRows). */
export function unitRows(m: Matrix, where = "unitRows", firstRow = 0): UnitRows {
  const hi = normalizeRows(m, where, firstRow);
  const norms = rowNorms(m);
  const lo = new Float32Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    const inv = 1 / norms[i];
    for (let k = i * m.cols, end = k + m.cols; k < end; k++) lo[k] = m.data[k] * inv - hi.data[k];
  }
  return { ...hi, lo };
}

/**
 * Σ x̂_i ŷ_iᵀ over paired unit rows (X.cols × Y.cols, row-major, float64; Y = X when omitted) as
 * hiᵀhi + hiᵀlo + loᵀhi: products of float32 parts are exact in float64, so the moment has the precision
 * of the rows normalised in float64, not of their float32 rounding; lo·lo (≈ 2⁻⁴⁸ relative) is left out.
 */
export async function unitMoment(
  x: UnitRows,
  y: UnitRows = x,
  options: Pick<MatmulOptions, "backend"> = {},
): Promise<Float64Array> {
  const low = (u: UnitRows) => matrix(u.rows, u.cols, u.lo);
  const out = y === x ? await gramF64(x, options) : await crossF64(x, y, options);
  const hiLo = await crossF64(x, low(y), options);
  // with Y = X, loᵀhi is the transpose of hiᵀlo
  const loHi = y === x ? undefined : await crossF64(low(x), y, options);
  const [p, q] = [x.cols, y.cols];
  for (let i = 0; i < p; i++)
    for (let j = 0; j < q; j++)
      out[i * q + j] += hiLo[i * q + j] + (loHi ? loHi[i * q + j] : hiLo[j * q + i]);
  return out;
}

import { gemmRowsKernel } from "../core/gemm/kernel.js";
import { type Matrix, matrix } from "../core/matrix.js";

/** Row-major values in float64 (logits, gradients) or float32 (embeddings). */
export type Values = Float32Array | Float64Array;

/** x·yᵀ in float64 for x m×k and y n×k: every sum of float32 products kept exact to float64. */
export function mulABt(x: Values, m: number, y: Values, n: number, k: number): Float64Array {
  const out = new Float64Array(m * n);
  gemmRowsKernel(x, y, out, n, k, 0, m);
  return out;
}

/** The transpose of an m×n row-major array. */
export function transposed(x: Values, m: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = x[i * n + j];
  return out;
}

/** x·y in float64 for x m×k and y k×n. */
export function mulAB(x: Values, m: number, y: Values, k: number, n: number): Float64Array {
  return mulABt(x, m, transposed(y, k, n), n, k);
}

/** A float64 gradient as a float32 Matrix, scaled by `scale`. */
export function toMatrix(values: Float64Array, rows: number, cols: number, scale = 1): Matrix {
  const out = matrix(rows, cols);
  for (let k = 0; k < values.length; k++) out.data[k] = values[k] * scale;
  return out;
}

/** log Σ exp over one row of `x` (stable: the row's maximum is factored out). */
export function logSumExp(x: Values, start: number, length: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < length; j++) max = Math.max(max, x[start + j]);
  if (max === Number.NEGATIVE_INFINITY) return max;
  let s = 0;
  for (let j = 0; j < length; j++) s += Math.exp(x[start + j] - max);
  return max + Math.log(s);
}

/**
 * Mean cross-entropy −Σ_j y_ij·log softmax(logits_i)_j of the rows of `logits` (m×n) against `targets`
 * (m×n; rows need not sum to 1, e.g. a transposed soft-target matrix) or, without targets, against the
 * diagonal (row i's label is i). Adds `weight`·∂loss/∂logits into `grad` and returns the loss.
 */
export function crossEntropyRows(
  logits: Float64Array,
  m: number,
  n: number,
  targets: Float64Array | null,
  grad: Float64Array,
  weight: number,
): number {
  let total = 0;
  for (let i = 0; i < m; i++) {
    const base = i * n;
    const lse = logSumExp(logits, base, n);
    let mass = 0;
    let dot = 0;
    for (let j = 0; j < n; j++) {
      const y = targets ? targets[base + j] : i === j ? 1 : 0;
      mass += y;
      dot += y * logits[base + j];
    }
    for (let j = 0; j < n; j++) {
      const y = targets ? targets[base + j] : i === j ? 1 : 0;
      grad[base + j] += (weight * (mass * Math.exp(logits[base + j] - lse) - y)) / m;
    }
    total += mass * lse - dot;
  }
  return total / m;
}

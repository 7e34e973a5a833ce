import type { Values } from "../core/dense64.js";
import { type Matrix, matrix } from "../core/matrix.js";

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
 * Mean cross-entropy −Σ_j y_ij·log softmax(logits_i)_j over m rows of n logits, against `targets` (same
 * layout; rows need not sum to 1) or, without targets, against the diagonal (row i's label is i). Adds
 * `weight`·∂loss/∂logits into `grad` and returns the loss. Element (i, j) lives at i·stride.row +
 * j·stride.col, so {row: 1, col: n} runs the same loss down the columns of a row-major n×n matrix.
 */
export function crossEntropyRows(
  logits: Float64Array,
  m: number,
  n: number,
  targets: Float64Array | null,
  grad: Float64Array,
  weight: number,
  stride = { row: n, col: 1 },
): number {
  let total = 0;
  const exps = new Float64Array(n);
  const scale = weight / m;
  for (let i = 0; i < m; i++) {
    const base = i * stride.row;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < n; j++) max = Math.max(max, logits[base + j * stride.col]);
    let sum = 0;
    let mass = 0;
    let dot = 0;
    for (let j = 0; j < n; j++) {
      const at = base + j * stride.col;
      exps[j] = Math.exp(logits[at] - max);
      sum += exps[j];
      const y = targets ? targets[at] : i === j ? 1 : 0;
      mass += y;
      dot += y * logits[at];
    }
    for (let j = 0; j < n; j++) {
      const at = base + j * stride.col;
      const y = targets ? targets[at] : i === j ? 1 : 0;
      grad[at] += scale * ((mass * exps[j]) / sum - y);
    }
    total += mass * (max + Math.log(sum)) - dot;
  }
  return total / m;
}

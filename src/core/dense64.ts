import { gemmRowsKernel } from "./gemm/kernel.js";

/** Row-major values in float64 (logits, gradients, decompositions) or float32 (embeddings). */
export type Values = Float32Array | Float64Array;

/**
 * x·yᵀ in float64 for x m×k and y n×k (every sum of products kept to float64): the small dense products of
 * the losses and of the float64 decompositions, in JS because the gemm backends are float32.
 */
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

/** +1 or −1: the sign that makes v's largest-magnitude entry (the first on ties) positive — a vector's sign convention. */
export function pivotSign(v: Float64Array): 1 | -1 {
  let pivot = 0;
  for (let k = 0; k < v.length; k++) if (Math.abs(v[k]) > Math.abs(pivot)) pivot = v[k];
  return pivot < 0 ? -1 : 1;
}

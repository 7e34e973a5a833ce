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

/**
 * L·Lᵀ in float64 for a row-major n×k L: symmetric, so one triangle is computed and mirrored (1.4× mulABt's
 * time saved at n = 512), each entry summed in the same order mulABt sums it.
 */
export function mulAAt(l: Float64Array, n: number, k: number): Float64Array {
  const c = new Float64Array(n * n);
  // 2×2 blocks of rows, both contiguous: four loads feed four independent sums. An odd last row is taken
  // twice (i1 = i or j1 = j), which only stores the same value twice.
  for (let i = 0; i < n; i += 2) {
    const i1 = Math.min(i + 1, n - 1);
    for (let j = 0; j <= i1; j += 2) {
      const j1 = Math.min(j + 1, n - 1);
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let p = 0; p < k; p++) {
        const a0 = l[i * k + p];
        const a1 = l[i1 * k + p];
        const b0 = l[j * k + p];
        const b1 = l[j1 * k + p];
        s00 += a0 * b0;
        s01 += a0 * b1;
        s10 += a1 * b0;
        s11 += a1 * b1;
      }
      c[i * n + j] = c[j * n + i] = s00;
      c[i * n + j1] = c[j1 * n + i] = s01;
      c[i1 * n + j] = c[j * n + i1] = s10;
      c[i1 * n + j1] = c[j1 * n + i1] = s11;
    }
  }
  return c;
}

/** +1 or −1: the sign that makes v's largest-magnitude entry (the first on ties) positive — a vector's sign convention. */
export function pivotSign(v: Float64Array): 1 | -1 {
  let pivot = 0;
  for (let k = 0; k < v.length; k++) if (Math.abs(v[k]) > Math.abs(pivot)) pivot = v[k];
  return pivot < 0 ? -1 : 1;
}

/**
 * C = A·B, or A·Bᵀ with `transB`, for row-major float64 A (m×k) and B (k×n, or n×k when transposed):
 * the small dense products of the float64 decompositions (n ≤ a few thousand), in JS because the gemm
 * backends are float32. A·Aᵀ (b the same array as a, n = m) is symmetric: one triangle is computed and
 * mirrored.
 */
export function multiply64(
  a: Float64Array,
  m: number,
  k: number,
  b: Float64Array,
  n: number,
  transB = false,
): Float64Array {
  if (!transB) return multiply64(a, m, k, transposed(b, k, n), n, true);
  const c = new Float64Array(m * n);
  const symmetric = a === b && m === n;
  // 2×2 blocks of rows of A against rows of B, both contiguous: four loads feed four independent sums.
  // An odd last row or column is taken twice (i1 = i or j1 = j), which only stores the same value twice.
  for (let i = 0; i < m; i += 2) {
    const i1 = Math.min(i + 1, m - 1);
    for (let j = 0; j < (symmetric ? i1 + 1 : n); j += 2) {
      const j1 = Math.min(j + 1, n - 1);
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let p = 0; p < k; p++) {
        const a0 = a[i * k + p];
        const a1 = a[i1 * k + p];
        const b0 = b[j * k + p];
        const b1 = b[j1 * k + p];
        s00 += a0 * b0;
        s01 += a0 * b1;
        s10 += a1 * b0;
        s11 += a1 * b1;
      }
      c[i * n + j] = s00;
      c[i * n + j1] = s01;
      c[i1 * n + j] = s10;
      c[i1 * n + j1] = s11;
      if (symmetric) {
        c[j * n + i] = s00;
        c[j1 * n + i] = s01;
        c[j * n + i1] = s10;
        c[j1 * n + i1] = s11;
      }
    }
  }
  return c;
}

/** The transpose of the rows×cols row-major `x`. */
function transposed(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
}

/** +1 or −1: the sign that makes v's largest-magnitude entry (the first on ties) positive — a vector's sign convention. */
export function pivotSign(v: Float64Array): 1 | -1 {
  let pivot = 0;
  for (let k = 0; k < v.length; k++) if (Math.abs(v[k]) > Math.abs(pivot)) pivot = v[k];
  return pivot < 0 ? -1 : 1;
}

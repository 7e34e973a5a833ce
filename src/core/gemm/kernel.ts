/**
 * C[i, j] = Σ_p A[i, p] · Bt[j, p] for rows [rowStart, rowEnd) of C (row-major, A m×k, Bt n×k, C m×n),
 * accumulated in float64 and stored in `c` (float32, or float64 where the caller needs every digit).
 *
 * Self-contained on purpose: worker threads receive it as source text (`Function.prototype.toString`),
 * so it may reference nothing outside its own body.
 */
export function gemmRowsKernel(
  a: Float32Array | Float64Array,
  bt: Float32Array | Float64Array,
  c: Float32Array | Float64Array,
  n: number,
  k: number,
  rowStart: number,
  rowEnd: number,
): void {
  // A block of Bt rows that stays in L2 (≈96 KB) while every 4-row panel of A streams past it.
  const jBlock = Math.max(4, Math.floor(24576 / Math.max(k, 1) / 4) * 4);
  const rowEnd4 = rowStart + Math.floor((rowEnd - rowStart) / 4) * 4;
  for (let j0 = 0; j0 < n; j0 += jBlock) {
    const j1 = Math.min(j0 + jBlock, n);
    const j14 = j0 + Math.floor((j1 - j0) / 4) * 4;
    for (let i = rowStart; i < rowEnd4; i += 4) {
      const a0 = i * k;
      const a1 = a0 + k;
      const a2 = a1 + k;
      const a3 = a2 + k;
      for (let j = j0; j < j14; j += 4) {
        const b0 = j * k;
        const b1 = b0 + k;
        const b2 = b1 + k;
        const b3 = b2 + k;
        let c00 = 0;
        let c01 = 0;
        let c02 = 0;
        let c03 = 0;
        let c10 = 0;
        let c11 = 0;
        let c12 = 0;
        let c13 = 0;
        let c20 = 0;
        let c21 = 0;
        let c22 = 0;
        let c23 = 0;
        let c30 = 0;
        let c31 = 0;
        let c32 = 0;
        let c33 = 0;
        for (let p = 0; p < k; p++) {
          const x0 = a[a0 + p];
          const x1 = a[a1 + p];
          const x2 = a[a2 + p];
          const x3 = a[a3 + p];
          const y0 = bt[b0 + p];
          const y1 = bt[b1 + p];
          const y2 = bt[b2 + p];
          const y3 = bt[b3 + p];
          c00 += x0 * y0;
          c01 += x0 * y1;
          c02 += x0 * y2;
          c03 += x0 * y3;
          c10 += x1 * y0;
          c11 += x1 * y1;
          c12 += x1 * y2;
          c13 += x1 * y3;
          c20 += x2 * y0;
          c21 += x2 * y1;
          c22 += x2 * y2;
          c23 += x2 * y3;
          c30 += x3 * y0;
          c31 += x3 * y1;
          c32 += x3 * y2;
          c33 += x3 * y3;
        }
        const o = i * n + j;
        c[o] = c00;
        c[o + 1] = c01;
        c[o + 2] = c02;
        c[o + 3] = c03;
        c[o + n] = c10;
        c[o + n + 1] = c11;
        c[o + n + 2] = c12;
        c[o + n + 3] = c13;
        c[o + 2 * n] = c20;
        c[o + 2 * n + 1] = c21;
        c[o + 2 * n + 2] = c22;
        c[o + 2 * n + 3] = c23;
        c[o + 3 * n] = c30;
        c[o + 3 * n + 1] = c31;
        c[o + 3 * n + 2] = c32;
        c[o + 3 * n + 3] = c33;
      }
      for (let ii = i; ii < i + 4; ii++) {
        for (let j = j14; j < j1; j++) {
          let s = 0;
          for (let p = 0, x = ii * k, y = j * k; p < k; p++) s += a[x + p] * bt[y + p];
          c[ii * n + j] = s;
        }
      }
    }
    for (let ii = rowEnd4; ii < rowEnd; ii++) {
      for (let j = j0; j < j1; j++) {
        let s = 0;
        for (let p = 0, x = ii * k, y = j * k; p < k; p++) s += a[x + p] * bt[y + p];
        c[ii * n + j] = s;
      }
    }
  }
}

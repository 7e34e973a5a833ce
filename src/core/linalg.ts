import { EigenvalueDecomposition, Matrix as MlMatrix, SingularValueDecomposition } from "ml-matrix";
import { check } from "./errors.js";
import { type MatmulOptions, matmul } from "./gemm/index.js";
import { colMeans, type Matrix, matrix, subtractRow, transpose } from "./matrix.js";

/** Eigen- or singular-vectors as matrix columns, with values in descending order. */
export interface Decomposition {
  /** Eigenvalues (or singular values), descending, float64. */
  readonly values: Float64Array;
  /** Column j is the vector for values[j]; its largest-magnitude entry is made positive. */
  readonly vectors: Matrix;
}

/** Largest matrix side the float64 decompositions accept (cubic cost). */
export const MAX_DECOMPOSITION_DIM = 2048;

function toMl(m: Matrix): MlMatrix {
  return new MlMatrix(
    Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols))),
  );
}

/** +1 or −1 per ordered column, making its largest-magnitude entry positive. */
function pivotSigns(source: MlMatrix, order: number[]): number[] {
  return order.map((col) => {
    let pivot = 0;
    for (let i = 0; i < source.rows; i++)
      if (Math.abs(source.get(i, col)) > Math.abs(pivot)) pivot = source.get(i, col);
    return pivot < 0 ? -1 : 1;
  });
}

/** Columns of `source` in `order`, multiplied by `signs`, as a float32 matrix. */
function orderedColumns(source: MlMatrix, order: number[], signs: number[]): Matrix {
  const out = matrix(source.rows, order.length);
  order.forEach((col, j) => {
    for (let i = 0; i < source.rows; i++) out.data[i * out.cols + j] = signs[j] * source.get(i, col);
  });
  return out;
}

function descending(values: number[]): number[] {
  return values.map((_, i) => i).sort((x, y) => values[y] - values[x] || x - y);
}

/** Eigendecomposition of a symmetric matrix (float64 Householder + QL via ml-matrix). */
export function symmetricEigen(m: Matrix): Decomposition {
  check(m.rows === m.cols, "symmetricEigen", "a square matrix", () => `${m.rows}×${m.cols}`);
  check(m.rows <= MAX_DECOMPOSITION_DIM, "symmetricEigen", `a side of at most ${MAX_DECOMPOSITION_DIM}`, () =>
    String(m.rows),
  );
  const eig = new EigenvalueDecomposition(toMl(m), { assumeSymmetric: true });
  const order = descending(eig.realEigenvalues);
  return {
    values: Float64Array.from(order, (i) => eig.realEigenvalues[i]),
    vectors: orderedColumns(eig.eigenvectorMatrix, order, pivotSigns(eig.eigenvectorMatrix, order)),
  };
}

/** Thin SVD m = U·diag(s)·Vᵀ (float64 via ml-matrix): `values` = s, `vectors` = V, `left` = U. */
export function svd(m: Matrix): Decomposition & { readonly left: Matrix } {
  check(
    Math.min(m.rows, m.cols) <= MAX_DECOMPOSITION_DIM,
    "svd",
    `a smaller side of at most ${MAX_DECOMPOSITION_DIM}`,
    () => `${m.rows}×${m.cols}`,
  );
  // ml-matrix's SVD wants rows ≥ cols; decompose the transpose otherwise and swap U and V.
  const wide = m.rows < m.cols;
  const dec = new SingularValueDecomposition(toMl(wide ? transpose(m) : m), { autoTranspose: false });
  const order = descending(dec.diagonal);
  // one sign per singular pair, so U·diag(s)·Vᵀ still equals m
  const signs = pivotSigns(wide ? dec.leftSingularVectors : dec.rightSingularVectors, order);
  const u = orderedColumns(dec.leftSingularVectors, order, signs);
  const v = orderedColumns(dec.rightSingularVectors, order, signs);
  return {
    values: Float64Array.from(order, (i) => dec.diagonal[i]),
    vectors: wide ? u : v,
    left: wide ? v : u,
  };
}

/** Sample covariance (n − 1 denominator) of the rows of `m`, as a cols×cols matrix. */
export async function covariance(m: Matrix, options: Omit<MatmulOptions, "transB"> = {}): Promise<Matrix> {
  check(m.rows >= 2, "covariance", "at least 2 rows", () => String(m.rows));
  const centeredT = transpose(subtractRow(m, colMeans(m)));
  const scatter = await matmul(centeredT, centeredT, { ...options, transB: true });
  const scale = 1 / (m.rows - 1);
  for (let i = 0; i < scatter.data.length; i++) scatter.data[i] *= scale;
  return scatter;
}

/**
 * Eigenvalues of a symmetric matrix, descending (float64): Householder tridiagonalisation then implicit
 * QL, without accumulating eigenvectors — several times faster than symmetricEigen when only the
 * spectrum is needed. (EISPACK tred2/tql2 as in JAMA, with the vector updates removed.)
 */
export function symmetricEigenvalues(m: Matrix): Float64Array {
  check(m.rows === m.cols, "symmetricEigenvalues", "a square matrix", () => `${m.rows}×${m.cols}`);
  const n = m.rows;
  // w[j * n + k] holds V[k][j] of JAMA's tred2 (its lower triangle), so inner loops run contiguously
  const w = Float64Array.from(m.data);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) d[j] = w[j * n + n - 1];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) d[j] = w[j * n + i - 1];
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = f > 0 ? -Math.sqrt(h) : Math.sqrt(h);
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      e.fill(0, 0, i);
      for (let j = 0; j < i; j++) {
        const col = j * n;
        f = d[j];
        // four partial sums: a single running sum would wait on the add latency every step
        let g1 = 0;
        let g2 = 0;
        let g3 = 0;
        g = e[j] + w[col + j] * f;
        let k = j + 1;
        for (; k + 3 < i; k += 4) {
          const w0 = w[col + k];
          const w1 = w[col + k + 1];
          const w2 = w[col + k + 2];
          const w3 = w[col + k + 3];
          g += w0 * d[k];
          g1 += w1 * d[k + 1];
          g2 += w2 * d[k + 2];
          g3 += w3 * d[k + 3];
          e[k] += w0 * f;
          e[k + 1] += w1 * f;
          e[k + 2] += w2 * f;
          e[k + 3] += w3 * f;
        }
        for (; k < i; k++) {
          g += w[col + k] * d[k];
          e[k] += w[col + k] * f;
        }
        e[j] = g + g1 + g2 + g3;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        const col = j * n;
        f = d[j];
        g = e[j];
        for (let k = j; k < i; k++) w[col + k] -= f * e[k] + g * d[k];
        d[j] = w[col + i - 1];
      }
    }
  }
  for (let j = 0; j < n; j++) d[j] = w[j * n + j];
  tridiagonalQl(d, e);
  return d.sort().reverse();
}

/** Eigenvalues of the symmetric tridiagonal (d, e[1..]) into d, by implicit QL (JAMA tql2, values only). */
function tridiagonalQl(d: Float64Array, e: Float64Array): void {
  const n = d.length;
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n) e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      do {
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = 1;
        let c3 = 1;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

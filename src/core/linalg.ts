import { EigenvalueDecomposition, Matrix as MlMatrix, SingularValueDecomposition } from "ml-matrix";
import { check } from "./errors.js";
import { type MatmulOptions, matmul } from "./gemm/index.js";
import { assertFinite, colMeans, type Matrix, matrix, subtractRow, transpose } from "./matrix.js";
import { symmetricEigenvaluesOf } from "./tridiagonal.js";

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
 * Eigenvalues of a symmetric matrix, descending (float64; only the lower triangle is read): Householder
 * tridiagonalisation and root-free QL without eigenvectors, much faster than symmetricEigen.
 */
export function symmetricEigenvalues(m: Matrix): Float64Array {
  check(m.rows === m.cols, "symmetricEigenvalues", "a square matrix", () => `${m.rows}×${m.cols}`);
  assertFinite(m, "symmetricEigenvalues");
  return symmetricEigenvaluesOf(m.data, m.rows).reverse();
}

import {
  CholeskyDecomposition,
  EigenvalueDecomposition,
  Matrix as MlMatrix,
  SingularValueDecomposition,
} from "ml-matrix";
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

function toMl64(values: ArrayLike<number>, rows: number, cols: number): MlMatrix {
  return new MlMatrix(
    Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => values[i * cols + j])),
  );
}

function fromMl64(m: MlMatrix): Float64Array {
  return Float64Array.from(m.to1DArray());
}

/**
 * f(S) = V·diag(f(λ))·Vᵀ for a positive semi-definite n×n float64 matrix S (row-major: a covariance), e.g.
 * (S + εI)^−½ with f(λ) = (λ + ε)^−½; float64 throughout. Eigenvalues ≤ λ_max·n·2⁻⁵² are taken as 0: a
 * covariance of fewer rows than dimensions is singular, and rounding leaves its zero eigenvalues at
 * ±1e-18 or so, which f would otherwise see as data (f(λ) = λ^−½ magnifying them, or ε no longer ε).
 */
export function psdMatrixFunction(
  s: Float64Array,
  n: number,
  f: (eigenvalue: number) => number,
): Float64Array {
  check(
    s.length === n * n && n <= MAX_DECOMPOSITION_DIM,
    "psdMatrixFunction",
    `an n×n matrix, n ≤ ${MAX_DECOMPOSITION_DIM}`,
    () => `${s.length} values for n = ${n}`,
  );
  const eig = new EigenvalueDecomposition(toMl64(s, n, n), { assumeSymmetric: true });
  const v = eig.eigenvectorMatrix;
  const scaled = v.clone();
  const cutoff = Math.max(...eig.realEigenvalues) * n * Number.EPSILON;
  eig.realEigenvalues.forEach((l, j) => {
    const fl = f(l > cutoff ? l : 0);
    for (let i = 0; i < n; i++) scaled.set(i, j, scaled.get(i, j) * fl);
  });
  return fromMl64(scaled.mmul(v.transpose()));
}

/**
 * The orthogonal W minimising ‖X·W − Y‖ given M = Xᵀ·Y (n×n, float64): W = U·Vᵀ from M = U·S·Vᵀ. Where M
 * has rank r < n (fewer pairs than dimensions; singular values ≤ s₁·n·2⁻⁵² count as 0), every
 * W = U_r·V_rᵀ + U₀·Q·V₀ᵀ with Q orthogonal fits equally well, and an SVD's choice of U₀, V₀ follows
 * the rounding of M; the one returned is nearest the identity (largest trace): Q = R·Pᵀ from
 * V₀ᵀ·U₀ = P·Σ·Rᵀ. It depends only on the spans of U_r and V_r, and is the identity on vectors
 * orthogonal to both.
 */
export function orthogonalProcrustes(m: Float64Array, n: number): Float64Array {
  const dec = new SingularValueDecomposition(toMl64(m, n, n));
  const cutoff = Math.max(...dec.diagonal) * n * Number.EPSILON;
  const kept: number[] = [];
  const rest: number[] = [];
  dec.diagonal.forEach((s, j) => {
    (s > cutoff ? kept : rest).push(j);
  });
  const [u, v] = [dec.leftSingularVectors, dec.rightSingularVectors];
  const w = u.subMatrixColumn(kept).mmul(v.subMatrixColumn(kept).transpose());
  if (rest.length) {
    const [u0, v0] = [u.subMatrixColumn(rest), v.subMatrixColumn(rest)];
    const near = new SingularValueDecomposition(v0.transpose().mmul(u0));
    w.add(u0.mmul(near.rightSingularVectors).mmul(v0.mmul(near.leftSingularVectors).transpose()));
  }
  return fromMl64(w);
}

/** Solves S·X = R for symmetric positive definite S (n×n) and R (n×k), float64, by Cholesky. */
export function solveSpd(s: Float64Array, n: number, r: Float64Array, k: number): Float64Array {
  const chol = new CholeskyDecomposition(toMl64(s, n, n));
  check(
    chol.isPositiveDefinite(),
    "solveSpd",
    "a positive definite matrix",
    () => "a singular or indefinite one",
  );
  return fromMl64(chol.solve(toMl64(r, n, k)));
}

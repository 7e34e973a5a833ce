import { pivotSign, transposed } from "./dense64.js";
import { symmetricEigenSystem } from "./eigen.js";
import { check } from "./errors.js";
import { type MatmulOptions, matmul, mulF64 } from "./gemm/index.js";
import { timesQt, transposedQ, wideLq } from "./householder.js";
import { assertFinite, colMeans, type Matrix, matrix, subtractRow, transpose } from "./matrix.js";
import { svd64 } from "./svd.js";
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

/** Eigendecomposition of a symmetric matrix (float64 Householder + QL; only the lower triangle is read). */
export function symmetricEigen(m: Matrix): Decomposition {
  check(m.rows === m.cols, "symmetricEigen", "a square matrix", () => `${m.rows}×${m.cols}`);
  check(m.rows <= MAX_DECOMPOSITION_DIM, "symmetricEigen", `a side of at most ${MAX_DECOMPOSITION_DIM}`, () =>
    String(m.rows),
  );
  const { values, vectors } = symmetricEigenSystem(m.data, m.rows);
  return { values, vectors: transpose(matrix(m.rows, m.rows, Float32Array.from(vectors))) };
}

/** Thin SVD m = U·diag(s)·Vᵀ (float64, svd64): `values` = s, `vectors` = V, `left` = U. */
export function svd(m: Matrix): Decomposition & { readonly left: Matrix } {
  check(
    Math.min(m.rows, m.cols) <= MAX_DECOMPOSITION_DIM,
    "svd",
    `a smaller side of at most ${MAX_DECOMPOSITION_DIM}`,
    () => `${m.rows}×${m.cols}`,
  );
  const { values, ut, vt } = svd64(new Float64Array(m.data), m.rows, m.cols);
  const k = values.length;
  const vectors = matrix(m.cols, k);
  const left = matrix(m.rows, k);
  for (let j = 0; j < k; j++) {
    // one sign per singular pair, so U·diag(s)·Vᵀ still equals m
    const sign = pivotSign(vt.subarray(j * m.cols, (j + 1) * m.cols));
    for (let i = 0; i < m.cols; i++) vectors.data[i * k + j] = sign * vt[j * m.cols + i];
    for (let i = 0; i < m.rows; i++) left.data[i * k + j] = sign * ut[j * m.rows + i];
  }
  return { values, vectors, left };
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

/**
 * A positive semi-definite d×d matrix S as its matrix functions need it: S = Σ_k values[k]·v_k·v_kᵀ over
 * the rows v_k of `vt`. `complete`: the rows are a whole eigenbasis (values of 0 included), so
 * f(S) = Σ_k f(values[k])·v_k·v_kᵀ; else they span S's range and S is 0 on the rest, so
 * f(S) = f(0)·I + Σ_k (f(values[k]) − f(0))·v_k·v_kᵀ.
 */
export interface PsdEigen {
  readonly d: number;
  readonly values: Float64Array;
  readonly vt: Float64Array;
  readonly complete: boolean;
}

/**
 * The eigendecomposition of a positive semi-definite n×n float64 matrix S (row-major: a covariance), for
 * its matrix functions (psdFunctionOf), e.g. (S + εI)^−½ with f(λ) = (λ + ε)^−½; float64 throughout.
 * Eigenvalues ≤ λ_max·n·2⁻⁵² are taken as 0: a covariance of fewer rows than dimensions is singular, and
 * rounding leaves its zero eigenvalues at ±1e-18 or so, which f would otherwise see as data (f(λ) = λ^−½
 * magnifying them, or ε no longer ε).
 */
export function psdEigen(s: Float64Array, n: number): PsdEigen {
  check(
    s.length === n * n && n <= MAX_DECOMPOSITION_DIM,
    "psdEigen",
    `an n×n matrix, n ≤ ${MAX_DECOMPOSITION_DIM}`,
    () => `${s.length} values for n = ${n}`,
  );
  const { values, vectors: vt } = symmetricEigenSystem(s, n);
  const cutoff = values[0] * n * Number.EPSILON;
  return { d: n, values: values.map((l) => (l > cutoff ? l : 0)), vt, complete: true };
}

/**
 * psdEigen of S = scale·XᵀX (d×d) for n float64 rows X (n×d, row-major) with n < d, through the n×n Gram
 * scale·X·Xᵀ: its eigenvalues are S's non-zero ones, with eigenvectors v = Xᵀu/‖Xᵀu‖, and S is 0 on the
 * rest — an n×n eigenproblem instead of a d×d one (the same cut-off, λ_max·d·2⁻⁵², separates S's zero
 * eigenvalues from the data).
 */
export async function psdEigenOfRows(
  x: Float64Array,
  n: number,
  d: number,
  scale: number,
): Promise<PsdEigen> {
  check(
    x.length === n * d && n < d,
    "psdEigenOfRows",
    "n×d rows with n < d",
    () => `${x.length} values for n = ${n}, d = ${d}`,
  );
  const gram = await mulF64(x, x, n, d, n, { transB: true });
  for (let k = 0; k < gram.length; k++) gram[k] *= scale;
  const { values, vectors: ut } = symmetricEigenSystem(gram, n);
  const cutoff = values[0] * d * Number.EPSILON;
  let rank = 0;
  while (rank < n && values[rank] > cutoff) rank++;
  // rows of Vᵀ: u_kᵀ·X / ‖Xᵀu_k‖, with ‖Xᵀu_k‖² = λ_k / scale
  const vt = await mulF64(ut.subarray(0, rank * n), x, rank, n, d);
  for (let k = 0; k < rank; k++) {
    const inverseNorm = 1 / Math.sqrt(values[k] / scale);
    for (let j = 0; j < d; j++) vt[k * d + j] *= inverseNorm;
  }
  return { d, values: values.slice(0, rank), vt, complete: false };
}

/** f(S) (d×d, float64) for S given by its psdEigen: Vᵀ's rows scaled by the weights times Vᵀ, one product. */
export function psdFunctionOf(eigen: PsdEigen, f: (eigenvalue: number) => number): Promise<Float64Array> {
  const { d, values, vt } = eigen;
  const shift = eigen.complete ? 0 : f(0);
  const r = values.length;
  const weighted = new Float64Array(r * d);
  for (let k = 0; k < r; k++) {
    const weight = f(values[k]) - shift;
    for (let j = 0; j < d; j++) weighted[k * d + j] = weight * vt[k * d + j];
  }
  return mulF64(transposed(weighted, r, d), vt.subarray(0, r * d), d, r, d).then((out) => {
    for (let j = 0; j < d; j++) out[j * d + j] += shift;
    return out;
  });
}

/**
 * The orthogonal W minimising ‖X·W − Y‖ given M = Xᵀ·Y (n×n, float64): W = U·Vᵀ from M = U·S·Vᵀ, the polar
 * factor of M (polarFactor). Where M has rank r < n (fewer pairs than dimensions; singular values ≤
 * s₁·n·2⁻⁵² count as 0), every W = U_r·V_rᵀ + U₀·Q·V₀ᵀ with Q orthogonal fits equally well, and an SVD's
 * choice of U₀, V₀ follows the rounding of M; the one returned is nearest the identity (largest trace):
 * Q = R·Pᵀ from V₀ᵀ·U₀ = P·Σ·Rᵀ. It depends only on the spans of U_r and V_r, and is the identity on vectors
 * orthogonal to both.
 */
export async function orthogonalProcrustes(m: Float64Array, n: number): Promise<Float64Array> {
  const polar = await polarFactor(m, n);
  if (polar) return polar;
  const { values, ut, vt } = svd64(m, n, n);
  return nearestIdentityPolar(values, ut, vt, n);
}

/**
 * orthogonalProcrustes of M = Bᵀ·A (d×d) from the k < d paired rows themselves (float64, row-major k×d).
 * With the LQ factorisations A = [L_A 0]·Q_Aᵀ and B = [L_B 0]·Q_Bᵀ, M = Q_B·diag(C, 0)·Q_Aᵀ for the k×k
 * C = L_Bᵀ·L_A, and the W nearest the identity is Q_B·diag(polar(C), polar(Q_B₂ᵀ·Q_A₂))·Q_Aᵀ, where Q_A₂, Q_B₂
 * are the last d − k columns (the spans' complements): two polar factors of k×k and (d − k)×(d − k)
 * matrices where orthogonalProcrustes takes a d×d one, and the same W. Where either has no polar factor
 * by Newton–Schulz, through the SVD of C: U = Q_B·diag(U_C, I), V = Q_A·diag(V_C, I).
 */
export async function orthogonalProcrustesOfRows(
  a: Float64Array,
  b: Float64Array,
  k: number,
  d: number,
): Promise<Float64Array> {
  check(
    a.length === k * d && b.length === k * d && k < d,
    "orthogonalProcrustesOfRows",
    "two k×d matrices with k < d",
    () => `${a.length} and ${b.length} values for k = ${k}, d = ${d}`,
  );
  const [lqA, lqB] = [await wideLq(a, k, d), await wideLq(b, k, d)];
  const c = await mulF64(transposed(lqB.l, k, k), lqA.l, k, k, k);
  const polar = await polarFactor(c, k);
  if (polar) {
    const [qat, qbt] = [await transposedQ(lqA), await transposedQ(lqB)];
    const rest = d - k;
    const [qa2t, qb2t] = [qat.subarray(k * d), qbt.subarray(k * d)];
    const complement = await polarFactor(await mulF64(qb2t, qa2t, rest, d, rest, { transB: true }), rest);
    if (complement) {
      // diag(polar(C), polar(Q_B₂ᵀ·Q_A₂))·Q_Aᵀ, then Q_B times that
      const z = new Float64Array(d * d);
      z.set(await mulF64(polar, qat.subarray(0, k * d), k, k, d));
      z.set(await mulF64(complement, qa2t, rest, rest, d), k * d);
      return mulF64(transposed(qbt, d, d), z, d, d, d);
    }
  }
  const small = svd64(c, k, k);
  // rows of Uᵀ = diag(U_kᵀ, I)·Q_Bᵀ, of Vᵀ likewise
  const embed = (vt: Float64Array) => {
    const x = new Float64Array(d * d);
    for (let i = 0; i < k; i++) x.set(vt.subarray(i * k, (i + 1) * k), i * d);
    for (let i = k; i < d; i++) x[i * d + i] = 1;
    return x;
  };
  const values = new Float64Array(d);
  values.set(small.values);
  const [ut, vt] = [await timesQt(embed(small.ut), lqB), await timesQt(embed(small.vt), lqA)];
  return nearestIdentityPolar(values, ut, vt, d);
}

// Newton–Schulz for polar factors: the assumed lower bound on σ_min/‖M‖_F that sets the first steps'
// scaling (a wrong guess costs steps, not accuracy), the most steps before the SVD takes over, and the
// ‖X·Xᵀ − I‖_F below which one more step reaches rounding level (the error squares each step).
const POLAR_LOWER_BOUND = 1e-4;
const POLAR_MAX_STEPS = 30;
const POLAR_TOLERANCE = 1e-8;

/**
 * The orthogonal polar factor U·Vᵀ of a square M = U·S·Vᵀ (n×n, float64), by the scaled Newton–Schulz
 * iteration X ← ½α·(3I − α²·X·Xᵀ)·X from X = M/‖M‖_F (Chen & Chow 2014: α from a lower bound ℓ on the
 * singular values, which grow by up to ≈ 2.6× a step instead of 1.5×): two products a step on the gemm
 * backend, ≈ 15 steps at σ_min/σ_max ≈ 1e-4. Undefined where it has not converged in POLAR_MAX_STEPS —
 * M singular, or its singular values spread by ≳ 1e9 — for an SVD to decide.
 */
export async function polarFactor(m: Float64Array, n: number): Promise<Float64Array | undefined> {
  let norm2 = 0;
  for (const v of m) norm2 += v * v;
  if (!(norm2 > 0)) return undefined;
  const inverseNorm = 1 / Math.sqrt(norm2);
  let x: Float64Array = m.map((v) => v * inverseNorm);
  let lower = POLAR_LOWER_BOUND;
  for (let step = 0; step < POLAR_MAX_STEPS; step++) {
    const h = await mulF64(x, x, n, n, n, { transB: true }); // X·Xᵀ
    let squares = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) squares += (h[i * n + j] - (i === j ? 1 : 0)) ** 2;
    // every σ² lies within ‖X·Xᵀ − I‖_F of 1: a lower bound once that is below 1
    const residual = Math.sqrt(squares);
    if (residual < 1) lower = Math.max(lower, Math.sqrt(1 - residual));
    const alpha = Math.sqrt(3 / (1 + lower + lower * lower));
    for (let k = 0; k < n * n; k++) h[k] *= -0.5 * alpha ** 3;
    for (let i = 0; i < n; i++) h[i * n + i] += 1.5 * alpha;
    x = await mulF64(h, x, n, n, n);
    if (residual < POLAR_TOLERANCE) return x;
    lower = 0.5 * alpha * lower * (3 - alpha * alpha * lower * lower);
  }
  return undefined;
}

/**
 * W = U·Vᵀ from an SVD M = U·S·Vᵀ of an n×n M (values descending; rows of `ut`, `vt` the singular vectors),
 * with the part on M's null spaces chosen nearest the identity (see orthogonalProcrustes). Overwrites ut and vt.
 */
async function nearestIdentityPolar(
  values: Float64Array,
  ut: Float64Array,
  vt: Float64Array,
  n: number,
): Promise<Float64Array> {
  const cutoff = values[0] * n * Number.EPSILON;
  let rank = 0;
  while (rank < n && values[rank] > cutoff) rank++;
  // W = U_r·V_rᵀ + (U₀·R)·(V₀·P)ᵀ: rows rank.. of Uᵀ become Rᵀ·U₀ᵀ, those of Vᵀ Pᵀ·V₀ᵀ, then W = U·Vᵀ
  const rest = n - rank;
  if (rest) {
    const [u0, v0] = [ut.subarray(rank * n), vt.subarray(rank * n)];
    // V₀ᵀ·U₀ = P·Σ·Rᵀ
    const near = svd64(await mulF64(v0, u0, rest, n, rest, { transB: true }), rest, rest);
    ut.set(await mulF64(near.vt, u0, rest, rest, n), rank * n);
    vt.set(await mulF64(near.ut, v0, rest, rest, n), rank * n);
  }
  return mulF64(transposed(ut, n, n), vt, n, n, n);
}

/**
 * Solves S·X = R for symmetric positive definite S (n×n; only its lower triangle is read) and R (n×k),
 * float64, as X = L⁻ᵀ·(L⁻¹·R) from the Cholesky factor S = L·Lᵀ: the factor and its inverse on flat rows
 * here (≈ n³/2 multiply-adds; ml-matrix's arrays of arrays took seconds at n = 512), the two n×n×k products
 * on the gemm backend — where substitution would take n²·k in JS. S is positive definite, so L is as well
 * conditioned as √κ(S) and the explicit inverse loses nothing that substitution keeps.
 */
export async function solveSpd(
  s: Float64Array,
  n: number,
  r: Float64Array,
  k: number,
): Promise<Float64Array> {
  const l = new Float64Array(n * n);
  let positive = true;
  for (let i = 0; i < n && positive; i++)
    for (let j = 0; j <= i; j++) {
      let sum = s[i * n + j];
      for (let p = 0; p < j; p++) sum -= l[i * n + p] * l[j * n + p];
      if (j < i) l[i * n + j] = sum / l[j * n + j];
      else {
        positive = sum > 0;
        l[i * n + i] = Math.sqrt(sum);
      }
    }
  check(positive, "solveSpd", "a positive definite matrix", () => "a singular or indefinite one");
  // L⁻¹ by forward substitution on the identity, whole rows at a time
  const inverse = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    inverse[i * n + i] = 1;
    subtractCombination(inverse, n, i, l, i * n, 0, i);
    scaleRow(inverse, i, 1 / l[i * n + i], n);
  }
  const y = await mulF64(inverse, r, n, n, k);
  return mulF64(transposed(inverse, n, n), y, n, n, k);
}

/** Row i of the k-column `x` −= Σ c[at + p]·row p over p in [from, to), four rows at a time. */
function subtractCombination(
  x: Float64Array,
  k: number,
  i: number,
  c: Float64Array,
  at: number,
  from: number,
  to: number,
): void {
  const row = i * k;
  let p = from;
  for (; p + 4 <= to; p += 4) {
    const [c0, c1, c2, c3] = [c[at + p], c[at + p + 1], c[at + p + 2], c[at + p + 3]];
    const r0 = p * k;
    const [r1, r2, r3] = [r0 + k, r0 + 2 * k, r0 + 3 * k];
    for (let j = 0; j < k; j++)
      x[row + j] -= c0 * x[r0 + j] + c1 * x[r1 + j] + c2 * x[r2 + j] + c3 * x[r3 + j];
  }
  for (; p < to; p++) {
    const cp = c[at + p];
    const rp = p * k;
    for (let j = 0; j < k; j++) x[row + j] -= cp * x[rp + j];
  }
}

/** Row i of the k-column `x` *= c. */
function scaleRow(x: Float64Array, i: number, c: number, k: number): void {
  for (let j = 0; j < k; j++) x[i * k + j] *= c;
}

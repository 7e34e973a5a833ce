import { type BlockOptions, forEachScoreBlock } from "../core/blocks.js";
import { check } from "../core/errors.js";
import {
  assertFinite,
  checkNorms,
  colMeans,
  colSums,
  inverseRowNorms,
  type Matrix,
  normalizeRows,
  rowNorms,
  scaledProductsSafe,
  vectorNorm,
} from "../core/matrix.js";

function checkPaired(a: Matrix, b: Matrix, where: string): void {
  check(
    a.rows === b.rows && a.cols === b.cols,
    where,
    `paired matrices of equal shape (${a.rows}×${a.cols})`,
    () => `${b.rows}×${b.cols}`,
  );
}

/** Checks that two matrices are a paired set: the same dimension and the same number of rows. */
export function checkPairShapes(a: Matrix, b: Matrix, names: { a: string; b: string }): void {
  check(
    a.cols === b.cols,
    `${names.a} / ${names.b}`,
    `the same dimension d (${names.a} has ${a.cols})`,
    () => `${names.b} with ${b.cols}`,
  );
  check(
    a.rows === b.rows,
    `${names.a} / ${names.b}`,
    `the same number of rows N, paired by index (${names.a} has ${a.rows})`,
    () => `${names.b} with ${b.rows}`,
  );
}

/**
 * Checks a paired set: the same shape, at least `minRows` rows, finite values, no zero rows; errors number
 * rows from `firstRow` (a chunk's place in its file).
 */
export function checkPair(
  a: Matrix,
  b: Matrix,
  names = { a: "A", b: "B" },
  { minRows = 2, firstRow = 0 } = {},
): void {
  checkPairShapes(a, b, names);
  check(a.rows >= minRows, names.a, `at least ${minRows} pairs`, () => String(a.rows));
  check(a.cols >= 1, names.a, "at least 1 dimension", () => "0");
  assertFinite(a, names.a, firstRow);
  assertFinite(b, names.b, firstRow);
  checkNorms(rowNorms(a), names.a, firstRow);
  checkNorms(rowNorms(b), names.b, firstRow);
}

/** mean(A) − mean(B), the modality gap vector (float64). */
export function gapVector(a: Matrix, b: Matrix): Float64Array {
  checkPaired(a, b, "gapVector");
  const ma = colMeans(a);
  const mb = colMeans(b);
  return ma.map((v, j) => v - mb[j]);
}

/** Mind the Gap's L2M gap ‖mean(A) − mean(B)‖ (rows assumed unit-norm). */
export function gapL2M(a: Matrix, b: Matrix): number {
  return vectorNorm(gapVector(a, b));
}

/** Cosine of each true pair a_i · b_i, float64 (rows assumed unit-norm). */
export function pairedCosines(a: Matrix, b: Matrix): Float64Array {
  checkPaired(a, b, "pairedCosines");
  const out = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) {
    let s = 0;
    for (let k = i * a.cols, end = k + a.cols; k < end; k++) s += a.data[k] * b.data[k];
    out[i] = s;
  }
  return out;
}

/** Mean cosine of true pairs. */
export function pairedCosine(a: Matrix, b: Matrix): number {
  return mean(pairedCosines(a, b));
}

/** Alignment (Wang & Isola): mean squared distance of true pairs ‖a_i − b_i‖². */
export function alignment(a: Matrix, b: Matrix): number {
  checkPaired(a, b, "alignment");
  let total = 0;
  for (let k = 0; k < a.data.length; k++) total += (a.data[k] - b.data[k]) ** 2;
  return total / a.rows;
}

/**
 * The cone effect: mean cosine over distinct pairs i ≠ j within one modality. Computed exactly in O(N·d)
 * from Σ_{i≠j} u_i·u_j = ‖Σ u_i‖² − Σ ‖u_i‖², no N×N matrix needed.
 */
export function coneCosine(u: Matrix): number {
  check(u.rows >= 2, "coneCosine", "at least 2 rows", () => String(u.rows));
  let squares = 0;
  for (const v of u.data) squares += v * v;
  return coneFromSums(colSums(u), squares, u.rows);
}

/** The mean cosine over distinct pairs of n unit rows from their sum Σu_i and Σ‖u_i‖² (see coneCosine). */
export function coneFromSums(sum: ArrayLike<number>, squares: number, n: number): number {
  let all = 0;
  for (let j = 0; j < sum.length; j++) all += sum[j] * sum[j];
  return (all - squares) / (n * (n - 1));
}

/**
 * Relative modality gap: d_m / (d_m + (d_A + d_B)/2) with d = max(1 − (cos + 1)/2, 1e-3) for the mean
 * paired cosine (d_m) and each modality's cone cosine (d_A, d_B). 0.5 = pairs as far apart as
 * same-modality points; towards 1 = pairs much farther apart than the modalities' own spread.
 */
export function relativeModalityGap(pairedCos: number, coneA: number, coneB: number): number {
  const distance = (cos: number) => Math.max(1 - (cos + 1) / 2, 1e-3);
  const dm = distance(pairedCos);
  return dm / (dm + (distance(coneA) + distance(coneB)) / 2);
}

/**
 * Uniformity (Wang & Isola): log mean over pairs i < j of exp(−t‖u_i − u_j‖²), with ‖u_i − u_j‖² = 2 − 2 u_i·u_j
 * for unit rows; blocked over the upper triangle of U·Uᵀ, the exponentials computed with the products on a
 * backend that runs graphs (float32 exp, summed in float64); a cosine that rounding puts outside [−1, 1]
 * counts as its bound, so the result stays in [−4t, 0]. With `normalize`, of u's rows L2-normalised
 * on the fly: the products of the rows as they are, scaled by their inverse norms (no normalised copy).
 */
export async function uniformity(
  u: Matrix,
  options: BlockOptions & { t?: number; normalize?: boolean } = {},
): Promise<number> {
  check(u.rows >= 2, "uniformity", "at least 2 rows", () => String(u.rows));
  const inverse = options.normalize ? inverseRowNorms(u, "uniformity") : new Float64Array(u.rows).fill(1);
  if (!scaledProductsSafe(inverse)) return uniformity(normalizeRows(u), { ...options, normalize: false });
  const t = options.t ?? 2;
  let total = 0;
  const c = 2 * t;
  const block = { ...options, upperOnly: true, exp: c, inverseNorms: { x: inverse, y: inverse } };
  await forEachScoreBlock(u, u, block, ({ scores, rowStart, colStart, exponentiated }) => {
    const { rows, cols, data } = scores;
    for (let r = 0; r < rows; r++) {
      // columns strictly right of the diagonal: global j > i
      const first = rowStart + r + 1 - colStart;
      let s = 0;
      const [start, end] = [r * cols + first, (r + 1) * cols];
      if (exponentiated) for (let k = start; k < end; k++) s += data[k];
      else {
        const scale = inverse[rowStart + r];
        for (let k = start, j = colStart + first; k < end; k++, j++)
          s += Math.exp(c * (Math.max(-1, Math.min(data[k] * scale * inverse[j], 1)) - 1));
      }
      total += s;
    }
  });
  return Math.log(total / ((u.rows * (u.rows - 1)) / 2));
}

/** Arithmetic mean, float64. */
export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

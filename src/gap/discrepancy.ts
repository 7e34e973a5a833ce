/**
 * Distances between Gaussian fits of feature sets: the squared 2-Wasserstein distance between two
 * Gaussians (a bias term and the Bures term of their covariances), and MoNA's modality knowledge
 * discrepancy approximated from class statistics — each target class's Gaussian against a distinct source
 * class's, under the matching of least total distance (the Hungarian algorithm).
 */
import { munkres } from "munkres";
import { check } from "../core/errors.js";
import { mulF64 } from "../core/gemm/index.js";
import { psdEigen, psdFunctionOf } from "../core/linalg.js";
import type { Matrix } from "../core/matrix.js";

/** A Gaussian fit of rows: mean (d) and covariance (d×d, row-major, biased: 1/n), float64. */
export interface Gaussian {
  readonly mean: Float64Array;
  readonly covariance: Float64Array;
}

/** The Gaussian fit (mean and biased covariance, float64) of the rows of `m` listed in `rows` (default all). */
export function gaussianOf(m: Matrix, rows?: ArrayLike<number>): Gaussian {
  const d = m.cols;
  const n = rows?.length ?? m.rows;
  check(n >= 1, "gaussianOf", "at least one row", () => "none");
  const at = (k: number) => (rows ? rows[k] : k) * d;
  const mean = new Float64Array(d);
  for (let k = 0; k < n; k++) for (let j = 0; j < d; j++) mean[j] += m.data[at(k) + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const covariance = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < d; j++) centred[j] = m.data[at(k) + j] - mean[j];
    for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) covariance[i * d + j] += centred[i] * centred[j];
  }
  for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) covariance[j * d + i] = covariance[i * d + j] /= n;
  return { mean, covariance };
}

/** The squared 2-Wasserstein distance between two Gaussians, split into its two terms. */
export interface GaussianW2 {
  /** ‖μ_a − μ_b‖². */
  bias: number;
  /** B²(Σ_a, Σ_b) = tr Σ_a + tr Σ_b − 2 tr (Σ_a^½ Σ_b Σ_a^½)^½, the squared Bures distance. */
  shape: number;
  total: number;
}

/** Σ^½ of a covariance (d×d), once per Gaussian when one is compared with many. */
export function covarianceRoot(g: Gaussian): Promise<Float64Array> {
  return psdFunctionOf(psdEigen(g.covariance, g.mean.length), Math.sqrt);
}

/** W₂²(a, b) = ‖μ_a − μ_b‖² + B²(Σ_a, Σ_b) for Gaussians of the same dimension (`rootA`: a's Σ^½, if known). */
export async function gaussianW2(a: Gaussian, b: Gaussian, rootA?: Float64Array): Promise<GaussianW2> {
  const d = a.mean.length;
  check(b.mean.length === d, "gaussianW2", `Gaussians of the same dimension ${d}`, () =>
    String(b.mean.length),
  );
  let bias = 0;
  for (let j = 0; j < d; j++) bias += (a.mean[j] - b.mean[j]) ** 2;
  const root = rootA ?? (await covarianceRoot(a));
  const inner = await mulF64(await mulF64(root, b.covariance, d, d, d), root, d, d, d);
  // symmetric up to rounding; psdEigen reads its lower triangle
  const cross = psdEigen(inner, d).values.reduce((s, l) => s + Math.sqrt(l), 0);
  let traces = 0;
  for (let j = 0; j < d; j++) traces += a.covariance[j * d + j] + b.covariance[j * d + j];
  const shape = Math.max(0, traces - 2 * cross);
  return { bias, shape, total: bias + shape };
}

/** classDiscrepancy's result. */
export interface ClassDiscrepancy {
  /** The mean W₂² between each target class and its matched source class. */
  value: number;
  /** The source class matched to each target class. */
  matching: number[];
  /** W₂² of every target class (row) against every source class (column). */
  costs: number[][];
}

/** The rows of each class 0 … classes − 1 of `labels`; each class must have at least two. */
function rowsByClass(labels: Int32Array, where: string): number[][] {
  const classes = labels.reduce((top, l) => Math.max(top, l + 1), 0);
  const byClass = Array.from({ length: classes }, (): number[] => []);
  labels.forEach((l, i) => {
    check(Number.isInteger(l) && l >= 0, where, "class labels 0, 1, …", () => String(l));
    byClass[l].push(i);
  });
  for (const [c, rows] of byClass.entries())
    check(rows.length >= 2, where, "at least two rows of each class", () => `${rows.length} of class ${c}`);
  return byClass;
}

/**
 * The modality knowledge discrepancy of MoNA (Ma et al. 2024, Definition 3.1) approximated from class
 * statistics: each class's features (rows of `target`, `source`) fitted by a Gaussian, the W₂² between
 * every target and source class, and the mean over target classes under the one-to-one matching of
 * least total distance (Hungarian) — the source's classes permuted and subset to the target's. Needs at
 * most as many target classes as source classes.
 */
export async function classDiscrepancy(
  target: Matrix,
  targetLabels: Int32Array,
  source: Matrix,
  sourceLabels: Int32Array,
): Promise<ClassDiscrepancy> {
  check(target.cols === source.cols, "classDiscrepancy", `features of one dimension (${source.cols})`, () =>
    String(target.cols),
  );
  const [targetRows, sourceRows] = [
    rowsByClass(targetLabels, "classDiscrepancy: target labels"),
    rowsByClass(sourceLabels, "classDiscrepancy: source labels"),
  ];
  check(
    targetRows.length <= sourceRows.length,
    "classDiscrepancy",
    `at most as many target classes as source classes (${sourceRows.length})`,
    () => String(targetRows.length),
  );
  const sourceFits = sourceRows.map((rows) => gaussianOf(source, rows));
  const costs: number[][] = [];
  for (const rows of targetRows) {
    const fit = gaussianOf(target, rows);
    const root = await covarianceRoot(fit);
    const row: number[] = [];
    for (const other of sourceFits) row.push((await gaussianW2(fit, other, root)).total);
    costs.push(row);
  }
  const matching = new Array<number>(targetRows.length);
  for (const [t, s] of munkres(costs)) matching[t] = s;
  const value = matching.reduce((total, s, t) => total + costs[t][s], 0) / targetRows.length;
  return { value, matching, costs };
}

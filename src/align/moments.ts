import { compensatedValue } from "../core/compensated.js";
import { type PsdEigen, psdEigen, psdEigenOfRows, psdFunctionOf } from "../core/linalg.js";
import { colMeans, type Matrix, rowsF64 } from "../core/matrix.js";
import type { GapStats } from "../gap/stats.js";
import { type UnitRows, unitMoment } from "../gap/unit-rows.js";
import type { Side } from "./method.js";

/**
 * One modality's moments: mean, trace variance T = mean ‖x − μ‖² and, where needed, the covariance (1/N) —
 * as a d×d matrix, or, for fewer rows than dimensions, as the centred rows X − μ (covariance XᵀX/N), whose
 * matrix functions take an N×N eigenproblem instead of a d×d one (see psdFunction).
 */
export interface Moments {
  mean: Float64Array;
  trace: number;
  covariance?: Float64Array;
  centred?: Float64Array;
  /** The covariance's eigendecomposition, kept by psdFunction's first call for the next ones. */
  eigen?: Promise<PsdEigen>;
}

/** A modality's fit rows, normalised, with their moments computed on first use and kept for every fit on them. */
export interface FitRows extends UnitRows {
  moments(): Promise<Moments>;
}

/** The fit rows of normalised rows `u`. */
export function fitRows(u: UnitRows): FitRows {
  let moments: Promise<Moments> | undefined;
  return { ...u, moments: () => (moments ??= momentsOf(u)) };
}

/** Mean vector and trace variance T = mean ‖x − μ‖² of the rows, float64. */
export function meanAndTrace(u: Matrix): { mean: Float64Array; trace: number } {
  const mean = colMeans(u);
  let total = 0;
  for (let i = 0; i < u.rows; i++) {
    for (let j = 0; j < u.cols; j++) total += (u.data[i * u.cols + j] - mean[j]) ** 2;
  }
  return { mean, trace: total / u.rows };
}

/**
 * The moments of rows normalised in float64, with the population covariance XᵀX/N − μμᵀ: the same float64
 * rows as the statistics' moments (see withMoments), so a fit from either agrees to rounding.
 */
async function momentsOf(u: UnitRows): Promise<Moments> {
  const d = u.cols;
  const x = rowsF64(u, 0, u.rows);
  const mean = new Float64Array(d);
  for (let at = 0; at < x.length; at += d) for (let j = 0; j < d; j++) mean[j] += x[at + j];
  for (let j = 0; j < d; j++) mean[j] /= u.rows;
  if (u.rows < d) {
    let total = 0;
    for (let at = 0; at < x.length; at += d)
      for (let j = 0; j < d; j++) {
        const v = x[at + j] - mean[j];
        x[at + j] = v;
        total += v * v;
      }
    return { mean, trace: total / u.rows, centred: x };
  }
  const covariance = centre(await unitMoment(u), mean, u.rows);
  let trace = 0;
  for (let j = 0; j < d; j++) trace += covariance[j * d + j];
  return { mean, trace, covariance };
}

/**
 * f(C) for a modality's covariance C (its positive semi-definite matrix function; see psdEigen); the
 * eigendecomposition is computed on the first call and kept in `m` for functions of the same C.
 */
export async function psdFunction(m: Moments, f: (eigenvalue: number) => number): Promise<Float64Array> {
  m.eigen ??= decompose(m);
  return psdFunctionOf(await m.eigen, f);
}

async function decompose(m: Moments): Promise<PsdEigen> {
  const d = m.mean.length;
  if (m.centred) {
    const rows = m.centred.length / d; // the covariance is XᵀX / rows
    return psdEigenOfRows(m.centred, rows, d, 1 / rows);
  }
  if (!m.covariance) throw new Error("psdFunction: moments without a covariance");
  return psdEigen(m.covariance, d);
}

/** One modality's moments from mergeable statistics (the covariance when they keep second moments). */
export function momentsFromStats(stats: GapStats, side: Side): Moments {
  const { n } = stats;
  const sums = stats.sums;
  const mean = compensatedValue(side === "a" ? sums.a : sums.b).map((s) => s / n);
  const [squares] = compensatedValue(side === "a" ? sums.squaresA : sums.squaresB);
  let meanSquare = 0;
  for (const m of mean) meanSquare += m * m;
  const second = side === "a" ? sums.aa : sums.bb;
  return {
    mean,
    trace: squares / n - meanSquare,
    ...(second ? { covariance: centre(compensatedValue(second), mean, n) } : {}),
  };
}

/** M/n − μμᵀ in place: a second moment Σ x xᵀ of n rows made a covariance. */
function centre(moment: Float64Array, mean: Float64Array, n: number): Float64Array {
  const d = mean.length;
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) moment[i * d + j] = moment[i * d + j] / n - mean[i] * mean[j];
  return moment;
}

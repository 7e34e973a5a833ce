import { check } from "../core/errors.js";
import { type GemmBackend, gramF64 } from "../core/gemm/index.js";
import { type Matrix, vectorNorm } from "../core/matrix.js";
import { symmetricEigenvaluesOf } from "../core/tridiagonal.js";
import { gapVector } from "./metrics.js";

/** Spectral shape of a paired embedding set. */
export interface Spectrum {
  /** Effective rank (Roy & Vetterli: exp of the entropy of the normalised singular values), each modality. */
  effectiveRank: { a: number; b: number; joint: number };
  /** Share of the joint set's total variance that lies along the gap direction mean(A) − mean(B). */
  gapVarianceFraction: number;
}

/**
 * Effective rank from the eigenvalues of an n×n float64 Gram matrix (singular values² of the data).
 * Eigenvalues below n·ε·λ_max are rounding noise of zero singular values (their square roots would be
 * ~1e-8·σ_max, not the ~1e-16·σ_max an SVD of the data gives), so they count as zero.
 */
export function effectiveRankFromGram(gram: Float64Array, n: number): number {
  const eigenvalues = symmetricEigenvaluesOf(gram, n);
  const floor = n * 2 ** -52 * Math.max(0, eigenvalues[n - 1] ?? 0); // ascending: the last is λ_max
  const singular = eigenvalues.map((l) => (l > floor ? Math.sqrt(l) : 0));
  let total = 0;
  for (const s of singular) total += s;
  check(total > 0, "effectiveRank", "a non-zero matrix", () => "all singular values 0");
  let entropy = 0;
  for (const s of singular) if (s > 0) entropy -= (s / total) * Math.log(s / total);
  return Math.exp(entropy);
}

/**
 * Effective ranks of A, B and the stacked [A; B] (uncentred rows, so the cone's common direction counts),
 * and the fraction of the stacked set's variance along the unit gap direction. The Gram matrices are
 * float64: in float32 the rounding of a rank-deficient Gram turns its zero eigenvalues into noise
 * that shifts the effective rank in the second decimal.
 */
export async function spectrum(
  a: Matrix,
  b: Matrix,
  options: { backend?: string | GemmBackend } = {},
): Promise<Spectrum> {
  const d = a.cols;
  const ga = await gramF64(a, options);
  const gb = await gramF64(b, options);
  const joint = ga.map((v, k) => v + gb[k]);
  return {
    effectiveRank: {
      a: effectiveRankFromGram(ga, d),
      b: effectiveRankFromGram(gb, d),
      joint: effectiveRankFromGram(joint, d),
    },
    gapVarianceFraction: gapVarianceFraction(a, b),
  };
}

/** Var of [A; B] projected on the unit gap direction over its total variance (trace of the covariance). */
export function gapVarianceFraction(a: Matrix, b: Matrix): number {
  const gap = gapVector(a, b);
  const norm = vectorNorm(gap);
  if (norm === 0) return 0;
  const d = a.cols;
  const n = a.rows + b.rows;
  const meanAll = new Float64Array(d);
  let sumSquares = 0;
  let projSum = 0;
  let projSquares = 0;
  for (const u of [a, b]) {
    for (let i = 0; i < u.rows; i++) {
      let p = 0;
      for (let j = 0; j < d; j++) {
        const v = u.data[i * d + j];
        meanAll[j] += v;
        sumSquares += v * v;
        p += v * gap[j];
      }
      p /= norm;
      projSum += p;
      projSquares += p * p;
    }
  }
  let meanNormSq = 0;
  for (const m of meanAll) meanNormSq += (m / n) ** 2;
  const totalVariance = sumSquares / n - meanNormSq;
  return (projSquares / n - (projSum / n) ** 2) / totalVariance;
}

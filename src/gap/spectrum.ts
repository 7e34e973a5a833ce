import { check } from "../core/errors.js";
import { symmetricEigenvaluesOf } from "../core/tridiagonal.js";

/** Spectral shape of a paired embedding set. */
export interface Spectrum {
  /** Effective rank (Roy & Vetterli: exp of the entropy of the normalised singular values), each modality. */
  effectiveRank: { a: number; b: number; joint: number };
  /** Share of the stacked set [A; B]'s total variance that lies along the gap direction mean(A) − mean(B). */
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

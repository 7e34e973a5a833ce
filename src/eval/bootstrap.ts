import { check } from "../core/errors.js";
import { createRng } from "../core/rng.js";
import { hitProbability, type QueryRanks } from "./retrieval.js";

/** Options for a percentile bootstrap. */
export interface BootstrapOptions {
  /** Resamples (default 1000). */
  samples?: number;
  seed?: number;
  /** Confidence level (default 0.95). */
  level?: number;
}

/**
 * Percentile-bootstrap confidence interval of recall@k: the queries are resampled with replacement
 * (the gallery stays fixed), R@k (expected over random tie-breaks) is recomputed per resample, and the
 * (1 ± level)/2 quantiles are returned.
 */
export function bootstrapRecall(
  ranks: QueryRanks,
  k: number,
  options: BootstrapOptions = {},
): [number, number] {
  const { samples = 1000, seed = 0, level = 0.95 } = options;
  const n = ranks.higher.length;
  check(n > 0, "bootstrapRecall", "at least one rank", () => "none");
  check(Number.isInteger(samples) && samples >= 10, "bootstrapRecall samples", "an integer ≥ 10", () =>
    String(samples),
  );
  check(level > 0 && level < 1, "bootstrapRecall level", "a level in (0, 1)", () => String(level));
  const rng = createRng(seed);
  const hit = Float64Array.from({ length: n }, (_, i) => hitProbability(ranks, i, k));
  const values = new Float64Array(samples);
  for (let s = 0; s < samples; s++) {
    let hits = 0;
    for (let i = 0; i < n; i++) hits += hit[rng.int(n)];
    values[s] = hits / n;
  }
  values.sort();
  const at = (q: number) => values[Math.min(samples - 1, Math.max(0, Math.round(q * (samples - 1))))];
  return [at((1 - level) / 2), at((1 + level) / 2)];
}

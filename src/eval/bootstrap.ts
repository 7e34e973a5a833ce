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
  return bootstrapRecalls([ranks], k, options)[0];
}

/**
 * bootstrapRecall of several rankings of the same queries (methods compared on one held-out set), on the
 * same resamples: one draw of the queries serves them all, and their intervals are paired.
 */
export function bootstrapRecalls(
  rankings: readonly QueryRanks[],
  k: number,
  options: BootstrapOptions = {},
): [number, number][] {
  const { samples = 1000, seed = 0, level = 0.95 } = options;
  const n = rankings[0]?.higher.length ?? 0;
  check(n > 0, "bootstrapRecall", "at least one rank", () => "none");
  check(
    rankings.every((r) => r.higher.length === n),
    "bootstrapRecalls",
    `rankings of the same ${n} queries`,
    () => rankings.map((r) => r.higher.length).join(", "),
  );
  check(Number.isInteger(samples) && samples >= 10, "bootstrapRecall samples", "an integer ≥ 10", () =>
    String(samples),
  );
  check(level > 0 && level < 1, "bootstrapRecall level", "a level in (0, 1)", () => String(level));
  const rng = createRng(seed);
  const hits = rankings.map((ranks) =>
    Float64Array.from({ length: n }, (_, i) => hitProbability(ranks, i, k)),
  );
  const values = rankings.map(() => new Float64Array(samples));
  const draw = new Int32Array(n);
  for (let s = 0; s < samples; s++) {
    rng.ints(draw, n);
    for (let r = 0; r < hits.length; r++) {
      const hit = hits[r];
      let sum = 0;
      for (let i = 0; i < n; i++) sum += hit[draw[i]];
      values[r][s] = sum / n;
    }
  }
  return values.map((v) => {
    v.sort();
    const at = (q: number) => v[Math.min(samples - 1, Math.max(0, Math.round(q * (samples - 1))))];
    return [at((1 - level) / 2), at((1 + level) / 2)];
  });
}

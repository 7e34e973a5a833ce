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
  // the draws of many resamples at once (in resample order: the same stream): few, long loops, which V8
  // optimises within the first call where short ones ran unoptimised for the first few calls
  const perBlock = Math.max(1, Math.min(samples, Math.floor(DRAWS_PER_BLOCK / n)));
  const draws = new Int32Array(perBlock * n);
  for (let first = 0; first < samples; first += perBlock) {
    const count = Math.min(perBlock, samples - first);
    const block = rng.ints(draws.subarray(0, count * n), n);
    for (let r = 0; r < hits.length; r++) sumResamples(hits[r], block, n, values[r], first);
  }
  return values.map((v) => {
    v.sort();
    const at = (q: number) => v[Math.min(samples - 1, Math.max(0, Math.round(q * (samples - 1))))];
    return [at((1 - level) / 2), at((1 + level) / 2)];
  });
}

// Draws held at once: 1 MB of indices.
const DRAWS_PER_BLOCK = 2 ** 18;

/** values[first + s] = the mean of hit over resample s's n drawn queries, for each resample in `draws`. */
function sumResamples(
  hit: Float64Array,
  draws: Int32Array,
  n: number,
  values: Float64Array,
  first: number,
): void {
  for (let s = 0, at = 0; at < draws.length; s++) {
    let sum = 0;
    for (const end = at + n; at < end; at++) sum += hit[draws[at]];
    values[first + s] = sum / n;
  }
}

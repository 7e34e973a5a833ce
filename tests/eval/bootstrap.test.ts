import { describe, expect, it } from "vitest";
import { createRng } from "../../src/core/rng.js";
import { bootstrapRecalls } from "../../src/eval/bootstrap.js";
import { hitProbability, type QueryRanks } from "../../src/eval/retrieval.js";

/** Ranks of n queries with ties: higher in 0…4, tied in 0…1, one match each. */
function ranks(n: number, step: number): QueryRanks {
  return {
    higher: Int32Array.from({ length: n }, (_, i) => (i * step) % 5),
    tied: Int32Array.from({ length: n }, (_, i) => i % 2),
    matches: new Int32Array(n).fill(1),
  };
}

describe("bootstrapRecalls", () => {
  it("is the percentile bootstrap of one resample at a time, to the bit, across blocks of draws", () => {
    // 1,000 queries × 600 resamples: the draws come in three blocks of 262 resamples
    const [n, samples, seed, k] = [1000, 600, 7, 2];
    const rankings = [ranks(n, 3), ranks(n, 7)];
    const rng = createRng(seed);
    const hits = rankings.map((r) => Float64Array.from({ length: n }, (_, i) => hitProbability(r, i, k)));
    const values = rankings.map(() => new Float64Array(samples));
    for (let s = 0; s < samples; s++) {
      const draw = Array.from({ length: n }, () => rng.int(n));
      hits.forEach((hit, r) => {
        let sum = 0;
        for (const i of draw) sum += hit[i];
        values[r][s] = sum / n;
      });
    }
    const want = values.map((v) => {
      v.sort();
      return [v[Math.round(0.025 * (samples - 1))], v[Math.round(0.975 * (samples - 1))]];
    });
    expect(bootstrapRecalls(rankings, k, { samples, seed })).toEqual(want);
  });

  it("rejects rankings of different lengths and too few resamples", () => {
    expect(() => bootstrapRecalls([ranks(5, 1), ranks(6, 1)], 1)).toThrow(/rankings of the same 5 queries/);
    expect(() => bootstrapRecalls([ranks(5, 1)], 1, { samples: 3 })).toThrow(/an integer ≥ 10/);
  });
});

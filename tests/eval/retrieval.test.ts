import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { matrix, normalizeRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { recallSummary, retrievalRanks } from "../../src/eval/retrieval.js";
import { initBackends } from "../../src/node.js";
import { fixture, fromFixture } from "../helpers.js";

const metrics = fixture("metrics");
beforeAll(() => initBackends());

describe("retrievalRanks", () => {
  it("matches numpy's ranks; an exact tie does not count against the true match", async () => {
    const a = normalizeRows(fromFixture(metrics.a));
    const b = normalizeRows(fromFixture(metrics.b));
    const r = await retrievalRanks(a, b, { backend: "js" });
    expect(Array.from(r.aToB)).toEqual(metrics.ranks.aToB);
    expect(Array.from(r.bToA)).toEqual(metrics.ranks.bToA);
  });

  it("blocked equals unblocked exactly, on both backends, for several block sizes (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 60 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 4000 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom("js", "ort"),
        async (n, d, maxBlockElements, seed, backend) => {
          const rng = createRng(seed);
          // a few distinct values, so exact ties are common, or Gaussian for near-ties
          const coarse = rng.int(2) === 0;
          const pick = () =>
            normalizeRows(
              matrix(
                n,
                d,
                Float32Array.from({ length: n * d }, () => (coarse ? rng.int(3) - 0.5 : rng.normal())),
              ),
            );
          const a = pick();
          const b = pick();
          const blocked = await retrievalRanks(a, b, { backend, maxBlockElements });
          // unblocked reference: every score at once, in float64
          const score = (i: number, j: number) => {
            let s = 0;
            for (let p = 0; p < d; p++) s += a.data[i * d + p] * b.data[j * d + p];
            return s;
          };
          const rank = (i: number, s: (j: number) => number) => {
            let higher = 0;
            for (let j = 0; j < n; j++) if (j !== i && s(j) > s(i)) higher++;
            return higher;
          };
          expect(Array.from(blocked.aToB)).toEqual(
            Array.from({ length: n }, (_, i) => rank(i, (j) => score(i, j))),
          );
          expect(Array.from(blocked.bToA)).toEqual(
            Array.from({ length: n }, (_, i) => rank(i, (j) => score(j, i))),
          );
        },
      ),
      { numRuns: 80 },
    );
  });

  it("summarises ranks as recall and 1-based mean rank", () => {
    expect(recallSummary(Int32Array.from([0, 0, 4, 5, 9, 10, 30]))).toEqual({
      r1: 2 / 7,
      r5: 3 / 7,
      r10: 5 / 7,
      meanRank: (1 + 1 + 5 + 6 + 10 + 11 + 31) / 7,
    });
    expect(() => recallSummary(new Int32Array())).toThrow(/at least one rank/);
  });
});

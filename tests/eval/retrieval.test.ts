import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { matrix, normalizeRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import {
  emptyQueryRanks,
  groupIds,
  type QueryRanks,
  recallSummary,
  retrievalRanks,
} from "../../src/eval/retrieval.js";
import { initBackends } from "../../src/node.js";
import { expectClose, fixture, fromFixture } from "../helpers.js";

const plain = (r: QueryRanks) => ({
  higher: Array.from(r.higher),
  tied: Array.from(r.tied),
  matches: Array.from(r.matches),
});
const summaryValues = (s: { r1: number; r5: number; r10: number; meanRank: number }) => [
  s.r1,
  s.r5,
  s.r10,
  s.meanRank,
];

const metrics = fixture("metrics");
const grouped = fixture("grouped");
beforeAll(() => initBackends());

describe("retrievalRanks", () => {
  it("matches numpy's ranks and expected recall: exact ties are kept apart, broken at random in expectation", async () => {
    const a = normalizeRows(fromFixture(metrics.a));
    const b = normalizeRows(fromFixture(metrics.b));
    const r = await retrievalRanks(a, b, { backend: "js" });
    expect(plain(r.aToB)).toEqual(metrics.ranks.aToB);
    expect(plain(r.bToA)).toEqual(metrics.ranks.bToA);
    expect(Math.max(...r.bToA.tied)).toBeGreaterThan(0); // the fixture has ties
    for (const dir of ["aToB", "bToA"] as const)
      expectClose(summaryValues(recallSummary(r[dir])), summaryValues(metrics.retrieval[dir]), 1e-12);
  });

  it("with groups, counts any item of the query's group as a hit (numpy's multi-positive ranks)", async () => {
    const a = normalizeRows(fromFixture(metrics.a));
    const b = normalizeRows(fromFixture(metrics.b));
    for (const backend of ["js", "ort"]) {
      const r = await retrievalRanks(a, b, { backend, groups: Int32Array.from(grouped.groups) });
      expect(plain(r.aToB)).toEqual(grouped.ranks.aToB);
      expect(plain(r.bToA)).toEqual(grouped.ranks.bToA);
      for (const dir of ["aToB", "bToA"] as const)
        expectClose(summaryValues(recallSummary(r[dir])), summaryValues(grouped.retrieval[dir]), 1e-12);
    }
  });

  it("groupIds gives equal ids to equal values, numbers or strings", () => {
    expect(Array.from(groupIds(["x", "y", "x", "z", "y"]))).toEqual([0, 1, 0, 2, 1]);
    expect(Array.from(groupIds([7, 7, 3]))).toEqual([0, 0, 1]);
  });

  it("blocked equals unblocked exactly, on both backends, for several block sizes (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 60 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 4000 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom("js", "ort"),
        fc.boolean(),
        async (n, d, maxBlockElements, seed, backend, withGroups) => {
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
          const groups = withGroups
            ? Int32Array.from({ length: n }, () => rng.int(Math.ceil(n / 3)))
            : undefined;
          const blocked = await retrievalRanks(a, b, { backend, maxBlockElements, groups });
          // unblocked reference: every score at once, in float64
          const score = (i: number, j: number) => {
            let s = 0;
            for (let p = 0; p < d; p++) s += a.data[i * d + p] * b.data[j * d + p];
            return s;
          };
          // with groups, a gallery row that repeats an earlier row of its group is no candidate
          const repeats = (m: typeof a, j: number) =>
            groups !== undefined &&
            Array.from({ length: j }, (_, e) => e).some(
              (e) =>
                groups[e] === groups[j] &&
                m.data.subarray(e * d, (e + 1) * d).every((v, p) => Object.is(v, m.data[j * d + p])),
            );
          const ranks = (s: (i: number, j: number) => number, gallery: typeof a) => {
            const out = emptyQueryRanks(n);
            for (let i = 0; i < n; i++) {
              const match = (j: number) => (groups ? groups[j] === groups[i] : j === i);
              let best = Number.NEGATIVE_INFINITY;
              for (let j = 0; j < n; j++) if (match(j)) best = Math.max(best, s(i, j));
              for (let j = 0; j < n; j++) {
                if (repeats(gallery, j)) continue;
                if (s(i, j) > best) out.higher[i]++;
                else if (s(i, j) === best) (match(j) ? out.matches : out.tied)[i]++;
              }
            }
            return plain(out);
          };
          expect(plain(blocked.aToB)).toEqual(ranks(score, b));
          expect(plain(blocked.bToA)).toEqual(ranks((i, j) => score(j, i), a));
        },
      ),
      { numRuns: 80 },
    );
  });

  it("with normalize, ranks the rows as they are by their float64 cosines, without a normalised copy (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 2, max: 30 }), // one dimension: every cosine ±1, its ties decided by rounding alone
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom("js", "ort"),
        fc.boolean(),
        async (n, d, seed, backend, coarse) => {
          const rng = createRng(seed);
          // each row at its own scale, including ones far outside the unit norm (2^±60: normalised first)
          const scales = [1, 2, 0.5, 3.7, 1e-3, 1e4, 2 ** 60, 2 ** -60];
          const pick = () => {
            const m = matrix(
              n,
              d,
              Float32Array.from({ length: n * d }, () => (coarse ? rng.int(3) - 0.5 : rng.normal())),
            );
            for (let i = 0; i < n; i++) {
              const scale = scales[rng.int(scales.length)];
              for (let p = 0; p < d; p++) m.data[i * d + p] *= scale;
            }
            return m;
          };
          const [a, b] = [pick(), pick()];
          const inverse = (m: typeof a, i: number) => {
            let s = 0;
            for (let p = 0; p < d; p++) s += m.data[i * d + p] * m.data[i * d + p];
            return 1 / Math.sqrt(s);
          };
          const cosine = (i: number, j: number) => {
            let s = 0;
            for (let p = 0; p < d; p++) s += a.data[i * d + p] * b.data[j * d + p];
            return s * inverse(a, i) * inverse(b, j);
          };
          const ranks = (s: (i: number, j: number) => number) => {
            const out = emptyQueryRanks(n);
            for (let i = 0; i < n; i++)
              for (let j = 0; j < n; j++) {
                if (s(i, j) > s(i, i)) out.higher[i]++;
                else if (s(i, j) === s(i, i)) (j === i ? out.matches : out.tied)[i]++;
              }
            return plain(out);
          };
          // exact ties (coarse values) and near-ties are decided in float64 on the rows as given, also where
          // rows at 2^±60 are multiplied as normalised copies
          const ours = await retrievalRanks(a, b, { backend, normalize: true, maxBlockElements: 64 });
          expect(plain(ours.aToB)).toEqual(ranks(cosine));
          expect(plain(ours.bToA)).toEqual(ranks((i, j) => cosine(j, i)));
        },
      ),
      { numRuns: 80 },
    );
  });

  it("summarises ranks as recall and 1-based mean rank", () => {
    const untied = emptyQueryRanks(7);
    untied.higher.set([0, 0, 4, 5, 9, 10, 30]);
    untied.matches.fill(1);
    expect(recallSummary(untied)).toEqual({
      r1: 2 / 7,
      r5: 3 / 7,
      r10: 5 / 7,
      meanRank: (1 + 1 + 5 + 6 + 10 + 11 + 31) / 7,
    });
    expect(() => recallSummary(emptyQueryRanks(0))).toThrow(/at least one rank/);
  });

  it("a tie is broken at random in expectation: identical gallery items neither help nor hurt", () => {
    // one match tied with 3 non-matches after 2 above: rank 3–6 uniformly; two matches tied with 2 others
    const r: QueryRanks = {
      higher: Int32Array.from([2, 0]),
      tied: Int32Array.from([3, 2]),
      matches: Int32Array.from([1, 2]),
    };
    const s = recallSummary(r);
    expect(s.r1).toBeCloseTo((0 + (1 - 2 / 4)) / 2, 14); // query 1: C(2,1)/C(4,1) to miss at 1
    expect(s.r5).toBeCloseTo((3 / 4 + 1) / 2, 14);
    expect(s.meanRank).toBeCloseTo((2 + 3 / 2 + 1 + (0 + 2 / 3 + 1)) / 2, 14);
  });
});

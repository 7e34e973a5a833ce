import { beforeAll, describe, expect, it } from "vitest";
import { evaluateHeldOut } from "../../src/align/evaluate.js";
import { sliceRows } from "../../src/core/matrix.js";
import { recallSummary, retrievalRanks } from "../../src/eval/retrieval.js";
import { measure } from "../../src/gap/measure.js";
import { initBackends } from "../../src/node.js";
import { evaluateScoring } from "../../src/score/evaluate.js";
import { fixture, fromFixture } from "../helpers.js";

const metrics = fixture("metrics");
const grouped = fixture("grouped");
const groups = Int32Array.from(grouped.groups);
beforeAll(() => initBackends());

describe("groups in the evaluations", () => {
  const [a, b] = [fromFixture(metrics.a), fromFixture(metrics.b)];

  it("measure: numpy's multi-positive retrieval, and groups: true", async () => {
    const r = await measure(a, b, { groups });
    expect(r.groups).toBe(true);
    expect(r.retrieval.aToB.r5).toBeCloseTo(grouped.retrieval.aToB.r5, 12);
    expect(r.retrieval.bToA.meanRank).toBeCloseTo(grouped.retrieval.bToA.meanRank, 12);
    expect((await measure(a, b)).groups).toBeUndefined();
  });

  it("align eval measures its held-out pairs with their groups (split at round(fit·n): 30 of 60 at 0.5)", async () => {
    const r = await evaluateHeldOut(a, b, { methods: ["center"], groups, bootstrap: { samples: 10 } });
    expect(r.groups).toBe(true);
    expect(r.fitRows).toBe(30);
    const held = await measure(sliceRows(a, 30, 60), sliceRows(b, 30, 60), { groups: groups.subarray(30) });
    expect(r.baseline.retrieval.aToB.r1).toBe(held.retrieval.aToB.r1);
    expect(r.baseline.retrieval.bToA.meanRank).toBe(held.retrieval.bToA.meanRank);
  });

  it("score eval: the raw cosine's retrieval with groups is the cosine retrieval's with groups", async () => {
    const r = await evaluateScoring(a, b, { methods: ["raw"], groups, fit: 0.5 });
    expect(r.groups).toBe(true);
    const [ea, eb] = [sliceRows(a, 30, 60), sliceRows(b, 30, 60)];
    const ranks = await retrievalRanks(ea, eb, { groups: groups.slice(30), normalize: true });
    expect(r.methods.raw?.aToB.r5).toBeCloseTo(recallSummary(ranks.aToB).r5, 12);
    expect(r.methods.raw?.bToA.meanRank).toBeCloseTo(recallSummary(ranks.bToA).meanRank, 12);
    const plain = await evaluateScoring(a, b, { methods: ["raw"], fit: 0.5 });
    expect(plain.methods.raw?.aToB.meanRank).not.toBeCloseTo(r.methods.raw!.aToB.meanRank, 6);
  });

  it("score eval and align eval split by one rule: 30 of 59 pairs to fit at 0.5 (round, halves up)", async () => {
    const [a99, b99] = [sliceRows(a, 0, 59), sliceRows(b, 0, 59)];
    const [scored, aligned] = [
      await evaluateScoring(a99, b99, { methods: ["raw"], fit: 0.5 }),
      await evaluateHeldOut(a99, b99, { methods: ["center"], bootstrap: { samples: 10 } }),
    ];
    expect([scored.fitRows, aligned.fitRows]).toEqual([30, 30]);
  });
});

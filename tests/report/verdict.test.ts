import { describe, expect, it } from "vitest";
import type { HeldOutResult } from "../../src/align/evaluate.js";
import type { MeasureResult } from "../../src/gap/measure.js";
import { alignVerdict, scoreVerdict } from "../../src/report/verdict.js";
import type { MethodEvaluation, ScoreEvaluation } from "../../src/score/evaluate.js";

const NAMES = { a: "images", b: "captions" };

/** The fields of a measure result a verdict reads: dimension and R@1 a→b with its CI. */
function measured(r1: number, ci: [number, number], dim = 64): MeasureResult {
  const recall = { r1, r5: r1, r10: r1, meanRank: 1 };
  return {
    dim,
    retrieval: { aToB: { ...recall, r1CI: ci }, bToA: recall },
  } as unknown as MeasureResult;
}

function heldOut(
  fitRows: number,
  dim: number,
  methods: Record<string, [number, [number, number]]>,
): HeldOutResult {
  return {
    fitRows,
    evalRows: 400,
    baseline: measured(0.3, [0.25, 0.35], dim),
    methods: Object.fromEntries(Object.entries(methods).map(([k, [r1, ci]]) => [k, measured(r1, ci, dim)])),
    notes: [],
    augmentations: [],
  };
}

describe("the alignment verdict", () => {
  it("names the best method and says its CI clears the baseline's", () => {
    const r = heldOut(1600, 64, { center: [0.33, [0.28, 0.38]], realign: [0.5, [0.45, 0.55]] });
    expect(alignVerdict(r, NAMES)).toBe(
      "Verdict: on the 400 held-out pairs realign has the best images→captions R@1, 0.500 (95% CI 0.450–0.550) against 0.300 for the untouched embeddings (95% CI 0.250–0.350); the intervals do not overlap: the CI separates realign from the untouched embeddings.",
    );
  });

  it("says when the CI does not separate the best method from the baseline", () => {
    const r = heldOut(1600, 64, { center: [0.33, [0.28, 0.38]], shift: [0.2, [0.15, 0.25]] });
    const verdict = alignVerdict(r, NAMES);
    expect(verdict).toContain("center has the best images→captions R@1, 0.330");
    expect(verdict).toMatch(/the CI does not separate center from the untouched embeddings\.$/);
  });

  it("says the fit set is smaller than the dimension, and which rank-limited maps overfit", () => {
    const r = heldOut(250, 512, {
      center: [0.3, [0.25, 0.35]],
      procrustes: [0.22, [0.17, 0.28]],
      ridge: [0.31, [0.25, 0.37]],
      coral: [0.13, [0.09, 0.17]],
    });
    const verdict = alignVerdict(r, NAMES);
    expect(verdict).toMatch(/^Verdict: on the 400 held-out pairs ridge has the best images→captions R@1/);
    expect(verdict).toContain("the CI does not separate ridge from the untouched embeddings");
    expect(verdict).toMatch(
      /; the fit set \(250 pairs\) is smaller than the dimension \(512\), so procrustes and coral overfit: held-out R@1 below the baseline's\.$/,
    );
    expect(verdict.match(/\. /g)).toBeNull(); // one sentence
  });

  it("names the underdetermined maps when none of them falls below the baseline", () => {
    const r = heldOut(250, 512, { center: [0.3, [0.25, 0.35]], procrustes: [0.32, [0.27, 0.37]] });
    expect(alignVerdict(r, NAMES)).toMatch(
      /; the fit set \(250 pairs\) is smaller than the dimension \(512\), which leaves procrustes underdetermined\.$/,
    );
  });

  it("says nothing beats the untouched embeddings when nothing does", () => {
    const r = heldOut(1600, 64, { center: [0.28, [0.23, 0.33]] });
    expect(alignVerdict(r, NAMES)).toBe(
      "Verdict: on the 400 held-out pairs nothing beats the untouched embeddings (images→captions R@1 0.300, 95% CI 0.250–0.350); the best method, center, reaches 0.280.",
    );
  });
});

describe("the scoring verdict", () => {
  const method = (r1: number, r1CI: [number, number]) =>
    ({ aToB: { r1, r5: r1, r10: r1, meanRank: 1, r1CI } }) as MethodEvaluation;
  const scored = (dualSoftmaxCI: [number, number]): ScoreEvaluation => ({
    fitRows: 250,
    evalRows: 250,
    calibration: "isotonic",
    methods: {
      raw: method(0.66, [0.6, 0.72]),
      csls: method(0.68, [0.62, 0.74]),
      "dual-softmax": method(0.7, dualSoftmaxCI),
    },
    best: { method: "dual-softmax", r1: 0.7, ece: 0.0004 },
  });

  it("overlapping intervals: not separated from raw cosine", () => {
    expect(scoreVerdict(scored([0.64, 0.76]), NAMES)).toBe(
      "Verdict: on the 250 held-out pairs dual-softmax has the best images→captions R@1, 0.700 (95% CI 0.640–0.760) against 0.660 for raw cosine (95% CI 0.600–0.720); the intervals overlap, so the CI does not separate dual-softmax from raw cosine.",
    );
  });

  it("disjoint intervals: separated", () => {
    expect(scoreVerdict(scored([0.73, 0.77]), NAMES)).toMatch(
      /the intervals do not overlap: the CI separates dual-softmax from raw cosine\.$/,
    );
  });

  it("raw cosine best: nothing beats it", () => {
    const r = { ...scored([0.64, 0.76]), best: { method: "raw" as const, r1: 0.72, ece: 0 } };
    r.methods = { ...r.methods, raw: method(0.72, [0.66, 0.78]) };
    expect(scoreVerdict(r, NAMES)).toBe(
      "Verdict: on the 250 held-out pairs nothing beats raw cosine (images→captions R@1 0.720, 95% CI 0.660–0.780); the best method, dual-softmax, reaches 0.700.",
    );
  });
});

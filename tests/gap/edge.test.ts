/** Numerical edge cases against float64 numpy references (scripts/make_fixtures.py, "edge"). */
import { beforeAll, describe, expect, it, vi } from "vitest";
import { getBackend } from "../../src/core/gemm/index.js";
import { matrix, normalizeRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { measure } from "../../src/gap/measure.js";
import { uniformity } from "../../src/gap/metrics.js";
import { clipLoss, clipLossOnBackend } from "../../src/losses/clip.js";
import { initBackends } from "../../src/node.js";
import { expectClose, expectFields, fixture, fromFixture } from "../helpers.js";

const edge = fixture("edge");

beforeAll(() => initBackends());

describe("numerical edge cases", () => {
  it("CLIP at temperature 1e-3 (logit scale 1000): exact in float64, close with float32 products", async () => {
    const { a, b, scale, value, gradA, gradB } = edge.clip;
    const options = { logScale: Math.log(scale), maxScale: Number.POSITIVE_INFINITY };
    const exact = clipLoss(fromFixture(a), fromFixture(b), options);
    expect(Math.abs(exact.value - value) / value).toBeLessThan(1e-12);
    expectClose(exact.gradA.data, gradA.data, 1e-6); // gradients are stored in float32
    expectClose(exact.gradB.data, gradB.data, 1e-6);
    // the logits' float32 rounding (~6e-8 × 1000) shifts the loss by ~1e-4 at this temperature
    const fast = await clipLossOnBackend(fromFixture(a), fromFixture(b), options);
    expect(Math.abs(fast.value - value) / value).toBeLessThan(1e-3);
    expect(Number.isFinite(fast.value) && fast.gradA.data.every(Number.isFinite)).toBe(true);
  });

  it.each([
    ["1e6-scale rows before normalisation", "scaled"],
    ["near-identical rows (ties decided in float64)", "near"],
    ["d = 4,096", "wide"],
    ["N = 2", "two"],
  ])(
    "measure on %s matches numpy",
    // d = 4,096: three 4,096² eigenvalue problems for the spectrum take ≈ 35 s alone, more on a loaded machine
    { timeout: 180_000 },
    async (_, name) => {
      const { a, b, measure: reference } = edge[name];
      const result = await measure(fromFixture(a), fromFixture(b));
      expectFields(result, reference, 1e-6);
    },
  );
});

it("uniformity stays in [−4t, 0] where rounding puts a cosine of raw rows outside [−1, 1]", async () => {
  // two antipodal rows at odd scales: their float32 product times the inverse norms rounds past −1
  const rows = matrix(2, 1, Float32Array.of(0.9267309, -1.8330712));
  for (const backend of [getBackend("ort"), "js"])
    expect(await uniformity(rows, { backend, normalize: true, maxBlockElements: 1 })).toBe(-8);
});

it("uniformity's exponentials computed in onnxruntime's graph (float32 exp, float64 sums) match JS's", async () => {
  // 3,000 rows: 9 million scores, past the size from which the graph runs
  const u = normalizeRows(createRng(21).normalMatrix(3000, 8));
  const ort = getBackend("ort");
  const run = vi.spyOn(ort, "runGraph");
  const [graph, js] = [await uniformity(u, { backend: ort }), await uniformity(u, { backend: "js" })];
  expect(run.mock.calls.every((call) => call[0] === "exp_scores") && run.mock.calls.length > 0).toBe(true);
  run.mockRestore();
  expect(Math.abs(graph - js) / Math.abs(js)).toBeLessThan(1e-7);
  // rows at their own scales, normalised on the fly (no copy), on both paths; 2^70 rows take a normalised copy
  for (const scale of [3.7, 2 ** 70]) {
    const scaled = matrix(
      u.rows,
      u.cols,
      u.data.map((v, k) => v * (Math.floor(k / u.cols) % 2 ? scale : 1)),
    );
    for (const backend of [ort, "js"]) {
      const onTheFly = await uniformity(scaled, { backend, normalize: true });
      expect(Math.abs(onTheFly - js) / Math.abs(js)).toBeLessThan(1e-6);
    }
  }
});

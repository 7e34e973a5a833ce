import fc from "fast-check";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { getBackend } from "../../src/core/gemm/index.js";
import { matrix, normalizeRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { clipLoss, clipLossOnBackend } from "../../src/losses/clip.js";
import { siglipLoss, siglipLossOnBackend } from "../../src/losses/siglip.js";
import { initBackends } from "../../src/node.js";
import { expectClose } from "../helpers.js";
import { expectGradient, gridMatrix, numericDerivative } from "./finite-diff.js";

beforeAll(() => initBackends());

describe("clipLoss", () => {
  it("clipLossOnBackend (float32 products) agrees with the exact float64 clipLoss", async () => {
    const rng = createRng(12);
    const [a, b] = [normalizeRows(rng.normalMatrix(40, 16)), normalizeRows(rng.normalMatrix(40, 16))];
    const exact = clipLoss(a, b, { direction: "aToB" });
    for (const backend of ["js", "ort"]) {
      const fast = await clipLossOnBackend(a, b, { direction: "aToB", backend });
      expect(fast.value).toBeCloseTo(exact.value, 5);
      expectClose(fast.gradA.data, exact.gradA.data, 1e-5);
      expectClose(fast.gradB.data, exact.gradB.data, 1e-5);
      expect(fast.gradLogScale).toBeCloseTo(exact.gradLogScale, 5);
    }
  });

  it("clipLossOnBackend's one-graph loss (ort, both directions) agrees with the exact float64 clipLoss", async () => {
    const rng = createRng(13);
    const [a, b] = [normalizeRows(rng.normalMatrix(64, 24)), normalizeRows(rng.normalMatrix(64, 24))];
    for (const logScale of [0, Math.log(1 / 0.07), Math.log(100)]) {
      const exact = clipLoss(a, b, { logScale });
      for (const backend of ["js", "ort"]) {
        const fast = await clipLossOnBackend(a, b, { logScale, backend });
        // float32 throughout: relative to the larger of 1 and the value
        expectClose([fast.value, fast.gradLogScale], [exact.value, exact.gradLogScale], 1e-6);
        expectClose(fast.gradA.data, exact.gradA.data, 1e-5);
        expectClose(fast.gradB.data, exact.gradB.data, 1e-5);
      }
    }
  });

  for (const direction of ["both", "aToB", "bToA"] as const) {
    it(`${direction}: gradients match central finite differences`, () => {
      const a = gridMatrix(6, 5, 1);
      const b = gridMatrix(6, 5, 2);
      const options = { direction, logScale: Math.log(4) };
      const r = clipLoss(a, b, options);
      expectGradient((m) => clipLoss(m, b, options).value, a, r.gradA.data);
      expectGradient((m) => clipLoss(a, m, options).value, b, r.gradB.data);
      expect(r.gradLogScale).toBeCloseTo(
        numericDerivative((t) => clipLoss(a, b, { direction, logScale: t }).value, Math.log(4)),
        7,
      );
    });
  }

  it("soft targets: gradients match finite differences", () => {
    const n = 5;
    const rng = createRng(4);
    const targets = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) {
        targets[i * n + j] = rng.uniform();
        s += targets[i * n + j];
      }
      for (let j = 0; j < n; j++) targets[i * n + j] /= s;
    }
    const a = gridMatrix(n, 4, 5);
    const b = gridMatrix(n, 4, 6);
    const r = clipLoss(a, b, { targets });
    expectGradient((m) => clipLoss(m, b, { targets }).value, a, r.gradA.data);
    expectGradient((m) => clipLoss(a, m, { targets }).value, b, r.gradB.data);
  });

  it("is stable at τ = 0.001 and at huge logits: no inf or NaN; a maxScale clamp has no gradient for t", () => {
    const a = gridMatrix(8, 4, 7);
    const r = clipLoss(a, gridMatrix(8, 4, 8), { logScale: Math.log(1000) });
    expect(Number.isFinite(r.value)).toBe(true);
    expect(Number.isFinite(r.gradLogScale)).toBe(true);
    for (const v of [...r.gradA.data, ...r.gradB.data]) expect(Number.isFinite(v)).toBe(true);
    expect(clipLoss(a, gridMatrix(8, 4, 8), { logScale: Math.log(1000), maxScale: 100 }).gradLogScale).toBe(
      0,
    );
  });

  it("uses s = eᵗ unclamped, as open_clip's ClipLoss: value and ∂/∂t at t = ln 200", () => {
    // a = I₂, b = [[.6, .8], [.8, .6]]: logits 200·[[.6, .8], [.8, .6]], each row and column off by 40
    const a = matrix(2, 2, Float32Array.from([1, 0, 0, 1]));
    const b = matrix(2, 2, Float32Array.from([0.6, 0.8, 0.8, 0.6]));
    const r = clipLoss(a, b, { logScale: Math.log(200) });
    expect(r.value).toBeCloseTo(40, 4);
    expect(r.gradLogScale).toBeCloseTo(40, 4);
    expect(r.gradLogScale).toBeCloseTo(
      numericDerivative((t) => clipLoss(a, b, { logScale: t }).value, Math.log(200)),
      6,
    );
  });

  it("is invariant to permuting the batch consistently, and non-negative (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 6 }), fc.nat(), (n, d, seed) => {
        const rng = createRng(seed);
        const a = rng.normalMatrix(n, d);
        const b = rng.normalMatrix(n, d);
        const order = rng.permutation(n);
        const permute = (m: typeof a) => {
          const out = matrix(n, d);
          for (const [to, from] of order.entries())
            out.data.set(m.data.subarray(from * d, (from + 1) * d), to * d);
          return out;
        };
        const base = clipLoss(a, b).value;
        expect(base).toBeGreaterThanOrEqual(0);
        expect(clipLoss(permute(a), permute(b)).value).toBeCloseTo(base, 10);
      }),
    );
  });
});

describe("siglipLossOnBackend", () => {
  it("one graph on ort (float32), the float64 siglipLoss elsewhere, agree with siglipLoss", async () => {
    const rng = createRng(14);
    const [a, b] = [normalizeRows(rng.normalMatrix(48, 20)), normalizeRows(rng.normalMatrix(48, 20))];
    for (const options of [{}, { logScale: 0, bias: 0 }, { logScale: Math.log(30), bias: -3 }]) {
      const exact = siglipLoss(a, b, options);
      for (const backend of ["js", "ort"]) {
        const fast = await siglipLossOnBackend(a, b, { ...options, backend });
        expectClose(
          [fast.value, fast.gradLogScale, fast.gradBias],
          [exact.value, exact.gradLogScale, exact.gradBias],
          1e-6,
        );
        expectClose(fast.gradA.data, exact.gradA.data, 1e-5);
        expectClose(fast.gradB.data, exact.gradB.data, 1e-5);
      }
    }
  });
});

it("on ort the CLIP and SigLIP losses run as one graph each", async () => {
  const ort = getBackend("ort");
  const run = vi.spyOn(ort, "runGraph");
  const rng = createRng(15);
  const [a, b] = [normalizeRows(rng.normalMatrix(8, 4)), normalizeRows(rng.normalMatrix(8, 4))];
  await clipLossOnBackend(a, b, { backend: ort });
  await siglipLossOnBackend(a, b, { backend: ort });
  expect(run.mock.calls.map((call) => call[0])).toEqual(["clip_loss", "siglip_loss"]);
  for (const result of run.mock.results) expect(await result.value).toBeDefined();
  run.mockRestore();
});

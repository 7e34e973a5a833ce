import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { classDiscrepancy, gaussianOf, gaussianW2 } from "../../src/gap/discrepancy.js";
import { expectClose, fixture, fromFixture } from "../helpers.js";

const ref = fixture("transfer");

describe("gaussianW2", () => {
  it("splits W₂² into ‖μa − μb‖² and the Bures term as numpy does (float64)", async () => {
    const { a, b, w2 } = ref.gaussianW2;
    const got = await gaussianW2(gaussianOf(fromFixture(a)), gaussianOf(fromFixture(b)));
    expectClose([got.bias, got.shape, got.total], [w2.bias, w2.shape, w2.total], 1e-10);
  });

  it("is 0 for a Gaussian and itself, and only the mean's shift for a translated copy", () =>
    fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 2, max: 6 }), async (seed, d) => {
        const rng = createRng(seed);
        const rows = matrix(
          3 * d,
          d,
          Float32Array.from({ length: 3 * d * d }, () => rng.normal()),
        );
        const shift = Array.from({ length: d }, () => rng.normal());
        const moved = matrix(
          rows.rows,
          d,
          rows.data.map((v, k) => v + shift[k % d]),
        );
        const [g, h] = [gaussianOf(rows), gaussianOf(moved)];
        const self = await gaussianW2(g, g);
        expect(self.total).toBeLessThan(1e-6 * (1 + g.covariance.reduce((s, v) => s + Math.abs(v), 0)));
        const translated = await gaussianW2(g, h);
        const expectedBias = g.mean.reduce((s, m, j) => s + (m - h.mean[j]) ** 2, 0);
        expect(translated.bias).toBeCloseTo(expectedBias, 10);
        expect(translated.shape).toBeLessThan(1e-5);
      }),
      { numRuns: 25 },
    ));
});

describe("classDiscrepancy", () => {
  it("matches each target class to a distinct source class by least total W₂² (numpy, brute force)", async () => {
    const r = ref.discrepancy;
    const got = await classDiscrepancy(
      fromFixture(r.target),
      Int32Array.from(r.targetLabels),
      fromFixture(r.source),
      Int32Array.from(r.sourceLabels),
    );
    expectClose(got.costs.flat(), r.costs.flat(), 1e-9);
    // the source's classes are permuted against the target's: the identity would be wrong
    expect(got.matching).toEqual(r.matching);
    expect(got.matching).not.toEqual([0, 1, 2]);
    expect(got.value).toBeCloseTo(r.value, 9);
  });

  it("refuses more target classes than source classes, and a class of fewer than two rows", async () => {
    const rows = matrix(
      6,
      2,
      Float32Array.from({ length: 12 }, (_, k) => Math.sin(k)),
    );
    const labels = Int32Array.from([0, 0, 1, 1, 2, 2]);
    await expect(classDiscrepancy(rows, labels, rows, Int32Array.from([0, 0, 0, 1, 1, 1]))).rejects.toThrow(
      /at most as many target classes as source classes \(2\); got 3/,
    );
    await expect(classDiscrepancy(rows, Int32Array.from([0, 0, 0, 0, 0, 1]), rows, labels)).rejects.toThrow(
      InputError,
    );
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { matmulSync } from "../../src/core/gemm/index.js";
import { covariance, svd, symmetricEigen } from "../../src/core/linalg.js";
import { matrix, transpose } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { expectClose, fixture, fromFixture } from "../helpers.js";

const core = fixture("core");

describe("linalg", () => {
  it("symmetricEigen matches numpy eigh (descending, pivot-positive vectors)", () => {
    const e = symmetricEigen(fromFixture(core.eigen.x));
    expectClose(e.values, core.eigen.values, 1e-6);
    expectClose(e.vectors.data, core.eigen.vectors.data, 1e-5);
  });

  it("svd matches numpy for tall and wide matrices", () => {
    for (const c of core.svd) {
      const s = svd(fromFixture(c.x));
      expectClose(s.values, c.values, 1e-6);
      expectClose(s.vectors.data, c.vectors.data, 1e-5);
      expectClose(s.left.data, c.left.data, 1e-5);
    }
  });

  it("covariance matches numpy.cov", async () => {
    const cov = await covariance(fromFixture(core.covariance.x), { backend: "js" });
    expectClose(cov.data, core.covariance.cov.data, 1e-5);
    await expect(covariance(matrix(1, 3))).rejects.toThrow(/at least 2 rows; got 1/);
  });

  it("rejects non-square and oversized input", () => {
    expect(() => symmetricEigen(matrix(2, 3))).toThrow(InputError);
    expect(() => symmetricEigen(matrix(2049, 2049))).toThrow(/at most 2048/);
  });

  it("eigenvectors are orthonormal and reconstruct the matrix (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1e6 }), (d, seed) => {
        const g = createRng(seed).normalMatrix(d + 3, d);
        const s = matmulSync(transpose(g), transpose(g), { transB: true });
        const { values, vectors } = symmetricEigen(s);
        const vtv = matmulSync(transpose(vectors), transpose(vectors), { transB: true });
        const identity = Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0));
        expectClose(vtv.data, identity, 1e-5);
        const scaled = matrix(
          d,
          d,
          vectors.data.map((v, i) => v * values[i % d]),
        );
        expectClose(matmulSync(scaled, vectors, { transB: true }).data, s.data, 1e-5);
        for (let i = 1; i < d; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
      }),
      { numRuns: 40 },
    );
  });
});

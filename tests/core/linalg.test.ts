import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { matmulSync } from "../../src/core/gemm/index.js";
import { covariance, svd, symmetricEigen, symmetricEigenvalues } from "../../src/core/linalg.js";
import { type Matrix, matrix, transpose } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { symmetricEigenvaluesOf } from "../../src/core/tridiagonal.js";
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

/** Gram matrix XᵀX (cols×cols, float32) of a rows×cols standard normal X, times `scale`. */
function gram(rows: number, cols: number, seed: number, scale = 1): Matrix {
  const x = createRng(seed).normalMatrix(rows, cols);
  const g = matmulSync(transpose(x), transpose(x), { transB: true });
  for (let i = 0; i < g.data.length; i++) g.data[i] *= scale;
  return g;
}

/** max |actual − expected| / max |expected| (0 for two empty or all-zero spectra). */
function spectrumError(actual: Float64Array, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  return scale === 0 ? worst : worst / scale;
}

function expectDescending(values: Float64Array): void {
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
}

describe("symmetricEigenvalues", () => {
  it("matches symmetricEigen on random SPD and rank-deficient Gram matrices", () => {
    for (const [rows, n] of [
      [40, 5],
      [50, 17],
      [30, 33],
      [200, 64],
      [300, 127],
      [60, 128],
      [500, 128],
    ]) {
      const g = gram(rows, n, rows * 1000 + n);
      const values = symmetricEigenvalues(g);
      expect(spectrumError(values, symmetricEigen(g).values)).toBeLessThanOrEqual(1e-12);
      expectDescending(values);
    }
  });

  it("matches symmetricEigen on indefinite matrices (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 1e6 }), (n, seed) => {
        const x = createRng(seed).normalMatrix(n, n);
        const s = matrix(n, n);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) s.data[i * n + j] = x.data[i * n + j] + x.data[j * n + i];
        const values = symmetricEigenvalues(s);
        expect(spectrumError(values, symmetricEigen(s).values)).toBeLessThanOrEqual(1e-12);
        expectDescending(values);
      }),
      { numRuns: 40 },
    );
  });

  it("handles empty, 1×1, zero and diagonal matrices exactly", () => {
    expect(symmetricEigenvalues(matrix(0, 0))).toEqual(new Float64Array(0));
    expect(symmetricEigenvalues(matrix(1, 1, Float32Array.of(-2.5)))).toEqual(Float64Array.of(-2.5));
    expect(symmetricEigenvalues(matrix(6, 6))).toEqual(new Float64Array(6));
    const diagonal = [3, -1, 0, 7, 7, 2.5, -4, 2 ** -20, 0.5]; // float32-exact
    const d = matrix(9, 9);
    diagonal.forEach((v, i) => {
      d.data[i * 9 + i] = v;
    });
    expect(symmetricEigenvalues(d)).toEqual(Float64Array.from(diagonal).sort().reverse());
  });

  it("finds repeated eigenvalues: a·I + b·J has a + n·b once and a n − 1 times", () => {
    for (const n of [2, 3, 8, 50]) {
      const m = matrix(n, n).data.map((_, k) => (k % (n + 1) === 0 ? 3 : 0) + 0.5);
      const expected = [3 + 0.5 * n, ...Array(n - 1).fill(3)];
      expect(spectrumError(symmetricEigenvalues(matrix(n, n, m)), expected)).toBeLessThanOrEqual(1e-14);
    }
  });

  it("solves tridiagonal and block-diagonal input (splits in the QL stage)", () => {
    // 1-D Laplacian: eigenvalues 2 − 2·cos(kπ/(n + 1))
    const n = 30;
    const laplacian = matrix(n, n);
    for (let i = 0; i < n; i++) {
      laplacian.data[i * n + i] = 2;
      if (i > 0) laplacian.data[i * n + i - 1] = laplacian.data[(i - 1) * n + i] = -1;
    }
    const expected = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((n - k) * Math.PI) / (n + 1)));
    expect(spectrumError(symmetricEigenvalues(laplacian), expected)).toBeLessThanOrEqual(1e-14);
    // two uncoupled blocks with a falling diagonal (the QL stage flips such a block before iterating)
    const b = matrix(12, 12);
    const g5 = gram(9, 5, 1);
    const g7 = gram(4, 7, 2);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) b.data[i * 12 + j] = g5.data[i * 5 + j];
    for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) b.data[(i + 5) * 12 + j + 5] = g7.data[i * 7 + j];
    for (let i = 0; i < 12; i++) b.data[i * 12 + i] += 40 - 3 * i;
    expect(spectrumError(symmetricEigenvalues(b), symmetricEigen(b).values)).toBeLessThanOrEqual(1e-12);
  });

  it("keeps its relative accuracy at huge, tiny and subnormal scales", () => {
    const g = gram(30, 20, 7);
    const reference = symmetricEigenvalues(g);
    // a power-of-two scale is exact in float32, so the spectrum scales exactly too
    for (const k of [90, -90]) {
      const scaled = matrix(
        20,
        20,
        g.data.map((v) => v * 2 ** k),
      );
      const expected = reference.map((v) => v * 2 ** k);
      expect(spectrumError(symmetricEigenvalues(scaled), expected)).toBeLessThanOrEqual(1e-13);
    }
    for (const scale of [1e30, 1e-30, 1e-40]) {
      const scaled = gram(30, 20, 7, scale);
      const values = symmetricEigenvalues(scaled);
      expect(values.every(Number.isFinite)).toBe(true);
      expect(spectrumError(values, symmetricEigen(scaled).values)).toBeLessThanOrEqual(1e-12);
    }
  });

  it("scales safely over the whole float64 range (internal float64 entry point)", () => {
    // beyond float32's range: entries up to 2^1020 and down to 2^-1000 take the rescaling paths
    const g = gram(30, 20, 9);
    const indefinite = Float64Array.from(g.data, (v, k) => (k % 21 === 0 ? v - 30 : v));
    const reference = symmetricEigenvaluesOf(indefinite, 20);
    const scaled = (k: number) =>
      symmetricEigenvaluesOf(
        indefinite.map((v) => v * 2 ** k),
        20,
      );
    for (const k of [-1000, -600, 600, 1000]) {
      expect(
        spectrumError(
          scaled(k),
          reference.map((v) => v * 2 ** k),
        ),
      ).toBeLessThanOrEqual(1e-14);
    }
    // subnormal entries keep only a few digits, but must not turn into NaN or Infinity
    const subnormal = scaled(-1060);
    expect(subnormal.every(Number.isFinite)).toBe(true);
    expect(
      spectrumError(
        subnormal,
        reference.map((v) => v * 2 ** -1060),
      ),
    ).toBeLessThanOrEqual(1e-4);
  });

  it("rejects non-square input", () => {
    expect(() => symmetricEigenvalues(matrix(2, 3))).toThrow(InputError);
  });
});

describe("symmetricEigenvalues input checks", () => {
  it("rejects non-finite entries instead of returning NaN eigenvalues", () => {
    const m = matrix(2, 2, Float32Array.from([1, Number.NaN, Number.NaN, 1]));
    expect(() => symmetricEigenvalues(m)).toThrow(
      /symmetricEigenvalues: expected finite values; got NaN at row 0, column 1/,
    );
  });
});

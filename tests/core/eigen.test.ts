import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mulAB, mulABt } from "../../src/core/dense64.js";
import { symmetricEigenSystem } from "../../src/core/eigen.js";
import { InputError } from "../../src/core/errors.js";
import { psdEigen, psdEigenOfRows, psdFunctionOf, solveSpd, symmetricEigen } from "../../src/core/linalg.js";
import { createRng } from "../../src/core/rng.js";
import { initBackends } from "../../src/node.js";
import { expectClose, fixture, fromFixture } from "../helpers.js";

const core = fixture("core");
const fx = fixture("eigen");
const inverseRoot = (l: number) => (l > 0 ? 1 / Math.sqrt(l) : 0);

/** Frobenius norm of a − b (b omitted: of a). */
function distance(a: ArrayLike<number>, b?: ArrayLike<number>): number {
  let ss = 0;
  for (let i = 0; i < a.length; i++) ss += (a[i] - (b ? b[i] : 0)) ** 2;
  return Math.sqrt(ss);
}

/** V·diag(values)·Vᵀ and VᵀV from the rows of `vectors` (Vᵀ). */
function reconstruct(values: Float64Array, vectors: Float64Array, n: number) {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) v[i * n + j] = vectors[j * n + i];
  const scaled = v.map((x, k) => x * values[k % n]);
  return { product: mulABt(scaled, n, v, n, n), gram: mulABt(vectors, n, vectors, n, n) };
}

function identity(n: number): Float64Array {
  return Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0));
}

/** Reconstruction and orthogonality within 1e-12·n (relative to ‖S‖), values descending, signs as stated. */
function expectDecomposition(s: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigenSystem(s, n);
  const { product, gram } = reconstruct(values, vectors, n);
  expect(distance(product, s)).toBeLessThanOrEqual(1e-12 * n * distance(s));
  expect(distance(gram, identity(n))).toBeLessThanOrEqual(1e-12 * n);
  for (let j = 1; j < n; j++) expect(values[j]).toBeLessThanOrEqual(values[j - 1]);
  for (let j = 0; j < n; j++) {
    const row = vectors.subarray(j * n, (j + 1) * n);
    const pivot = row.reduce((p, x) => (Math.abs(x) > Math.abs(p) ? x : p), 0);
    expect(pivot).toBeGreaterThan(0);
  }
  return values;
}

function randomSymmetric(n: number, seed: number, scale = 1): Float64Array {
  const rng = createRng(seed);
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) s[i * n + j] = s[j * n + i] = scale * rng.normal();
  return s;
}

describe("symmetricEigenSystem", () => {
  it("matches numpy eigh on the core fixture (values, pivot-positive vectors) to 1e-12", () => {
    const { x, values, vectors } = core.eigen;
    const e = symmetricEigenSystem(Float32Array.from(x.data), x.rows);
    expectClose(e.values, values, 1e-12);
    const columns = Float64Array.from(
      vectors.data,
      (_, k) => e.vectors[(k % x.rows) * x.rows + Math.floor(k / x.rows)],
    );
    expectClose(columns, vectors.data, 1e-12);
    // symmetricEigen returns the same, as float32 columns
    expectClose(symmetricEigen(fromFixture(x)).vectors.data, vectors.data, 1e-7);
  });

  it("reconstructs random symmetric matrices with orthonormal vectors, at any scale (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 0, max: 1e6 }),
        fc.integer({ min: -300, max: 300 }),
        (n, seed, exponent) => {
          expectDecomposition(randomSymmetric(n, seed, 2 ** exponent), n);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("handles repeated eigenvalues: numpy's values, and any basis of each eigenspace", () => {
    const { s, values } = fx.repeated;
    expectClose(expectDecomposition(Float64Array.from(s.data), s.rows), values, 1e-14);
    expectClose(
      expectDecomposition(
        Float64Array.from([1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 2]),
        5,
      ),
      [2, 2, 1, 1, 1],
      0,
    );
  });

  it("gives a covariance of fewer rows than dimensions its zero eigenvalues, to rounding", () => {
    const { s, values } = fx.rankDeficient;
    const got = expectDecomposition(Float64Array.from(s.data), s.rows);
    expectClose(got, values, 1e-14);
    for (let j = 8; j < s.rows; j++) expect(Math.abs(got[j])).toBeLessThan(got[0] * s.rows * Number.EPSILON);
  });

  it("is exact on 0×0, 1×1, 2×2 and diagonal matrices", () => {
    expect(symmetricEigenSystem(new Float64Array(0), 0)).toEqual({
      values: new Float64Array(0),
      vectors: new Float64Array(0),
    });
    expect(symmetricEigenSystem(Float64Array.of(-3), 1)).toEqual({
      values: Float64Array.of(-3),
      vectors: Float64Array.of(1),
    });
    // [[2, 1], [1, 2]]: 3 and 1, vectors (1, 1)/√2 and (1, −1)/√2 with the first entry the positive pivot
    const two = symmetricEigenSystem(Float64Array.of(2, 1, 1, 2), 2);
    expectClose(two.values, [3, 1], 1e-15);
    expectClose(two.vectors, [Math.SQRT1_2, Math.SQRT1_2, Math.SQRT1_2, -Math.SQRT1_2], 1e-15);
    const diagonal = symmetricEigenSystem(
      Float64Array.of(3, 0, 0, 0, 0, -1, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0),
      4,
    );
    expect(Array.from(diagonal.values)).toEqual([5, 3, 0, -1]);
    expect(Array.from(diagonal.vectors)).toEqual([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
  });

  it("keeps subnormal and near-overflow matrices in range", () => {
    const tiny = symmetricEigenSystem(Float64Array.of(2 ** -1073, 0, 0, 2 ** -1070), 2);
    expect(Array.from(tiny.values)).toEqual([2 ** -1070, 2 ** -1073]);
    expect(Array.from(tiny.vectors)).toEqual([0, 1, 1, 0]);
    const huge = symmetricEigenSystem(Float64Array.of(2 ** 1022, 2 ** 1022, 2 ** 1022, 2 ** 1022), 2);
    expectClose(huge.values, [2 ** 1023, 0], 1e-15);
    expectClose(huge.vectors, [Math.SQRT1_2, Math.SQRT1_2, Math.SQRT1_2, -Math.SQRT1_2], 1e-15);
  });

  it("finds the known spectrum of an already tridiagonal matrix (the 1-2-1 Laplacian)", () => {
    const n = 40;
    const s = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      s[i * n + i] = 2;
      if (i > 0) s[i * n + i - 1] = s[(i - 1) * n + i] = -1;
    }
    const want = Array.from({ length: n }, (_, k) => 2 + 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)));
    expectClose(expectDecomposition(s, n), want, 1e-14);
  });

  it("reads only the lower triangle, and rejects non-finite values", () => {
    const s = randomSymmetric(6, 1);
    const lower = s.map((x, k) => (k % 6 <= Math.floor(k / 6) ? x : Number.NaN));
    expect(symmetricEigenSystem(lower, 6)).toEqual(symmetricEigenSystem(s, 6));
    s[7] = Number.POSITIVE_INFINITY;
    expect(() => symmetricEigenSystem(s, 6)).toThrow(InputError);
  });
});

const psdMatrixFunction = (s: Float64Array, n: number, f: (l: number) => number) =>
  psdFunctionOf(psdEigen(s, n), f);

describe("psdEigen and psdFunctionOf", () => {
  it("is numpy's f(S) on a rank-deficient covariance: square root and pseudo-inverse root", async () => {
    const { s, sqrt, inverseSqrt } = fx.rankDeficient;
    const eigen = psdEigen(Float64Array.from(s.data), s.rows);
    // one decomposition, several functions
    expectClose(await psdFunctionOf(eigen, Math.sqrt), sqrt.data, 1e-12);
    expectClose(await psdFunctionOf(eigen, inverseRoot), inverseSqrt.data, 1e-10);
    // a function with negative values takes the general product: −S
    expectClose(
      await psdFunctionOf(eigen, (l) => -l),
      s.data.map((x: number) => -x),
      1e-13,
    );
  });

  it("depends only on the eigenspaces where eigenvalues repeat", async () => {
    const { s, cube } = fx.repeated;
    expectClose(await psdMatrixFunction(Float64Array.from(s.data), s.rows, (l) => l ** 3), cube.data, 1e-13);
  });
});

describe("psdEigenOfRows", () => {
  // numpy's covariance of 9 rows in 24 dimensions, from the centred rows (n − 1 denominator)
  const { x, sqrt, inverseSqrt } = fx.rankDeficient;
  const [n, d] = [x.rows as number, x.cols as number];
  const rows = Float64Array.from(x.data as number[]);
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += rows[i * d + j] / n;
    for (let i = 0; i < n; i++) rows[i * d + j] -= mean;
  }

  it.each(["js", "ort"])("is numpy's f(S) through the n×n Gram (float64 products on %s)", async (name) => {
    expect(await initBackends(name)).toBe(name);
    const eigen = await psdEigenOfRows(rows, n, d, 1 / (n - 1));
    expectClose(await psdFunctionOf(eigen, Math.sqrt), sqrt.data, 1e-12);
    expectClose(await psdFunctionOf(eigen, inverseRoot), inverseSqrt.data, 1e-10);
  });

  it("is psdMatrixFunction where f(0) ≠ 0 (a regularised inverse root) and where f is negative", async () => {
    const s = Float64Array.from(fx.rankDeficient.s.data as number[]);
    for (const fn of [(l: number) => 1 / Math.sqrt(l + 1e-3), (l: number) => -l])
      expectClose(
        await psdFunctionOf(await psdEigenOfRows(rows, n, d, 1 / (n - 1)), fn),
        await psdMatrixFunction(s, d, fn),
        1e-10,
      );
  });
});

describe("solveSpd", () => {
  it("matches numpy's solve, and rejects a matrix that is not positive definite", async () => {
    const { s, r, x } = fx.solve;
    expectClose(
      await solveSpd(Float64Array.from(s.data), s.rows, Float64Array.from(r.data), r.cols),
      x.data,
      1e-12,
    );
    await expect(solveSpd(Float64Array.of(1, 2, 2, 1), 2, Float64Array.of(1, 1), 1)).rejects.toThrow(
      InputError,
    );
    await expect(solveSpd(Float64Array.of(1, 1, 1, 1), 2, Float64Array.of(1, 1), 1)).rejects.toThrow(
      /positive definite/,
    );
  });
});

describe("mulAB, mulABt", () => {
  it("are the plain product for A·B and A·Bᵀ at odd and even sizes", () => {
    for (const [m, k, n] of [
      [1, 1, 1],
      [3, 5, 7],
      [4, 2, 6],
      [7, 3, 1],
    ]) {
      const a = randomSymmetric(Math.max(m, k), m + k).subarray(0, m * k);
      const b = randomSymmetric(Math.max(k, n), k + n + 1).subarray(0, k * n);
      const ab = new Float64Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) ab[i * n + j] += a[i * k + p] * b[p * n + j];
      expectClose(mulAB(a, m, b, k, n), ab, 1e-15);
      const bt = new Float64Array(n * k);
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[j * k + p] = b[p * n + j];
      expectClose(mulABt(a, m, bt, n, k), ab, 1e-15);
    }
  });
});

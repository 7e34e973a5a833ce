import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mulAB, mulABt, transposed } from "../../src/core/dense64.js";
import { InputError } from "../../src/core/errors.js";
import { orthogonalProcrustes, orthogonalProcrustesOfRows, polarFactor } from "../../src/core/linalg.js";
import { createRng } from "../../src/core/rng.js";
import { type Svd64, svd64 } from "../../src/core/svd.js";
import { initBackends } from "../../src/node.js";
import { expectClose, fixture } from "../helpers.js";

const core = fixture("core");

/** Frobenius norm, scaled so that entries near overflow or underflow count. */
function frobenius(x: ArrayLike<number>): number {
  let largest = 0;
  for (let i = 0; i < x.length; i++) largest = Math.max(largest, Math.abs(x[i]));
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i] / largest) ** 2;
  return largest && largest * Math.sqrt(sum);
}

function gaussian(m: number, n: number, seed: number): Float64Array {
  return new Float64Array(createRng(seed).normalMatrix(m, n).data);
}

/** ‖U·diag(s)·Vᵀ − a‖ and the largest of ‖UᵀU − I‖, ‖VᵀV − I‖ (Frobenius), with the values' order checked. */
function errors(
  a: Float64Array,
  m: number,
  n: number,
  dec: Svd64,
): { reconstruction: number; orthogonality: number } {
  const k = Math.min(m, n);
  const { values, ut, vt } = dec;
  expect([values.length, ut.length, vt.length]).toEqual([k, k * m, k * n]);
  for (let j = 0; j < k; j++) {
    expect(values[j]).toBeGreaterThanOrEqual(0);
    if (j) expect(values[j]).toBeLessThanOrEqual(values[j - 1]);
  }
  const scaled = ut.map((u, i) => u * values[Math.floor(i / m)]);
  const product = mulAB(transposed(scaled, k, m), m, vt, k, n);
  const identity = (x: Float64Array, len: number) => {
    const gram = mulABt(x, k, x, k, len);
    for (let j = 0; j < k; j++) gram[j * k + j] -= 1;
    return frobenius(gram);
  };
  return {
    reconstruction: frobenius(product.map((p, i) => p - a[i])),
    orthogonality: Math.max(identity(ut, m), identity(vt, n)),
  };
}

function expectExact(a: Float64Array, m: number, n: number, dec = svd64(a, m, n)): Svd64 {
  const { reconstruction, orthogonality } = errors(a, m, n, dec);
  const bound = 1e-12 * Math.max(m, n);
  expect(reconstruction).toBeLessThanOrEqual(bound * frobenius(a));
  expect(orthogonality).toBeLessThanOrEqual(bound);
  return dec;
}

describe("svd64", () => {
  it("matches numpy's float64 svd (values, and vectors up to one sign per pair)", () => {
    for (const c of core.svd) {
      const { rows, cols } = c.x;
      const { values, ut, vt } = svd64(Float64Array.from(c.x.data), rows, cols);
      const k = values.length;
      expectClose(values, c.values, 1e-12);
      // the fixture's vectors are columns; ours rows, each flipped to the fixture's sign
      const want = (x: { data: number[] }, len: number) => transposed(Float64Array.from(x.data), len, k);
      const [u, v] = [want(c.left, rows), want(c.vectors, cols)];
      for (let j = 0; j < k; j++) {
        let overlap = 0;
        for (let i = j * cols; i < (j + 1) * cols; i++) overlap += v[i] * vt[i];
        const sign = Math.sign(overlap);
        expectClose(
          vt.subarray(j * cols, (j + 1) * cols).map((x) => sign * x),
          v.subarray(j * cols, (j + 1) * cols),
          1e-12,
        );
        expectClose(
          ut.subarray(j * rows, (j + 1) * rows).map((x) => sign * x),
          u.subarray(j * rows, (j + 1) * rows),
          1e-12,
        );
      }
    }
  });

  it("reconstructs random matrices with orthonormal vectors, any shape (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 14 }),
        fc.integer({ min: 1, max: 14 }),
        fc.integer({ min: 0, max: 1e6 }),
        (m, n, seed) => {
          expectExact(gaussian(m, n, seed), m, n);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("handles tall, wide, single-row and single-column matrices", () => {
    for (const [m, n] of [
      [90, 17],
      [17, 90],
      [1, 7],
      [7, 1],
      [64, 64],
    ])
      expectExact(gaussian(m, n, m * 100 + n), m, n);
    const { values, ut, vt } = expectExact(Float64Array.of(-2.5), 1, 1);
    expect([values[0], ut[0] * vt[0]]).toEqual([2.5, -1]);
  });

  it("keeps its accuracy for entries near overflow and underflow", () => {
    // at 1e-310 the entries are subnormal, with fewer bits to start from
    for (const size of [1e200, 1e-200, 1e-310]) {
      const a = gaussian(12, 9, 4);
      const { values } = svd64(a, 12, 9);
      const dec = expectExact(
        a.map((x) => x * size),
        12,
        9,
      );
      expectClose(
        dec.values.map((s) => s / size),
        values,
        size < 1e-300 ? 1e-8 : 1e-14,
      );
    }
  });

  it("gives exact zeros for rank-deficient and zero matrices", () => {
    const [m, n, r] = [40, 30, 7];
    const a = mulAB(gaussian(m, r, 1), m, gaussian(r, n, 2), r, n);
    const { values } = expectExact(a, m, n);
    expect(values[r - 1]).toBeGreaterThan(0.1);
    for (let j = r; j < n; j++) expect(values[j]).toBeLessThanOrEqual(values[0] * n * Number.EPSILON);
    for (const [rows, cols] of [
      [5, 3],
      [3, 5],
    ]) {
      const zero = expectExact(new Float64Array(rows * cols), rows, cols);
      expect(Array.from(zero.values)).toEqual([0, 0, 0]);
    }
  });

  it("decomposes an orthogonal matrix (all singular values 1): U·Vᵀ is the matrix", () => {
    const n = 24;
    const { ut, vt } = svd64(gaussian(n, n, 5), n, n);
    const q = mulAB(transposed(ut, n, n), n, vt, n, n);
    const dec = expectExact(q, n, n);
    expectClose(dec.values, new Float64Array(n).fill(1), 1e-14);
    expectClose(mulAB(transposed(dec.ut, n, n), n, dec.vt, n, n), q, 1e-13);
  });

  it("rejects non-finite values and a wrong length", () => {
    expect(() => svd64(Float64Array.of(1, Number.NaN), 1, 2)).toThrow(InputError);
    expect(() => svd64(new Float64Array(5), 2, 3)).toThrow(/6 values for 2×3/);
  });
});

describe("polarFactor", () => {
  /** U·diag(s)·Vᵀ for random orthogonal U, V (from SVDs of Gaussian matrices) and U·Vᵀ. */
  function withValues(s: number[], seed: number): { m: Float64Array; polar: Float64Array } {
    const n = s.length;
    const { ut } = svd64(gaussian(n, n, seed), n, n);
    const { vt } = svd64(gaussian(n, n, seed + 1), n, n);
    const scaled = transposed(ut, n, n).map((u, i) => u * s[i % n]);
    return { m: mulAB(scaled, n, vt, n, n), polar: mulAB(transposed(ut, n, n), n, vt, n, n) };
  }

  it("is U·Vᵀ to rounding over singular values spread by 1e6 (on js and ort products)", async () => {
    const n = 40;
    const { m, polar } = withValues(
      Array.from({ length: n }, (_, i) => 10 ** (-6 * (i / (n - 1)))),
      31,
    );
    for (const name of ["js", "ort"]) {
      await initBackends(name);
      // the polar factor's condition number is about 1/σ_min relative to ‖M‖: 1e6·ε
      expectClose((await polarFactor(m, n))!, polar, 1e-9);
    }
  });

  it("leaves singular matrices, and spreads beyond ≈ 1e9, to the SVD", async () => {
    const n = 12;
    const spread = (ratio: number) => Array.from({ length: n }, (_, i) => (i === n - 1 ? ratio : 1));
    expect(await polarFactor(withValues(spread(0), 41).m, n)).toBeUndefined();
    expect(await polarFactor(withValues(spread(1e-13), 43).m, n)).toBeUndefined();
    expect(await polarFactor(new Float64Array(n * n), n)).toBeUndefined();
    expect(await polarFactor(withValues(spread(1e-3), 45).m, n)).toBeDefined();
  });
});

describe("orthogonalProcrustes", () => {
  it("is U·Vᵀ at full rank, and the identity for M = 0", async () => {
    const n = 20;
    const m = gaussian(n, n, 9);
    const { ut, vt } = svd64(m, n, n);
    expectClose(await orthogonalProcrustes(m, n), mulAB(transposed(ut, n, n), n, vt, n, n), 1e-12);
    const identity = new Float64Array(n * n).map((_, i) => (i % (n + 1) === 0 ? 1 : 0));
    expect(Array.from(await orthogonalProcrustes(new Float64Array(n * n), n))).toEqual(Array.from(identity));
  });

  it("is orthogonal and fits the pairs at rank r < n", async () => {
    const [n, r] = [30, 12];
    // M = Xᵀ·Y for r pairs related by an orthogonal Q: the fitted W maps every X row onto its Y row
    const x = gaussian(r, n, 10);
    const dec = svd64(gaussian(n, n, 11), n, n);
    const q = mulAB(transposed(dec.ut, n, n), n, dec.vt, n, n);
    const y = mulAB(x, r, q, n, n);
    const w = await orthogonalProcrustes(mulAB(transposed(x, r, n), n, y, r, n), n);
    expectClose(mulAB(x, r, w, n, n), y, 1e-12);
    const identity = new Float64Array(n * n).map((_, i) => (i % (n + 1) === 0 ? 1 : 0));
    expectClose(mulABt(w, n, w, n, n), identity, 1e-13);
  });
});

describe("orthogonalProcrustesOfRows", () => {
  // k pairs in d dimensions: the k×k route gives the W that the SVD of the d×d Bᵀ·A gives
  const cases: [string, number, number, (a: Float64Array) => Float64Array][] = [
    ["k = 12, d = 30", 12, 30, (a) => a],
    ["k = 29, d = 30", 29, 30, (a) => a],
    ["k = 1, d = 8", 1, 8, (a) => a],
    ["k = 70, d = 100: three LQ panels", 70, 100, (a) => a],
    ["k = 40, d = 41: a panel of 8 rows after one of 32", 40, 41, (a) => a],
    ["a repeated row (rank k − 1)", 10, 25, (a) => a.map((v, i) => (i >= 25 && i < 50 ? a[i - 25] : v))],
  ];
  it.each(["js", "ort"])("is orthogonalProcrustes of Bᵀ·A (float64 products on %s)", async (name) => {
    expect(await initBackends(name)).toBe(name);
    for (const [what, k, d, shape] of cases) {
      const [a, b] = [shape(gaussian(k, d, 21)), shape(gaussian(k, d, 22))];
      const want = await orthogonalProcrustes(mulAB(transposed(b, k, d), d, a, k, d), d);
      const got = await orthogonalProcrustesOfRows(a, b, k, d);
      expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]))), what).toBeLessThan(1e-12);
    }
  });

  it("rejects as many rows as dimensions", async () => {
    await expect(orthogonalProcrustesOfRows(new Float64Array(4), new Float64Array(4), 2, 2)).rejects.toThrow(
      /k < d/,
    );
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import {
  assertFinite,
  colMeans,
  colSums,
  fromRows,
  matrix,
  normalizeRows,
  rowMeans,
  rowNorms,
  rowSums,
  selectRows,
  sliceRows,
  topK,
  toRows,
  transpose,
} from "../../src/core/matrix.js";
import { expectClose, fixture, fromFixture } from "../helpers.js";

const core = fixture("core");

describe("Matrix", () => {
  it("rejects data of the wrong length and bad sizes", () => {
    expect(() => matrix(2, 3, new Float32Array(5))).toThrow(/matrix: expected 6 values for 2×3; got 5/);
    expect(() => matrix(-1, 3)).toThrow(InputError);
    expect(() => fromRows([[1, 2], [3]])).toThrow(/row 1 of length 1/);
  });

  it("slices rows as views and transposes", () => {
    const m = fromRows([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
    const s = sliceRows(m, 1, 3);
    s.data[0] = 40;
    expect(m.data[3]).toBe(40);
    expect(() => sliceRows(m, 2, 4)).toThrow(/0 ≤ start ≤ end ≤ 3; got 2:4/);
    expect(toRows(transpose(fromRows([[1, 2, 3]])))).toEqual([[1], [2], [3]]);
    expect(toRows(selectRows(m, [2, 1, 2]))).toEqual([
      [7, 8, 9],
      [40, 5, 6],
      [7, 8, 9],
    ]);
    expect(() => selectRows(m, [3])).toThrow(/selectRows: expected row indices in \[0, 3\); got 3 at 0/);
  });

  it("reductions match numpy float64", () => {
    const r = core.reductions;
    const x = fromFixture(r.x);
    expectClose(normalizeRows(x).data, r.normalized.data, 1e-6);
    expectClose(rowNorms(x), r.rowNorms, 1e-7);
    expectClose(rowSums(x), r.rowSums, 1e-7);
    expectClose(colSums(x), r.colSums, 1e-7);
    expectClose(rowMeans(x), r.rowMeans, 1e-7);
    expectClose(colMeans(x), r.colMeans, 1e-7);
  });

  it("normalizeRows rejects zero and non-finite rows instead of producing NaN", () => {
    const m = fromRows([
      [3, 4],
      [0, 0],
      [1, 0],
      [0, 0],
    ]);
    expect(() => normalizeRows(m, "a.npy")).toThrow(
      /a\.npy: .*; got 2 row\(s\) without one, the first is row 1/,
    );
    expect(() => normalizeRows(fromRows([[Number.NaN, 1]]))).toThrow(InputError);
    expect(() => normalizeRows(fromRows([[Number.POSITIVE_INFINITY, 1]]))).toThrow(InputError);
    expect(() =>
      assertFinite(
        fromRows([
          [1, 2],
          [3, Number.NaN],
        ]),
        "x",
      ),
    ).toThrow(/x: expected finite values; got NaN at row 1, column 1/);
  });

  it("normalizeRows gives unit rows that point the same way (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.float({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 60 }),
        (cols, values) => {
          const rows = Math.floor(values.length / cols);
          fc.pre(rows > 0);
          const m = matrix(rows, cols, Float32Array.from(values.slice(0, rows * cols)));
          fc.pre(Array.from(rowNorms(m)).every((n) => n > 1e-20));
          const u = normalizeRows(m);
          for (let i = 0; i < rows; i++) {
            let norm = 0;
            let dot = 0;
            for (let j = 0; j < cols; j++) {
              norm += u.data[i * cols + j] ** 2;
              dot += u.data[i * cols + j] * m.data[i * cols + j];
            }
            expect(Math.abs(Math.sqrt(norm) - 1)).toBeLessThan(1e-6);
            expect(dot).toBeGreaterThan(0);
          }
        },
      ),
    );
  });

  it("topK matches numpy's stable argsort, ties to the lower column", () => {
    const t = core.topK;
    const r = topK(fromFixture(t.x), t.k);
    expect(Array.from(r.indices)).toEqual(t.indices.flat());
    expectClose(r.values, t.values.flat(), 1e-7);
    expect(() => topK(fromFixture(t.x), 0)).toThrow(InputError);
  });

  it("topK equals a full sort (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 40 }),
        (values, kRaw) => {
          const m = matrix(1, values.length, Float32Array.from(values));
          const k = Math.min(kRaw, values.length);
          const expected = values
            .map((v, j) => [v, j])
            .sort((x, y) => y[0] - x[0] || x[1] - y[1])
            .slice(0, k)
            .map(([, j]) => j);
          expect(Array.from(topK(m, k).indices)).toEqual(expected);
        },
      ),
    );
  });
});

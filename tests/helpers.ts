import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { type Matrix, matrix } from "../src/core/matrix.js";

/** A JSON fixture written by scripts/make_fixtures.py. */
// biome-ignore lint/suspicious/noExplicitAny: fixtures are untyped JSON, indexed freely by the tests
export function fixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), "utf8"));
}

/** A fixture matrix {rows, cols, data} as a Matrix. */
export function fromFixture(m: { rows: number; cols: number; data: number[] }): Matrix {
  return matrix(m.rows, m.cols, Float32Array.from(m.data));
}

/** Every |actual − expected| ≤ rel · max(1, max |expected|): relative to the array's scale. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(worst / scale, `worst at ${at}: ${actual[at]} vs ${expected[at]}`).toBeLessThanOrEqual(rel);
}

/** Every numeric leaf of `expected` equals the same path in `actual` within `tol`. */
export function expectFields(actual: unknown, expected: unknown, tol: number, path = ""): void {
  if (typeof expected === "number") {
    expect(typeof actual, path).toBe("number");
    expect(Math.abs((actual as number) - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
      tol,
    );
  } else if (expected && typeof expected === "object") {
    for (const [k, v] of Object.entries(expected))
      expectFields((actual as Record<string, unknown>)[k], v, tol, `${path}.${k}`);
  }
}

/**
 * Each compiled (float32) output within `rel` of its float64 eager twin, relative to the larger of 10⁻³
 * and the eager output's largest magnitude.
 */
export function expectNearEager(
  compiled: readonly Float32Array[],
  eager: readonly { value: Float64Array | undefined }[],
  rel: number,
): void {
  expect(compiled.length).toBe(eager.length);
  for (const [i, got] of compiled.entries()) {
    const want = eager[i].value as Float64Array;
    const scale = Math.max(1e-3, ...Array.from(want, Math.abs));
    expect(Math.max(...Array.from(got, (g, k) => Math.abs(g - want[k]))) / scale, `output ${i}`).toBeLessThan(
      rel,
    );
  }
}

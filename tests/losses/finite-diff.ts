import { expect } from "vitest";
import { type Matrix, matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";

/** Step of the central differences: x ± h is exact in float32 for the grid values of gridMatrix. */
export const H = 2 ** -16;

/** Random rows on the grid k·2⁻⁸ in [−1, 1] (so perturbing by H stays exactly representable), L2-normalised-ish. */
export function gridMatrix(rows: number, cols: number, seed: number): Matrix {
  const rng = createRng(seed);
  return matrix(
    rows,
    cols,
    Float32Array.from({ length: rows * cols }, () => (rng.int(511) - 255) / 256),
  );
}

/**
 * Central finite differences of `f` at `m` in float64 against `grad`, entry by entry: the largest error must
 * be ≤ `rel` × the largest gradient entry (a relative check that tiny entries cannot game).
 */
export function expectGradient(
  f: (m: Matrix) => number,
  m: Matrix,
  grad: ArrayLike<number>,
  rel = 1e-6,
): void {
  let worst = 0;
  let scale = 0;
  for (let k = 0; k < m.data.length; k++) {
    const x = m.data[k];
    const plus = matrix(m.rows, m.cols, Float32Array.from(m.data));
    plus.data[k] = x + H;
    const minus = matrix(m.rows, m.cols, Float32Array.from(m.data));
    minus.data[k] = x - H;
    const numeric = (f(plus) - f(minus)) / (2 * H);
    worst = Math.max(worst, Math.abs(numeric - grad[k]));
    scale = Math.max(scale, Math.abs(grad[k]));
  }
  expect(scale, "gradient is all zero: the check would be vacuous").toBeGreaterThan(0);
  expect(worst / scale).toBeLessThanOrEqual(rel);
}

/** Central finite difference of a scalar function (float64 parameters such as a log scale). */
export function numericDerivative(f: (x: number) => number, x: number, h = 1e-6): number {
  return (f(x + h) - f(x - h)) / (2 * h);
}

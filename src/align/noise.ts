import type { Matrix } from "../core/matrix.js";
import { createRng, type Rng } from "../core/rng.js";
import { mapRows } from "./method.js";

/** Adds N(0, σ²) per coordinate to `row`, drawn from `rng`. */
export function addGaussianNoise(row: Float32Array | Float64Array, sigma2: number, rng: Rng): void {
  const std = Math.sqrt(sigma2);
  for (let j = 0; j < row.length; j++) row[j] += rng.normal(0, std);
}

/** Adds N(0, σ²) per coordinate to each row (seeded by `seed`: the same input always gets the same noise). */
export function addNoise(row: Float64Array, sigma2: number, seed: number, index: number): void {
  if (sigma2 === 0) return;
  // one stream per row, so a row's noise does not depend on which other rows are in the batch
  addGaussianNoise(row, sigma2, createRng(seed * 1_000_003 + index));
}

/**
 * Unit rows `m` with N(0, σ²) added per coordinate (row i's noise seeded by `seed` and its index
 * firstRow + i), renormalised.
 */
export function noisyRows(
  m: Matrix,
  sigma2: number,
  seed: number,
  where: string,
  firstRow = 0,
): Promise<Matrix> {
  return mapRows(m, m.cols, where, (row, out, i) => {
    out.set(row);
    addNoise(out, sigma2, seed, firstRow + i);
  });
}

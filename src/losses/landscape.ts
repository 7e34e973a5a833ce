import { applyAlign, fitAlign } from "../align/index.js";
import { check } from "../core/errors.js";
import type { Matrix } from "../core/matrix.js";
import { clipValue } from "./clip.js";
import { dotScore } from "./scores.js";

/** The CLIP loss over a λ × τ grid, and the minimising λ per temperature. */
export interface LossLandscape {
  temperatures: number[];
  lambdas: number[];
  /** loss[i][j]: symmetric CLIP loss at lambdas[i], temperatures[j]. */
  loss: number[][];
  /** argmin over λ per temperature. */
  argminLambda: number[];
}

/** λ from −1 to 1 in steps of 0.05, as Mind the Gap's Fig. 3. */
export const LANDSCAPE_LAMBDAS = Array.from({ length: 41 }, (_, i) => Number((-1 + i * 0.05).toFixed(2)));

/**
 * Mind the Gap Fig. 3: the symmetric CLIP loss (logits = a'·b'ᵀ/τ, no clamp) after shifting the pairs by λ
 * along the gap (the `shift` transform: a' = n(a − ½λΔ), b' = n(b + ½λΔ)), for each λ and τ.
 */
export async function lossLandscape(
  a: Matrix,
  b: Matrix,
  options: {
    temperatures?: number[];
    lambdas?: number[];
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<LossLandscape> {
  const { temperatures = [0.01, 0.02, 0.1, 1], lambdas = LANDSCAPE_LAMBDAS } = options;
  check(
    temperatures.every((t) => t > 0 && Number.isFinite(t)),
    "lossLandscape temperatures",
    "finite numbers > 0",
    () => temperatures.join(", "),
  );
  const loss: number[][] = [];
  for (const [i, lambda] of lambdas.entries()) {
    const state = await fitAlign("shift", a, b, { lambda });
    const [sa, sb] = [applyAlign(state, a, "a"), applyAlign(state, b, "b")];
    const sims = dotScore.scores(sa, sb);
    loss.push(temperatures.map((t) => clipValue(sims, sa.rows, 1 / t)));
    options.onProgress?.(i + 1, lambdas.length);
  }
  const argminLambda = temperatures.map(
    (_, j) => lambdas[loss.reduce((best, row, i) => (row[j] < loss[best][j] ? i : best), 0)],
  );
  return { temperatures, lambdas, loss, argminLambda };
}

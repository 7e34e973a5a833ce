import { applyAlign, fitAlign } from "../align/index.js";
import { type ShiftState, shiftBy } from "../align/shift.js";
import { check } from "../core/errors.js";
import { argmin, type Matrix } from "../core/matrix.js";
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
  /** With `unit`: the distances δ along the unit gap direction that gave `lambdas`, and the argmin δ per τ. */
  deltas?: number[];
  argminDelta?: number[];
}

/** λ from −1 to 1 in steps of 0.05, as Mind the Gap's Fig. 3. */
export const LANDSCAPE_LAMBDAS = Array.from({ length: 41 }, (_, i) => Number((-1 + i * 0.05).toFixed(2)));

/**
 * Mind the Gap Fig. 3: the symmetric CLIP loss (logits = a'·b'ᵀ/τ, no clamp) after shifting the pairs by λ
 * along the gap (the `shift` transform: a' = n(a − ½λΔ), b' = n(b + ½λΔ)), for each λ and τ. With `unit`,
 * `lambdas` are distances δ along Δ/‖Δ‖ (the paper's units and grid, −5 to 4.75 by 0.25): λ = δ/‖Δ‖.
 */
export async function lossLandscape(
  a: Matrix,
  b: Matrix,
  options: {
    temperatures?: number[];
    lambdas?: number[];
    unit?: boolean;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<LossLandscape> {
  const { temperatures = [0.01, 0.02, 0.1, 1], lambdas: values = LANDSCAPE_LAMBDAS, unit = false } = options;
  check(
    temperatures.every((t) => t > 0 && Number.isFinite(t)),
    "lossLandscape temperatures",
    "finite numbers > 0",
    () => temperatures.join(", "),
  );
  const loss: number[][] = [];
  const lambdas: number[] = [];
  const fitted = (await fitAlign("shift", a, b)) as ShiftState;
  for (const [i, value] of values.entries()) {
    const state = shiftBy(fitted, value, unit);
    lambdas.push(state.lambda);
    const [sa, sb] = [await applyAlign(state, a, "a"), await applyAlign(state, b, "b")];
    const sims = dotScore.scores(sa, sb);
    loss.push(temperatures.map((t) => clipValue(sims, sa.rows, 1 / t)));
    options.onProgress?.(i + 1, values.length);
  }
  const best = temperatures.map((_, j) => argmin(loss.map((row) => row[j])));
  const argminLambda = best.map((i) => lambdas[i]);
  return {
    temperatures,
    lambdas,
    loss,
    argminLambda,
    ...(unit ? { deltas: values, argminDelta: best.map((i) => values[i]) } : {}),
  };
}

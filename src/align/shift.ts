import { z } from "zod";
import { check } from "../core/errors.js";
import { colMeans } from "../core/matrix.js";
import { type AlignMethod, type AlignState, mapRows, PARAMS, vectorSchema } from "./method.js";
import { momentsFromStats } from "./moments.js";

/** State of `shift`: the gap vector Δ = mean(A) − mean(B) and λ. */
export interface ShiftState extends AlignState {
  readonly kind: "shift";
  readonly delta: number[];
  readonly lambda: number;
}

/**
 * `shift` (Mind the Gap, §4.2): a' = n(a − ½λΔ), b' = n(b + ½λΔ) with Δ = mean(A) − mean(B).
 * λ = 1 closes the centroid gap to first order; λ < 0 widens it; λ = 0 is the identity (up to normalising).
 */
export const shift: AlignMethod<ShiftState> = {
  kind: "shift",
  version: 1,
  summary: "Mind the Gap's gap shift: move both modalities by ±½λΔ along the gap vector",
  needsPairs: false,
  params: { lambda: PARAMS.finite(1, "shift strength: 1 closes the gap to first order, < 0 widens it") },
  fit: async (a, b, params) => shiftState(colMeans(a), colMeans(b), params.lambda),
  fitStats: {
    moments: false,
    fit: (stats, params) =>
      shiftState(momentsFromStats(stats, "a").mean, momentsFromStats(stats, "b").mean, params.lambda),
  },
  apply(state, m, side) {
    const step = (side === "a" ? -0.5 : 0.5) * state.lambda;
    return mapRows(m, state.dim, "shift", (row, out) => {
      for (let j = 0; j < row.length; j++) out[j] = row[j] + step * state.delta[j];
    });
  },
  stateSchema: (dim) => z.object({ delta: vectorSchema(dim), lambda: z.number() }),
};

function shiftState(meanA: Float64Array, meanB: Float64Array, lambda: number): ShiftState {
  return {
    kind: "shift",
    version: 1,
    dim: meanA.length,
    delta: Array.from(meanA, (v, j) => v - meanB[j]),
    lambda,
  };
}

/**
 * The fitted shift at strength `value`: λ, or with `unit` a distance δ along the unit gap direction, as Mind the
 * Gap's code shifts (a' = n(a − ½δ·Δ/‖Δ‖)): λ = δ / ‖Δ‖.
 */
export function shiftBy(state: ShiftState, value: number, unit = false): ShiftState {
  if (!unit) return { ...state, lambda: value };
  let squares = 0;
  for (const v of state.delta) squares += v * v;
  const norm = Math.sqrt(squares);
  check(norm > 0, "shift --unit", "a non-zero gap Δ to take the unit direction of", () => "‖Δ‖ = 0");
  return { ...state, lambda: value / norm };
}

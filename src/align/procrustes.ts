import { z } from "zod";
import { compensatedValue } from "../core/compensated.js";
import { InputError } from "../core/errors.js";
import { orthogonalProcrustes, orthogonalProcrustesOfRows } from "../core/linalg.js";
import { type Matrix, rowsF64 } from "../core/matrix.js";
import type { GapStats } from "../gap/stats.js";
import { unitMoment } from "../gap/unit-rows.js";
import { type AlignMethod, type AlignState, linear, mapRows, rankLimited, vectorSchema } from "./method.js";

/** State of a linear map of B rows: b' = n(b·W), W d×d row-major. */
export interface LinearMapState extends AlignState {
  readonly w: number[];
}

/** BᵀA (d×d, float64) from statistics with second moments, which keep Σ â b̂ᵀ = AᵀB. */
export function crossBA(stats: GapStats): Float64Array {
  if (!stats.sums.ab)
    throw new InputError(
      "statistics",
      "the cross moment Σ â b̂ᵀ (sums.ab, as gapkit stats writes it)",
      "none",
    );
  const ab = compensatedValue(stats.sums.ab);
  const d = stats.dim;
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i * d + j] = ab[j * d + i];
  return out;
}

function procrustesState(w: Float64Array, dim: number): LinearMapState & { readonly kind: "procrustes" } {
  return { kind: "procrustes", version: 1, dim, w: Array.from(w) };
}

/** Applies a fitted linear map to B rows (A rows pass through, normalised). */
export function applyLinearMap(
  state: LinearMapState,
  m: Matrix,
  side: "a" | "b",
  where: string,
): Promise<Matrix> {
  return mapRows(
    m,
    state.dim,
    where,
    (row, out) => out.set(row),
    side === "b" ? linear(state.dim, state.w) : undefined,
  );
}

/**
 * `procrustes`: the orthogonal W minimising Σ‖b_i·W − a_i‖² over the fit pairs (W = U·Vᵀ of BᵀA = U·S·Vᵀ);
 * with fewer pairs than dimensions, the one nearest the identity (see orthogonalProcrustes).
 */
export const procrustes: AlignMethod<LinearMapState & { readonly kind: "procrustes" }> = {
  kind: "procrustes",
  version: 1,
  summary: "orthogonal map B→A fitted on pairs (SVD of BᵀA)",
  needsPairs: true,
  params: {},
  underdetermined: rankLimited(false, "nearest the identity outside the fitted spans"),
  fit: async (a, b) =>
    procrustesState(
      // fewer pairs than dimensions: through their k×k problem (the same W)
      a.rows < a.cols
        ? await orthogonalProcrustesOfRows(rowsF64(a, 0, a.rows), rowsF64(b, 0, b.rows), a.rows, a.cols)
        : await orthogonalProcrustes(await unitMoment(b, a), a.cols),
      a.cols,
    ),
  fitStats: {
    moments: true,
    fit: async (stats) => procrustesState(await orthogonalProcrustes(crossBA(stats), stats.dim), stats.dim),
  },
  apply: (state, m, side) => applyLinearMap(state, m, side, "procrustes"),
  stateSchema: (dim) => z.object({ w: vectorSchema(dim * dim) }),
};

import { z } from "zod";
import { crossF64 } from "../core/gemm/index.js";
import { orthogonalProcrustes } from "../core/linalg.js";
import type { Matrix } from "../core/matrix.js";
import { type AlignMethod, type AlignState, mapRows, multiplyRow, vectorSchema } from "./method.js";

/** State of a linear map of B rows: b' = n(b·W), W d×d row-major. */
export interface LinearMapState extends AlignState {
  readonly w: number[];
}

/** Applies a fitted linear map to B rows (A rows pass through, normalised). */
export function applyLinearMap(state: LinearMapState, m: Matrix, side: "a" | "b", where: string): Matrix {
  return mapRows(m, state.dim, where, (row, out) =>
    side === "a" ? out.set(row) : multiplyRow(row, state.w, out),
  );
}

/** `procrustes`: the orthogonal W minimising Σ‖b_i·W − a_i‖² over the fit pairs (W = U·Vᵀ of BᵀA = U·S·Vᵀ). */
export const procrustes: AlignMethod<LinearMapState & { readonly kind: "procrustes" }> = {
  kind: "procrustes",
  version: 1,
  summary: "orthogonal map B→A fitted on pairs (SVD of BᵀA)",
  needsPairs: true,
  params: {},
  async fit(a, b) {
    const w = orthogonalProcrustes(await crossF64(b, a), a.cols);
    return { kind: "procrustes", version: 1, dim: a.cols, w: Array.from(w) };
  },
  apply: (state, m, side) => applyLinearMap(state, m, side, "procrustes"),
  stateSchema: (dim) => z.object({ w: vectorSchema(dim * dim) }),
};

import { z } from "zod";
import { gramF64 } from "../core/gemm/index.js";
import { orthogonalProcrustes } from "../core/linalg.js";
import { type Matrix, matrix } from "../core/matrix.js";
import { type AlignMethod, type AlignState, mapRows, multiplyRow, vectorSchema } from "./method.js";

/** State of a linear map of B rows: b' = n(b·W), W d×d row-major. */
export interface LinearMapState extends AlignState {
  readonly w: number[];
}

/** Bᵀ·A (d×d, float64) from the Gram of the side-by-side rows [B | A]. */
export async function crossProductF64(b: Matrix, a: Matrix): Promise<Float64Array> {
  const d = a.cols;
  const joined = matrix(a.rows, 2 * d);
  for (let i = 0; i < a.rows; i++) {
    joined.data.set(b.data.subarray(i * d, (i + 1) * d), i * 2 * d);
    joined.data.set(a.data.subarray(i * d, (i + 1) * d), i * 2 * d + d);
  }
  const gram = await gramF64(joined);
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i * d + j] = gram[i * 2 * d + d + j];
  return out;
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
    const w = orthogonalProcrustes(await crossProductF64(b, a), a.cols);
    return { kind: "procrustes", version: 1, dim: a.cols, w: Array.from(w) };
  },
  apply: (state, m, side) => applyLinearMap(state, m, side, "procrustes"),
  stateSchema: (dim) => z.object({ w: vectorSchema(dim * dim) }),
};

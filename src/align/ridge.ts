import { z } from "zod";
import { type CompensatedSum, compensatedValue } from "../core/compensated.js";
import { transposed } from "../core/dense64.js";
import { mulF64 } from "../core/gemm/index.js";
import { solveSpd } from "../core/linalg.js";
import { rowsF64 } from "../core/matrix.js";
import { unitMoment } from "../gap/unit-rows.js";
import { type AlignMethod, PARAMS, rankLimited, vectorSchema } from "./method.js";
import { applyLinearMap, crossBA, type LinearMapState } from "./procrustes.js";

/** `ridge`: the linear W minimising Σ‖b_i·W − a_i‖² + λ‖W‖² over the fit pairs: W = (BᵀB + λI)⁻¹·BᵀA. */
export const ridge: AlignMethod<LinearMapState & { readonly kind: "ridge"; readonly lambda: number }> = {
  kind: "ridge",
  version: 1,
  summary: "linear map B→A fitted on pairs by ridge regression",
  needsPairs: true,
  params: { lambda: PARAMS.positive(1, "ridge penalty λ") },
  underdetermined: rankLimited(false, "λ maps what lies outside the fitted span to 0"),
  fit: async (a, b, params) =>
    a.rows < a.cols
      ? dualRidgeState(rowsF64(a, 0, a.rows), rowsF64(b, 0, b.rows), a.rows, a.cols, params.lambda)
      : ridgeState(await unitMoment(b), await unitMoment(b, a), a.cols, params.lambda),
  fitStats: {
    moments: true,
    fit: (stats, params) =>
      ridgeState(compensatedValue(stats.sums.bb as CompensatedSum), crossBA(stats), stats.dim, params.lambda),
  },
  apply: (state, m, side) => applyLinearMap(state, m, side, "ridge"),
  stateSchema: (dim) => z.object({ w: vectorSchema(dim * dim), lambda: z.number().positive() }),
};

/** W = (BᵀB + λI)⁻¹·BᵀA. */
async function ridgeState(btb: Float64Array, bta: Float64Array, d: number, lambda: number) {
  for (let i = 0; i < d; i++) btb[i * d + i] += lambda;
  return {
    kind: "ridge" as const,
    version: 1,
    dim: d,
    w: Array.from(await solveSpd(btb, d, bta, d)),
    lambda,
  };
}

/** W = Bᵀ·(B·Bᵀ + λI)⁻¹·A for k < d pairs (float64 rows, k×d): the same W through a k×k system. */
async function dualRidgeState(a: Float64Array, b: Float64Array, k: number, d: number, lambda: number) {
  const gram = await mulF64(b, b, k, d, k, { transB: true });
  for (let i = 0; i < k; i++) gram[i * k + i] += lambda;
  const w = await mulF64(transposed(b, k, d), await solveSpd(gram, k, a, d), d, k, d);
  return { kind: "ridge" as const, version: 1, dim: d, w: Array.from(w), lambda };
}

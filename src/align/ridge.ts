import { z } from "zod";
import { crossF64, gramF64 } from "../core/gemm/index.js";
import { solveSpd } from "../core/linalg.js";
import { type AlignMethod, PARAMS, vectorSchema } from "./method.js";
import { applyLinearMap, type LinearMapState } from "./procrustes.js";

/** `ridge`: the linear W minimising Σ‖b_i·W − a_i‖² + λ‖W‖² over the fit pairs: W = (BᵀB + λI)⁻¹·BᵀA. */
export const ridge: AlignMethod<LinearMapState & { readonly kind: "ridge"; readonly lambda: number }> = {
  kind: "ridge",
  version: 1,
  summary: "linear map B→A fitted on pairs by ridge regression",
  needsPairs: true,
  params: { lambda: PARAMS.positive(1, "ridge penalty λ") },
  async fit(a, b, params) {
    const d = a.cols;
    const btb = await gramF64(b);
    for (let i = 0; i < d; i++) btb[i * d + i] += params.lambda;
    const w = solveSpd(btb, d, await crossF64(b, a), d);
    return { kind: "ridge", version: 1, dim: d, w: Array.from(w), lambda: params.lambda };
  },
  apply: (state, m, side) => applyLinearMap(state, m, side, "ridge"),
  stateSchema: (dim) => z.object({ w: vectorSchema(dim * dim), lambda: z.number().positive() }),
};

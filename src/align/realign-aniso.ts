import { z } from "zod";
import { type CovarianceMapState, covarianceMap } from "./coral.js";
import { type AlignMethod, PARAMS, rankLimited, vectorSchema } from "./method.js";
import { applyRealign, movedCentroid } from "./realign.js";

/** State of `realign-aniso`: a covariance map plus ReAlign's centroid. */
export interface RealignAnisoState extends CovarianceMapState {
  readonly kind: "realign-aniso";
  readonly shrinkage: number;
  readonly centroid: number[];
}

/**
 * `realign-aniso` (gapkit's extension of ReAlign): the Trace step's scalar s becomes the full covariance
 * match T = C_B^−½·C_A^½, each covariance shrunk towards its isotropic part,
 * C ← (1 − α)·C + α·(tr C / d)·I. Anchor and Centroid steps are ReAlign's. α = 1 gives back ReAlign
 * (T = √(T_A/T_B)·I); α = 0 matches the covariances exactly where C_B has full rank (N > d), and with
 * fewer rows takes C_B's pseudo-inverse root: components of b outside the fitted span are dropped.
 */
export const realignAniso: AlignMethod<RealignAnisoState> = {
  kind: "realign-aniso",
  version: 1,
  summary: "ReAlign with the trace step replaced by a full (shrunk) covariance match",
  needsPairs: false,
  params: { shrinkage: PARAMS.fraction(0.5, "α: shrinkage of each covariance towards (tr C / d)·I") },
  underdetermined: rankLimited(true, "shrinkage sets the map outside the fitted span (0: zero there)"),
  async fit(a, b, params) {
    const d = a.cols;
    const alpha = params.shrinkage;
    const map = await covarianceMap(
      await a.moments(),
      await b.moments(),
      (l, trace) => (1 - alpha) * l + (alpha * trace) / d,
    );
    const anchors = { meanA: Array.from(map.meanA), meanB: Array.from(map.meanB) };
    const t = Array.from(map.t);
    const centroid = await movedCentroid(b, anchors, map.t);
    return { kind: "realign-aniso", version: 1, dim: d, ...anchors, t, shrinkage: alpha, centroid };
  },
  apply: (state, m, side) => applyRealign(state, m, side, "realign-aniso", state.t),
  stateSchema: (dim) =>
    z.object({
      meanA: vectorSchema(dim),
      meanB: vectorSchema(dim),
      t: vectorSchema(dim * dim),
      shrinkage: z.number().min(0).max(1),
      centroid: vectorSchema(dim),
    }),
};

import { z } from "zod";
import { mulF64 } from "../core/gemm/index.js";
import {
  type AlignMethod,
  type AlignState,
  linear,
  mapRows,
  PARAMS,
  rankLimited,
  vectorSchema,
} from "./method.js";
import { type Moments, momentsFromStats, psdFunction } from "./moments.js";

/** State of a covariance-matching map: b' = (b − μ_B)·T + μ_A with T = C_B^−½·C_A^½. */
export interface CovarianceMapState extends AlignState {
  readonly meanA: number[];
  readonly meanB: number[];
  readonly t: number[];
}

/**
 * T = C_B^−½·C_A^½ from the two modalities' covariances, each regularised through its eigenvalues:
 * λ ↦ `regularise(λ, trace)` (a regulariser of the form αC + βI), where λ is 0 for the eigenvalues a
 * singular covariance has only through rounding (see psdMatrixFunction); a regularised 0 stays 0 in
 * C_B^−½ (a pseudo-inverse). Both factors are symmetric, so (b − μ_B)·T whitens B and recolours it with
 * A's covariance.
 */
export async function covarianceMap(
  ma: Moments,
  mb: Moments,
  regularise: (eigenvalue: number, trace: number) => number,
): Promise<{ meanA: Float64Array; meanB: Float64Array; t: Float64Array }> {
  const d = ma.mean.length;
  const root = await psdFunction(ma, (l) => Math.sqrt(regularise(l, ma.trace)));
  const inverseRoot = await psdFunction(mb, (l) => {
    const r = regularise(l, mb.trace);
    return r > 0 ? 1 / Math.sqrt(r) : 0;
  });
  return { meanA: ma.mean, meanB: mb.mean, t: await mulF64(inverseRoot, root, d, d, d) };
}

/**
 * `coral` (CORAL, Sun et al. 2016): match second-order statistics — whiten B with (C_B + εI)^−½, recolour
 * with (C_A + εI)^½, move to A's mean, renormalise. A unchanged.
 */
export const coral: AlignMethod<CovarianceMapState & { readonly kind: "coral"; readonly eps: number }> = {
  kind: "coral",
  version: 1,
  summary: "CORAL: whiten B and recolour it with A's covariance (ε-regularised), then move to A's mean",
  needsPairs: false,
  params: {
    eps: PARAMS.positive(1e-4, "ridge ε added to both covariances (unit rows have variance ≈ 1/d per axis)"),
  },
  underdetermined: rankLimited(true, "ε alone sets the whitening outside the fitted span"),
  async fit(a, b, params) {
    return coralState(await a.moments(), await b.moments(), params.eps);
  },
  fitStats: {
    moments: true,
    fit: (stats, params) =>
      coralState(momentsFromStats(stats, "a"), momentsFromStats(stats, "b"), params.eps),
  },
  apply(state, m, side) {
    if (side === "a") return mapRows(m, state.dim, "coral", (row, out) => out.set(row));
    return mapRows(
      m,
      state.dim,
      "coral",
      (moved, out) => {
        for (let j = 0; j < moved.length; j++) out[j] = moved[j] + state.meanA[j];
      },
      linear(state.dim, state.t, state.meanB),
    );
  },
  stateSchema: (dim) =>
    z.object({
      meanA: vectorSchema(dim),
      meanB: vectorSchema(dim),
      t: vectorSchema(dim * dim),
      eps: z.number().positive(),
    }),
};

async function coralState(ma: Moments, mb: Moments, eps: number) {
  const d = ma.mean.length;
  const map = await covarianceMap(ma, mb, (l) => l + eps);
  return {
    kind: "coral" as const,
    version: 1,
    dim: d,
    meanA: Array.from(map.meanA),
    meanB: Array.from(map.meanB),
    t: Array.from(map.t),
    eps,
  };
}

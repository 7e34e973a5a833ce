import { z } from "zod";
import { symmetricMatrixFunction } from "../core/linalg.js";
import { type AlignMethod, type AlignState, mapRows, multiplyRow, PARAMS, vectorSchema } from "./method.js";
import { type Moments, momentsFromStats, momentsOf } from "./moments.js";

/** State of a covariance-matching map: b' = (b − μ_B)·T + μ_A with T = C_B^−½·C_A^½. */
export interface CovarianceMapState extends AlignState {
  readonly meanA: number[];
  readonly meanB: number[];
  readonly t: number[];
}

/**
 * T = C_B^−½·C_A^½ from the two modalities' covariances, each first regularised by `regularise(C, trace)`.
 * Both factors are symmetric, so (b − μ_B)·T whitens B and recolours it with A's covariance.
 */
export function covarianceMap(
  ma: Moments,
  mb: Moments,
  regularise: (c: Float64Array, trace: number) => void,
): { meanA: Float64Array; meanB: Float64Array; t: Float64Array } {
  const d = ma.mean.length;
  const [ca, cb] = [ma, mb].map((m) => {
    if (!m.covariance) throw new Error("covarianceMap: moments without a covariance");
    const c = Float64Array.from(m.covariance);
    regularise(c, m.trace);
    return c;
  });
  const root = symmetricMatrixFunction(ca, d, (l) => Math.sqrt(Math.max(l, 0)));
  const inverseRoot = symmetricMatrixFunction(cb, d, (l) => (l > 0 ? 1 / Math.sqrt(l) : 0));
  const t = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    row.set(inverseRoot.subarray(i * d, (i + 1) * d));
    multiplyRow(row, root, t.subarray(i * d, (i + 1) * d));
  }
  return { meanA: ma.mean, meanB: mb.mean, t };
}

/** Centres b on μ_B, maps it by T into out and moves it to μ_A. */
export function covarianceMapRow(state: CovarianceMapState, row: Float64Array, out: Float64Array): void {
  const centred = row.map((v, j) => v - state.meanB[j]);
  multiplyRow(centred, state.t, out);
  for (let j = 0; j < row.length; j++) out[j] += state.meanA[j];
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
  async fit(a, b, params) {
    return coralState(await momentsOf(a), await momentsOf(b), params.eps);
  },
  fitStats: {
    moments: true,
    fit: (stats, params) =>
      coralState(momentsFromStats(stats, "a"), momentsFromStats(stats, "b"), params.eps),
  },
  apply(state, m, side) {
    return mapRows(m, state.dim, "coral", (row, out) =>
      side === "a" ? out.set(row) : covarianceMapRow(state, row, out),
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

function coralState(ma: Moments, mb: Moments, eps: number) {
  const d = ma.mean.length;
  const map = covarianceMap(ma, mb, (c) => {
    for (let i = 0; i < d; i++) c[i * d + i] += eps;
  });
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

import { z } from "zod";
import { type CenterState, center, centerFromStats } from "./center.js";
import { type AlignMethod, type AlignState, mapRows, PARAMS } from "./method.js";
import { addNoise } from "./noise.js";

/** State of `c3`: each modality's mean, the noise variance and its seed. */
export interface C3State extends AlignState {
  readonly kind: "c3";
  readonly meanA: CenterState["meanA"];
  readonly meanB: CenterState["meanB"];
  readonly sigma2: number;
  readonly seed: number;
}

/**
 * `c3` (Connect, Collapse, Corrupt): centre each modality (collapse the gap), then add Gaussian noise
 * N(0, σ²) per coordinate (corrupt, for training-time robustness) and renormalise. σ² = 0 is `center`.
 */
export const c3: AlignMethod<C3State> = {
  kind: "c3",
  version: 1,
  summary: "C3: centre each modality, then add Gaussian noise N(0, σ²) for training-time robustness",
  needsPairs: false,
  params: {
    sigma2: PARAMS.nonNegative(0.016, "noise variance per coordinate (0: no noise)"),
    seed: PARAMS.seed(),
  },
  async fit(a, b, params) {
    return { ...(await center.fit(a, b, {})), kind: "c3", sigma2: params.sigma2, seed: params.seed };
  },
  fitStats: {
    moments: false,
    fit: (stats, params) => ({
      ...centerFromStats(stats),
      kind: "c3",
      sigma2: params.sigma2,
      seed: params.seed,
    }),
  },
  apply(state, m, side) {
    const mean = side === "a" ? state.meanA : state.meanB;
    return mapRows(m, state.dim, "c3", (row, out, i) => {
      for (let j = 0; j < row.length; j++) out[j] = row[j] - mean[j];
      addNoise(out, state.sigma2, state.seed + (side === "a" ? 0 : 1), i);
    });
  },
  stateSchema: (dim) =>
    (center.stateSchema(dim) as z.ZodObject).extend({ sigma2: z.number().min(0), seed: z.number().int() }),
};

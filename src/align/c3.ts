import { z } from "zod";
import { type CenterState, center, centerFromStats, subtractMean } from "./center.js";
import { type AlignMethod, type AlignState, PARAMS } from "./method.js";
import { noisyRows } from "./noise.js";

/** State of `c3`: each modality's mean, and the training-time noise's variance and default seed. */
export interface C3State extends AlignState {
  readonly kind: "c3";
  readonly meanA: CenterState["meanA"];
  readonly meanB: CenterState["meanB"];
  readonly sigma2: number;
  readonly seed: number;
}

/**
 * `c3` (Connect, Collapse, Corrupt): at inference, centre each modality (collapse the gap) and renormalise —
 * `center`'s transform; while training a decoder, `augment` also adds Gaussian noise N(0, σ²) per coordinate
 * (corrupt) and renormalises.
 */
export const c3: AlignMethod<C3State> = {
  kind: "c3",
  version: 2, // version 1 added the noise in apply
  summary: "C3: centre each modality; `align augment` adds the training-time noise N(0, σ²)",
  needsPairs: false,
  params: {
    sigma2: PARAMS.nonNegative(0.016, "training-time noise variance per coordinate (0: no noise)"),
    seed: PARAMS.seed(),
  },
  async fit(a, b, params) {
    return {
      ...(await center.fit(a, b, {})),
      kind: "c3",
      version: 2,
      sigma2: params.sigma2,
      seed: params.seed,
    };
  },
  fitStats: {
    moments: false,
    fit: (stats, params) => ({
      ...centerFromStats(stats),
      kind: "c3",
      version: 2,
      sigma2: params.sigma2,
      seed: params.seed,
    }),
  },
  apply: (state, m, side) => subtractMean(state, m, side, "c3"),
  augment: async (state, m, side, seed = state.seed, firstRow = 0) =>
    noisyRows(
      await subtractMean(state, m, side, "c3"),
      state.sigma2,
      seed + (side === "a" ? 0 : 1),
      "c3 augment",
      firstRow,
    ),
  stateSchema: (dim) =>
    (center.stateSchema(dim) as z.ZodObject).extend({ sigma2: z.number().min(0), seed: z.number().int() }),
};

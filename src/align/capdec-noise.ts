import { z } from "zod";
import { type AlignMethod, type AlignState, mapRows, PARAMS } from "./method.js";
import { addNoise } from "./noise.js";

/** State of `capdec-noise`: the noise variance and its seed. */
export interface CapDecNoiseState extends AlignState {
  readonly kind: "capdec-noise";
  readonly sigma2: number;
  readonly seed: number;
}

/** `capdec-noise` (CapDec): b' = n(b + N(0, σ²)), a training augmentation that blurs over the gap; A unchanged. */
export const capdecNoise: AlignMethod<CapDecNoiseState> = {
  kind: "capdec-noise",
  version: 1,
  summary: "CapDec: add Gaussian noise N(0, σ²) to B and renormalise (training augmentation)",
  needsPairs: false,
  params: { sigma2: PARAMS.nonNegative(0.016, "noise variance per coordinate"), seed: PARAMS.seed() },
  fit: async (a, _b, params) => capdecState(a.cols, params),
  fitStats: { moments: false, fit: (stats, params) => capdecState(stats.dim, params) },
  apply(state, m, side) {
    return mapRows(m, state.dim, "capdec-noise", (row, out, i) => {
      out.set(row);
      if (side === "b") addNoise(out, state.sigma2, state.seed, i);
    });
  },
  stateSchema: () => z.object({ sigma2: z.number().min(0), seed: z.number().int() }),
};

function capdecState(dim: number, params: Readonly<Record<string, number>>): CapDecNoiseState {
  return { kind: "capdec-noise", version: 1, dim, sigma2: params.sigma2, seed: params.seed };
}

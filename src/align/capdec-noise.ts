import { z } from "zod";
import type { Matrix } from "../core/matrix.js";
import { type AlignMethod, type AlignState, mapRows, PARAMS, type Side } from "./method.js";
import { noisyRows } from "./noise.js";

/** State of `capdec-noise`: the training-time noise's variance and default seed. */
export interface CapDecNoiseState extends AlignState {
  readonly kind: "capdec-noise";
  readonly sigma2: number;
  readonly seed: number;
}

/** CapDec's inference transform: the rows as they are, renormalised (checked against the state's dim). */
function unchanged(state: CapDecNoiseState, m: Matrix, _side: Side): Promise<Matrix> {
  return mapRows(m, state.dim, "capdec-noise", (row, out) => out.set(row));
}

/**
 * `capdec-noise` (CapDec): a training-time augmentation — a decoder is trained on n(b + N(0, σ²)), which
 * blurs over the gap — so `augment` adds the noise and `apply`, the inference transform, leaves rows as they are
 * (renormalised): CapDec decodes the clean embedding.
 */
export const capdecNoise: AlignMethod<CapDecNoiseState> = {
  kind: "capdec-noise",
  version: 2, // version 1 added the noise in apply
  summary: "CapDec: unchanged at inference; `align augment` adds the training-time noise N(0, σ²)",
  needsPairs: false,
  params: {
    sigma2: PARAMS.nonNegative(0.016, "training-time noise variance per coordinate"),
    seed: PARAMS.seed(),
  },
  fit: async (a, _b, params) => capdecState(a.cols, params),
  fitStats: { moments: false, fit: (stats, params) => capdecState(stats.dim, params) },
  apply: unchanged,
  augment: async (state, m, side, seed = state.seed, firstRow = 0) =>
    noisyRows(await unchanged(state, m, side), state.sigma2, seed, "capdec-noise augment", firstRow),
  stateSchema: () => z.object({ sigma2: z.number().min(0), seed: z.number().int() }),
};

function capdecState(dim: number, params: Readonly<Record<string, number>>): CapDecNoiseState {
  return { kind: "capdec-noise", version: 2, dim, sigma2: params.sigma2, seed: params.seed };
}

import { z } from "zod";
import { colMeans, type Matrix } from "../core/matrix.js";
import type { GapStats } from "../gap/stats.js";
import { type AlignMethod, type AlignState, mapRows, type Side, vectorSchema } from "./method.js";
import { momentsFromStats } from "./moments.js";

/** State of `center`: each modality's mean. */
export interface CenterState extends AlignState {
  readonly kind: "center";
  readonly meanA: number[];
  readonly meanB: number[];
}

/** Subtracts the fitted mean of the row's own modality. */
export function subtractMean(
  state: { dim: number; meanA: number[]; meanB: number[] },
  m: Matrix,
  side: Side,
  where: string,
) {
  const mean = side === "a" ? state.meanA : state.meanB;
  return mapRows(m, state.dim, where, (row, out) => {
    for (let j = 0; j < row.length; j++) out[j] = row[j] - mean[j];
  });
}

/** The `center` state of the modalities' means in mergeable statistics. */
export function centerFromStats(stats: GapStats): CenterState {
  return centerState(momentsFromStats(stats, "a").mean, momentsFromStats(stats, "b").mean);
}

function centerState(meanA: Float64Array, meanB: Float64Array): CenterState {
  return {
    kind: "center",
    version: 1,
    dim: meanA.length,
    meanA: Array.from(meanA),
    meanB: Array.from(meanB),
  };
}

/** `center`: subtract each modality's own mean, renormalise (both sides). */
export const center: AlignMethod<CenterState> = {
  kind: "center",
  version: 1,
  summary: "subtract each modality's own mean and renormalise (both sides)",
  needsPairs: false,
  params: {},
  fit: async (a, b) => centerState(colMeans(a), colMeans(b)),
  fitStats: { moments: false, fit: (stats) => centerFromStats(stats) },
  apply: (state, m, side) => subtractMean(state, m, side, "center"),
  stateSchema: (dim) => z.object({ meanA: vectorSchema(dim), meanB: vectorSchema(dim) }),
};

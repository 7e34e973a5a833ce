import { z } from "zod";
import { colMeans, type Matrix } from "../core/matrix.js";
import { type AlignMethod, type AlignState, mapRows, type Side, vectorSchema } from "./method.js";

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

/** `center`: subtract each modality's own mean, renormalise (both sides). */
export const center: AlignMethod<CenterState> = {
  kind: "center",
  version: 1,
  summary: "subtract each modality's own mean and renormalise (both sides)",
  needsPairs: false,
  params: {},
  async fit(a, b) {
    return {
      kind: "center",
      version: 1,
      dim: a.cols,
      meanA: Array.from(colMeans(a)),
      meanB: Array.from(colMeans(b)),
    };
  },
  apply: (state, m, side) => subtractMean(state, m, side, "center"),
  stateSchema: (dim) => z.object({ meanA: vectorSchema(dim), meanB: vectorSchema(dim) }),
};

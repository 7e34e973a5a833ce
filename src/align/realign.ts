import { z } from "zod";
import { check } from "../core/errors.js";
import type { GapStats } from "../gap/stats.js";
import { type AlignMethod, type AlignState, mapRows, vectorSchema } from "./method.js";
import { meanAndTrace, momentsFromStats } from "./moments.js";

/** State of `realign`: the anchors, the trace scale and the centroid of the moved fit set. */
export interface RealignState extends AlignState {
  readonly kind: "realign";
  readonly meanA: number[];
  readonly meanB: number[];
  readonly scale: number;
  readonly centroid: number[];
}

/**
 * The ReAlign steps for one b row given a linear map of the centred row: anchor (centre on μ_B, move to
 * μ_A), then the centroid correction n(ẽ − μ̂ + μ_A). Shared with realign-aniso.
 */
export function realignRow(
  row: Float64Array,
  out: Float64Array,
  state: { meanA: number[]; meanB: number[] },
  scaleCentred: (centred: Float64Array, scaled: Float64Array) => void,
  centroid: ArrayLike<number> | null,
): void {
  const d = row.length;
  const centred = new Float64Array(d);
  for (let j = 0; j < d; j++) centred[j] = row[j] - state.meanB[j];
  scaleCentred(centred, out);
  let norm = 0;
  for (let j = 0; j < d; j++) {
    out[j] += state.meanA[j];
    norm += out[j] * out[j];
  }
  norm = Math.sqrt(norm);
  for (let j = 0; j < d; j++) out[j] /= norm;
  if (centroid) for (let j = 0; j < d; j++) out[j] += state.meanA[j] - centroid[j];
}

/** Mean of the rows of B after the anchor and scale steps: ReAlign's centroid μ̂ over the fit set. */
export function movedCentroid(
  b: { rows: number; cols: number; data: Float32Array },
  state: { meanA: number[]; meanB: number[] },
  scaleCentred: (centred: Float64Array, scaled: Float64Array) => void,
): number[] {
  const d = b.cols;
  const sum = new Float64Array(d);
  const row = new Float64Array(d);
  const out = new Float64Array(d);
  for (let i = 0; i < b.rows; i++) {
    for (let j = 0; j < d; j++) row[j] = b.data[i * d + j];
    out.fill(0);
    realignRow(row, out, state, scaleCentred, null);
    for (let j = 0; j < d; j++) sum[j] += out[j];
  }
  return Array.from(sum, (s) => s / b.rows);
}

/**
 * `realign` (ReAlign): moves B onto A's statistics from first and second moments only — Anchor (μ_A, μ_B),
 * Trace (s = √(T_A / (T_B + 1e-10)), T = mean ‖x − μ‖²), Centroid (μ̂ = mean of ẽ = n((b − μ_B)·s + μ_A)
 * over the fit set; result n(ẽ − μ̂ + μ_A)). A is left as is (normalised). No pairs needed.
 */
export const realign: AlignMethod<RealignState> = {
  kind: "realign",
  version: 1,
  summary: "ReAlign: anchor, trace and centroid steps move B onto A's statistics (no pairs needed)",
  needsPairs: false,
  params: {},
  async fit(a, b) {
    const anchors = realignAnchors(meanAndTrace(a), meanAndTrace(b));
    return realignState(anchors, movedCentroid(b, anchors, scaleBy(anchors.scale)));
  },
  apply(state, m, side) {
    if (side === "a") return mapRows(m, state.dim, "realign", (row, out) => out.set(row));
    const scaleCentred = scaleBy(state.scale);
    return mapRows(m, state.dim, "realign", (row, out) =>
      realignRow(row, out, state, scaleCentred, state.centroid),
    );
  },
  stateSchema: (dim) =>
    z.object({
      meanA: vectorSchema(dim),
      meanB: vectorSchema(dim),
      scale: z.number().positive(),
      centroid: vectorSchema(dim),
    }),
};

/** ReAlign's anchor and trace steps: both means, and s = √(T_A / (T_B + 1e-10)). */
export interface RealignAnchors {
  meanA: number[];
  meanB: number[];
  scale: number;
}

function realignAnchors(
  a: { mean: Float64Array; trace: number },
  b: { mean: Float64Array; trace: number },
): RealignAnchors {
  return {
    meanA: Array.from(a.mean),
    meanB: Array.from(b.mean),
    scale: Math.sqrt(a.trace / (b.trace + 1e-10)),
  };
}

function realignState(anchors: RealignAnchors, centroid: number[]): RealignState {
  return { kind: "realign", version: 1, dim: anchors.meanA.length, ...anchors, centroid };
}

/**
 * ReAlign fitted where the rows live (a database): anchors and trace from the statistics, and the
 * centroid from `centroid`, one more aggregation over B's rows (see realignCentroidQuery).
 */
export async function fitRealignFromStats(
  stats: GapStats,
  centroid: (anchors: RealignAnchors) => Promise<number[]>,
): Promise<RealignState> {
  check(stats.n >= 2, "realign fit", "at least 2 pairs", () => String(stats.n));
  const anchors = realignAnchors(momentsFromStats(stats, "a"), momentsFromStats(stats, "b"));
  return realignState(anchors, await centroid(anchors));
}

function scaleBy(s: number) {
  return (centred: Float64Array, out: Float64Array) => {
    for (let j = 0; j < centred.length; j++) out[j] = centred[j] * s;
  };
}

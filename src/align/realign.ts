import { z } from "zod";
import { check } from "../core/errors.js";
import type { Matrix } from "../core/matrix.js";
import type { GapStats } from "../gap/stats.js";
import { type AlignMethod, type AlignState, linear, mapRows, type Side, vectorSchema } from "./method.js";
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
 * ReAlign's steps after the linear one, for one b row already centred on μ_B and scaled (in `out`): move to
 * μ_A, normalise, then the centroid correction n(ẽ) − μ̂ + μ_A (the caller renormalises). Shared with
 * realign-aniso.
 */
export function realignMoved(
  out: Float64Array,
  meanA: ArrayLike<number>,
  centroid: ArrayLike<number> | null,
): void {
  const d = out.length;
  let norm = 0;
  for (let j = 0; j < d; j++) {
    out[j] += meanA[j];
    norm += out[j] * out[j];
  }
  norm = Math.sqrt(norm);
  for (let j = 0; j < d; j++) out[j] /= norm;
  if (centroid) for (let j = 0; j < d; j++) out[j] += meanA[j] - centroid[j];
}

/** Mean of the rows of B after the anchor and scale steps: ReAlign's centroid μ̂ over the fit set. */
export async function movedCentroid(
  b: { rows: number; cols: number; data: Float32Array },
  state: { meanA: number[]; meanB: number[] },
  map: ArrayLike<number> | number,
): Promise<number[]> {
  const d = b.cols;
  const moved = await linear(d, map, state.meanB)(Float64Array.from(b.data), b.rows);
  const sum = new Float64Array(d);
  for (let i = 0; i < b.rows; i++) {
    const row = moved.subarray(i * d, (i + 1) * d);
    realignMoved(row, state.meanA, null);
    for (let j = 0; j < d; j++) sum[j] += row[j];
  }
  return Array.from(sum, (s) => s / b.rows);
}

/** Applies ReAlign's steps to B rows with the linear `map` (A rows pass through, normalised). */
export function applyRealign(
  state: { dim: number; meanA: number[]; meanB: number[]; centroid: number[] },
  m: Matrix,
  side: Side,
  where: string,
  map: ArrayLike<number> | number,
): Promise<Matrix> {
  if (side === "a") return mapRows(m, state.dim, where, (row, out) => out.set(row));
  return mapRows(
    m,
    state.dim,
    where,
    (moved, out) => {
      out.set(moved);
      realignMoved(out, state.meanA, state.centroid);
    },
    linear(state.dim, map, state.meanB),
  );
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
    return realignState(anchors, await movedCentroid(b, anchors, anchors.scale));
  },
  apply: (state, m, side) => applyRealign(state, m, side, "realign", state.scale),
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

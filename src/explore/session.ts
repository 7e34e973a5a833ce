import { type AlignState, applyAlign, fitAlign, type Side } from "../align/index.js";
import { type ShiftState, shiftBy } from "../align/shift.js";
import { check } from "../core/errors.js";
import { type Matrix, matrix, row, selectRows, sliceRows, stackRows } from "../core/matrix.js";
import { createRng, uniformSampleRows } from "../core/rng.js";
import { fitRowCount } from "../eval/split.js";
import { type MeasureResult, measureUpTo } from "../gap/measure.js";
import { checkPairShapes } from "../gap/metrics.js";
import { unitRows } from "../gap/unit-rows.js";
import type { ScoreMethod } from "../score/methods.js";
import { applyScorer, fitScorer, type Match } from "../score/scorer.js";
import { type PcaFrame, pcaFrame, projectRows } from "../sim/pca.js";

/** What the explorer's controls set: the alignment fitted on the first `fit` of the pairs, the gap shift λ, the scoring. */
export interface ExploreSettings {
  /** An alignment kind (see ALIGN_METHODS), or "none". */
  method: string;
  /** The fraction of the pairs (the first rows) the alignment and the scorer are fitted on. */
  fit: number;
  /** Mind the Gap's shift of both modalities by ±½λΔ, Δ the gap vector of all pairs (as `gapkit shift`). */
  lambda: number;
  scoring: ScoreMethod;
}

/** The settings a page opens with: no alignment, no shift, raw cosine, half the pairs to fit on. */
export const DEFAULT_EXPLORE_SETTINGS: ExploreSettings = {
  method: "none",
  fit: 0.5,
  lambda: 0,
  scoring: "raw",
};

/** The pairs as the settings leave them, with their numbers and their place in the frozen PCA frame. */
export interface ExploreView {
  settings: ExploreSettings;
  /** The fitted transforms (alignment, then shift), in the order they apply. */
  states: AlignState[];
  /** The pairs before the shift, kept for the next view with the same alignment. */
  aligned: Aligned;
  /** Pairs [0, fitRows) fitted the alignment and the scorer; [fitRows, N) are held out. */
  fitRows: number;
  a: Matrix;
  b: Matrix;
  /** `measure` of all pairs (up to the session's pairwiseMax: with method "none", `gapkit measure`; with λ, `gapkit shift`). */
  all: MeasureResult;
  /** `measure` of the held-out pairs: the honest numbers for a fitted alignment. */
  heldOut: MeasureResult;
  /** x, y of every a row, then of every b row, in the frame of the unaligned pairs. */
  points: Float64Array;
}

/** An explorer session: the pairs, their PCA frame and how their pairwise metrics are sampled. */
export interface ExploreSession {
  a: Matrix;
  b: Matrix;
  groups?: Int32Array;
  frame: PcaFrame;
  /** Pairwise metrics (uniformity, retrieval) are exact up to this many pairs, else on a seeded sample. */
  pairwiseMax: number;
  seed: number;
  /** x, y of every a row, then every b row, in the frame. */
  points: Float64Array;
}

/** Options of a session. */
export interface SessionOptions {
  groups?: Int32Array;
  /** As `gapkit measure --pairwise-max` (default 2,000: live updates stay interactive at 20,000 pairs). */
  pairwiseMax?: number;
  /** The sample's seed, as `gapkit measure --seed` (default 0). */
  seed?: number;
}

/** Pairs the frame's principal axes are fitted on, at most: a seeded sample beyond (the axes barely move). */
export const FRAME_PAIRS = 5000;

/**
 * Opens a session on paired embeddings: checks them and fixes the frame, the top two principal axes of both
 * modalities' unit rows together (of a seeded sample of FRAME_PAIRS pairs on larger sets).
 */
export async function openSession(
  a: Matrix,
  b: Matrix,
  options: SessionOptions = {},
): Promise<ExploreSession> {
  checkPairShapes(a, b, { a: "A", b: "B" });
  const { pairwiseMax = 2000, seed = 0, groups } = options;
  const unit = unitStack(a, b);
  const fitted = uniformSampleRows(a.rows, FRAME_PAIRS, seed);
  const rows = a.rows <= FRAME_PAIRS ? unit : selectRows(unit, [...fitted, ...fitted.map((i) => i + a.rows)]);
  const frame = await pcaFrame(rows);
  return { a, b, groups, frame, pairwiseMax, seed, points: projectRows(frame, unit) };
}

/** The rows of the parts, each L2-normalised, stacked. */
function unitStack(...parts: Matrix[]): Matrix {
  return stackRows(parts.map((m) => unitRows(m, "explore")));
}

/** The x, y of rows (L2-normalised first) in the session's frame, part after part. */
export function framePoints(session: ExploreSession, ...parts: Matrix[]): Float64Array {
  return projectRows(session.frame, unitStack(...parts));
}

/** The pairs aligned by a method fitted on the first rows, and the gap shift fitted on them (before any λ). */
export interface Aligned {
  a: Matrix;
  b: Matrix;
  /** The alignment's state, if any. */
  states: AlignState[];
  /** The gap shift fitted on these pairs (λ-free), once a λ asks for it. */
  shift?: ShiftState;
}

async function alignedPairs(session: ExploreSession, method: string, fitRows: number): Promise<Aligned> {
  let [a, b] = [session.a, session.b];
  const states: AlignState[] = [];
  if (method !== "none") {
    const state = await fitAlign(method, sliceRows(a, 0, fitRows), sliceRows(b, 0, fitRows));
    states.push(state);
    [a, b] = [await applyAlign(state, a, "a"), await applyAlign(state, b, "b")];
  }
  return { a, b, states };
}

/**
 * The pairs under `settings`: aligned (fitted on the first rows), shifted by λ, measured, projected. With
 * the `previous` view, what the change leaves as it was is reused: a scoring change moves no pair, a λ
 * change keeps the alignment.
 */
export async function exploreView(
  session: ExploreSession,
  settings: ExploreSettings,
  previous?: ExploreView,
): Promise<ExploreView> {
  const kept = (...keys: (keyof ExploreSettings)[]) =>
    previous !== undefined && keys.every((k) => previous.settings[k] === settings[k]);
  if (previous && kept("method", "fit", "lambda")) return { ...previous, settings };
  const n = session.a.rows;
  const fitRows = fitRowCount(n, settings.fit);
  const aligned =
    previous && kept("method", "fit")
      ? previous.aligned
      : await alignedPairs(session, settings.method, fitRows);
  let { a, b } = aligned;
  const states = [...aligned.states];
  if (settings.lambda !== 0) {
    aligned.shift ??= (await fitAlign("shift", a, b)) as ShiftState;
    const state = shiftBy(aligned.shift, settings.lambda);
    states.push(state);
    [a, b] = [await applyAlign(state, a, "a"), await applyAlign(state, b, "b")];
  }
  const { groups, pairwiseMax, seed } = session;
  const all = await measureUpTo(a, b, { groups, pairwiseMax, seed });
  const heldOut = await measureUpTo(sliceRows(a, fitRows, n), sliceRows(b, fitRows, n), {
    groups: groups?.subarray(fitRows),
    pairwiseMax,
    seed,
  });
  // untouched pairs are where the session put them
  const points = states.length ? framePoints(session, a, b) : session.points;
  return { settings, aligned, states, fitRows, a, b, all, heldOut, points };
}

/** Rows of one modality moved as the view moved that modality. */
export async function transformRows(view: ExploreView, m: Matrix, side: Side): Promise<Matrix> {
  for (const state of view.states) m = await applyAlign(state, m, side);
  return m;
}

/** `measure` of the pairs at `indices` in a view (at least 2), sampled as the session samples. */
export async function measureSelection(
  session: ExploreSession,
  view: ExploreView,
  indices: ArrayLike<number>,
) {
  check(indices.length >= 2, "explore selection", "at least 2 pairs", () => String(indices.length));
  const { groups, pairwiseMax, seed } = session;
  return measureUpTo(selectRows(view.a, indices), selectRows(view.b, indices), {
    groups: groups && Int32Array.from(indices, (i) => groups[i]),
    pairwiseMax,
    seed,
  });
}

/**
 * The `top` best items of the other modality for every query of modality `side`, under the view's scoring
 * fitted on its fit rows — what `score fit` on the fit rows and `score apply` on all rows give.
 */
export async function neighbourLists(
  view: ExploreView,
  side: Side,
  top: number,
  extraQuery?: Matrix,
): Promise<Match[][]> {
  const [queries, gallery] = querySides(view, side);
  const state = await fitScorer(
    sliceRows(queries, 0, view.fitRows),
    sliceRows(gallery, 0, view.fitRows),
    view.settings.scoring,
  );
  const all = extraQuery ? stackRows([queries, extraQuery]) : queries;
  return applyScorer(state, all, gallery, { top: Math.min(top, gallery.rows) });
}

/** A match and the plain cosine of its query and gallery rows (the score before any gallery-aware step). */
export type Neighbour = Match & { cosine: number };

/** A view's rows of modality `side` (the queries) and of the other (the gallery). */
export function querySides(view: ExploreView, side: Side): [Matrix, Matrix] {
  return side === "a" ? [view.a, view.b] : [view.b, view.a];
}

/** The matches of a query row, each with its raw cosine to the gallery row. */
export function withCosines(query: Float32Array, gallery: Matrix, matches: Match[]): Neighbour[] {
  return matches.map((m) => ({ ...m, cosine: cosine(query, row(gallery, m.index)) }));
}

function cosine(x: Float32Array, y: Float32Array): number {
  let [xy, xx, yy] = [0, 0, 0];
  for (let j = 0; j < x.length; j++) {
    xy += x[j] * y[j];
    xx += x[j] * x[j];
    yy += y[j] * y[j];
  }
  return xy / Math.sqrt(xx * yy);
}

/**
 * A new embedding of modality `side` (a typed query) under the view: where it lands in the frame and its
 * `top` best items of the other modality, scored among the view's own queries of that modality.
 */
export async function placeQuery(
  session: ExploreSession,
  view: ExploreView,
  side: Side,
  vector: Float32Array,
  top: number,
): Promise<{ point: [number, number]; matches: Neighbour[] }> {
  check(
    vector.length === session.a.cols,
    "explore query",
    `an embedding of dimension ${session.a.cols}`,
    () => String(vector.length),
  );
  const moved = await transformRows(view, matrix(1, vector.length, vector), side);
  const [x, y] = framePoints(session, moved);
  const lists = await neighbourLists(view, side, top, moved);
  const [, gallery] = querySides(view, side);
  return { point: [x, y], matches: withCosines(moved.data, gallery, lists[lists.length - 1]) };
}

/** A seeded 2-D UMAP of the view's rows (a then b); `onEpoch(epoch, epochs)` reports progress. */
export async function umapPoints(
  view: ExploreView,
  seed: number,
  onEpoch: (epoch: number, epochs: number) => void,
): Promise<Float64Array> {
  const { UMAP } = await import("umap-js");
  const rows = unitStack(view.a, view.b);
  const input = Array.from({ length: rows.rows }, (_, i) =>
    Array.from(rows.data.subarray(i * rows.cols, (i + 1) * rows.cols)),
  );
  const rng = createRng(seed);
  // umap-js needs more points than neighbours
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(15, rows.rows - 1),
    random: () => rng.uniform(),
  });
  const epochs = umap.initializeFit(input);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    umap.step();
    if (epoch % 10 === 0 || epoch === epochs) onEpoch(epoch, epochs);
  }
  return Float64Array.from(umap.getEmbedding().flat());
}

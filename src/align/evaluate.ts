import { check } from "../core/errors.js";
import { type Matrix, selectRows } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { type BootstrapOptions, bootstrapRecalls } from "../eval/bootstrap.js";
import { fitRowCount } from "../eval/split.js";
import { type MeasureResult, measureRanked, type RankedMeasure } from "../gap/measure.js";
import { ALIGN_METHODS, alignFitter } from "./index.js";

/** Options for a held-out evaluation of alignment transforms. */
export interface HeldOutOptions {
  /** Transform kinds to evaluate (default: all). */
  methods?: string[];
  /** Fraction of the pairs to fit on (default 0.5); the rest are measured. */
  fit?: number;
  /** Shuffle the pairs (seeded) before splitting, instead of file order. */
  shuffle?: boolean;
  seed?: number;
  /** Parameters per kind (defaults otherwise). */
  params?: Record<string, Record<string, number | string>>;
  /** Bootstrap of R@1 on the held-out pairs (default: 1000 resamples, seed = `seed`). */
  bootstrap?: BootstrapOptions;
  /** One group id per pair: retrieval counts any gallery item of the query's group as a hit (see groupIds). */
  groups?: Int32Array;
  onProgress?: (done: number, total: number) => void;
}

/** Held-out evaluation: measure on the held-out pairs before (baseline) and after each transform. */
export interface HeldOutResult {
  fitRows: number;
  evalRows: number;
  baseline: MeasureResult;
  methods: Record<string, MeasureResult>;
  /** One line per method whose map the fit pairs do not determine (more dimensions than they span). */
  notes: string[];
  /**
   * The evaluated methods that are training-time augmentations (c3, capdec-noise): measured here is their
   * inference transform; their noise has its effect when a decoder is trained on it.
   */
  augmentations: string[];
  /** Present when retrieval was multi-positive (groups). */
  groups?: true;
}

function takeRows(m: Matrix, order: Int32Array, start: number, end: number): Matrix {
  return selectRows(m, order.subarray(start, end));
}

/**
 * Fits each transform on the first `fit` fraction of the pairs (file order unless `shuffle`) and
 * reports the `measure` metrics, with bootstrap CIs of R@1, on the remaining pairs before and after.
 */
export async function evaluateHeldOut(
  a: Matrix,
  b: Matrix,
  options: HeldOutOptions = {},
): Promise<HeldOutResult> {
  const { fit = 0.5, seed = 0, methods = Object.keys(ALIGN_METHODS) } = options;
  check(a.rows === b.rows, "align eval", `paired rows, as many in B as in A (${a.rows})`, () =>
    String(b.rows),
  );
  const fitRows = fitRowCount(a.rows, fit);
  const order = options.shuffle
    ? createRng(seed).permutation(a.rows)
    : Int32Array.from({ length: a.rows }, (_, i) => i);
  const [fitA, fitB] = [takeRows(a, order, 0, fitRows), takeRows(b, order, 0, fitRows)];
  const [evalA, evalB] = [takeRows(a, order, fitRows, a.rows), takeRows(b, order, fitRows, a.rows)];
  const { groups } = options;
  if (groups)
    check(groups.length === a.rows, "align eval groups", `one group id per pair (${a.rows})`, () =>
      String(groups.length),
    );
  const measured = { groups: groups && Int32Array.from(order.subarray(fitRows), (i) => groups[i]) };
  const baseline = await measureRanked(evalA, evalB, measured);
  const result: HeldOutResult = {
    fitRows,
    evalRows: a.rows - fitRows,
    baseline: baseline.result,
    methods: {},
    notes: [],
    augmentations: methods.filter((kind) => ALIGN_METHODS[kind].augment),
    ...(groups ? { groups: true as const } : {}),
  };
  const ranked = [baseline];
  const fitMethod = alignFitter(fitA, fitB);
  for (const [i, kind] of methods.entries()) {
    const state = await fitMethod(kind, options.params?.[kind]);
    const method = ALIGN_METHODS[kind];
    const note = method.underdetermined?.(fitRows, a.cols);
    if (note) result.notes.push(`${kind}: ${note}`);
    // the state is the fitter's own: applied without applyAlign's schema validation (≈ 10 ms a state)
    const measuredMethod = await measureRanked(
      await method.apply(state, evalA, "a"),
      await method.apply(state, evalB, "b"),
      measured,
    );
    result.methods[kind] = measuredMethod.result;
    ranked.push(measuredMethod);
    options.onProgress?.(i + 1, methods.length);
  }
  addIntervals(ranked, { seed, ...options.bootstrap });
  return result;
}

/**
 * R@1 intervals of every measure from one bootstrap draw of the held-out queries (paired across the rows
 * of the table): the intervals each measure would draw itself with the same options, drawn once.
 */
function addIntervals(ranked: RankedMeasure[], bootstrap: BootstrapOptions): void {
  const intervals = bootstrapRecalls(
    ranked.flatMap(({ ranks }) => [ranks.aToB, ranks.bToA]),
    1,
    bootstrap,
  );
  for (const [i, { result }] of ranked.entries()) {
    result.retrieval.aToB.r1CI = intervals[2 * i];
    result.retrieval.bToA.r1CI = intervals[2 * i + 1];
  }
}

import type { BlockOptions } from "../core/blocks.js";
import { check } from "../core/errors.js";
import { type Matrix, sliceRows } from "../core/matrix.js";
import { hashUniform } from "../core/rng.js";
import { bootstrapRecalls } from "../eval/bootstrap.js";
import {
  distinctInGroups,
  emptyQueryRanks,
  place,
  type RecallSummary,
  recallSummary,
} from "../eval/retrieval.js";
import { fitRowCount } from "../eval/split.js";
import { type Calibration, calibrate, fitCalibration } from "./calibrate.js";
import { forEachCosineBlock } from "./cosine.js";
import {
  applyTerms,
  DEFAULT_SCORE_PARAMS,
  keepTop,
  labelledScores,
  type ScoreMethod,
  type ScoreParams,
  scoreTerms,
} from "./methods.js";

const HUBNESS_K = 10;
const ECE_BINS = 10;

/** A method's held-out metrics: retrieval both ways; the rest for queries a against gallery b. */
export interface MethodEvaluation {
  /** With a 95% percentile-bootstrap interval of R@1 over the held-out queries (`r1CI`). */
  aToB: RecallSummary & { r1CI: [number, number] };
  bToA: RecallSummary;
  /** P(true pair scores above another pair), ties counted half. */
  auc: number;
  /** Precision at the threshold that keeps half (0.5) or 90% (0.9) of the true pairs. */
  precisionAtRecall: { "0.5": number; "0.9": number };
  /** Skewness of how often each gallery item is among a query's 10 best (0: no hubs). */
  hubness: number;
  /** Expected calibration error of the calibrated P(match) over all pairs, 10 equal-width bins. */
  ece: number;
  /** Mean squared error of the calibrated P(match) over all pairs. */
  brier: number;
  /** The reliability diagram behind `ece`: per non-empty bin, pairs, mean P(match) and observed match rate. */
  reliability: { pairs: number; predicted: number; observed: number }[];
}

/** Held-out scores to draw: every true pair's, and one other pair's per query (a seeded uniform pick). */
export interface ScoreSamples {
  truePairs: number[];
  otherPairs: number[];
}

/** `score eval`'s result. */
export interface ScoreEvaluation {
  fitRows: number;
  evalRows: number;
  calibration: Calibration["type"];
  methods: Partial<Record<ScoreMethod, MethodEvaluation>>;
  /** With `samples`: the a→b scores of true and other pairs per method, for histograms. */
  samples?: Partial<Record<ScoreMethod, ScoreSamples>>;
  /** The method with the highest a→b R@1 (then AUC), and its calibration error. */
  best: { method: ScoreMethod; r1: number; ece: number };
  /** Present when retrieval was multi-positive (groups). */
  groups?: true;
}

/** Options for evaluateScoring. */
export interface ScoreEvaluationOptions extends BlockOptions, Partial<ScoreParams> {
  /** Fraction of the pairs (the first rows) used to fit the bank and the calibration (default 0.5). */
  fit?: number;
  methods: readonly ScoreMethod[];
  calibration?: Calibration["type"];
  /** Seed of the non-match sample a calibration is fitted on when the fit set is large, of `samples` and of the bootstrap. */
  seed?: number;
  /** Also return score samples for histograms (see ScoreSamples). */
  samples?: boolean;
  /** One group id per pair: retrieval counts any gallery item of the query's group as a hit (see groupIds). */
  groups?: Int32Array;
}

function skewness(values: ArrayLike<number>): number {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] / n;
  let [m2, m3] = [0, 0];
  for (let i = 0; i < n; i++) {
    const d = values[i] - mean;
    m2 += (d * d) / n;
    m3 += (d * d * d) / n;
  }
  return m2 > 0 ? m3 / m2 ** 1.5 : 0;
}

/** Number of sorted values above x, and of those equal to it. */
function countAbove(sorted: Float64Array, x: number): [above: number, equal: number] {
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  while (end < sorted.length && sorted[end] === x) end++;
  return [sorted.length - end, end - lo];
}

/** The highest score z[base + j] over the members j of query i's group. */
function groupBest(z: Float64Array, base: number, groups: Int32Array, i: number): number {
  let best = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < groups.length; j++)
    if (groups[j] === groups[i] && z[base + j] > best) best = z[base + j];
  return best;
}

/**
 * Metrics of every method over the paired rows q_i ↔ g_i (retrieval multi-positive with `groups`); with
 * `calibrations`, the a→b set.
 */
async function evaluateDirection(
  q: Matrix,
  g: Matrix,
  bank: Matrix,
  methods: readonly ScoreMethod[],
  options: ScoreEvaluationOptions,
  groups: Int32Array | undefined,
  calibrations?: Map<ScoreMethod, Calibration>,
) {
  const n = q.rows;
  const { terms, diagonal } = await scoreTerms(q, g, methods, { ...options, bank });
  // the true pairs' scores first: ranks, AUC and thresholds compare every other pair with them
  const truth = new Map(
    methods.map((m) => {
      const t = terms[m];
      return [m, diagonal.map((s, i) => t.scale[i] * s + t.row[i] + t.col[i])];
    }),
  );
  const results = new Map<ScoreMethod, ReturnType<typeof emptyResult>>();
  function emptyResult(method: ScoreMethod) {
    const trues = truth.get(method)!;
    const sorted = Float64Array.from(trues).sort();
    const thresholds = [0.5, 0.9].map((recall) => sorted[n - Math.ceil(recall * n)]);
    return {
      ranks: emptyQueryRanks(n),
      sorted,
      thresholds,
      negativesAbove: [0, 0],
      aucSum: 0,
      occurrences: new Float64Array(n),
      other: new Float64Array(n),
      bins: Array.from({ length: ECE_BINS }, () => ({ count: 0, p: 0, y: 0 })),
      brier: 0,
    };
  }
  for (const method of methods) results.set(method, emptyResult(method));
  const distinct = groups && distinctInGroups(g, groups); // the gallery's copies of one item count once
  const top = new Float64Array(HUBNESS_K);
  const topIndex = new Int32Array(HUBNESS_K);
  await forEachCosineBlock(q, g, options, (block, rowStart, rows) => {
    const z = new Float64Array(block.length);
    for (const method of methods) {
      applyTerms(terms[method], block, z, rowStart, rows);
      const result = results.get(method)!;
      const calibration = calibrations?.get(method);
      for (let r = 0; r < rows; r++) {
        const i = rowStart + r;
        const best = groups ? groupBest(z, r * n, groups, i) : truth.get(method)![i];
        top.fill(-Infinity);
        for (let j = 0; j < n; j++) {
          const v = z[r * n + j];
          if (!distinct || distinct[j] === 1)
            place(result.ranks, i, v, best, groups ? groups[j] === groups[i] : j === i);
          if (calibrations) {
            keepTop(top, 0, HUBNESS_K, v, topIndex, j); // hubness: the row's k best
            const probability = calibration ? calibrate(calibration, v, n) : 0;
            const label = i === j ? 1 : 0;
            const bin = result.bins[Math.min(ECE_BINS - 1, Math.floor(probability * ECE_BINS))];
            bin.count++;
            bin.p += probability;
            bin.y += label;
            result.brier += (probability - label) ** 2;
            if (j !== i) {
              const [above, equal] = countAbove(result.sorted, v);
              result.aucSum += above + equal / 2;
              result.thresholds.forEach((t, k) => {
                if (v >= t) result.negativesAbove[k]++;
              });
            }
          }
        }
        result.other[i] = z[r * n + ((i + 1 + Math.floor(hashUniform(options.seed ?? 0, i) * (n - 1))) % n)];
        if (calibrations)
          for (const j of topIndex.subarray(0, Math.min(HUBNESS_K, n))) result.occurrences[j]++;
      }
    }
  });
  return { results, truth };
}

/**
 * Fits each scoring method on the first `fit` fraction of the pairs (qb-norm's bank, the calibration to
 * P(match)) and evaluates it on the rest: retrieval a→b and b→a, and for a→b the AUC of true pairs
 * against all others, precision at recall 0.5 and 0.9, hubness, and the calibration's ECE and Brier score.
 */
export async function evaluateScoring(
  a: Matrix,
  b: Matrix,
  options: ScoreEvaluationOptions,
): Promise<ScoreEvaluation> {
  check(
    a.rows === b.rows && a.cols === b.cols,
    "score eval",
    "paired matrices of equal shape",
    () => `${a.rows}×${a.cols} and ${b.rows}×${b.cols}`,
  );
  const fitRows = fitRowCount(a.rows, options.fit ?? 0.5);
  const evalRows = a.rows - fitRows;
  const { groups } = options;
  if (groups)
    check(groups.length === a.rows, "score eval groups", `one group id per pair (${a.rows})`, () =>
      String(groups.length),
    );
  const evalGroups = groups?.subarray(fitRows);
  const { methods } = options;
  const params = { ...DEFAULT_SCORE_PARAMS, ...options };
  const [aFit, bFit] = [sliceRows(a, 0, fitRows), sliceRows(b, 0, fitRows)];
  const [aEval, bEval] = [sliceRows(a, fitRows, a.rows), sliceRows(b, fitRows, b.rows)];
  const type = options.calibration ?? "isotonic";
  const settings = { ...options, ...params };
  const labelled = await labelledScores(aFit, bFit, methods, settings);
  const calibrations = new Map(methods.map((m) => [m, fitCalibration(type, labelled.get(m)!, fitRows)]));
  const forward = await evaluateDirection(aEval, bEval, aFit, methods, settings, evalGroups, calibrations);
  const backward = await evaluateDirection(bEval, aEval, bFit, methods, settings, evalGroups);
  const n = evalRows;
  const out: ScoreEvaluation["methods"] = {};
  // the methods' R@1 intervals on the same resamples of the held-out queries: paired, and one draw for all
  const intervals = bootstrapRecalls(
    methods.map((method) => forward.results.get(method)!.ranks),
    1,
    { seed: options.seed },
  );
  for (const [index, method] of methods.entries()) {
    const f = forward.results.get(method)!;
    const pairs = n * n;
    let ece = 0;
    for (const bin of f.bins)
      if (bin.count) ece += (bin.count / pairs) * Math.abs(bin.p / bin.count - bin.y / bin.count);
    const precision = f.thresholds.map((t, k) => {
      const [above, equal] = countAbove(f.sorted, t);
      const positives = above + equal;
      return positives / (positives + f.negativesAbove[k]);
    });
    const reliability = f.bins
      .filter((bin) => bin.count)
      .map((bin) => ({ pairs: bin.count, predicted: bin.p / bin.count, observed: bin.y / bin.count }));
    out[method] = {
      aToB: { ...recallSummary(f.ranks), r1CI: intervals[index] },
      bToA: recallSummary(backward.results.get(method)!.ranks),
      auc: f.aucSum / (n * (n - 1) * n),
      precisionAtRecall: { "0.5": precision[0], "0.9": precision[1] },
      hubness: skewness(f.occurrences),
      ece,
      brier: f.brier / pairs,
      reliability,
    };
  }
  const best = [...methods].sort((x, y) => {
    const [ex, ey] = [out[x]!, out[y]!];
    return ey.aToB.r1 - ex.aToB.r1 || ey.auc - ex.auc;
  })[0];
  const samples = Object.fromEntries(
    methods.map((m) => [
      m,
      { truePairs: [...forward.truth.get(m)!], otherPairs: [...forward.results.get(m)!.other] },
    ]),
  );
  return {
    fitRows,
    evalRows,
    calibration: type,
    methods: out,
    best: { method: best, r1: out[best]!.aToB.r1, ece: out[best]!.ece },
    ...(options.samples ? { samples } : {}),
    ...(groups ? { groups: true as const } : {}),
  };
}

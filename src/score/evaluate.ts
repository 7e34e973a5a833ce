import type { BlockOptions } from "../core/blocks.js";
import { check } from "../core/errors.js";
import { type Matrix, sliceRows } from "../core/matrix.js";
import { hashUniform } from "../core/rng.js";
import { type RecallSummary, recallSummary } from "../eval/retrieval.js";
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
  aToB: RecallSummary;
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
}

/** Options for evaluateScoring. */
export interface ScoreEvaluationOptions extends BlockOptions, Partial<ScoreParams> {
  /** Fraction of the pairs (the first rows) used to fit the bank and the calibration (default 0.5). */
  fit?: number;
  methods: readonly ScoreMethod[];
  calibration?: Calibration["type"];
  /** Seed of the non-match sample a calibration is fitted on when the fit set is large, and of `samples`. */
  seed?: number;
  /** Also return score samples for histograms (see ScoreSamples). */
  samples?: boolean;
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

/** Metrics of every method over the paired rows q_i ↔ g_i; with `calibrations`, the a→b set. */
async function evaluateDirection(
  q: Matrix,
  g: Matrix,
  bank: Matrix,
  methods: readonly ScoreMethod[],
  options: ScoreEvaluationOptions,
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
      ranks: new Int32Array(n),
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
        const ti = truth.get(method)![i];
        let higher = 0;
        top.fill(-Infinity);
        for (let j = 0; j < n; j++) {
          const v = z[r * n + j];
          if (j !== i && v > ti) higher++;
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
        result.ranks[i] = higher;
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
  const fit = options.fit ?? 0.5;
  const fitRows = Math.floor(fit * a.rows);
  const evalRows = a.rows - fitRows;
  check(
    a.rows === b.rows && a.cols === b.cols,
    "score eval",
    "paired matrices of equal shape",
    () => `${a.rows}×${a.cols} and ${b.rows}×${b.cols}`,
  );
  check(
    fit > 0 && fit < 1 && fitRows >= 2 && evalRows >= 2,
    "--fit",
    "a fraction leaving at least 2 pairs on each side",
    () => `${fit} of ${a.rows}`,
  );
  const { methods } = options;
  const params = { ...DEFAULT_SCORE_PARAMS, ...options };
  const [aFit, bFit] = [sliceRows(a, 0, fitRows), sliceRows(b, 0, fitRows)];
  const [aEval, bEval] = [sliceRows(a, fitRows, a.rows), sliceRows(b, fitRows, b.rows)];
  const type = options.calibration ?? "isotonic";
  const labelled = await labelledScores(aFit, bFit, methods, { ...options, ...params });
  const calibrations = new Map(methods.map((m) => [m, fitCalibration(type, labelled.get(m)!, fitRows)]));
  const forward = await evaluateDirection(
    aEval,
    bEval,
    aFit,
    methods,
    { ...options, ...params },
    calibrations,
  );
  const backward = await evaluateDirection(bEval, aEval, bFit, methods, { ...options, ...params });
  const n = evalRows;
  const out: ScoreEvaluation["methods"] = {};
  for (const method of methods) {
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
      aToB: recallSummary(f.ranks),
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
  };
}

import { type BlockOptions, forEachScoreBlock } from "../core/blocks.js";
import { check } from "../core/errors.js";
import { inverseRowNorms, type Matrix, normalizeRows, rowNorms, scaledProductsSafe } from "../core/matrix.js";

/**
 * Where each query's best match lands among the candidates, ties kept apart: the rank is then exact in
 * expectation under a uniformly random tie-break, so identical gallery items neither help nor hurt on average.
 */
export interface QueryRanks {
  /** Non-matching candidates scored strictly higher than the query's best match. */
  higher: Int32Array;
  /** Non-matching candidates scored exactly as high as the best match. */
  tied: Int32Array;
  /** Matching candidates at the best match's score (1 unless several of the query's group tie there). */
  matches: Int32Array;
}

/** Ranks of the true matches in both directions. */
export interface RetrievalRanks {
  /** Query a_i against all b. */
  aToB: QueryRanks;
  /** Query b_j against all a. */
  bToA: QueryRanks;
}

/** Recall at 1, 5, 10 and the mean 1-based rank of the first match (expected values over random tie-breaks). */
export interface RecallSummary {
  r1: number;
  r5: number;
  r10: number;
  meanRank: number;
}

/** Ranks of `n` queries, all zero (filled by a ranking pass). */
export function emptyQueryRanks(n: number): QueryRanks {
  return { higher: new Int32Array(n), tied: new Int32Array(n), matches: new Int32Array(n) };
}

/**
 * P(one of query i's matches is among the first k) when ties are broken uniformly at random: the
 * `higher` candidates come first, then the tied matches and non-matches in random order, so the first k − higher
 * tied places all go to non-matches with probability Π_{u < k − higher} (tied − u) / (tied + matches − u).
 */
export function hitProbability(ranks: QueryRanks, i: number, k: number): number {
  const free = k - ranks.higher[i];
  const tied = ranks.tied[i];
  if (free <= 0) return 0;
  if (free > tied) return 1;
  let miss = 1;
  for (let u = 0; u < free; u++) miss *= (tied - u) / (tied + ranks.matches[i] - u);
  return 1 - miss;
}

/** Expected 1-based rank of query i's first match: higher + tied / (matches + 1) + 1. */
export function expectedRank(ranks: QueryRanks, i: number): number {
  return ranks.higher[i] + ranks.tied[i] / (ranks.matches[i] + 1) + 1;
}

/**
 * Group ids as Int32Array: equal values (numbers or strings) share an id. Retrieval with groups is
 * multi-positive (the COCO protocol): a hit is any gallery item of the query's group.
 */
export function groupIds(values: ArrayLike<number | string>): Int32Array {
  const ids = new Map<number | string, number>();
  return Int32Array.from({ length: values.length }, (_, i) => {
    const v = values[i];
    if (!ids.has(v)) ids.set(v, ids.size);
    return ids.get(v)!;
  });
}

function dot(x: Float32Array, xi: number, y: Float32Array, yi: number, k: number): number {
  let s = 0;
  for (let p = 0; p < k; p++) s += x[xi + p] * y[yi + p];
  return s;
}

function ones(n: number): Float64Array {
  return new Float64Array(n).fill(1);
}

function maxRowNorm(m: Matrix): number {
  return rowNorms(m).reduce((max, n) => Math.max(max, n), 0);
}

/**
 * Ranks of the true matches in both directions from one blocked pass over S = A·Bᵀ (rows paired by index):
 * each query's best match (its own pair, or with `groups` the best-scored item of its group), the
 * non-matches above it and those tied with it (see QueryRanks).
 *
 * Comparisons are exact in float64 whatever the backend: a float32 gemm score is within
 * (K + 2)·2⁻²⁴·‖a‖·‖b‖ of the true dot product, so only scores inside that window of the best match's score
 * are recomputed in float64 (rare), and the rest are decided by the fast scores. With `normalize`, the
 * scores are the cosines of a and b's rows, taken as they are (no normalised copy): each product is scaled
 * by the two inverse norms in float64, and the recomputed scores are the cosines in float64. With
 * `groups`, the best match of each query is found first in float64: Σ (group size)²·K multiply-adds.
 */
export async function retrievalRanks(
  a: Matrix,
  b: Matrix,
  options: BlockOptions & { normalize?: boolean; groups?: Int32Array } = {},
): Promise<RetrievalRanks> {
  check(
    a.rows === b.rows && a.cols === b.cols,
    "retrievalRanks",
    `paired matrices of equal shape (${a.rows}×${a.cols})`,
    () => `${b.rows}×${b.cols}`,
  );
  const { normalize, groups } = options;
  if (groups)
    check(groups.length === a.rows, "retrieval groups", `one group id per pair (${a.rows})`, () =>
      String(groups.length),
    );
  const k = a.cols;
  const [inverseA, inverseB] = normalize
    ? [inverseRowNorms(a, "retrievalRanks A"), inverseRowNorms(b, "retrievalRanks B")]
    : [ones(a.rows), ones(b.rows)];
  // rows whose float32 products could overflow or underflow are multiplied as normalised copies; near-ties
  // are still decided on the rows as given
  const copied = !scaledProductsSafe(inverseA) || !scaledProductsSafe(inverseB);
  const [x, y] = copied ? [normalizeRows(a), normalizeRows(b)] : [a, b];
  const [scaleA, scaleB] = copied ? [ones(a.rows), ones(b.rows)] : [inverseA, inverseB];
  const exactScore = (i: number, j: number) =>
    dot(a.data, i * k, b.data, j * k, k) * inverseA[i] * inverseB[j];
  const [bestA, bestB] = bestMatchScores(a.rows, exactScore, groups);
  // a float32 product is within (K + 2)·2⁻²⁴·‖a‖·‖b‖ of the exact one; scaled by the inverse norms in
  // float64, a cosine is within (K + 2)·2⁻²⁴; float32 normalisation of the copies moves it as much again
  const window =
    (copied ? 2 : 1) * (k + 2) * 2 ** -24 * 1.01 * (normalize ? 1 : maxRowNorm(a) * maxRowNorm(b));
  const [aToB, bToA] = [emptyQueryRanks(a.rows), emptyQueryRanks(b.rows)];
  // with groups the gallery holds each item once: a row's copies in its own group are skipped as candidates
  const [distinctA, distinctB] = groups ? [distinctInGroups(a, groups), distinctInGroups(b, groups)] : [];
  // a score below both best matches' windows counts for neither query: most scores, skipped by nextCounted
  const floorB = bestB.map((v) => v - window);
  await forEachScoreBlock(x, y, options, ({ scores, rowStart }) => {
    const { rows, cols, data } = scores;
    for (let r = 0; r < rows; r++) {
      const i = rowStart + r;
      const base = r * cols;
      const [bi, scale, floorA] = [bestA[i], scaleA[i], bestA[i] - window];
      const inB = !distinctA || distinctA[i] === 1; // a_i as a candidate of the queries b_j
      const next = (j: number) => nextCounted(data, base, cols, scale, scaleB, floorA, floorB, j);
      for (let j = next(0); j < cols; j = next(j + 1)) {
        const s = data[base + j] * scale * scaleB[j];
        const bj = bestB[j];
        const inA = !distinctB || distinctB[j] === 1; // b_j as a candidate of the query a_i
        const [nearA, nearB] = [inA && Math.abs(s - bi) <= window, inB && Math.abs(s - bj) <= window];
        if (!nearA && !nearB) {
          if (inA && s > bi) aToB.higher[i]++;
          if (inB && s > bj) bToA.higher[j]++;
          continue;
        }
        const exact = exactScore(i, j);
        const match = groups ? groups[j] === groups[i] : j === i;
        if (inA) place(aToB, i, nearA ? exact : s, bi, match);
        if (inB) place(bToA, j, nearB ? exact : s, bj, match);
      }
    }
  });
  return { aToB, bToA };
}

/**
 * The first column from `j` on whose score s = data[base + j]·scale·inverse[j] reaches floorA or its
 * column's floor, or `cols`: the scores below both count for nothing (a monomorphic loop V8 keeps tight).
 */
function nextCounted(
  data: Float32Array,
  base: number,
  cols: number,
  scale: number,
  inverse: Float64Array,
  floorA: number,
  floorB: Float64Array,
  j: number,
): number {
  for (; j < cols; j++) {
    const s = data[base + j] * scale * inverse[j];
    if (s >= floorA || s >= floorB[j]) return j;
  }
  return cols;
}

/**
 * 1 for each row that is the first of its group with exactly its values, 0 for the copies after it: with
 * groups, a gallery counts one item once however often the paired layout repeats it (COCO's images, each
 * beside its five captions; a caption shared by many images).
 */
export function distinctInGroups(m: Matrix, groups: Int32Array): Uint8Array {
  const { rows, cols, data } = m;
  const bits = new Int32Array(data.buffer, data.byteOffset, rows * cols);
  const firsts = new Map<number, number[]>(); // by a hash of the group and the row's bits
  const out = new Uint8Array(rows);
  const same = (i: number, j: number) => {
    for (let p = 0; p < cols; p++) if (bits[i * cols + p] !== bits[j * cols + p]) return false;
    return groups[i] === groups[j];
  };
  for (let i = 0; i < rows; i++) {
    let hash = Math.imul(groups[i], 0x9e3779b1);
    for (let p = i * cols; p < (i + 1) * cols; p++) hash = Math.imul(hash ^ bits[p], 0x01000193);
    const list = firsts.get(hash);
    if (list?.some((j) => same(i, j))) continue;
    out[i] = 1;
    if (list) list.push(i);
    else firsts.set(hash, [i]);
  }
  return out;
}

/** Counts a candidate's score against a query's best match score: above it, or tied as a match or not. */
export function place(ranks: QueryRanks, query: number, score: number, best: number, match: boolean): void {
  if (score > best) ranks.higher[query]++;
  else if (score === best) (match ? ranks.matches : ranks.tied)[query]++;
}

/**
 * Each query's best match score in float64, both directions: the true pair's, or with groups the highest of
 * the query's group (a_i against b_j and b_j against a_i for every i, j of one group).
 */
function bestMatchScores(
  n: number,
  exactScore: (i: number, j: number) => number,
  groups: Int32Array | undefined,
): [Float64Array, Float64Array] {
  if (!groups) {
    const truth = Float64Array.from({ length: n }, (_, i) => exactScore(i, i));
    return [truth, truth];
  }
  const members = new Map<number, number[]>();
  groups.forEach((g, i) => {
    const list = members.get(g);
    if (list) list.push(i);
    else members.set(g, [i]);
  });
  const [bestA, bestB] = [new Float64Array(n).fill(-Infinity), new Float64Array(n).fill(-Infinity)];
  for (const list of members.values())
    for (const i of list)
      for (const j of list) {
        const s = exactScore(i, j);
        if (s > bestA[i]) bestA[i] = s;
        if (s > bestB[j]) bestB[j] = s;
      }
  return [bestA, bestB];
}

/** R@1, R@5, R@10 and mean rank (1-based) of the first match, expected over random tie-breaks. */
export function recallSummary(ranks: QueryRanks): RecallSummary {
  const n = ranks.higher.length;
  check(n > 0, "recallSummary", "at least one rank", () => "none");
  let [r1, r5, r10, sum] = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    r1 += hitProbability(ranks, i, 1);
    r5 += hitProbability(ranks, i, 5);
    r10 += hitProbability(ranks, i, 10);
    sum += expectedRank(ranks, i);
  }
  return { r1: r1 / n, r5: r5 / n, r10: r10 / n, meanRank: sum / n };
}

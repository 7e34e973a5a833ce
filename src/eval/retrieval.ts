import { type BlockOptions, forEachScoreBlock } from "../core/blocks.js";
import { check } from "../core/errors.js";
import { type Matrix, rowNorms } from "../core/matrix.js";

/** Rank of each query's true match: the number of candidates scored strictly higher (0 = top). */
export interface RetrievalRanks {
  /** Query a_i against all b. */
  aToB: Int32Array;
  /** Query b_j against all a. */
  bToA: Int32Array;
}

/** Recall at 1, 5, 10 and the mean 1-based rank of the true match. */
export interface RecallSummary {
  r1: number;
  r5: number;
  r10: number;
  meanRank: number;
}

function dot(x: Float32Array, xi: number, y: Float32Array, yi: number, k: number): number {
  let s = 0;
  for (let p = 0; p < k; p++) s += x[xi + p] * y[yi + p];
  return s;
}

function maxRowNorm(m: Matrix): number {
  return rowNorms(m).reduce((max, n) => Math.max(max, n), 0);
}

/**
 * Ranks of true pairs in both directions from one blocked pass over S = A·Bᵀ (rows paired by index):
 * rank = #{j ≠ i : s_ij > s_ii}, so an exact tie does not count against the true match.
 *
 * Comparisons are exact in float64 whatever the backend: a float32 gemm score is within
 * (K + 2)·2⁻²⁴·‖a‖·‖b‖ of the true dot product, so only scores inside that window of the true score are
 * recomputed in float64 (rare), and the rest are decided by the fast scores. With `raw` (the rows before
 * a and b were L2-normalised in float32), the recomputed scores are the cosines of the raw rows in
 * float64, so near-ties finer than float32 normalisation are decided as float64 decides them.
 */
export async function retrievalRanks(
  a: Matrix,
  b: Matrix,
  options: BlockOptions & { raw?: { a: Matrix; b: Matrix } } = {},
): Promise<RetrievalRanks> {
  check(
    a.rows === b.rows && a.cols === b.cols,
    "retrievalRanks",
    `paired matrices of equal shape (${a.rows}×${a.cols})`,
    () => `${b.rows}×${b.cols}`,
  );
  const k = a.cols;
  const raw = options.raw;
  const [inverseA, inverseB] = raw ? [raw.a, raw.b].map((m) => rowNorms(m).map((n) => 1 / n)) : [];
  const [exactA, exactB] = raw ? [raw.a.data, raw.b.data] : [a.data, b.data];
  const exactScore = raw
    ? (i: number, j: number) => dot(exactA, i * k, exactB, j * k, k) * inverseA[i] * inverseB[j]
    : (i: number, j: number) => dot(exactA, i * k, exactB, j * k, k);
  const truth = Float64Array.from({ length: a.rows }, (_, i) => exactScore(i, i));
  // float32 normalisation moves a unit row's scores by up to ~(k + 2)·2⁻²⁴ more: twice the window then
  const window = (raw ? 2 : 1) * (k + 2) * 2 ** -24 * 1.01 * maxRowNorm(a) * maxRowNorm(b);
  const aToB = new Int32Array(a.rows);
  const bToA = new Int32Array(b.rows);
  await forEachScoreBlock(a, b, options, ({ scores, rowStart }) => {
    const { rows, cols, data } = scores;
    for (let r = 0; r < rows; r++) {
      const i = rowStart + r;
      const base = r * cols;
      const ti = truth[i];
      let higher = 0;
      for (let j = 0; j < cols; j++) {
        if (j === i) continue;
        const s = data[base + j];
        const tj = truth[j];
        if (Math.abs(s - ti) <= window || Math.abs(s - tj) <= window) {
          const exact = exactScore(i, j);
          if (exact > ti) higher++;
          if (exact > tj) bToA[j]++;
        } else {
          if (s > ti) higher++;
          if (s > tj) bToA[j]++;
        }
      }
      aToB[i] = higher;
    }
  });
  return { aToB, bToA };
}

/** R@1, R@5, R@10 and mean rank (1-based) from 0-based ranks. */
export function recallSummary(ranks: Int32Array): RecallSummary {
  check(ranks.length > 0, "recallSummary", "at least one rank", () => "none");
  let r1 = 0;
  let r5 = 0;
  let r10 = 0;
  let sum = 0;
  for (const r of ranks) {
    if (r < 1) r1++;
    if (r < 5) r5++;
    if (r < 10) r10++;
    sum += r + 1;
  }
  const n = ranks.length;
  return { r1: r1 / n, r5: r5 / n, r10: r10 / n, meanRank: sum / n };
}

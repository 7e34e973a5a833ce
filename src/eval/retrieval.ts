import { type BlockOptions, forEachScoreBlock } from "../core/blocks.js";
import { check } from "../core/errors.js";
import type { Matrix } from "../core/matrix.js";

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

/** Float32-rounded a_i · b_i, the same value a float64-accumulating gemm stores for S[i, i]. */
function trueScores(a: Matrix, b: Matrix): Float64Array {
  const out = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) {
    let s = 0;
    for (let k = i * a.cols, end = k + a.cols; k < end; k++) s += a.data[k] * b.data[k];
    out[i] = Math.fround(s);
  }
  return out;
}

/**
 * Ranks of true pairs in both directions from one blocked pass over S = A·Bᵀ (rows paired by index).
 * Ties count against the true match (pessimistic): rank = #{j ≠ i : S[i, j] > S[i, i]}.
 */
export async function retrievalRanks(
  a: Matrix,
  b: Matrix,
  options: BlockOptions = {},
): Promise<RetrievalRanks> {
  check(
    a.rows === b.rows && a.cols === b.cols,
    "retrievalRanks",
    `paired matrices of equal shape (${a.rows}×${a.cols})`,
    () => `${b.rows}×${b.cols}`,
  );
  const truth = trueScores(a, b);
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
        const s = data[base + j];
        if (j === i) continue;
        if (s > ti) higher++;
        if (s > truth[j]) bToA[j]++;
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

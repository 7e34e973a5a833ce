/**
 * Caption metrics on word sequences: corpus BLEU-4 (Papineni et al. 2002, as NLTK's corpus_bleu computes
 * it without smoothing), SQuAD's token F1 and exact match.
 */
import { check } from "../core/errors.js";

/** The n-grams of `words` with their counts, keyed by the words joined with a space. */
function ngramCounts(words: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let k = 0; k + n <= words.length; k++) {
    const gram = words.slice(k, k + n).join(" ");
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}

/**
 * Corpus BLEU-4 of candidates (word sequences) against their references (one or more word sequences
 * each): the geometric mean of the modified n-gram precisions (n = 1…4, each candidate's n-gram counts
 * clipped by their largest count in any of its references, summed over the corpus) times the brevity
 * penalty exp(1 − r/c) where the candidates' total length c is below r, the sum of each candidate's
 * closest reference length (the shorter on ties). 0 where some precision is 0.
 */
export function bleu4(
  candidates: readonly (readonly string[])[],
  references: readonly (readonly string[])[][],
): number {
  check(
    candidates.length === references.length && references.every((r) => r.length > 0),
    "bleu4",
    "one or more references per candidate",
    () => `${candidates.length} candidates, ${references.length} reference lists`,
  );
  const matched = [0, 0, 0, 0];
  const total = [0, 0, 0, 0];
  let [candidateLength, referenceLength] = [0, 0];
  candidates.forEach((candidate, i) => {
    candidateLength += candidate.length;
    referenceLength += references[i]
      .map((r) => r.length)
      .reduce((best, length) => {
        const [d, e] = [Math.abs(length - candidate.length), Math.abs(best - candidate.length)];
        return d < e || (d === e && length < best) ? length : best;
      });
    for (let n = 1; n <= 4; n++) {
      const clip = new Map<string, number>();
      for (const reference of references[i])
        for (const [gram, count] of ngramCounts(reference, n))
          clip.set(gram, Math.max(clip.get(gram) ?? 0, count));
      for (const [gram, count] of ngramCounts(candidate, n)) {
        matched[n - 1] += Math.min(count, clip.get(gram) ?? 0);
        total[n - 1] += count;
      }
    }
  });
  if (matched.some((m) => m === 0)) return 0;
  const logPrecision = matched.reduce((s, m, k) => s + Math.log(m / total[k]) / 4, 0);
  const brevity = candidateLength < referenceLength ? 1 - referenceLength / candidateLength : 0;
  return Math.exp(logPrecision + brevity);
}

/**
 * SQuAD's token F1 of a candidate against its best reference: the harmonic mean of the precision and
 * recall of the words they share (as multisets); 0 where they share none.
 */
export function tokenF1(candidate: readonly string[], references: readonly (readonly string[])[]): number {
  return Math.max(
    ...references.map((reference) => {
      const left = ngramCounts(reference, 1);
      let common = 0;
      for (const word of candidate) {
        const count = left.get(word) ?? 0;
        if (count > 0) {
          common++;
          left.set(word, count - 1);
        }
      }
      if (common === 0) return 0;
      const [precision, recall] = [common / candidate.length, common / reference.length];
      return (2 * precision * recall) / (precision + recall);
    }),
  );
}

/** Whether the candidate is exactly the target's words. */
export const exactMatch = (candidate: readonly string[], target: readonly string[]): boolean =>
  candidate.length === target.length && candidate.every((word, k) => word === target[k]);

import { type Matrix, matrix } from "../core/matrix.js";

/** Word counts of each text over `vocabulary` (words outside it are ignored). */
export function bagOfWords(texts: readonly string[], vocabulary: readonly string[]): Matrix {
  const index = new Map(vocabulary.map((w, i) => [w, i]));
  const out = matrix(texts.length, vocabulary.length);
  for (const [i, t] of texts.entries())
    for (const word of t.split(" ")) {
      const j = index.get(word);
      if (j !== undefined) out.data[i * vocabulary.length + j] += 1;
    }
  return out;
}

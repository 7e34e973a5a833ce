/**
 * Word tokens for small text encoders: a vocabulary built from training captions (with BERT's special
 * tokens), captions encoded as fixed-length id rows, and BERT's masking for masked language modelling.
 */
import { check } from "../core/errors.js";
import type { Rng } from "../core/rng.js";

/** Padding's token id. */
export const PAD = 0;
/** The id of [CLS], every row's first token. */
export const CLS = 1;
/** The id of [MASK], which stands for a masked word. */
export const MASK = 2;
/** The id of [UNK], a word outside the vocabulary. */
export const UNKNOWN = 3;
const SPECIAL = ["[PAD]", "[CLS]", "[MASK]", "[UNK]"];

/** A vocabulary: tokens by id (the special ones first) and ids by token. */
export interface Vocabulary {
  readonly tokens: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
}

/** The words of `text`: lower-cased runs of letters and digits. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The vocabulary of the words in `texts` seen at least `minCount` times (default 1), sorted, after the special tokens. */
export function buildVocabulary(texts: readonly string[], minCount = 1): Vocabulary {
  const counts = new Map<string, number>();
  for (const text of texts) for (const word of words(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  const kept = [...counts].filter(([, count]) => count >= minCount).map(([word]) => word);
  const tokens = [...SPECIAL, ...kept.sort()];
  return { tokens, ids: new Map(tokens.map((token, id) => [token, id])) };
}

/**
 * Tokens per row for these captions: [CLS] and the longest caption's words, at most `max` (default 16:
 * the emoji training captions' longest has 15 words).
 */
export function rowLength(texts: readonly string[], max = 16): number {
  return Math.min(max, 1 + Math.max(...texts.map((text) => words(text).length)));
}

/**
 * Captions as rows of `length` token ids: [CLS], the words (unknown ones as [UNK]), cut at `length` and
 * padded with [PAD]; row-major [texts.length, length].
 */
export function encodeTexts(vocabulary: Vocabulary, texts: readonly string[], length: number): Int32Array {
  check(Number.isInteger(length) && length >= 2, "encodeTexts", "a length of at least 2", () =>
    String(length),
  );
  const out = new Int32Array(texts.length * length); // PAD = 0
  texts.forEach((text, row) => {
    const ids = [CLS, ...words(text).map((word) => vocabulary.ids.get(word) ?? UNKNOWN)];
    out.set(ids.slice(0, length), row * length);
  });
  return out;
}

/**
 * BERT's masking of token rows for masked language modelling: each word token (not [PAD] or [CLS]) is
 * chosen with probability `rate` (default 0.15); a chosen token becomes [MASK] 80 % of the time, a random
 * word 10 % and stays 10 %. Returns the input ids and the targets (the original id where chosen, −1 elsewhere).
 */
export function maskTokens(
  ids: Int32Array,
  vocabularySize: number,
  rng: Rng,
  rate = 0.15,
): { input: Int32Array; targets: Int32Array } {
  const input = ids.slice();
  const targets = new Int32Array(ids.length).fill(-1);
  const firstWord = SPECIAL.length;
  for (let k = 0; k < ids.length; k++) {
    if (ids[k] === PAD || ids[k] === CLS || rng.uniform() >= rate) continue;
    targets[k] = ids[k];
    const u = rng.uniform();
    if (u < 0.8) input[k] = MASK;
    else if (u < 0.9) input[k] = firstWord + rng.int(vocabularySize - firstWord);
  }
  return { input, targets };
}

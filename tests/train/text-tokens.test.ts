import { describe, expect, it } from "vitest";
import { createRng } from "../../src/core/rng.js";
import {
  buildVocabulary,
  CLS,
  encodeTexts,
  MASK,
  maskTokens,
  PAD,
  UNKNOWN,
  words,
} from "../../src/train/text-tokens.js";

describe("word tokens", () => {
  it("splits into lower-cased words of letters and digits (any script)", () => {
    expect(words("Flag: Côte d’Ivoire, 100 points!")).toEqual([
      "flag",
      "côte",
      "d",
      "ivoire",
      "100",
      "points",
    ]);
    expect(words(" , ")).toEqual([]);
  });

  it("builds a sorted vocabulary after the special tokens and encodes fixed-length rows", () => {
    const vocabulary = buildVocabulary(["a grinning face", "grinning cat", "a cat"], 2);
    expect(vocabulary.tokens).toEqual(["[PAD]", "[CLS]", "[MASK]", "[UNK]", "a", "cat", "grinning"]);
    const rows = encodeTexts(vocabulary, ["a grinning face emoji", "cat"], 4);
    expect(Array.from(rows)).toEqual([CLS, 4, 6, UNKNOWN, CLS, 5, PAD, PAD]);
    expect(() => encodeTexts(vocabulary, ["a"], 1)).toThrow(/length of at least 2/);
  });

  it("masks 15 % of the words — 80 % [MASK], 10 % a random word, 10 % kept — never [PAD] or [CLS]", () => {
    const n = 40_000;
    const ids = Int32Array.from({ length: n }, (_, k) =>
      k % 10 === 0 ? CLS : k % 10 > 7 ? PAD : 4 + (k % 6),
    );
    const { input, targets } = maskTokens(ids, 10, createRng(1));
    const chosen = [...targets.keys()].filter((k) => targets[k] >= 0);
    const wordCount = ids.filter((id) => id >= 4).length;
    expect(chosen.every((k) => ids[k] >= 4 && targets[k] === ids[k])).toBe(true);
    expect(Math.abs(chosen.length / wordCount - 0.15)).toBeLessThan(0.01);
    const share = (f: (k: number) => boolean) => chosen.filter(f).length / chosen.length;
    expect(Math.abs(share((k) => input[k] === MASK) - 0.8)).toBeLessThan(0.02);
    expect(Math.abs(share((k) => input[k] === ids[k]) - 0.1 - 0.1 / 6)).toBeLessThan(0.02);
    expect(chosen.every((k) => input[k] === MASK || input[k] >= 4)).toBe(true);
    expect([...input.keys()].every((k) => targets[k] >= 0 || input[k] === ids[k])).toBe(true);
  });
});

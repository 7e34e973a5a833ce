import { describe, expect, it } from "vitest";
import { bleu4, exactMatch, tokenF1 } from "../../src/eval/captions.js";
import { fixture } from "../helpers.js";

const ref = fixture("captions");

describe("caption metrics", () => {
  it("corpus BLEU-4 equals the reference computation, brevity penalty included", () => {
    expect(bleu4(ref.candidates, ref.references)).toBeCloseTo(ref.bleu4, 12);
    const short = ref.candidates.map((c: string[]) => c.slice(0, 4));
    expect(ref.bleu4Short).toBeGreaterThan(0);
    expect(bleu4(short, ref.references)).toBeCloseTo(ref.bleu4Short, 12);
    // precisions of 1 at half the reference's length: the brevity penalty alone, exp(1 − 8/4)
    const words = ["a", "red", "heart", "with", "a", "smiling", "cat", "face"];
    expect(bleu4([words.slice(0, 4)], [[words]])).toBeCloseTo(Math.exp(-1), 12);
    // a candidate equal to a reference scores 1; no shared 4-gram scores 0
    expect(bleu4([["a", "red", "heart", "face"]], [[["a", "red", "heart", "face"]]])).toBe(1);
    expect(bleu4([["a", "red", "heart"]], [[["a", "red", "heart"]]])).toBe(0);
  });

  it("token F1 is SQuAD's, against the best reference", () => {
    ref.candidates.forEach((c: string[], i: number) => {
      expect(tokenF1(c, ref.references[i])).toBeCloseTo(ref.tokenF1[i], 12);
    });
    expect(tokenF1(["cat", "cat"], [["cat"], ["dog"]])).toBeCloseTo(2 / 3, 12);
    expect(tokenF1(["cat"], [["dog"]])).toBe(0);
  });

  it("exact match compares whole word sequences", () => {
    expect(exactMatch(["red", "heart"], ["red", "heart"])).toBe(true);
    expect(exactMatch(["red", "heart"], ["red", "heart", "face"])).toBe(false);
    expect(exactMatch(["heart", "red"], ["red", "heart"])).toBe(false);
  });
});

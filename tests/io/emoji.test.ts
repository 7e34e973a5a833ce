import { describe, expect, it } from "vitest";
import { EMOJI_VALUES, emojiPixels, emojiSet } from "../../src/io/emoji.js";

describe("the built-in emoji set", () => {
  const set = emojiSet();

  it("pairs every Twemoji image (skin tones included) with its CLDR captions", () => {
    expect(set.images).toHaveLength(3786);
    expect(new Set(set.images.map((i) => i.group)).size).toBe(1911);
    expect(new Set(set.images.map((i) => i.file)).size).toBe(3786);
    const perImage = new Map<number, string[]>();
    for (const { image, text } of set.captions) perImage.set(image, [...(perImage.get(image) ?? []), text]);
    expect(perImage.size).toBe(3786);
    for (const texts of perImage.values()) expect(texts.length).toBeGreaterThanOrEqual(2);
    expect(set.captions.map((c) => c.id)).toEqual(set.captions.map((_, k) => k));
    const first = set.images.findIndex((i) => i.file === "1f600.png");
    expect(perImage.get(first)).toEqual([
      "grinning face",
      "a grinning face emoji",
      "cheerful, cheery, face, grin",
    ]);
    const wales = set.images.findIndex((i) => i.name === "flag: Wales");
    expect(perImage.get(wales)?.slice(0, 2)).toEqual(["flag of wales", "a flag of wales emoji"]);
  });

  it("splits by emoji: a skin-tone variant is always on its emoji's side; seeded", () => {
    const sides = new Map<number, Set<boolean>>();
    for (const { group, heldOut } of set.images)
      sides.set(group, (sides.get(group) ?? new Set()).add(heldOut));
    for (const s of sides.values()) expect(s.size).toBe(1);
    const heldGroups = [...sides.values()].filter((s) => s.has(true)).length / sides.size;
    expect(heldGroups).toBeGreaterThan(0.15);
    expect(heldGroups).toBeLessThan(0.25);
    expect(emojiSet().images.map((i) => i.heldOut)).toEqual(set.images.map((i) => i.heldOut));
    expect(emojiSet({ seed: 1 }).images.map((i) => i.heldOut)).not.toEqual(set.images.map((i) => i.heldOut));
    expect(emojiSet({ heldOut: 0 }).images.every((i) => !i.heldOut)).toBe(true);
    expect(() => emojiSet({ heldOut: 1 })).toThrow(/held-out fraction/);
  });

  it("decodes RGBA and palette PNGs to channel planes in [0, 1], composited on white", () => {
    const picked = ["1f600.png", "0023-fe0f-20e3.png"].map((file) => set.images.find((i) => i.file === file));
    const pixels = emojiPixels(picked as never);
    expect(pixels.cols).toBe(EMOJI_VALUES);
    expect(pixels.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    for (let row = 0; row < 2; row++) {
      const image = pixels.data.subarray(row * EMOJI_VALUES, (row + 1) * EMOJI_VALUES);
      // a transparent corner is white in every plane; the picture itself is not all white
      for (let c = 0; c < 3; c++) expect(image[c * 4096]).toBe(1);
      expect(image.some((v) => v < 0.5)).toBe(true);
    }
    // the grinning face is Twemoji's yellow #FFCC4D at its centre, opaque
    const centre = 32 * 64 + 32;
    expect([0, 1, 2].map((c) => pixels.data[c * 4096 + centre])).toEqual(
      [255, 204, 77].map((v) => Math.fround(v / 255)),
    );
  });
});

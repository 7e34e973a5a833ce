/**
 * The built-in emoji image–caption set (offline, from npm packages): Twemoji's 64×64 PNGs
 * (`emoji-datasource-twitter`; graphics by Twitter, CC-BY 4.0) paired with captions from the CLDR
 * annotations of `emojibase-data` (MIT) — each emoji's name, a templated sentence and its keywords — and
 * split into train and held-out sides by emoji, skin-tone variants kept with their emoji.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { convertIndexedToRgb, decode } from "fast-png";
import { check } from "../core/errors.js";
import { type Matrix, matrix } from "../core/matrix.js";
import { hashUniform } from "../core/rng.js";
import type { CaptionedImages } from "../train/albef-training.js";

/** Where the images come from and under which licences, for a report or a README to credit. */
export const EMOJI_CREDIT =
  "Twemoji graphics by Twitter, Inc. and contributors (CC-BY 4.0), via emoji-datasource-twitter (MIT); captions from the CLDR annotations in emojibase-data (MIT)";

/** The images' side in pixels. */
export const EMOJI_SIDE = 64;
/** The values of one image: red, green and blue planes, channel-major. */
export const EMOJI_VALUES = 3 * EMOJI_SIDE * EMOJI_SIDE;

/** One image of the set. */
export interface EmojiImage {
  /** The PNG's file name in the package (and in `gapkit data emoji`'s images folder). */
  file: string;
  /** Its CLDR name, e.g. "waving hand: light skin tone". */
  name: string;
  /** Its emoji (the base emoji of a skin-tone variant): retrieval's group, the split's unit. */
  group: number;
  category: string;
  subcategory: string;
  heldOut: boolean;
  /** Whether its mirror image means the same (not a symbol, flag, or anything left, right or an arrow). */
  flippable: boolean;
}

/** One caption, of image `image` (an index into the set's images). */
export interface EmojiCaption {
  id: number;
  text: string;
  image: number;
}

/** The set: its images, their captions (several per image) and the split. */
export interface EmojiSet {
  images: EmojiImage[];
  captions: EmojiCaption[];
}

/** Options of emojiSet. */
export interface EmojiSetOptions {
  /** The fraction of emoji held out (default 0.2). */
  heldOut?: number;
  /** Seed of the split (default 0). */
  seed?: number;
}

interface DatasourceEmoji {
  unified: string;
  image: string;
  category: string;
  subcategory: string;
  sort_order: number;
  skin_variations?: Record<string, { unified: string; image: string }>;
}

interface Annotation {
  label: string;
  hexcode: string;
  tags?: string[];
  skins?: Annotation[];
}

const require = createRequire(import.meta.url);

// a mirrored symbol, flag, letter or arrow means something else (or nothing)
const UNFLIPPABLE_CATEGORIES = new Set(["Symbols", "Flags"]);

/** The folder of the package's 64-pixel PNGs. */
export function emojiImageFolder(): string {
  return join(dirname(require.resolve("emoji-datasource-twitter/emoji.json")), "img", "twitter", "64");
}

// emoji-datasource writes a code point sequence with its variation selectors, emojibase mostly without
const codeKey = (hexcode: string) => hexcode.toUpperCase().replace(/-FE0F/g, "");

/** "a" or "an" before `word`. */
const article = (word: string) => (/^[aeiou]/i.test(word) ? "an" : "a");

/** An image's captions: its name, a sentence, and its keywords where the annotation has any. */
function captionsOf(name: string, tags: readonly string[]): string[] {
  // "flag: Egypt" → "flag of egypt"; "waving hand: light skin tone" → "waving hand, light skin tone"
  const phrase = name
    .toLowerCase()
    .replace(/^flag: /, "flag of ")
    .replace(/: /g, ", ");
  const captions = [phrase, `${article(phrase)} ${phrase} emoji`];
  if (tags.length > 0) captions.push(tags.slice(0, 4).join(", "));
  return captions;
}

/**
 * The emoji set (names, captions and split; no pixels — see emojiPixels): 3,786 images of 1,911 emoji in
 * the packages' order, each emoji held out with probability `heldOut` by a hash of (seed, emoji).
 */
export function emojiSet({ heldOut = 0.2, seed = 0 }: EmojiSetOptions = {}): EmojiSet {
  check(heldOut >= 0 && heldOut < 1, "emojiSet", "a held-out fraction in [0, 1)", () => String(heldOut));
  const annotations = new Map<string, Annotation>();
  for (const entry of require("emojibase-data/en/data.json") as Annotation[])
    for (const a of [entry, ...(entry.skins ?? [])]) annotations.set(codeKey(a.hexcode), a);
  const emoji = [...(require("emoji-datasource-twitter/emoji.json") as DatasourceEmoji[])].sort(
    (x, y) => x.sort_order - y.sort_order,
  );
  const images: EmojiImage[] = [];
  const captions: EmojiCaption[] = [];
  emoji.forEach((base, group) => {
    const baseTags = annotations.get(codeKey(base.unified))?.tags ?? [];
    const held = hashUniform(seed, group) < heldOut;
    for (const { unified, image } of [base, ...Object.values(base.skin_variations ?? {})]) {
      const annotation = annotations.get(codeKey(unified));
      check(annotation !== undefined, "emojiSet", "a CLDR annotation for every emoji", () => unified);
      const index = images.length;
      images.push({
        file: image,
        name: annotation.label,
        group,
        category: base.category,
        subcategory: base.subcategory,
        heldOut: held,
        flippable:
          !UNFLIPPABLE_CATEGORIES.has(base.category) && !/\b(left|right|arrow)/i.test(annotation.label),
      });
      for (const text of captionsOf(annotation.label, annotation.tags ?? baseTags))
        captions.push({ id: captions.length, text, image: index });
    }
  });
  return { images, captions };
}

/**
 * The pixels of `images` (rows of EMOJI_VALUES: red, green, blue planes of 64×64, values in [0, 1]),
 * composited on white, as the package's PNGs decode (RGBA or palette).
 */
export function emojiPixels(images: readonly EmojiImage[]): Matrix {
  const folder = emojiImageFolder();
  const out = matrix(images.length, EMOJI_VALUES);
  const plane = EMOJI_SIDE * EMOJI_SIDE;
  images.forEach(({ file }, row) => {
    const png = decode(readFileSync(join(folder, file)));
    check(
      png.width === EMOJI_SIDE && png.height === EMOJI_SIDE && png.depth <= 8,
      file,
      `a ${EMOJI_SIDE}×${EMOJI_SIDE} PNG of 8-bit channels`,
      () => `${png.width}×${png.height}, ${png.depth}-bit`,
    );
    const rgba = png.palette ? convertIndexedToRgb(png) : png.data;
    const channels = png.palette ? rgba.length / plane : png.channels;
    const target = out.data.subarray(row * EMOJI_VALUES, (row + 1) * EMOJI_VALUES);
    for (let p = 0; p < plane; p++) {
      const alpha = channels === 4 || channels === 2 ? rgba[p * channels + channels - 1] / 255 : 1;
      for (let c = 0; c < 3; c++) {
        const value = rgba[p * channels + (channels >= 3 ? c : 0)] / 255;
        target[c * plane + p] = alpha * value + (1 - alpha);
      }
    }
  });
  return out;
}

/** The emoji set with its pixels, as ALBEF-mini trains on it: retrieval groups by emoji. */
export function emojiCaptionedImages(options: EmojiSetOptions = {}): CaptionedImages {
  const set = emojiSet(options);
  return {
    pixels: emojiPixels(set.images),
    groups: Int32Array.from(set.images, ({ group }) => group),
    heldOut: set.images.map(({ heldOut }) => heldOut),
    flippable: set.images.map(({ flippable }) => flippable),
    captions: set.captions,
  };
}

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { EMOJI_CREDIT, type EmojiSet, emojiImageFolder, emojiSet } from "../../io/emoji.js";
import { outputFolder, writeFileAtomic, writeFolderAtomic } from "../../io/files.js";
import { parseInteger, parseNumber } from "../options.js";
import { printResult } from "../output.js";

/** The files `gapkit data emoji` writes into its folder. */
export const EMOJI_FILES = {
  images: "images",
  captions: "captions.jsonl",
  pairs: "pairs.csv",
  description: "emoji.json",
} as const;

const text = (s: string) => new TextEncoder().encode(s);

/** Counts of images, captions and emoji on one side of the split. */
function side(set: EmojiSet, heldOut: boolean) {
  const images = set.images.filter((image) => image.heldOut === heldOut);
  return {
    images: images.length,
    captions: set.captions.filter(({ image }) => set.images[image].heldOut === heldOut).length,
    emoji: new Set(images.map(({ group }) => group)).size,
  };
}

/** Writes the emoji set into `dir`: the PNGs, the captions (embed's --texts), the pairs map (--pairs), the description. */
async function writeEmojiSet(set: EmojiSet, dir: string, options: { heldOut: number; seed: number }) {
  const folder = emojiImageFolder();
  const pngs = new Map<string, Uint8Array>();
  for (const { file } of set.images) pngs.set(file, await readFile(join(folder, file)));
  await writeFolderAtomic(join(dir, EMOJI_FILES.images), pngs);
  const captionLines = set.captions.map(({ id, text, image }) =>
    JSON.stringify({ id, text, image: set.images[image].file }),
  );
  await writeFileAtomic(join(dir, EMOJI_FILES.captions), text(`${captionLines.join("\n")}\n`));
  const pairLines = set.captions.map(({ id, image }) => `${set.images[image].file},${id}`);
  await writeFileAtomic(join(dir, EMOJI_FILES.pairs), text(`image,text\n${pairLines.join("\n")}\n`));
  const description = {
    credit: EMOJI_CREDIT,
    ...options,
    images: set.images.map(({ file, name, group, category, subcategory, heldOut }) => ({
      file,
      name,
      group,
      category,
      subcategory,
      split: heldOut ? "heldOut" : "train",
    })),
  };
  await writeFileAtomic(
    join(dir, EMOJI_FILES.description),
    text(`${JSON.stringify(description, null, 1)}\n`),
  );
}

/** `gapkit data emoji`: the built-in emoji image–caption set, written as files to look at and to embed. */
export function registerData(program: Command): void {
  const data = program.command("data").description("write a built-in data set as files");
  data
    .command("emoji")
    .description(
      "the built-in emoji set (Twemoji 64×64 PNGs, CLDR captions; offline): images, captions, pairs map and split",
    )
    .requiredOption("-o, --out <dir>", "folder to write into (created if missing)")
    .option(
      "--held-out <fraction>",
      "fraction of emoji held out (skin-tone variants stay with their emoji)",
      "0.2",
    )
    .option("--seed <n>", "seed of the split", "0")
    .option("--json", "print the summary as JSON")
    .action(async (flags: { out: string; heldOut: string; seed: string; json?: boolean }) => {
      const options = {
        heldOut: parseNumber(flags.heldOut, "--held-out", 0, 0.99),
        seed: parseInteger(flags.seed, "--seed"),
      };
      await outputFolder(flags.out, Object.values(EMOJI_FILES).slice(1), "--out", "the emoji set");
      const set = emojiSet(options);
      await writeEmojiSet(set, flags.out, options);
      const result = {
        dir: flags.out,
        images: set.images.length,
        captions: set.captions.length,
        emoji: new Set(set.images.map(({ group }) => group)).size,
        train: side(set, false),
        heldOut: side(set, true),
        credit: EMOJI_CREDIT,
      };
      printResult(result, flags.json, (r) =>
        [
          `emoji set in ${r.dir}: ${r.images} images of ${r.emoji} emoji, ${r.captions} captions`,
          `train: ${r.train.images} images (${r.train.emoji} emoji), ${r.train.captions} captions`,
          `held out: ${r.heldOut.images} images (${r.heldOut.emoji} emoji), ${r.heldOut.captions} captions`,
          `embed it: gapkit embed --model DIR --images ${join(r.dir, EMOJI_FILES.images)} --texts ${join(r.dir, EMOJI_FILES.captions)} --pairs ${join(r.dir, EMOJI_FILES.pairs)} -o emoji.npy`,
          r.credit,
        ].join("\n"),
      );
    });
}

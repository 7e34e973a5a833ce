import { existsSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { Command } from "commander";
import { describeValue, InputError, parseJson } from "../../core/errors.js";
import { type Matrix, stackRows } from "../../core/matrix.js";
import {
  type ClipTower,
  clipModelFiles,
  embedImages,
  embedTexts,
  loadClipModel,
  type SkippedImage,
} from "../../io/embed.js";
import {
  checkOutputPath,
  openRegularFile,
  readImageFile,
  readTextFile,
  writeFileAtomic,
  writeNpyFile,
} from "../../io/files.js";
import { parseInteger } from "../options.js";
import { printResult } from "../output.js";
import { stderrProgress } from "../progress.js";

/** Most inputs per forward pass: a batch of images is decoded and held at once. */
const MAX_EMBED_BATCH = 4096;

const IMAGE_EXTENSIONS = new Set([".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".tif", ".tiff"]);

interface EmbedFlags {
  model: string;
  images?: string;
  texts?: string;
  out: string;
  batch: string;
  pairs?: string;
  skipBad?: boolean;
  json?: boolean;
}

/** A caption and the id a pairs map names it by (its `id` field, else its 0-based position). */
interface Caption {
  id: string;
  text: string;
}

/** One pair to embed; either side may be absent when only one modality is given. */
interface Pair {
  image?: string;
  caption?: Caption;
}

/** The image files of a folder (sorted by name), or the paths listed one per line in a text file. */
export async function listImages(source: string): Promise<string[]> {
  if (!existsSync(source))
    throw new InputError("--images", "a folder of images or a list file", `${source} is missing`);
  if (statSync(source).isDirectory()) {
    const names = (await readdir(source))
      .filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase()))
      .sort();
    if (!names.length)
      throw new InputError(
        "--images",
        `a folder with ${[...IMAGE_EXTENSIONS].join(" ")} files`,
        `none in ${source}`,
      );
    return names.map((n) => join(source, n));
  }
  const lines = (await readTextFile(source)).split(/\r?\n/).filter((l) => l.trim());
  return lines.map((l) => resolve(dirname(source), l.trim()));
}

/** Captions from .txt (one per line), .jsonl ({"text"|"caption", "id"?} per line) or .csv (columns text|caption, id?). */
async function readCaptions(file: string): Promise<Caption[]> {
  const content = await readTextFile(file);
  const ext = extname(file).toLowerCase();
  if (ext === ".txt")
    return content
      .split(/\r?\n/)
      .filter((l) => l.length)
      .map((text, i) => ({ id: String(i), text }));
  const records: Record<string, unknown>[] =
    ext === ".jsonl"
      ? content
          .split(/\r?\n/)
          .filter((l) => l.trim())
          .map(
            (line, i) =>
              parseJson(line, `${file} line ${i + 1}`, 'a JSON object like {"text": "…"}') as Record<
                string,
                unknown
              >,
          )
      : ext === ".csv"
        ? await csvRecords(content, file)
        : [];
  if (ext !== ".jsonl" && ext !== ".csv")
    throw new InputError("--texts", "a .txt, .jsonl or .csv file", JSON.stringify(basename(file)));
  return records.map((record, i) => {
    const text = record?.text ?? record?.caption;
    if (typeof text !== "string")
      throw new InputError(
        `${file} record ${i + 1}`,
        'a "text" (or "caption") string',
        describeValue(record),
      );
    return { id: record.id === undefined ? String(i) : String(record.id), text };
  });
}

/** The rows of a CSV text with a header line, as objects; a malformed row is an InputError naming it. */
async function csvRecords(text: string, file: string): Promise<Record<string, string>[]> {
  const { CsvError, parse } = await import("csv-parse/sync");
  try {
    return parse(text, { columns: true, skip_empty_lines: true });
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    throw new InputError(
      `${file} row ${e.lines}`,
      "valid CSV, every row with as many fields as the header",
      e.message,
    );
  }
}

/** Pairs from a map (CSV columns image = a file of --images, text = a caption id), else by position. */
async function buildPairs(
  images: string[] | undefined,
  captions: Caption[] | undefined,
  map?: string,
): Promise<Pair[]> {
  if (!images || !captions)
    return (images ?? captions ?? []).map((x) => (typeof x === "string" ? { image: x } : { caption: x }));
  if (!map) {
    if (images.length !== captions.length)
      throw new InputError(
        "--images/--texts",
        "as many images as captions (or --pairs map.csv)",
        `${images.length} images, ${captions.length} captions`,
      );
    return images.map((image, i) => ({ image, caption: captions[i] }));
  }
  const byName = new Map(images.map((path) => [basename(path), path]));
  const byId = new Map(captions.map((c) => [c.id, c]));
  const rows = await csvRecords(await readTextFile(map), map);
  return rows.map((row, i) => {
    const image = byName.get(basename(String(row.image)));
    const caption = byId.get(String(row.text));
    if (!image || !caption)
      throw new InputError(
        `${map} row ${i + 2}`,
        "an image of --images (column image) and a caption id of --texts (column text)",
        JSON.stringify(row),
      );
    return { image, caption };
  });
}

/** Checks that a model folder holds the towers' files, each a regular file. */
export async function checkModelFolder(dir: string, towers: ClipTower[]): Promise<void> {
  const files = clipModelFiles(towers);
  const missing = files.filter((f) => !existsSync(join(dir, f)));
  if (missing.length)
    throw new InputError(
      "--model",
      `a CLIP model folder with ${files.join(", ")}`,
      `${dir} lacks ${missing.join(", ")}`,
    );
  // transformers.js reads them by name: a FIFO among them would hang it
  for (const f of files) await (await openRegularFile(join(dir, f))).close();
}

/** `gapkit embed`: CLIP embeddings of images and captions from a local model folder, as a .npy pair set. */
export function registerEmbed(program: Command): void {
  program
    .command("embed")
    .description("embed images and captions with a local CLIP ONNX model (transformers.js) into a .npy")
    .requiredOption(
      "--model <dir>",
      "model folder: config.json, tokenizer files, onnx/{text,vision}_model.onnx",
    )
    .option("--images <dir|list>", "a folder of images (sorted by name) or a text file listing image paths")
    .option("--texts <file>", "captions: .txt (one per line), .jsonl or .csv (text or caption, optional id)")
    .requiredOption(
      "-o, --out <file.npy>",
      "output: (2, N, d) float32 with both modalities, else (N, d); ids in FILE.json",
    )
    .option("--batch <n>", `inputs per forward pass (1–${MAX_EMBED_BATCH})`, "32")
    .option("--pairs <map.csv>", "pair by a map with columns image (file name) and text (caption id)")
    .option("--skip-bad", "skip unreadable images (and their captions) instead of failing")
    .option("--json", "print the summary as JSON")
    .action(async (flags: EmbedFlags) => {
      if (!flags.images && !flags.texts)
        throw new InputError("embed", "--images, --texts or both", "neither");
      // both outputs checked first: a metadata path that cannot be written must not strand a written .npy
      const metadata = `${flags.out.replace(/\.npy$/i, "")}.json`;
      await checkOutputPath(flags.out, "--out", { stdout: false });
      await checkOutputPath(metadata, "--out");
      const batch = parseInteger(flags.batch, "--batch", 1, MAX_EMBED_BATCH);
      const towers: ClipTower[] = [
        ...(flags.images ? ["image" as const] : []),
        ...(flags.texts ? ["text" as const] : []),
      ];
      await checkModelFolder(flags.model, towers);
      const pairs = await buildPairs(
        flags.images ? await listImages(flags.images) : undefined,
        flags.texts ? await readCaptions(flags.texts) : undefined,
        flags.pairs,
      );
      if (!pairs.length) throw new InputError("embed", "at least one image or caption", "none");
      const model = await loadClipModel(resolve(flags.model), towers);

      // a batch of pairs at a time: images first, so that a skipped image drops its caption too
      const progress = stderrProgress("embedding");
      const start = performance.now();
      const [imageParts, textParts, kept]: [Matrix[], Matrix[], Pair[]] = [[], [], []];
      const skipped: SkippedImage[] = [];
      for (let first = 0; first < pairs.length; first += batch) {
        let chunk = pairs.slice(first, first + batch);
        if (flags.images) {
          const result = await embedImages(
            model,
            chunk.map((p) => p.image!),
            { batch, skipBad: flags.skipBad, read: readImageFile },
          );
          const bad = new Set(result.skipped.map((s) => s.index));
          skipped.push(...result.skipped.map((s) => ({ ...s, index: first + s.index })));
          chunk = chunk.filter((_, i) => !bad.has(i));
          imageParts.push(result.embeddings);
        }
        if (flags.texts && chunk.length)
          textParts.push(
            await embedTexts(
              model,
              chunk.map((p) => p.caption!.text),
              { batch },
            ),
          );
        kept.push(...chunk);
        const done = Math.min(pairs.length, first + batch);
        progress(
          done,
          pairs.length,
          `${((1000 * done) / (performance.now() - start)).toFixed(1)} ${flags.images ? "images" : "texts"}/s`,
        );
      }
      if (!kept.length)
        throw new InputError("embed", "at least one readable image", `all ${pairs.length} were skipped`);
      const modalities = [imageParts, textParts].filter((parts) => parts.length).map(stackRows);
      const both = modalities.length === 2;
      const { cols: dim, data } = stackRows(modalities);
      await writeNpyFile(flags.out, {
        shape: both ? [2, kept.length, dim] : [kept.length, dim],
        dtype: "f4",
        data,
      });
      const record = {
        model: resolve(flags.model),
        rows: both ? { 0: "image", 1: "text" } : { 0: flags.images ? "image" : "text" },
        pairs: kept.map((p, i) => ({
          index: i,
          image: p.image,
          textId: p.caption?.id,
          text: p.caption?.text,
        })),
        skipped,
      };
      await writeFileAtomic(metadata, new TextEncoder().encode(`${JSON.stringify(record, null, 1)}\n`));
      const seconds = (performance.now() - start) / 1000;
      const summary = {
        output: flags.out,
        metadata,
        pairs: kept.length,
        dim,
        skipped: skipped.length,
        seconds,
      };
      printResult(summary, flags.json, (s) =>
        [
          `wrote ${s.output}: ${s.pairs} ${both ? "pairs" : "rows"} × ${s.dim} (unit rows), ids in ${s.metadata}`,
          ...(s.skipped ? [`skipped ${s.skipped} unreadable image(s), listed there`] : []),
        ].join("\n"),
      );
    });
}

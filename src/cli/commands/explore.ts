import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, extname, join, posix, resolve } from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import { ALIGN_METHODS } from "../../align/index.js";
import { InputError, parseJson } from "../../core/errors.js";
import { type ExploreMeta, exploreHtml } from "../../explore/html.js";
import { CLIP_MODEL_FILES } from "../../io/embed.js";
import {
  checkOutputPath,
  MAX_IMAGE_BYTES,
  readBytes,
  readTextFile,
  writeFileAtomic,
} from "../../io/files.js";
import { DEFAULT_NAMES } from "../../report/specs.js";
import { SCORE_METHODS } from "../../score/methods.js";
import { type ExploreAssets, serveExplore } from "../explore-server.js";
import { type GroupFlags, groupOptions } from "../groups.js";
import { parseNames, readLabels } from "../labels.js";
import { parseInteger } from "../options.js";
import { reportWritten } from "../output.js";
import { loadPair, type PairFlags, pairOptions } from "../pair.js";
import { checkModelFolder, listImages } from "./embed.js";

/** Most pairs a self-contained page carries: its HTML holds every float, base64 (≈ 85 MB at 20,000 × 512). */
const MAX_INLINE_PAIRS = 50_000;

/** Most bytes of images a self-contained page inlines. */
const MAX_INLINE_IMAGE_BYTES = 256 * 2 ** 20;

interface ExploreFlags extends PairFlags, GroupFlags {
  images?: string;
  pairs?: string;
  labels?: string;
  model?: string;
  names?: string;
  port: string;
  pairwiseMax: string;
  seed: string;
  out?: string;
}

/** embed's record (FILE.json): each pair's image path and caption. */
const PAIRS_RECORD = z.object({
  rows: z.record(z.string(), z.string()).optional(),
  pairs: z.array(z.object({ image: z.string().optional(), text: z.string().optional() })),
});

/** The page's and the worker's bundles: built by `npm run build`, or bundled now when run from source. */
async function bundles(): Promise<{ page: string; worker: string }> {
  const built = new URL("../../explore/", import.meta.url);
  if (existsSync(new URL("page.js", built)))
    return {
      page: await readFile(new URL("page.js", built), "utf8"),
      worker: await readFile(new URL("worker.js", built), "utf8"),
    };
  const script = new URL("../../../scripts/build-explore.mjs", import.meta.url).href;
  return (await import(script)).bundleExplore();
}

/** Captions and image files of the pairs, from embed's record and/or a folder of images (paired by position). */
async function pairItems(flags: ExploreFlags, rows: number) {
  let captions: (string | null)[] | undefined;
  let images: (string | null)[] | undefined;
  let names: { a: string; b: string } | undefined;
  if (flags.pairs) {
    const parsed = PAIRS_RECORD.safeParse(parseJson(await readTextFile(flags.pairs), flags.pairs));
    if (!parsed.success || parsed.data.pairs.length !== rows)
      throw new InputError(
        flags.pairs,
        `embed's record: {"pairs": [{"image"?, "text"?}, …]} with ${rows} pairs`,
        parsed.success ? `${parsed.data.pairs.length} pairs` : parsed.error.issues[0].message,
      );
    const { pairs, rows: modalities } = parsed.data;
    captions = pairs.map((p) => p.text ?? null);
    // embed records image paths as it was given them: relative to where it ran, else try beside the record
    const located = (image: string) =>
      existsSync(resolve(image)) ? resolve(image) : resolve(dirname(flags.pairs!), image);
    if (pairs.some((p) => p.image)) images = pairs.map((p) => (p.image ? located(p.image) : null));
    if (modalities?.["0"] && modalities["1"]) names = { a: modalities["0"], b: modalities["1"] };
  }
  if (flags.images) {
    images = await listImages(flags.images);
    if (images.length !== rows)
      throw new InputError("--images", `one image per pair (${rows}), sorted by name`, `${images.length}`);
  }
  return { captions, images, names };
}

/** The model's files by URL folder: model/clip → {config.json: path, …}, model/clip/onnx → {text_model.onnx: path}. */
function modelFolders(dir: string): Record<string, Record<string, string>> {
  const folders: Record<string, Record<string, string>> = {};
  for (const file of CLIP_MODEL_FILES.text) {
    const folder = posix.join("model/clip", posix.dirname(file));
    folders[folder] ??= {};
    folders[folder][posix.basename(file)] = join(dir, file);
  }
  return folders;
}

/** transformers.js's browser bundle and the onnxruntime-web files it loads, where the optional dependency is installed. */
function browserRuntime(): Pick<ExploreAssets, "files" | "folders"> {
  try {
    const transformers = dirname(createRequire(import.meta.url).resolve("@huggingface/transformers"));
    const ort = dirname(createRequire(join(transformers, "x.js")).resolve("onnxruntime-web"));
    const wasm = ["", ".asyncify", ".jsep", ".jspi"].flatMap((v) =>
      [".mjs", ".wasm"].map((ext) => `ort-wasm-simd-threaded${v}${ext}`),
    );
    return {
      files: { "transformers.js": join(transformers, "transformers.min.js") },
      folders: { ort: Object.fromEntries(wasm.map((f) => [f, join(ort, f)])) },
    };
  } catch {
    throw new InputError(
      "--model",
      "the optional dependencies @huggingface/transformers and onnxruntime-web (npm install @huggingface/transformers)",
      "not installed",
    );
  }
}

function imageDataUri(path: string, bytes: Uint8Array): string {
  const type = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
  }[extname(path).toLowerCase()];
  if (!type)
    throw new InputError(
      path,
      "a .png, .jpg, .webp or .gif image to inline",
      extname(path) || "no extension",
    );
  return `data:${type};base64,${Buffer.from(bytes).toString("base64")}`;
}

/** `gapkit explore`: the pairs in an interactive page, served on 127.0.0.1 or written as one file. */
export function registerExplore(program: Command): void {
  groupOptions(
    pairOptions(
      program
        .command("explore")
        .description(
          "an interactive page of the pairs: scatter, live gap shift, alignment and scoring, neighbours (served on 127.0.0.1, or one file with -o)",
        ),
    ),
  )
    .option(
      "--images <dir|list>",
      "one image per pair: a folder (sorted by name) or a text file listing paths",
    )
    .option("--pairs <pairs.json>", "embed's record (FILE.json): each pair's caption and image")
    .option(
      "--labels <labels.json>",
      "a JSON array with one label (string or number) per pair, for colouring",
    )
    .option("--names <a,b>", "what to call modalities A and B (default: embed's record's, else A,B)")
    .option(
      "--model <dir>",
      "a local CLIP model folder: a query box embeds typed text in the browser (modality B)",
    )
    .option(
      "--pairwise-max <k>",
      "uniformity and retrieval are exact up to K pairs, else estimated on a seeded sample of K, as measure's (K in [2, 1000000]; small keeps the controls live)",
      "2000",
    )
    .option("--seed <n>", "seed of that sample (and of UMAP's layout)", "0")
    .option("--port <p>", "the port on 127.0.0.1 (default: a free one)", "0")
    .option("-o, --out <explore.html>", "write one self-contained page instead of serving it")
    .action(async (file: string | undefined, flags: ExploreFlags) => {
      if (flags.out) await checkOutputPath(flags.out, "--out", { stdout: false });
      if (flags.out && flags.model) throw new InputError("--model", "the served page (without -o)", "-o");
      const port = parseInteger(flags.port, "--port", 0, 65535);
      const pairwiseMax = parseInteger(flags.pairwiseMax, "--pairwise-max", 2, 1_000_000);
      const seed = parseInteger(flags.seed, "--seed");
      const { a, b, groups } = await loadPair(file, flags, "explore");
      if (flags.out && a.rows > MAX_INLINE_PAIRS)
        throw new InputError(
          "-o",
          `at most ${MAX_INLINE_PAIRS} pairs in one file (serve larger sets)`,
          String(a.rows),
        );
      const items = await pairItems(flags, a.rows);
      if (flags.model) await checkModelFolder(flags.model, ["text"]);
      const runtime = flags.model ? browserRuntime() : {};
      const labels = flags.labels ? await readLabels(flags.labels, a.rows) : undefined;
      let images = items.images?.map((path, i) => (path ? `image/${i}` : null));
      if (flags.out && items.images) {
        let total = 0;
        images = [];
        for (const path of items.images) {
          const bytes = path ? await readBytes(path, MAX_IMAGE_BYTES) : undefined;
          total += bytes?.length ?? 0;
          if (total > MAX_INLINE_IMAGE_BYTES)
            throw new InputError(
              "--images",
              `at most ${MAX_INLINE_IMAGE_BYTES} bytes of images in one file (serve them)`,
              `more`,
            );
          images.push(path && bytes ? imageDataUri(path, bytes) : null);
        }
      }
      const meta: ExploreMeta = {
        title: file ? basename(file) : `${basename(flags.a!)} + ${basename(flags.b!)}`,
        rows: a.rows,
        dim: a.cols,
        pairwiseMax,
        seed,
        names: flags.names ? parseNames(flags.names) : (items.names ?? DEFAULT_NAMES),
        methods: Object.keys(ALIGN_METHODS),
        scorings: [...SCORE_METHODS],
        ...(items.captions ? { captions: items.captions } : {}),
        ...(images ? { images } : {}),
        ...(labels ? { labels } : {}),
        ...(groups ? { groups: Array.from(groups) } : {}),
        ...(flags.model ? { model: { side: "b" as const, path: "model/clip" } } : {}),
      };
      const data = new Uint8Array(a.data.byteLength + b.data.byteLength);
      data.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength));
      data.set(new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength), a.data.byteLength);
      const { page, worker } = await bundles();
      const sha256 = (text: string) => createHash("sha256").update(text).digest("base64");
      const parts = { meta, pageScript: page, workerScript: worker, sha256 };
      if (flags.out) {
        const html = exploreHtml({ ...parts, data: Buffer.from(data).toString("base64") });
        await writeFileAtomic(flags.out, new TextEncoder().encode(html));
        reportWritten(
          flags.out,
          `explorer page, ${a.rows} pairs × ${a.cols}, ${(html.length / 2 ** 20).toFixed(1)} MB`,
        );
        return;
      }
      const { url } = await serveExplore(
        {
          html: exploreHtml(parts),
          data,
          ...(items.images ? { images: items.images } : {}),
          folders: { ...runtime.folders, ...(flags.model ? modelFolders(resolve(flags.model)) : {}) },
          ...(runtime.files ? { files: runtime.files } : {}),
        },
        port,
      );
      process.stdout.write(`${url}\n`);
      // the open server keeps the process running until Ctrl-C (main's handler ends it)
      process.stderr.write("gapkit explore: serving on 127.0.0.1 only; open the URL above (Ctrl-C stops)\n");
    });
}

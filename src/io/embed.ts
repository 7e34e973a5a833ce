/**
 * CLIP embeddings of raw images and texts through transformers.js (an optional dependency, loaded with
 * `import()`), from a local model folder only: remote models are switched off before anything loads.
 * Browser-safe: in Node a location is a folder path, in the browser a URL path on the page's origin.
 */
import type * as Transformers from "@huggingface/transformers";
import { InputError } from "../core/errors.js";
import { type Matrix, matrix, normalizeRows, stackRows } from "../core/matrix.js";

/** The files a CLIP model folder needs per tower: the layout of an optimum ONNX export (float32). */
export const CLIP_MODEL_FILES = {
  text: ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/text_model.onnx"],
  image: ["config.json", "preprocessor_config.json", "onnx/vision_model.onnx"],
} as const;

/** Which towers to load. */
export type ClipTower = keyof typeof CLIP_MODEL_FILES;

/** The files the given towers need, each once. */
export function clipModelFiles(towers: readonly ClipTower[]): string[] {
  return [...new Set(towers.flatMap((tower) => CLIP_MODEL_FILES[tower]))];
}

/** A CLIP model's loaded towers. */
export interface ClipModel {
  readonly location: string;
  readonly text?: { tokenizer: Transformers.PreTrainedTokenizer; model: Transformers.PreTrainedModel };
  readonly image?: { processor: Transformers.Processor; model: Transformers.PreTrainedModel };
}

/** An image: a file path (Node), a URL or a Blob. */
export type ImageSource = string | URL | Blob;

/** Options for embedTexts and embedImages. */
export interface EmbedOptions {
  /** Inputs per forward pass (default 32): bounds the memory of decoded images and activations. */
  batch?: number;
  /** Called after each batch with (inputs done, inputs in total). */
  onProgress?: (done: number, total: number) => void;
}

// an error's message on one line (sharp puts the detail on the next)
function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .replace(/\s+/g, " ")
    .trim();
}

async function loadTransformers(): Promise<typeof Transformers> {
  try {
    return await import("@huggingface/transformers");
  } catch (error) {
    throw new InputError(
      "embed",
      "the optional dependency @huggingface/transformers (npm install @huggingface/transformers)",
      firstLine(error),
    );
  }
}

function checkBatch(batch: number): void {
  if (!(Number.isInteger(batch) && batch >= 1))
    throw new InputError("embed --batch", "a positive integer", String(batch));
}

/**
 * Loads the `towers` of the CLIP model at `location` (float32 ONNX, see CLIP_MODEL_FILES) with remote
 * models disabled; a folder that lacks a file is an InputError that lists the files expected. A page passes
 * the `transformers` module it loaded itself.
 */
export async function loadClipModel(
  location: string,
  towers: readonly ClipTower[] = ["text", "image"],
  transformers?: typeof Transformers,
): Promise<ClipModel> {
  transformers ??= await loadTransformers();
  const { env } = transformers;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  const trimmed = location.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  env.localModelPath = slash >= 0 ? trimmed.slice(0, slash + 1) : "./";
  const id = trimmed.slice(slash + 1);
  const options = { dtype: "fp32", local_files_only: true } as const;
  try {
    const [text, image] = await Promise.all([
      towers.includes("text")
        ? Promise.all([
            transformers.AutoTokenizer.from_pretrained(id, options),
            transformers.CLIPTextModelWithProjection.from_pretrained(id, options),
          ]).then(([tokenizer, model]) => ({ tokenizer, model }))
        : undefined,
      towers.includes("image")
        ? Promise.all([
            transformers.AutoProcessor.from_pretrained(id, options),
            transformers.CLIPVisionModelWithProjection.from_pretrained(id, options),
          ]).then(([processor, model]) => ({ processor, model }))
        : undefined,
    ]);
    return { location, text, image };
  } catch (error) {
    throw new InputError(
      `model ${location}`,
      `a CLIP model folder with ${clipModelFiles(towers).join(", ")}`,
      firstLine(error),
    );
  }
}

/** Rows of an output tensor as a matrix of unit rows. */
function unitRows(tensor: Transformers.Tensor, where: string): Matrix {
  const [rows, cols] = tensor.dims;
  return normalizeRows(matrix(rows, cols, Float32Array.from(tensor.data as Float32Array)), where);
}

/** Unit-normalised CLIP text embeddings (texts.length × d), `batch` texts per forward pass. */
export async function embedTexts(
  model: ClipModel,
  texts: readonly string[],
  options: EmbedOptions = {},
): Promise<Matrix> {
  const tower = model.text;
  if (!tower) throw new InputError("embedTexts", "a model loaded with its text tower", "none");
  const batch = options.batch ?? 32;
  checkBatch(batch);
  const parts: Matrix[] = [];
  for (let start = 0; start < texts.length; start += batch) {
    const inputs = tower.tokenizer([...texts.slice(start, start + batch)], {
      padding: true,
      truncation: true,
    });
    const { text_embeds } = await tower.model(inputs);
    parts.push(unitRows(text_embeds, `text embeddings ${start}…`));
    options.onProgress?.(Math.min(texts.length, start + batch), texts.length);
  }
  return stackRows(parts);
}

/** An image that could not be read or decoded. */
export interface SkippedImage {
  /** Its index in the images passed. */
  index: number;
  source: string;
  reason: string;
}

/**
 * Unit-normalised CLIP image embeddings, `batch` images decoded at a time. An image that cannot be read
 * or decoded is an InputError naming it, or with `skipBad` is left out and listed in `skipped` (the rows
 * of `embeddings` are the other images, in order).
 */
export async function embedImages(
  model: ClipModel,
  images: readonly ImageSource[],
  options: EmbedOptions & {
    skipBad?: boolean;
    /** Reads an image given by path (Node: readImageFile, a size-checked regular file); else transformers.js does. */
    read?: (path: string) => Promise<Blob>;
  } = {},
): Promise<{ embeddings: Matrix; skipped: SkippedImage[] }> {
  const tower = model.image;
  if (!tower) throw new InputError("embedImages", "a model loaded with its image tower", "none");
  const { RawImage } = await loadTransformers();
  const batch = options.batch ?? 32;
  checkBatch(batch);
  const parts: Matrix[] = [];
  const skipped: SkippedImage[] = [];
  for (let start = 0; start < images.length; start += batch) {
    const decoded: Transformers.RawImage[] = [];
    for (const [offset, source] of images.slice(start, start + batch).entries()) {
      try {
        const image = typeof source === "string" && options.read ? await options.read(source) : source;
        decoded.push(await RawImage.read(image));
      } catch (error) {
        const name = source instanceof Blob ? `blob ${start + offset}` : String(source);
        const reason = firstLine(error);
        if (!options.skipBad)
          throw error instanceof InputError
            ? error
            : new InputError(name, "a readable JPEG, PNG or WebP image", reason);
        skipped.push({ index: start + offset, source: name, reason });
      }
    }
    if (decoded.length) {
      const { image_embeds } = await tower.model(await tower.processor(decoded));
      parts.push(unitRows(image_embeds, `image embeddings ${start}…`));
    }
    options.onProgress?.(Math.min(images.length, start + batch), images.length);
  }
  return { embeddings: stackRows(parts), skipped };
}

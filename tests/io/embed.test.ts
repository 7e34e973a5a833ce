import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { type Matrix, matrix, normalizeRows } from "../../src/core/matrix.js";
import { embedImages, embedTexts, loadClipModel } from "../../src/io/embed.js";
import { readArrayFile } from "../../src/io/files.js";
import { gapkit, isUserError } from "../cli/run.js";
import { expectClose } from "../helpers.js";

// A tiny random CLIP in the transformers.js folder layout, built by scripts/make_clip_fixture.py (torch).
const MODEL = new URL("../fixtures/clip-tiny", import.meta.url).pathname;
const expected = JSON.parse(readFileSync(join(MODEL, "expected.json"), "utf8")) as {
  tokens: Record<string, number[]>;
  image_embeds: number[][];
  text_embeds: Record<string, number[]>;
};
const CAPTIONS = Object.keys(expected.tokens);
const IMAGES = [0, 1, 2, 3].map((i) => join(MODEL, "images", `img${i}.png`));
const MEAN = [0.48145466, 0.4578275, 0.40821073];
const STD = [0.26862954, 0.26130258, 0.27577711];

function unit(rows: number[][]): Matrix {
  return normalizeRows(matrix(rows.length, rows[0].length, Float32Array.from(rows.flat())));
}

/** Decodes one of the fixture's 8-bit RGB PNGs (filter 0 rows, as the fixture script writes them). */
async function pngPixels(file: string): Promise<{ width: number; height: number; rgb: Uint8Array }> {
  const { unzlibSync } = await import("fflate");
  const bytes = readFileSync(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const [width, height] = [view.getUint32(16), view.getUint32(20)];
  const idat = bytes.subarray(41, 41 + view.getUint32(33));
  const raw = unzlibSync(idat);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    rgb.set(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  return { width, height, rgb };
}

/** The towers run directly on onnxruntime-node with inputs prepared here: the independent check. */
async function onnxRuntimeEmbeddings(): Promise<{ images: Matrix; texts: Matrix }> {
  const vision = await ort.InferenceSession.create(join(MODEL, "onnx", "vision_model.onnx"));
  const pixels: number[] = [];
  for (const file of IMAGES) {
    const { width, height, rgb } = await pngPixels(file);
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < width * height; p++) pixels.push((rgb[p * 3 + c] / 255 - MEAN[c]) / STD[c]);
  }
  const { image_embeds } = await vision.run({
    pixel_values: new ort.Tensor("float32", Float32Array.from(pixels), [IMAGES.length, 3, 32, 32]),
  });
  const text = await ort.InferenceSession.create(join(MODEL, "onnx", "text_model.onnx"));
  const rows: number[][] = [];
  for (const caption of CAPTIONS) {
    const ids = expected.tokens[caption];
    const { text_embeds } = await text.run({
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    });
    rows.push([...(text_embeds.data as Float32Array)]);
  }
  const imageRows = Array.from({ length: IMAGES.length }, (_, i) => [
    ...(image_embeds.data as Float32Array).slice(i * 16, (i + 1) * 16),
  ]);
  return { images: unit(imageRows), texts: unit(rows) };
}

describe("embedding with transformers.js from a local model folder", async () => {
  const model = await loadClipModel(MODEL);

  it("tokenizes captions with the folder's CLIP BPE tokenizer exactly as the fixture's own encoder", () => {
    for (const caption of CAPTIONS) {
      const ids = model.text!.tokenizer(caption).input_ids.tolist()[0].map(Number);
      expect(ids, caption).toEqual(expected.tokens[caption]);
    }
  });

  it("gives unit rows equal to an independent onnxruntime run and to torch in float64", async () => {
    const texts = await embedTexts(model, CAPTIONS, { batch: 2 });
    const { embeddings: images, skipped } = await embedImages(model, IMAGES);
    expect(skipped).toEqual([]);
    expect([texts.rows, texts.cols, images.rows, images.cols]).toEqual([CAPTIONS.length, 16, 4, 16]);
    const direct = await onnxRuntimeEmbeddings();
    expectClose(texts.data, direct.texts.data, 1e-6);
    expectClose(images.data, direct.images.data, 1e-6);
    expectClose(texts.data, unit(CAPTIONS.map((c) => expected.text_embeds[c])).data, 1e-5);
    expectClose(images.data, unit(expected.image_embeds).data, 1e-5);
  });

  it("is deterministic, and batching does not change the rows beyond float32 rounding", async () => {
    const once = await embedTexts(model, CAPTIONS, { batch: 5 });
    expect((await embedTexts(model, CAPTIONS, { batch: 5 })).data).toEqual(once.data);
    expectClose((await embedTexts(model, CAPTIONS, { batch: 1 })).data, once.data, 1e-6);
    const images = (await embedImages(model, IMAGES, { batch: 3 })).embeddings;
    expect((await embedImages(model, IMAGES, { batch: 3 })).embeddings.data).toEqual(images.data);
  });

  it("decodes JPEG and WebP as well (lossy: close to the PNG's row)", async () => {
    const { default: sharp } = await import("sharp");
    const dir = mkdtempSync(join(tmpdir(), "gapkit-formats-"));
    const files = [join(dir, "img0.jpg"), join(dir, "img0.webp")];
    await sharp(IMAGES[0]).jpeg({ quality: 100 }).toFile(files[0]);
    await sharp(IMAGES[0]).webp({ lossless: true }).toFile(files[1]);
    const { embeddings } = await embedImages(model, [IMAGES[0], ...files]);
    const png = embeddings.data.slice(0, 16);
    expectClose(embeddings.data.slice(32, 48), png, 1e-6); // lossless WebP: the same pixels
    expect(Math.hypot(...embeddings.data.slice(16, 32).map((x, i) => x - png[i]))).toBeLessThan(0.1);
  });

  it("resizes and crops other image sizes", async () => {
    const { embeddings } = await embedImages(model, [join(MODEL, "wide.png")]);
    expect(embeddings.rows).toBe(1);
    expect(Math.hypot(...embeddings.data)).toBeCloseTo(1, 6);
  });

  it("names a corrupt image, or with skipBad leaves it out and lists it", async () => {
    const corrupt = join(MODEL, "corrupt.png");
    await expect(embedImages(model, [IMAGES[0], corrupt])).rejects.toThrow(
      new RegExp(`^${corrupt}: expected a readable JPEG, PNG or WebP image; got `),
    );
    const { embeddings, skipped } = await embedImages(model, [IMAGES[0], corrupt, IMAGES[1]], {
      skipBad: true,
    });
    expect(embeddings.rows).toBe(2);
    expect(skipped).toMatchObject([{ index: 1, source: corrupt }]);
  });

  it("refuses a folder without the model files, listing the files expected", async () => {
    const empty = mkdtempSync(join(tmpdir(), "gapkit-model-"));
    await expect(loadClipModel(empty, ["text"])).rejects.toThrow(InputError);
    await expect(loadClipModel(empty, ["text"])).rejects.toThrow(
      /expected a CLIP model folder with config.json, tokenizer.json, tokenizer_config.json, onnx\/text_model.onnx/,
    );
  });
});

describe("gapkit embed", () => {
  const dir = mkdtempSync(join(tmpdir(), "gapkit-embed-"));

  it("writes a (2, N, d) pair set and its ids, which measure reads", async () => {
    const out = join(dir, "pairs.npy");
    const r = await gapkit(
      "embed",
      "--model",
      MODEL,
      "--images",
      join(MODEL, "images"),
      "--texts",
      join(MODEL, "texts.txt"),
      "-o",
      out,
      "--json",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ pairs: 4, dim: 16, skipped: 0 });
    const arr = await readArrayFile(out);
    expect(arr.shape).toEqual([2, 4, 16]);
    const meta = JSON.parse(readFileSync(join(dir, "pairs.json"), "utf8"));
    expect(meta.pairs.map((p: { text: string }) => p.text)).toEqual(CAPTIONS.slice(0, 4));
    const measured = await gapkit("measure", out, "--json");
    expect(measured.code, measured.stderr).toBe(0);
    expect(JSON.parse(measured.stdout).n).toBe(4);
  });

  it("skips a corrupt image with --skip-bad and drops its caption, keeping the pairs aligned", async () => {
    const images = join(dir, "images");
    mkdirSync(images);
    for (const [i, file] of IMAGES.entries()) copyFileSync(file, join(images, `p${i}.png`));
    copyFileSync(join(MODEL, "corrupt.png"), join(images, "p1x.png")); // sorts between p1 and p2
    const texts = join(dir, "captions.jsonl");
    writeFileSync(
      texts,
      ["zero", "one", "bad", "two", "three"].map((text) => JSON.stringify({ text })).join("\n"),
    );
    const out = join(dir, "skip.npy");
    const failed = await gapkit("embed", "--model", MODEL, "--images", images, "--texts", texts, "-o", out);
    expect(isUserError(failed)).toBe(true);
    expect(failed.stderr).toContain("p1x.png");
    const r = await gapkit(
      "embed",
      "--model",
      MODEL,
      "--images",
      images,
      "--texts",
      texts,
      "-o",
      out,
      "--skip-bad",
    );
    expect(r.code, r.stderr).toBe(0);
    const meta = JSON.parse(readFileSync(join(dir, "skip.json"), "utf8"));
    expect(meta.pairs.map((p: { text: string }) => p.text)).toEqual(["zero", "one", "two", "three"]);
    expect(meta.skipped).toMatchObject([{ index: 2 }]);
    expect((await readArrayFile(out)).shape).toEqual([2, 4, 16]);
  });

  it("pairs through a map, and embeds one modality alone", async () => {
    const texts = join(dir, "captions.csv");
    writeFileSync(texts, 'id,caption\nc1,"a photo of a cat"\nc2,"the dog on the grass"\n');
    const map = join(dir, "map.csv");
    writeFileSync(map, "image,text\nimg3.png,c2\nimg0.png,c1\nimg1.png,c1\n");
    const out = join(dir, "mapped.npy");
    const args = [
      "--model",
      MODEL,
      "--images",
      join(MODEL, "images"),
      "--texts",
      texts,
      "--pairs",
      map,
      "-o",
      out,
    ];
    expect((await gapkit("embed", ...args)).code).toBe(0);
    const meta = JSON.parse(readFileSync(join(dir, "mapped.json"), "utf8"));
    expect(meta.pairs.map((p: { textId: string }) => p.textId)).toEqual(["c2", "c1", "c1"]);
    const only = join(dir, "texts.npy");
    expect((await gapkit("embed", "--model", MODEL, "--texts", texts, "-o", only)).code).toBe(0);
    expect((await readArrayFile(only)).shape).toEqual([2, 16]);
  });

  it.each([
    [["--texts", "t.txt"], "a CLIP model folder"],
    [["--images", "nowhere"], "a folder of images"],
    [[], "--images, --texts or both"],
    [["--batch", "0", "--texts", "x"], "--batch"],
    [["--batch", "100000", "--texts", "x"], "--batch: expected an integer in [1, 4096]"],
  ])("%j is a one-line user error (%s)", async (extra, message) => {
    writeFileSync(join(dir, "t.txt"), "a photo of a cat\n");
    const model = extra[1] === "t.txt" ? join(dir, "no-model") : MODEL;
    const args = extra.map((a) => (a === "t.txt" ? join(dir, a) : a));
    const r = await gapkit("embed", "--model", model, ...args, "-o", join(dir, "x.npy"));
    expect(isUserError(r)).toBe(true);
    expect(r.stderr).toContain(message);
  });
});

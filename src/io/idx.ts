/**
 * IDX files (LeCun's MNIST format, gzipped): a magic number naming the element type and rank, the
 * dimensions as big-endian 32-bit integers, then the elements. Fashion-MNIST ships in it (Debian's
 * dataset-fashion-mnist).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { check, InputError } from "../core/errors.js";
import { matrix } from "../core/matrix.js";
import type { LabelledImageSet } from "../sim/experiment.js";

/** Where Debian's dataset-fashion-mnist puts the files. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** The unsigned-byte elements and dimensions of an IDX file's bytes (gunzipped). */
export function parseIdx(bytes: Uint8Array, where: string): { dims: number[]; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  check(
    bytes.length >= 4 && view.getUint16(0) === 0 && bytes[2] === 0x08,
    where,
    "an IDX file of unsigned bytes (magic 0x0000 08, then the rank)",
    () => `${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ")}`,
  );
  const rank = bytes[3];
  check(
    bytes.length >= 4 + 4 * rank,
    where,
    `${rank} dimensions after the magic number`,
    () => "fewer bytes",
  );
  const dims = Array.from({ length: rank }, (_, k) => view.getUint32(4 + 4 * k));
  const count = dims.reduce((n, d) => n * d, 1);
  const start = 4 + 4 * rank;
  check(bytes.length === start + count, where, `${count} elements for dimensions ${dims.join("×")}`, () =>
    String(bytes.length - start),
  );
  return { dims, data: bytes.subarray(start) };
}

/** A gzipped IDX file's contents; an InputError naming how to install it where it is missing. */
async function readIdx(path: string): Promise<{ dims: number[]; data: Uint8Array }> {
  const compressed = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT")
      throw new InputError(
        "Fashion-MNIST",
        "Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
        `no ${path}`,
      );
    throw error;
  });
  return parseIdx(gunzipSync(compressed), path);
}

/**
 * One split of Fashion-MNIST ("train": 60,000 images, "t10k": 10,000) from `dir`: 28×28 grey images of
 * ten kinds of clothing, pixels scaled to [0, 1] as rows are asked for.
 */
export async function fashionMnist(
  split: "train" | "t10k",
  dir = FASHION_MNIST_DIR,
): Promise<LabelledImageSet> {
  const images = await readIdx(join(dir, `${split}-images-idx3-ubyte.gz`));
  const labels = await readIdx(join(dir, `${split}-labels-idx1-ubyte.gz`));
  const [count, height, width] = images.dims;
  check(
    images.dims.length === 3 && labels.dims.length === 1 && labels.dims[0] === count,
    `Fashion-MNIST ${split}`,
    "images (n, 28, 28) and n labels",
    () => `images ${images.dims.join("×")}, labels ${labels.dims.join("×")}`,
  );
  const pixels = height * width;
  return {
    labels: Int32Array.from(labels.data),
    height,
    width,
    images(rows) {
      const out = matrix(rows.length, pixels);
      for (let k = 0; k < rows.length; k++) {
        const row = rows[k];
        check(
          Number.isInteger(row) && row >= 0 && row < count,
          "Fashion-MNIST",
          `rows in [0, ${count})`,
          () => String(row),
        );
        for (let j = 0; j < pixels; j++) out.data[k * pixels + j] = images.data[row * pixels + j] / 255;
      }
      return out;
    },
  };
}

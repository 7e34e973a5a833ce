/**
 * Training a classifier written with the autograd: seeded shuffled mini-batches of rows with one-hot
 * labels, AdamW under a warm-up + cosine schedule (compiledTraining), held-out accuracy after each epoch.
 */
import { check } from "../../core/errors.js";
import type { Tensor32 } from "../../core/gemm/index.js";
import type { Matrix } from "../../core/matrix.js";
import { createRng, type Rng } from "../../core/rng.js";
import { cosineSchedule } from "../optim.js";
import type { Params } from "./nn.js";
import type { Tensor } from "./tensor.js";
import { compiledTraining, type TrainableModel } from "./training.js";

/** Rows and their class labels. */
export interface LabelledRows {
  readonly x: Matrix;
  readonly labels: Int32Array;
}

/** Options of trainClassifier. */
export interface ClassifierOptions {
  readonly classes: number;
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
  /** Warm-up steps of the learning rate (then cosine decay to 0 over the remaining steps). */
  readonly warmup: number;
  readonly weightDecay: number;
  readonly seed: number;
  /** Changes each sampled training row in place (augmentation), drawing from `rng`. */
  readonly augment?: (row: Float32Array, rng: Rng) => void;
  /** Called after each epoch with its held-out accuracy and the seconds since the start. */
  readonly onEpoch?: (epoch: number, accuracy: number, seconds: number) => void;
}

/**
 * Trains `model` (its batches: [rows, one-hot labels]) on `train` and returns the held-out accuracy after
 * each epoch, with `logits` (the model's class scores) for the evaluation. Batches are whole: the last
 * partial one of an epoch is dropped, so one graph serves every step.
 */
export async function trainClassifier(
  model: TrainableModel,
  logits: (p: Params, x: Tensor) => Tensor,
  train: LabelledRows,
  heldOut: LabelledRows,
  options: ClassifierOptions,
): Promise<number[]> {
  const { classes, epochs, batch, seed } = options;
  const perEpoch = Math.floor(train.x.rows / batch);
  check(perEpoch >= 1, "trainClassifier", `at least one batch of ${batch} rows`, () => String(train.x.rows));
  const training = compiledTraining(model, { weightDecay: options.weightDecay });
  const rng = createRng(seed);
  const cols = train.x.cols;
  const [x, y] = [new Float32Array(batch * cols), new Float32Array(batch * classes)];
  const feeds: Tensor32[] = [
    { data: x, dims: [batch, cols] },
    { data: y, dims: [batch, classes] },
  ];
  // one function, so that every epoch's evaluation runs the graph compiled for the first
  const heldOutLogits = (p: Params, [rows]: readonly Tensor[]) => [logits(p, rows)];
  const evaluate = async () => {
    const [scores] = await training.run(heldOutLogits, [
      { data: heldOut.x.data, dims: [heldOut.x.rows, cols] },
    ]);
    return accuracyOf(scores, heldOut.labels);
  };
  const start = performance.now();
  const accuracy: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = rng.permutation(train.x.rows);
    for (let b = 0; b < perEpoch; b++) {
      y.fill(0);
      for (let k = 0; k < batch; k++) {
        const row = order[b * batch + k];
        x.set(train.x.data.subarray(row * cols, (row + 1) * cols), k * cols);
        options.augment?.(x.subarray(k * cols, (k + 1) * cols), rng);
        y[k * classes + train.labels[row]] = 1;
      }
      const step = epoch * perEpoch + b;
      await training.step(
        feeds,
        cosineSchedule(step, epochs * perEpoch, { lr: options.lr, warmup: options.warmup }),
      );
    }
    accuracy.push(await evaluate());
    options.onEpoch?.(epoch + 1, accuracy[epoch], (performance.now() - start) / 1000);
  }
  return accuracy;
}

/** The fraction of rows whose largest score (the first of ties) is their label: scores [rows, classes]. */
export function accuracyOf(scores: Float32Array, labels: Int32Array): number {
  const classes = scores.length / labels.length;
  let correct = 0;
  labels.forEach((label, i) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
    if (best === label) correct++;
  });
  return correct / labels.length;
}

/**
 * A channel-major image row (`channels` planes of `height`×`width`) moved in place by (dy, dx) pixels,
 * `fill` shifted in, and mirrored left–right first where `flip`.
 */
export function translateImage(
  row: Float32Array,
  [channels, height, width]: readonly [number, number, number],
  dy: number,
  dx: number,
  { fill = 0, flip = false }: { fill?: number; flip?: boolean } = {},
): void {
  const copy = row.slice();
  row.fill(fill);
  for (let c = 0; c < channels; c++)
    for (let y = Math.max(0, dy); y < Math.min(height, height + dy); y++)
      for (let x = Math.max(0, dx); x < Math.min(width, width + dx); x++) {
        const from = flip ? width - 1 - (x - dx) : x - dx;
        row[(c * height + y) * width + x] = copy[(c * height + y - dy) * width + from];
      }
}

/**
 * An augmentation of single-channel `height`×`width` image rows: a random translation by up to `maxShift`
 * pixels along each axis, zeros shifted in.
 */
export function randomShift(
  height: number,
  width: number,
  maxShift: number,
): (row: Float32Array, rng: Rng) => void {
  return (row, rng) => {
    const [dy, dx] = [rng.int(2 * maxShift + 1) - maxShift, rng.int(2 * maxShift + 1) - maxShift];
    translateImage(row, [1, height, width], dy, dx);
  };
}

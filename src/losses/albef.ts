import { mulAB, mulABt } from "../core/dense64.js";
import { check } from "../core/errors.js";
import { type Matrix, matrix } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { crossEntropyRows, logSumExp, toMatrix } from "./dense.js";

/** A FIFO queue of past (momentum) features, as ALBEF and MoCo keep: the newest `size` rows. */
export interface FeatureQueue {
  readonly size: number;
  readonly dim: number;
  /** Rows currently held, oldest first. */
  readonly rows: number;
  /** Appends rows (dropping the oldest beyond `size`). */
  enqueue(m: Matrix): void;
  /** Removes and returns the `count` oldest rows. */
  dequeue(count: number): Matrix;
  /** The held rows, oldest first, as a new matrix. */
  contents(): Matrix;
}

/** Creates an empty queue of at most `size` rows of dimension `dim`. */
export function createFeatureQueue(size: number, dim: number): FeatureQueue {
  check(
    Number.isInteger(size) && size >= 1 && Number.isInteger(dim) && dim >= 1,
    "createFeatureQueue",
    "size ≥ 1 and dim ≥ 1",
    () => `${size}, ${dim}`,
  );
  let held = new Float32Array(0);
  const queue = {
    size,
    dim,
    get rows() {
      return held.length / dim;
    },
    enqueue(m: Matrix) {
      check(m.cols === dim, "FeatureQueue.enqueue", `rows of dimension ${dim}`, () => String(m.cols));
      const joined = new Float32Array(held.length + m.data.length);
      joined.set(held);
      joined.set(m.data, held.length);
      held = joined.slice(Math.max(0, joined.length - size * dim));
    },
    dequeue(count: number) {
      check(
        Number.isInteger(count) && count >= 0 && count <= queue.rows,
        "FeatureQueue.dequeue",
        `0 ≤ count ≤ ${queue.rows}`,
        () => String(count),
      );
      const out = matrix(count, dim, held.slice(0, count * dim));
      held = held.slice(count * dim);
      return out;
    },
    contents: () => matrix(held.length / dim, dim, held.slice()),
  };
  return queue;
}

/** Momentum (EMA) update θ_m ← m·θ_m + (1 − m)·θ in place, for each parameter array (ALBEF: m = 0.995). */
export function momentumUpdate(
  params: readonly (Float32Array | Float64Array)[],
  momentumParams: readonly (Float32Array | Float64Array)[],
  m = 0.995,
): void {
  check(
    params.length === momentumParams.length,
    "momentumUpdate",
    `${params.length} momentum parameter arrays`,
    () => String(momentumParams.length),
  );
  check(m >= 0 && m <= 1, "momentumUpdate m", "a momentum in [0, 1]", () => String(m));
  params.forEach((p, i) => {
    const target = momentumParams[i];
    check(
      p.length === target.length,
      "momentumUpdate",
      `arrays of equal length at ${i}`,
      () => `${p.length} and ${target.length}`,
    );
    for (let k = 0; k < p.length; k++) target[k] = m * target[k] + (1 - m) * p[k];
  });
}

function stack(top: Matrix, bottom: Matrix | undefined): Matrix {
  if (!bottom || bottom.rows === 0) return top;
  const out = matrix(top.rows + bottom.rows, top.cols);
  out.data.set(top.data);
  out.data.set(bottom.data, top.data.length);
  return out;
}

/** Rows of the momentum similarities (n×width) turned into ALBEF's soft targets α·softmax(sim_m) + (1 − α)·one-hot. */
export function softTargets(
  simMomentum: Float64Array,
  n: number,
  width: number,
  alpha: number,
): Float64Array {
  const out = new Float64Array(n * width);
  for (let i = 0; i < n; i++) {
    const lse = logSumExp(simMomentum, i * width, width);
    for (let j = 0; j < width; j++)
      out[i * width + j] = alpha * Math.exp(simMomentum[i * width + j] - lse) + (j === i ? 1 - alpha : 0);
  }
  return out;
}

/** ALBEF clamps its learned temperature to [0.001, 0.5]: the log logit scale ln(1/τ) to [ln 2, ln 1000]. */
export const ITC_LOG_SCALE_RANGE: readonly [number, number] = [Math.log(2), Math.log(1000)];

/** Options of ALBEF's image-text contrastive loss. */
export interface ItcOptions {
  /** Momentum-encoder features of the same batch (the candidates, and the distillation teacher). */
  imageMomentum: Matrix;
  textMomentum: Matrix;
  /** Queued momentum features of earlier batches (extra negatives). */
  imageQueue?: Matrix;
  textQueue?: Matrix;
  /** Temperature (ALBEF: learnable, init 0.07). */
  temperature?: number;
  /** Distillation weight α (ALBEF: 0.4; 0 = plain one-hot targets). */
  alpha?: number;
}

/**
 * ALBEF image-text contrastive loss with momentum distillation (Li et al. 2021): queries are the online
 * features, candidates the momentum features of the batch followed by the queue;
 * targets = α·softmax(sim_momentum) + (1 − α)·one-hot; loss = (CE(i→t) + CE(t→i)) / 2.
 * Gradients flow to the online features and the temperature only, as in ALBEF.
 */
export function itcLoss(
  image: Matrix,
  text: Matrix,
  options: ItcOptions,
): { value: number; gradImage: Matrix; gradText: Matrix; gradTemperature: number } {
  const { temperature = 0.07, alpha = 0.4 } = options;
  const n = image.rows;
  const d = image.cols;
  check(
    text.rows === n && text.cols === d,
    "itcLoss",
    `text of the image's shape ${n}×${d}`,
    () => `${text.rows}×${text.cols}`,
  );
  check(
    options.imageMomentum.rows === n && options.textMomentum.rows === n,
    "itcLoss",
    "momentum features for the same batch",
    () => `${options.imageMomentum.rows} and ${options.textMomentum.rows} rows`,
  );
  check(
    temperature > 0 && alpha >= 0 && alpha <= 1,
    "itcLoss",
    "temperature > 0 and α in [0, 1]",
    () => `${temperature}, ${alpha}`,
  );
  const imageAll = stack(options.imageMomentum, options.imageQueue);
  const textAll = stack(options.textMomentum, options.textQueue);
  const direction = (query: Matrix, queryMomentum: Matrix, candidates: Matrix) => {
    const width = candidates.rows;
    const sims = mulABt(query.data, n, candidates.data, width, d);
    const logits = sims.map((v) => v / temperature);
    const teacher = mulABt(queryMomentum.data, n, candidates.data, width, d).map((v) => v / temperature);
    const dLogits = new Float64Array(n * width);
    const value = crossEntropyRows(logits, n, width, softTargets(teacher, n, width, alpha), dLogits, 0.5);
    let dTemperature = 0;
    for (let k = 0; k < dLogits.length; k++) dTemperature -= (dLogits[k] * sims[k]) / temperature ** 2;
    return {
      value,
      grad: toMatrix(mulAB(dLogits, n, candidates.data, width, d), n, d, 1 / temperature),
      dTemperature,
    };
  };
  const i2t = direction(image, options.imageMomentum, textAll);
  const t2i = direction(text, options.textMomentum, imageAll);
  return {
    value: (i2t.value + t2i.value) / 2,
    gradImage: i2t.grad,
    gradText: t2i.grad,
    gradTemperature: i2t.dTemperature + t2i.dTemperature,
  };
}

function maxExcept(x: Float64Array | Float32Array, start: number, length: number, skip: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < length; j++) if (j !== skip) max = Math.max(max, x[start + j]);
  return max;
}

/** How itmHardNegatives weighs the candidates: ALBEF's renormalised softmax, or BLIP's softmax + 1e-4. */
export const ITM_SAMPLERS = ["albef", "blip"] as const;

/** One of ITM_SAMPLERS. */
export type ItmSampler = (typeof ITM_SAMPLERS)[number];

/**
 * Hard negatives for image-text matching: for each row i of the N×N similarity matrix, a column j ≠ i drawn
 * (seeded) with probability ∝ w_ij. "albef" (default; ALBEF's model_pretrain.py): w = softmax(sim_i) with
 * the positive zeroed, renormalised by the draw, i.e. a softmax over the other columns — computed from the
 * other columns' maximum, so it never underflows to all zeros for finite similarities. "blip" (BLIP):
 * w = softmax(sim_i) + 1e-4, the positive zeroed, which keeps every column ≥ 1e-4 however much the positive
 * dominates the row. Use the image→text similarities for text negatives of each image, and the
 * text→image ones for the reverse.
 */
export function itmHardNegatives(
  similarities: Float64Array | Float32Array,
  n: number,
  seed: number,
  options: { sampler?: ItmSampler } = {},
): Int32Array {
  const { sampler = "albef" } = options;
  check(
    similarities.length === n * n && n >= 2,
    "itmHardNegatives",
    "an N×N similarity matrix with N ≥ 2",
    () => `${similarities.length} values for N = ${n}`,
  );
  check(ITM_SAMPLERS.includes(sampler), "itmHardNegatives sampler", ITM_SAMPLERS.join(" or "), () =>
    JSON.stringify(sampler),
  );
  const bad = similarities.findIndex((v) => !Number.isFinite(v));
  check(bad < 0, "itmHardNegatives", "finite similarities", () => `${similarities[bad]} at ${bad}`);
  const blip = sampler === "blip";
  const rng = createRng(seed);
  const out = new Int32Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    const [shift, floor] = blip
      ? [logSumExp(similarities, row, n), 1e-4]
      : [maxExcept(similarities, row, n, i), 0];
    let total = 0;
    for (let j = 0; j < n; j++) {
      weights[j] = j === i ? 0 : Math.exp(similarities[row + j] - shift) + floor;
      total += weights[j];
    }
    let u = rng.uniform() * total;
    let pick = i === 0 ? 1 : 0;
    for (let j = 0; j < n; j++) {
      if (weights[j] === 0) continue;
      pick = j;
      u -= weights[j];
      if (u < 0) break;
    }
    out[i] = pick;
  }
  return out;
}

/** Binary image-text matching cross-entropy over a head's 2-way logits (rows: [not matched, matched]). */
export function itmLoss(logits: Matrix, matched: ArrayLike<number>): { value: number; grad: Matrix } {
  check(logits.cols === 2, "itmLoss logits", "2 columns (not matched, matched)", () => String(logits.cols));
  check(matched.length === logits.rows, "itmLoss labels", `one 0/1 label per row (${logits.rows})`, () =>
    String(matched.length),
  );
  const targets = new Float64Array(logits.rows * 2);
  for (let i = 0; i < logits.rows; i++) {
    check(matched[i] === 0 || matched[i] === 1, "itmLoss labels", "0 or 1", () => `${matched[i]} at ${i}`);
    targets[i * 2 + matched[i]] = 1;
  }
  const grad = new Float64Array(logits.rows * 2);
  const value = crossEntropyRows(Float64Array.from(logits.data), logits.rows, 2, targets, grad, 1);
  return { value, grad: toMatrix(grad, logits.rows, 2) };
}

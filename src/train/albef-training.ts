/**
 * Training ALBEF-mini on captioned images (compiledTraining: AdamW under warm-up + cosine, the momentum
 * model's EMA and the feature queues kept here) and its evaluation on held-out images and captions:
 * retrieval by ITC, then re-ranked by ITM, ITM and MLM accuracy, the gap and cones of the unit features.
 */
import { mulABt } from "../core/dense64.js";
import { check } from "../core/errors.js";
import type { Tensor32 } from "../core/gemm/index.js";
import { type Matrix, matrix, selectRows } from "../core/matrix.js";
import { createRng, type Rng } from "../core/rng.js";
import { coneCosine, gapL2M } from "../gap/metrics.js";
import { ITC_LOG_SCALE_RANGE, momentumUpdate } from "../losses/albef.js";
import {
  type AlbefConfig,
  type AlbefObjective,
  albefLoss,
  albefTeacher,
  fuse,
  imageTokens,
  initAlbef,
  matchLogits,
  mlmLogits,
  momentumNames,
  pickRows,
  textTokens,
  unitFeatures,
} from "./albef.js";
import { translateImage } from "./autograd/classifier.js";
import { type ParamInit, type Params, type PatchGeometry, patchCount } from "./autograd/nn.js";
import { softmax } from "./autograd/ops.js";
import type { Tensor } from "./autograd/tensor.js";
import { compiledTraining, type TrainableModel, type Training } from "./autograd/training.js";
import { clampScalar, cosineSchedule } from "./optim.js";
import { buildVocabulary, encodeTexts, maskTokens, PAD, rowLength, type Vocabulary } from "./text-tokens.js";

/** Images with captions: what ALBEF-mini trains on and is evaluated on. */
export interface CaptionedImages {
  /** n × channels·height·width pixels in [0, 1], channel-major. */
  pixels: Matrix;
  /** Per image: its group (retrieval counts any caption or image of the query's group as a hit). */
  groups: Int32Array;
  heldOut: readonly boolean[];
  /** Per image: whether its mirror image means the same (augmentation may flip it). */
  flippable: readonly boolean[];
  captions: readonly { text: string; image: number }[];
}

/** ALBEF-mini's shape without the text's, which the training captions decide. */
export type AlbefShape = Omit<AlbefConfig, "vocabulary" | "textLength">;

/** How ALBEF-mini is trained. */
export interface AlbefTrainOptions {
  objective: AlbefObjective;
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  /** Queued momentum features per modality (a multiple of batch; ALBEF: 65,536). */
  queueSize: number;
  /** EMA momentum of the momentum model (ALBEF: 0.995). */
  momentum: number;
  /** Fraction of the training captions moved to a random other training image (web-like noise). */
  noisy: number;
  /** Augmentation's largest shift in pixels (white shifted in); flips where meaning allows. */
  maxShift: number;
  seed: number;
  /** Called after each step with its number (from 1) and loss. */
  onStep?: (step: number, total: number, loss: number) => void;
  /** Called after each pass over the training images (from 1) with its mean loss. */
  onEpoch?: (epoch: number, meanLoss: number) => void;
  /**
   * The parameters to start from instead of the seeded initialisation, given that initialisation (whose
   * names and shapes a checkpoint must have: parametersFromNpz checks them); with `steps` 0, a saved model.
   */
  restore?: (init: Readonly<Record<string, ParamInit>>) => Record<string, ParamInit>;
}

/**
 * The images `images` (rows of data.pixels) copied into `pixels` and augmented as ALBEF-mini trains: each
 * shifted by up to `maxShift` pixels along each axis (white shifted in), and mirrored at random where its
 * meaning allows.
 */
export function augmentedImages(
  data: CaptionedImages,
  images: readonly number[],
  pixels: Matrix,
  { channels, height, width }: PatchGeometry,
  maxShift: number,
  rng: Rng,
): void {
  selectRows(data.pixels, images, pixels);
  images.forEach((image, r) => {
    const shift = () => rng.int(2 * maxShift + 1) - maxShift;
    const row = pixels.data.subarray(r * pixels.cols, (r + 1) * pixels.cols);
    const flip = data.flippable[image] && rng.uniform() < 0.5;
    translateImage(row, [channels, height, width], shift(), shift(), { fill: 1, flip });
  });
}

/** A trained ALBEF-mini: its model and training (current parameters), shape, vocabulary and objective. */
export interface TrainedAlbef {
  model: TrainableModel;
  training: Training;
  config: AlbefConfig;
  vocabulary: Vocabulary;
  objective: AlbefObjective;
}

/** Additive key-padding masks [B, 1, 1, L] of token rows: 0 at tokens, −1e9 at padding. */
function paddingMask(ids: Int32Array, rows: number, length: number): Tensor32 {
  return { data: Float32Array.from(ids, (id) => (id === PAD ? -1e9 : 0)), dims: [rows, 1, 1, length] };
}

/** Unit rows, seeded: ALBEF's queues start as normalised Gaussian noise. */
function randomUnitRows(rows: number, cols: number, rng: Rng): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = out.subarray(r * cols, (r + 1) * cols);
    let norm = 0;
    for (let k = 0; k < cols; k++) {
      row[k] = rng.normal();
      norm += row[k] ** 2;
    }
    row.forEach((v, k) => {
      row[k] = v / Math.sqrt(norm);
    });
  }
  return out;
}

/** Gumbel(0, 1) noise [n, n]: added to scores, its argmax draws from their softmax. */
const gumbel = (n: number, rng: Rng): Tensor32 => ({
  data: Float32Array.from({ length: n * n }, () => -Math.log(-Math.log(rng.uniform() + 2 ** -54))),
  dims: [n, n],
});

/** The training captions, each moved with probability `noisy` to a random other training image. */
function trainingCaptions(data: CaptionedImages, noisy: number, rng: Rng): { text: string; image: number }[] {
  const images = [...data.heldOut.keys()].filter((i) => !data.heldOut[i]);
  const position = new Map(images.map((image, k) => [image, k]));
  return data.captions
    .filter(({ image }) => !data.heldOut[image])
    .map(({ text, image }) => {
      if (rng.uniform() >= noisy) return { text, image };
      const k = rng.int(images.length - 1); // any training image but its own
      return { text, image: images[k >= (position.get(image) as number) ? k + 1 : k] };
    });
}

/**
 * Trains ALBEF-mini of this shape on the data's training images (each step a batch of distinct images,
 * each with one of its captions drawn at random, augmented): compiled steps, AdamW; after each step the
 * momentum model's EMA and the queues (FIFO rings) move on. Deterministic for a seed.
 */
export async function trainAlbef(
  data: CaptionedImages,
  shape: AlbefShape,
  options: AlbefTrainOptions,
): Promise<TrainedAlbef> {
  const { objective, batch, steps, queueSize, seed } = options;
  check(
    queueSize >= batch && queueSize % batch === 0,
    "trainAlbef",
    `a queue size that is a multiple of the batch ${batch}`,
    () => String(queueSize),
  );
  const rng = createRng(seed);
  const captions = trainingCaptions(data, options.noisy, rng);
  const vocabulary = buildVocabulary(captions.map(({ text }) => text));
  const textLength = rowLength(captions.map(({ text }) => text));
  const config: AlbefConfig = { ...shape, vocabulary: vocabulary.tokens.length, textLength };
  const init = options.restore?.(initAlbef(config, seed)) ?? initAlbef(config, seed);
  const model: TrainableModel = {
    init,
    loss: (p, xs) => albefLoss(p, batchOf(xs, objective), objective, config),
  };
  const training = compiledTraining(model, { weightDecay: options.weightDecay });
  const names = momentumNames(init);
  const momentum = names.map((name) => Float32Array.from(init[name].data));
  const momentumTensors = names.map((name, k) => ({ data: momentum[k], dims: init[name].shape }));
  const width = shape.embedDim;
  const queues = [randomUnitRows(queueSize, width, rng), randomUnitRows(queueSize, width, rng)];
  const mlmDistilled = objective.mlm && objective.alpha > 0;
  const teacher = (_: Params, xs: readonly Tensor[]) => {
    const p = Object.fromEntries(names.map((name, k) => [name, xs[4 + k]]));
    return albefTeacher(p, xs[0], xs[1], xs[2], config, mlmDistilled ? xs[3] : undefined);
  };
  const byImage = new Map<number, string[]>();
  for (const { text, image } of captions) byImage.set(image, [...(byImage.get(image) ?? []), text]);
  const trainImages = [...byImage.keys()].sort((x, y) => x - y);
  check(trainImages.length >= batch, "trainAlbef", `at least ${batch} training images`, () =>
    String(trainImages.length),
  );
  const pixels = matrix(batch, data.pixels.cols);
  let order = rng.permutation(trainImages.length);
  let at = 0;
  let [epoch, epochLoss, epochSteps] = [0, 0, 0];
  for (let step = 0; step < steps; step++) {
    if (at + batch > order.length) [order, at] = [rng.permutation(trainImages.length), 0];
    const picked = Array.from(order.subarray(at, at + batch), (k) => trainImages[k]);
    at += batch;
    augmentedImages(data, picked, pixels, shape.image, options.maxShift, rng);
    const texts = picked.map((image) => {
      const choices = byImage.get(image) as string[];
      return choices[rng.int(choices.length)];
    });
    const ids = encodeTexts(vocabulary, texts, textLength);
    const images: Tensor32 = { data: pixels.data, dims: [batch, pixels.cols] };
    const idRows: Tensor32 = { data: Float32Array.from(ids), dims: [batch, textLength] };
    const mask = paddingMask(ids, batch, textLength);
    const masking = objective.mlm ? maskTokens(ids, config.vocabulary, rng) : undefined;
    const maskedIds: Tensor32 = {
      data: Float32Array.from(masking?.input ?? ids),
      dims: [batch, textLength],
    };
    const taught = await training.run(teacher, [images, idRows, mask, maskedIds, ...momentumTensors]);
    const features = taught.slice(0, 2).map((data) => ({ data, dims: [batch, width] }));
    const inputs: Tensor32[] = [
      images,
      idRows,
      mask,
      ...features,
      ...queues.map((data) => ({ data, dims: [queueSize, width] })),
    ];
    if (objective.itm) inputs.push(gumbel(batch, rng), gumbel(batch, rng));
    if (masking) {
      const count = masking.targets.filter((t) => t >= 0).length;
      inputs.push(
        maskedIds,
        {
          data: Float32Array.from(masking.targets, (t) => (t >= 0 ? 1 / count : 0)),
          dims: [batch * textLength],
        },
        {
          data: Float32Array.from(masking.targets, (t, k) => k * config.vocabulary + Math.max(t, 0)),
          dims: [batch * textLength],
        },
      );
      if (mlmDistilled) inputs.push({ data: taught[2], dims: [batch * textLength, config.vocabulary] });
    }
    const lr = cosineSchedule(step, steps, { lr: options.lr, warmup: options.warmup });
    const loss = await training.step(inputs, lr);
    check(Number.isFinite(loss), `trainAlbef step ${step}`, "a finite loss (a smaller lr keeps it so)", () =>
      String(loss),
    );
    clampScalar(training.values.logScale, ITC_LOG_SCALE_RANGE);
    momentumUpdate(
      names.map((name) => training.values[name]),
      momentum,
      options.momentum,
    );
    const ring = ((step * batch) % queueSize) * width;
    features.forEach(({ data }, k) => {
      queues[k].set(data, ring);
    });
    options.onStep?.(step + 1, steps, loss);
    [epochLoss, epochSteps] = [epochLoss + loss, epochSteps + 1];
    if (at + batch > order.length) {
      options.onEpoch?.(++epoch, epochLoss / epochSteps);
      [epochLoss, epochSteps] = [0, 0];
    }
  }
  return { model, training, config, vocabulary, objective: options.objective };
}

/** The batch list's tensors by role (the order trainAlbef feeds them in for this objective). */
function batchOf(xs: readonly Tensor[], objective: AlbefObjective) {
  const [images, ids, mask, imageMomentum, textMomentum, imageQueue, textQueue, ...rest] = xs;
  const gumbelPair = objective.itm ? ([rest[0], rest[1]] as const) : undefined;
  const mlm = objective.mlm ? rest.slice(objective.itm ? 2 : 0) : [];
  return {
    images,
    ids,
    mask,
    imageMomentum,
    textMomentum,
    imageQueue,
    textQueue,
    gumbel: gumbelPair,
    mlm: objective.mlm ? { maskedIds: mlm[0], weights: mlm[1], targets: mlm[2], teacher: mlm[3] } : undefined,
  };
}

/** Recall at 1 and 5. */
export interface RecallAtK {
  r1: number;
  r5: number;
}

/** ALBEF-mini on held-out images and captions (see evaluateAlbef). */
export interface AlbefEvaluation {
  /** R@1 of a random ranking: the mean share of a query's positives among the candidates. */
  chance: { i2t: number; t2i: number };
  /** Retrieval ranked by the unit features' cosine (ITC), then its top candidates re-ranked by ITM (a model
   * trained without ITM: ITC's ranking). */
  itc: { i2t: RecallAtK; t2i: RecallAtK };
  reranked: { i2t: RecallAtK; t2i: RecallAtK };
  /** ITM on each image with one of its captions and with the other groups' highest-ITC caption (null: no ITM trained). */
  itmAccuracy: number | null;
  /** MLM's accuracy on the held-out captions, masked as in training (seeded), with their images as context
   * (null: no MLM trained). */
  mlmAccuracy: number | null;
  /** The modality gap ‖mean(image) − mean(text)‖ of the unit features (each image with its first caption), and each modality's cone. */
  gap: number;
  cones: { image: number; text: number };
}

/** Rows per run of an evaluation graph (a last shorter chunk is padded, so one graph serves every run). */
const CHUNK = 256;

/** Runs `outputs` over `count` items in chunks of CHUNK: `inputs(start)` gives a chunk's tensors; outputs joined. */
export async function chunked(
  training: Training,
  outputs: (p: Params, xs: readonly Tensor[]) => readonly Tensor[],
  count: number,
  inputs: (start: number, rows: number) => Tensor32[],
): Promise<Float32Array[]> {
  const parts: Float32Array[][] = [];
  for (let start = 0; start < count; start += CHUNK)
    parts.push(await training.run(outputs, inputs(start, Math.min(CHUNK, count - start))));
  return parts[0].map((_, k) => {
    const perItem = parts[0][k].length / CHUNK;
    const out = new Float32Array(count * perItem);
    parts.forEach((part, c) => {
      out.set(part[k].subarray(0, Math.min(CHUNK, count - c * CHUNK) * perItem), c * CHUNK * perItem);
    });
    return out;
  });
}

/** Index rows padded to CHUNK with index 0 (their results are dropped). */
const indexChunk = (indices: ArrayLike<number>, start: number, rows: number): Tensor32 => {
  const data = new Float32Array(CHUNK);
  for (let k = 0; k < rows; k++) data[k] = indices[start + k];
  return { data, dims: [CHUNK] };
};

/** Rows [start, start + rows) of a row-major array of `width` values per row, padded to CHUNK rows. */
export const rowChunk = (
  values: Float32Array,
  width: number,
  dims: number[],
  start: number,
  rows: number,
): Tensor32 => {
  const data = new Float32Array(CHUNK * width);
  data.set(values.subarray(start * width, (start + rows) * width));
  return { data, dims: [CHUNK, ...dims] };
};

/** Whether any of the first k of `ranked` is a positive. */
const hitWithin = (ranked: readonly number[], positive: (c: number) => boolean, k: number) =>
  ranked.slice(0, k).some(positive);

/** Unit image features [n, embedDim] of pixel rows under a trained ALBEF-mini, and the image tokens behind them. */
export async function encodeAlbefImages(
  { training, config }: TrainedAlbef,
  pixels: Matrix,
): Promise<{ features: Matrix; tokens: Float32Array }> {
  const [features, tokens] = await chunked(
    training,
    (p, [x]) => {
      const t = imageTokens(p, x, config);
      return [unitFeatures(p, t, "image"), t];
    },
    pixels.rows,
    (start, rows) => [rowChunk(pixels.data, pixels.cols, [pixels.cols], start, rows)],
  );
  return { features: matrix(pixels.rows, config.embedDim, features), tokens };
}

/**
 * Unit text features [n, embedDim] of captions under a trained ALBEF-mini, and the text tokens, token ids
 * and key-padding masks behind them.
 */
export async function encodeAlbefTexts(
  { training, config, vocabulary }: TrainedAlbef,
  texts: readonly string[],
): Promise<{ features: Matrix; tokens: Float32Array; ids: Int32Array; masks: Float32Array }> {
  const L = config.textLength;
  const ids = encodeTexts(vocabulary, texts, L);
  const masks = paddingMask(ids, texts.length, L).data;
  const idValues = Float32Array.from(ids);
  const [features, tokens] = await chunked(
    training,
    (p, [x, mask]) => {
      const t = textTokens(p, x, mask, config);
      return [unitFeatures(p, t, "text"), t];
    },
    texts.length,
    (start, rows) => [rowChunk(idValues, L, [L], start, rows), rowChunk(masks, L, [1, 1, L], start, rows)],
  );
  return { features: matrix(texts.length, config.embedDim, features), tokens, ids, masks };
}

/**
 * Evaluates a trained ALBEF-mini on the held-out images and their captions: image→text and text→image
 * R@1/R@5 by ITC and after re-ranking each query's top `rerank` (ALBEF: k) by ITM's match probability,
 * any caption or image of the query's group counting as a hit; ITM and MLM accuracy; gap and cones.
 */
export async function evaluateAlbef(
  trained: TrainedAlbef,
  data: CaptionedImages,
  { rerank = 16, seed = 0 }: { rerank?: number; seed?: number } = {},
): Promise<AlbefEvaluation> {
  const { training, config, objective } = trained;
  const held = [...data.heldOut.keys()].filter((i) => data.heldOut[i]);
  const captions = data.captions.filter(({ image }) => data.heldOut[image]);
  const [nImages, nTexts, L, width] = [held.length, captions.length, config.textLength, config.embedDim];
  const tokens = 1 + patchCount(config.image);
  const imagePixels = selectRows(data.pixels, held);
  const images = await encodeAlbefImages(trained, imagePixels);
  const texts = await encodeAlbefTexts(
    trained,
    captions.map(({ text }) => text),
  );
  const [imageFeatures, imageTokenRows] = [images.features.data, images.tokens];
  const [textFeatures, textTokenRows, ids, masks] = [
    texts.features.data,
    texts.tokens,
    texts.ids,
    texts.masks,
  ];
  const scores = mulABt(imageFeatures, nImages, textFeatures, nTexts, width);
  const groupOfText = Int32Array.from(captions, ({ image }) => data.groups[image]);
  const groupOfImage = Int32Array.from(held, (image) => data.groups[image]);
  // P(match) of (held image, held caption) pairs by ITM, from the encoders' tokens
  const tables: Tensor32[] = [
    { data: imageTokenRows, dims: [nImages, tokens, config.dim] },
    { data: textTokenRows, dims: [nTexts, L, config.dim] },
    { data: masks, dims: [nTexts, 1, 1, L] },
  ];
  const matchProbability = async (imageIndex: ArrayLike<number>, textIndex: ArrayLike<number>) => {
    const [probabilities] = await chunked(
      training,
      (p, [images, texts, mask, i, t]) => {
        const fused = fuse(p, pickRows(texts, t), pickRows(images, i), pickRows(mask, t), config);
        return [softmax(matchLogits(p, fused))];
      },
      imageIndex.length,
      (start, rows) => [...tables, indexChunk(imageIndex, start, rows), indexChunk(textIndex, start, rows)],
    );
    return Float32Array.from({ length: imageIndex.length }, (_, k) => probabilities[2 * k + 1]);
  };
  const retrieval = async (direction: "i2t" | "t2i") => {
    const [queries, candidates] = direction === "i2t" ? [nImages, nTexts] : [nTexts, nImages];
    const score = (q: number, c: number) =>
      direction === "i2t" ? scores[q * nTexts + c] : scores[c * nTexts + q];
    const positive = (q: number, c: number) =>
      direction === "i2t" ? groupOfImage[q] === groupOfText[c] : groupOfText[q] === groupOfImage[c];
    const ranked = Array.from({ length: queries }, (_, q) =>
      Array.from({ length: candidates }, (_, c) => c)
        .sort((x, y) => score(q, y) - score(q, x) || x - y)
        .slice(0, rerank),
    );
    const rerankByItm = async () => {
      const pairs = ranked.flatMap((top, q) => top.map((c) => (direction === "i2t" ? [q, c] : [c, q])));
      const match = await matchProbability(
        pairs.map(([i]) => i),
        pairs.map(([, t]) => t),
      );
      return ranked.map((top, q) =>
        top
          .map((c, k) => ({ c, k, m: match[q * rerank + k] }))
          .sort((x, y) => y.m - x.m || x.k - y.k)
          .map(({ c }) => c),
      );
    };
    const reranked = objective.itm ? await rerankByItm() : ranked;
    let positives = 0;
    for (let q = 0; q < queries; q++)
      for (let c = 0; c < candidates; c++) positives += positive(q, c) ? 1 : 0;
    const recall = (orders: number[][]) => {
      const at = (k: number) =>
        orders.filter((order, q) => hitWithin(order, (c) => positive(q, c), k)).length / queries;
      return { r1: at(1), r5: at(5) };
    };
    return { chance: positives / (queries * candidates), itc: recall(ranked), reranked: recall(reranked) };
  };
  const [i2t, t2i] = [await retrieval("i2t"), await retrieval("t2i")];
  const firstCaption = Int32Array.from(held, (image) => captions.findIndex((c) => c.image === image));
  // ITM accuracy: each held image with its first caption, and with the best-scoring caption of another group
  const itmAccuracy = async () => {
    const hardNegative = Int32Array.from(held, (_, i) => {
      let best = -1;
      for (let c = 0; c < nTexts; c++)
        if (
          groupOfText[c] !== groupOfImage[i] &&
          (best < 0 || scores[i * nTexts + c] > scores[i * nTexts + best])
        )
          best = c;
      return best;
    });
    const images = [...held.keys(), ...held.keys()];
    const match = await matchProbability(images, [...firstCaption, ...hardNegative]);
    return match.filter((m, k) => (k < nImages ? m > 0.5 : m <= 0.5)).length / match.length;
  };
  // MLM accuracy on the held-out captions, masked with `seed`
  const mlmAccuracy = async () => {
    const { input, targets } = maskTokens(ids, config.vocabulary, createRng(seed));
    const maskedValues = Float32Array.from(input);
    const captionImage = Int32Array.from(captions, ({ image }) => held.indexOf(image));
    const [logits] = await chunked(
      training,
      (p, [images, i, masked, mask]) => [mlmLogits(p, masked, mask, pickRows(images, i), config)],
      nTexts,
      (start, rows) => [
        tables[0],
        indexChunk(captionImage, start, rows),
        rowChunk(maskedValues, L, [L], start, rows),
        rowChunk(masks, L, [1, 1, L], start, rows),
      ],
    );
    let [correct, total] = [0, 0];
    targets.forEach((target, k) => {
      if (target < 0) return;
      const row = logits.subarray(k * config.vocabulary, (k + 1) * config.vocabulary);
      let best = 0;
      for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
      total++;
      if (best === target) correct++;
    });
    return total > 0 ? correct / total : 0;
  };
  const imageUnits = matrix(nImages, width, imageFeatures);
  const firstTexts = selectRows(matrix(nTexts, width, textFeatures), firstCaption);
  return {
    chance: { i2t: i2t.chance, t2i: t2i.chance },
    itc: { i2t: i2t.itc, t2i: t2i.itc },
    reranked: { i2t: i2t.reranked, t2i: t2i.reranked },
    itmAccuracy: objective.itm ? await itmAccuracy() : null,
    mlmAccuracy: objective.mlm ? await mlmAccuracy() : null,
    gap: gapL2M(imageUnits, firstTexts),
    cones: { image: coneCosine(imageUnits), text: coneCosine(matrix(nTexts, width, textFeatures)) },
  };
}

/**
 * CoCa-mini (Yu et al. 2022, "Contrastive Captioners"): one model trained with a contrastive loss and a
 * captioning loss together. ALBEF-mini's encoders serve: the image encoder; a unimodal text decoder
 * (ALBEF's text layers under a causal mask, no cross-attention) whose last word's token is the text
 * embedding; multimodal decoder layers (ALBEF's fusion layers, causal, with cross-attention to the image
 * tokens) whose outputs predict each next word.
 */
import type { Tensor32 } from "../core/gemm/index.js";
import { type Matrix, matrix } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { type AlbefConfig, fuse, imageTokens, initAlbef, textTokens, unitFeatures } from "./albef.js";
import {
  type AlbefShape,
  augmentedImages,
  type CaptionedImages,
  chunked,
  rowChunk,
} from "./albef-training.js";
import { linear, type ParamInit, type Params } from "./autograd/nn.js";
import { add, exp, logSoftmax, mul, normalize, reshape, slice, sum } from "./autograd/ops.js";
import type { Tensor } from "./autograd/tensor.js";
import { compiledTraining, type TrainableModel, type Training } from "./autograd/training.js";
import { beamSearch, captionLoss, type Decoded, nextTokenTargets, repeatRows } from "./decoder.js";
import { clipLoss } from "./dual-encoder.js";
import { cosineSchedule } from "./optim.js";
import { buildVocabulary, encodeTexts, PAD, rowLength, type Vocabulary } from "./text-tokens.js";

/** CoCa's weight of the captioning loss against the contrastive one (the paper's λ_Cap = 2). */
const CAPTION_WEIGHT = 2;

/** Initial parameters: ALBEF-mini's, without the ITM head CoCa has no use for. */
export function initCoca(config: AlbefConfig, seed: number): Record<string, ParamInit> {
  return Object.fromEntries(
    Object.entries(initAlbef(config, seed)).filter(([name]) => !name.startsWith("itm.")),
  );
}

/** Additive attention masks [B, 1, L, L] of token rows: a position sees itself and earlier words, never padding. */
export function causalMasks(ids: Int32Array, rows: number, length: number): Float32Array {
  const out = new Float32Array(rows * length * length);
  for (let r = 0; r < rows; r++)
    for (let q = 0; q < length; q++)
      for (let k = 0; k < length; k++)
        if (k > q || (ids[r * length + k] === PAD && k > 0)) out[(r * length + q) * length + k] = -1e9;
  return out;
}

/** One-hot rows [B, L] at each row's last word (before its first [PAD]): the token that has seen the whole caption. */
export function lastWords(ids: Int32Array, rows: number, length: number): Float32Array {
  const out = new Float32Array(rows * length);
  for (let r = 0; r < rows; r++) {
    let last = 0;
    while (last + 1 < length && ids[r * length + last + 1] !== PAD) last++;
    out[r * length + last] = 1;
  }
  return out;
}

/** Unit text embeddings [B, embedDim]: the unimodal decoder's token at each row's last word, projected. */
function textFeatures(p: Params, text: Tensor, last: Tensor): Tensor {
  const [batch, length, dim] = text.shape;
  const picked = sum(mul(text, reshape(last, [batch, length, 1])), [1]);
  return normalize(linear(reshape(picked, [batch, dim]), p, "text.projection"));
}

/** The multimodal decoder's log-probabilities [B, L − 1, vocabulary] of each next word (unimodal text tokens in). */
function captionLogProbs(p: Params, text: Tensor, image: Tensor, masks: Tensor, config: AlbefConfig): Tensor {
  const fused = fuse(p, text, image, masks, config);
  return logSoftmax(linear(slice(fused, 1, 0, config.textLength - 1), p, "mlm.head"));
}

/** Log-probabilities [B, L − 1, vocabulary] of each next word given image tokens and the words so far. */
export function cocaNextTokenLogProbs(
  p: Params,
  image: Tensor,
  ids: Tensor,
  masks: Tensor,
  config: AlbefConfig,
): Tensor {
  return captionLogProbs(p, textTokens(p, ids, masks, config), image, masks, config);
}

/**
 * CoCa's loss on a batch [images, ids, masks (causalMasks), last words (lastWords), targets
 * (nextTokenTargets)]: CLIP's contrastive loss between the image's [CLS] and the caption's last word,
 * plus twice the captioning loss of the multimodal decoder.
 */
export function cocaLoss(
  p: Params,
  [images, ids, masks, last, targets]: readonly Tensor[],
  config: AlbefConfig,
): Tensor {
  const image = imageTokens(p, images, config);
  const text = textTokens(p, ids, masks, config);
  const contrastive = clipLoss(unitFeatures(p, image, "image"), textFeatures(p, text, last), exp(p.logScale));
  const caption = captionLoss(captionLogProbs(p, text, image, masks, config), targets);
  return add(contrastive, mul(caption, CAPTION_WEIGHT));
}

/** A trained CoCa-mini: its model and training (current parameters), shape and vocabulary. */
export interface TrainedCoca {
  model: TrainableModel;
  training: Training;
  config: AlbefConfig;
  vocabulary: Vocabulary;
}

/** How CoCa-mini is trained (AdamW under warm-up + cosine; ALBEF-mini's augmentation). */
export interface CocaTrainOptions {
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  maxShift: number;
  seed: number;
  /** The parameters to start from instead of the seeded initialisation, given that initialisation (a checkpoint's). */
  restore?: (init: Readonly<Record<string, ParamInit>>) => Record<string, ParamInit>;
}

/** Trains CoCa-mini on the training images of `data` (not held out), each drawn with one of its captions. */
export async function trainCoca(
  data: CaptionedImages,
  shape: AlbefShape,
  options: CocaTrainOptions,
): Promise<TrainedCoca> {
  const { steps, batch, seed } = options;
  const captions = data.captions.filter(({ image }) => !data.heldOut[image]);
  const vocabulary = buildVocabulary(captions.map(({ text }) => text));
  const textLength = rowLength(captions.map(({ text }) => text));
  const config: AlbefConfig = { ...shape, vocabulary: vocabulary.tokens.length, textLength };
  const model: TrainableModel = {
    init: options.restore?.(initCoca(config, seed)) ?? initCoca(config, seed),
    loss: (p, xs) => cocaLoss(p, xs, config),
  };
  const training = compiledTraining(model, { weightDecay: options.weightDecay, seed });
  const rng = createRng(seed);
  const pixels = matrix(batch, data.pixels.cols);
  const decoder = { length: textLength, vocabulary: config.vocabulary };
  for (let step = 0; step < steps; step++) {
    const picked = Array.from({ length: batch }, () => captions[rng.int(captions.length)]);
    augmentedImages(
      data,
      picked.map(({ image }) => image),
      pixels,
      shape.image,
      options.maxShift,
      rng,
    );
    const ids = encodeTexts(
      vocabulary,
      picked.map(({ text }) => text),
      textLength,
    );
    const feeds: Tensor32[] = [
      { data: pixels.data, dims: [batch, pixels.cols] },
      { data: Float32Array.from(ids), dims: [batch, textLength] },
      { data: causalMasks(ids, batch, textLength), dims: [batch, 1, textLength, textLength] },
      { data: lastWords(ids, batch, textLength), dims: [batch, textLength] },
      { data: nextTokenTargets(ids, batch, decoder), dims: [batch, textLength - 1, config.vocabulary] },
    ];
    await training.step(feeds, cosineSchedule(step, steps, options));
  }
  return { model, training, config, vocabulary };
}

/** Unit image embeddings [n, embedDim] and image tokens of pixel rows under a trained CoCa-mini (in chunks). */
async function encodeImages({ training, config }: TrainedCoca, pixels: Matrix) {
  const [tokens, features] = await chunked(
    training,
    (p, [x]) => {
      const t = imageTokens(p, x, config);
      return [t, unitFeatures(p, t, "image")];
    },
    pixels.rows,
    (start, rows) => [rowChunk(pixels.data, pixels.cols, [pixels.cols], start, rows)],
  );
  return { tokens, embeddings: matrix(pixels.rows, config.embedDim, features) };
}

/** Unit image embeddings [n, embedDim] of pixel rows under a trained CoCa-mini. */
export async function cocaImageEmbeddings(trained: TrainedCoca, pixels: Matrix): Promise<Matrix> {
  return (await encodeImages(trained, pixels)).embeddings;
}

/**
 * Captions of images (pixel rows) by a trained CoCa-mini: the image tokens computed once, then beam
 * search of `width` (1: greedy) over the multimodal decoder; also the images' unit embeddings.
 */
export async function cocaCaptions(
  trained: TrainedCoca,
  pixels: Matrix,
  width = 1,
): Promise<{ captions: Decoded[]; embeddings: Matrix }> {
  const { training, config } = trained;
  const { tokens, embeddings } = await encodeImages(trained, pixels);
  const perImage = tokens.length / pixels.rows;
  const repeated = repeatRows(tokens, pixels.rows, width);
  const { textLength: length } = config;
  const outputs = (p: Params, [image, ids, masks]: readonly Tensor[]) => [
    cocaNextTokenLogProbs(p, image, ids, masks, config),
  ];
  const captions = await beamSearch(
    async (rows, n) => {
      const [logProbs] = await training.run(outputs, [
        { data: repeated, dims: [n, perImage / config.dim, config.dim] },
        { data: Float32Array.from(rows), dims: [n, length] },
        { data: causalMasks(rows, n, length), dims: [n, 1, length, length] },
      ]);
      return logProbs;
    },
    pixels.rows,
    { length, vocabulary: config.vocabulary },
    width,
  );
  return { captions, embeddings };
}

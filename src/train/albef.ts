/**
 * ALBEF-mini (Li et al. 2021, "Align before Fuse", scaled down) on the autograd: an image encoder (a tiny
 * ViT), a text encoder and a fusion encoder (self-attention on the text, cross-attention to the image
 * tokens), trained by ITC with momentum distillation and a queue, ITM on hard negatives and MLM. The same
 * code runs compiled (onnxruntime) or eagerly in float64.
 */
import {
  attention,
  crossEntropy,
  embedding,
  gelu,
  initAttention,
  initEmbedding,
  initLayerNorm,
  initLinear,
  initNormal,
  initPatchEmbedding,
  initTransformerBlock,
  layerNorm,
  linear,
  type ParamInit,
  type Params,
  type PatchGeometry,
  patchEmbedding,
  transformerBlock,
} from "./autograd/nn.js";
import {
  add,
  argmax,
  concat,
  detach,
  exp,
  expand,
  gather,
  logSoftmax,
  matmul,
  mul,
  normalize,
  reshape,
  slice,
  softmax,
  sum,
  transpose,
} from "./autograd/ops.js";
import { constant, type Tensor } from "./autograd/tensor.js";
import { itcLoss } from "./dual-encoder.js";

/** ALBEF-mini's shape. */
export interface AlbefConfig {
  readonly image: PatchGeometry;
  /** Width of every encoder's tokens, and their heads. */
  readonly dim: number;
  readonly heads: number;
  /** The blocks' MLP width. */
  readonly hidden: number;
  readonly imageDepth: number;
  readonly textDepth: number;
  readonly fusionDepth: number;
  /** Width of the contrastive features. */
  readonly embedDim: number;
  /** Word tokens, the special ones included, and the text rows' length ([CLS] first, padded). */
  readonly vocabulary: number;
  readonly textLength: number;
}

/** Which losses join ITC, and the distillation weight α of ITC and MLM (0: no momentum distillation). */
export interface AlbefObjective {
  readonly itm: boolean;
  readonly mlm: boolean;
  readonly alpha: number;
}

/** The initial log logit scale, ln(1/0.07) (ALBEF's temperature 0.07). */
const INITIAL_LOG_SCALE = Math.log(1 / 0.07);

/** Initial parameters, seeded (PyTorch's initialisations; [CLS] and positions ~ N(0, 0.02²)). */
export function initAlbef(config: AlbefConfig, seed: number): Record<string, ParamInit> {
  const { dim, hidden, embedDim } = config;
  const blocks = (prefix: string, depth: number, base: number) =>
    Object.assign(
      {},
      ...Array.from({ length: depth }, (_, i) =>
        initTransformerBlock(`${prefix}${i}`, dim, hidden, base + 10 * i),
      ),
    );
  const fusion = Array.from({ length: config.fusionDepth }, (_, i) => ({
    ...initTransformerBlock(`fusion.block${i}`, dim, hidden, seed + 3000 + 10 * i),
    ...initLayerNorm(`fusion.block${i}.normCross`, dim),
    ...initAttention(`fusion.block${i}.cross`, dim, seed + 3500 + 10 * i),
  }));
  return {
    ...initPatchEmbedding("image.embed", config.image, dim, seed + 1),
    "image.cls": initNormal([1, 1, dim], 0.02, seed + 2),
    ...blocks("image.block", config.imageDepth, seed + 1000),
    ...initLayerNorm("image.norm", dim),
    ...initLinear("image.projection", dim, embedDim, seed + 3),
    ...initEmbedding("text.tokens", config.vocabulary, dim, seed + 4),
    "text.positions": initNormal([config.textLength, dim], 0.02, seed + 5),
    ...initLayerNorm("text.embedNorm", dim),
    ...blocks("text.block", config.textDepth, seed + 2000),
    ...initLayerNorm("text.norm", dim),
    ...initLinear("text.projection", dim, embedDim, seed + 6),
    ...Object.assign({}, ...fusion),
    ...initLayerNorm("fusion.norm", dim),
    ...initLinear("itm.head", dim, 2, seed + 7),
    ...initLinear("mlm.head", dim, config.vocabulary, seed + 8),
    logScale: { shape: [], data: Float64Array.of(INITIAL_LOG_SCALE) },
  };
}

/** The names of the parameters the momentum model keeps (all but the logit scale). */
export const momentumNames = (init: Readonly<Record<string, ParamInit>>): string[] =>
  Object.keys(init)
    .filter((name) => name !== "logScale")
    .sort();

/** Image rows [B, channels·height·width] to their tokens [B, 1 + patches, dim] ([CLS] first, normalised). */
export function imageTokens(p: Params, images: Tensor, config: AlbefConfig): Tensor {
  const [batch] = images.shape;
  const patches = patchEmbedding(images, p, "image.embed", config.image);
  let tokens = concat([expand(p["image.cls"], [batch, 1, config.dim]), patches], 1);
  for (let i = 0; i < config.imageDepth; i++)
    tokens = transformerBlock(tokens, p, `image.block${i}`, config.heads);
  return layerNorm(tokens, p, "image.norm");
}

/**
 * Token id rows [B, L] (numbers) to their tokens [B, L, dim]; `mask` ([B, 1, 1, L]: 0 at words, −1e9 at
 * padding) keeps padding out of every query's keys.
 */
export function textTokens(p: Params, ids: Tensor, mask: Tensor, config: AlbefConfig): Tensor {
  let tokens = layerNorm(add(embedding(ids, p, "text.tokens"), p["text.positions"]), p, "text.embedNorm");
  for (let i = 0; i < config.textDepth; i++)
    tokens = transformerBlock(tokens, p, `text.block${i}`, config.heads, mask);
  return layerNorm(tokens, p, "text.norm");
}

/** The fusion encoder: each layer self-attention on the text, cross-attention to the image tokens, an MLP (pre-LN). */
export function fuse(p: Params, text: Tensor, image: Tensor, mask: Tensor, config: AlbefConfig): Tensor {
  let x = text;
  for (let i = 0; i < config.fusionDepth; i++) {
    const prefix = `fusion.block${i}`;
    const normed = layerNorm(x, p, `${prefix}.norm1`);
    x = add(x, attention(normed, normed, p, `${prefix}.attention`, config.heads, mask));
    x = add(x, attention(layerNorm(x, p, `${prefix}.normCross`), image, p, `${prefix}.cross`, config.heads));
    x = add(
      x,
      linear(gelu(linear(layerNorm(x, p, `${prefix}.norm2`), p, `${prefix}.mlp1`)), p, `${prefix}.mlp2`),
    );
  }
  return layerNorm(x, p, "fusion.norm");
}

/** The first token of each row ([CLS]): [B, dim]. */
const first = (tokens: Tensor) => reshape(slice(tokens, 1, 0, 1), [tokens.shape[0], tokens.shape[2]]);

/** Unit contrastive features [B, embedDim] of an encoder's tokens (its [CLS], projected). */
export const unitFeatures = (p: Params, tokens: Tensor, side: "image" | "text"): Tensor =>
  normalize(linear(first(tokens), p, `${side}.projection`));

/** ITM's match logits [B, 2] (not matched, matched) of fused tokens. */
export const matchLogits = (p: Params, fused: Tensor): Tensor => linear(first(fused), p, "itm.head");

/** Rows `indices` ([K], numbers) of a [B, …] tensor: [K, …]. */
export function pickRows(x: Tensor, indices: Tensor): Tensor {
  const [rows, ...rest] = x.shape;
  const width = rest.reduce((n, d) => n * d, 1);
  return reshape(gather(reshape(x, [rows, width]), indices), [indices.shape[0], ...rest]);
}

/** A constant [n, n] matrix: −1e9 on the diagonal (a row's own column never wins an argmax), 0 elsewhere. */
const offDiagonal = (n: number) =>
  constant(
    [n, n],
    Float64Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? -1e9 : 0)),
  );

/**
 * ITM on hard negatives: for each image a caption of another pair, for each caption another image, drawn
 * with probability softmax over the other pairs' similarities (ALBEF's rule; as argmax of the detached
 * scaled similarities plus the Gumbel noise `gumbel` = [image→text, text→image], each [B, B]); the fusion
 * runs on the B positives and 2B negatives; mean cross-entropy against matched / not matched.
 */
function itmTerm(
  p: Params,
  text: Tensor,
  image: Tensor,
  mask: Tensor,
  similarities: Tensor,
  gumbel: readonly [Tensor, Tensor],
  config: AlbefConfig,
): Tensor {
  const n = text.shape[0];
  const scores = detach(similarities);
  const [i2t, t2i] = [scores, transpose(scores)].map((s, k) =>
    argmax(add(add(s, gumbel[k]), offDiagonal(n))),
  );
  const fused = fuse(
    p,
    concat([text, pickRows(text, i2t), text], 0),
    concat([image, image, pickRows(image, t2i)], 0),
    concat([mask, pickRows(mask, i2t), mask], 0),
    config,
  );
  const labels = constant(
    [3 * n, 2],
    Float64Array.from({ length: 6 * n }, (_, k) => (k >> 1 < n ? k & 1 : 1 - (k & 1))),
  );
  return crossEntropy(matchLogits(p, fused), labels);
}

/** MLM logits [B·L, vocabulary] of masked token rows with the image as context. */
export function mlmLogits(
  p: Params,
  maskedIds: Tensor,
  mask: Tensor,
  image: Tensor,
  config: AlbefConfig,
): Tensor {
  const fused = fuse(p, textTokens(p, maskedIds, mask, config), image, mask, config);
  const [batch, length] = maskedIds.shape;
  return reshape(linear(fused, p, "mlm.head"), [batch * length, config.vocabulary]);
}

/** One batch of ALBEF-mini training, as tensors (see albefLoss). */
export interface AlbefBatch {
  images: Tensor;
  ids: Tensor;
  mask: Tensor;
  /** The momentum model's unit features of the batch, and the queues of earlier batches' ([Q, embedDim]). */
  imageMomentum: Tensor;
  textMomentum: Tensor;
  imageQueue: Tensor;
  textQueue: Tensor;
  /** ITM: Gumbel noise, [B, B] each (image → text, text → image). */
  gumbel?: readonly [Tensor, Tensor];
  /** MLM: the masked ids [B, L], each position's weight [B·L] (1/masked count where masked, else 0), its
   * target's flat index (k·vocabulary + target) [B·L], and the momentum model's softmax [B·L, vocabulary]. */
  mlm?: { maskedIds: Tensor; weights: Tensor; targets: Tensor; teacher?: Tensor };
}

/**
 * ALBEF's loss ITC + ITM + MLM (objective picks the terms): ITC against the momentum features and queues
 * with targets α·softmax(momentum) + (1 − α)·one-hot; MLM's cross-entropy (1 − α)·hard + α·against the
 * momentum model's predictions, averaged over the masked positions.
 */
export function albefLoss(
  p: Params,
  batch: AlbefBatch,
  objective: AlbefObjective,
  config: AlbefConfig,
): Tensor {
  const image = imageTokens(p, batch.images, config);
  const text = textTokens(p, batch.ids, batch.mask, config);
  const [imageUnit, textUnit] = [unitFeatures(p, image, "image"), unitFeatures(p, text, "text")];
  const s = exp(p.logScale);
  const teacher = {
    momentum: { a: batch.imageMomentum, b: batch.textMomentum },
    queues: { a: batch.imageQueue, b: batch.textQueue },
  };
  let loss = itcLoss(imageUnit, textUnit, s, teacher, objective.alpha);
  if (objective.itm && batch.gumbel) {
    const similarities = mul(matmul(imageUnit, transpose(textUnit)), s);
    loss = add(loss, itmTerm(p, text, image, batch.mask, similarities, batch.gumbel, config));
  }
  if (objective.mlm && batch.mlm) {
    const { maskedIds, weights, targets, teacher: soft } = batch.mlm;
    const logp = logSoftmax(mlmLogits(p, maskedIds, batch.mask, image, config));
    const picked = gather(reshape(logp, [logp.shape[0] * logp.shape[1], 1]), targets);
    const hard = mul(sum(mul(reshape(picked, weights.shape), weights)), -1);
    const alpha = soft ? objective.alpha : 0;
    let mlm = mul(hard, 1 - alpha);
    if (soft && alpha > 0) {
      const distill = mul(sum(mul(mul(soft, logp), reshape(weights, [weights.shape[0], 1]))), -alpha);
      mlm = add(mlm, distill);
    }
    loss = add(loss, mlm);
  }
  return loss;
}

/**
 * The momentum model's side of a batch (run on the momentum parameters): its unit image and text features
 * and, given masked ids, its MLM predictions softmax [B·L, vocabulary] (MLM's distillation targets).
 */
export function albefTeacher(
  p: Params,
  images: Tensor,
  ids: Tensor,
  mask: Tensor,
  config: AlbefConfig,
  maskedIds?: Tensor,
): Tensor[] {
  const image = imageTokens(p, images, config);
  const features = [
    unitFeatures(p, image, "image"),
    unitFeatures(p, textTokens(p, ids, mask, config), "text"),
  ];
  return maskedIds ? [...features, softmax(mlmLogits(p, maskedIds, mask, image, config))] : features;
}

/**
 * A small vision transformer classifier on the autograd: patch embedding, a learned [CLS] token, pre-LN
 * transformer blocks, a final LayerNorm and a linear head on [CLS] — the model `npm run bench -- train`
 * races against its PyTorch twin (bench/vit_torch.py).
 */
import { grad } from "./grad.js";
import {
  crossEntropy,
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
} from "./nn.js";
import { concat, expand, mul, reshape, slice, sub } from "./ops.js";
import type { Tensor } from "./tensor.js";
import type { Noise, TrainableModel } from "./training.js";

/** The classifier's shape. */
export interface VitConfig {
  readonly image: PatchGeometry;
  readonly dim: number;
  readonly heads: number;
  readonly depth: number;
  /** The blocks' MLP width. */
  readonly hidden: number;
  readonly classes: number;
  /** Dropout on the blocks' branches while training (default 0). */
  readonly dropout?: number;
}

/** Initial parameters, seeded (PyTorch's initialisations; [CLS] ~ N(0, 0.02²)). */
export function initVit(config: VitConfig, seed: number): Record<string, ParamInit> {
  const { dim, depth, hidden, classes } = config;
  let init: Record<string, ParamInit> = {
    ...initPatchEmbedding("embed", config.image, dim, seed + 1),
    cls: initNormal([1, 1, dim], 0.02, seed),
    ...initLayerNorm("norm", dim),
    ...initLinear("head", dim, classes, seed + 2),
  };
  for (let i = 0; i < depth; i++)
    init = { ...init, ...initTransformerBlock(`block${i}`, dim, hidden, seed + 10 * (i + 1)) };
  return init;
}

/**
 * The normalised [CLS] features [B, dim] of image rows [B, channels·height·width]: what the head reads;
 * with `noise`, the blocks' dropout (config.dropout) applies.
 */
export function vitFeatures(p: Params, images: Tensor, config: VitConfig, noise?: Noise): Tensor {
  const [batch] = images.shape;
  const patches = patchEmbedding(images, p, "embed", config.image);
  const rate = config.dropout ?? 0;
  const drop = noise && rate > 0 ? (t: Tensor) => noise.dropout(t, rate) : undefined;
  let tokens = concat([expand(p.cls, [batch, 1, config.dim]), patches], 1);
  for (let i = 0; i < config.depth; i++)
    tokens = transformerBlock(tokens, p, `block${i}`, config.heads, undefined, drop);
  return reshape(slice(layerNorm(tokens, p, "norm"), 1, 0, 1), [batch, config.dim]);
}

/** Class logits [B, classes] of image rows [B, channels·height·width] (dropout with `noise`). */
export function vitLogits(p: Params, images: Tensor, config: VitConfig, noise?: Noise): Tensor {
  return linear(vitFeatures(p, images, config, noise), p, "head");
}

/** The classifier as a TrainableModel: batches are [images, one-hot labels]. */
export function vitClassifier(config: VitConfig, seed: number): TrainableModel {
  return {
    init: initVit(config, seed),
    loss: (p, [images, labels], noise) => crossEntropy(vitLogits(p, images, config, noise), labels),
  };
}

/**
 * The classifier trained by MoNA-style meta-steps: batches are [inner images, inner labels, images,
 * labels]; the head takes one SGD step (rate `innerRate`) on the inner batch, differentiably, and the loss is
 * the updated head's on the outer batch — its gradient reaches every parameter through that step.
 */
export function vitMetaClassifier(config: VitConfig, seed: number, innerRate: number): TrainableModel {
  return {
    init: initVit(config, seed),
    loss: (p, [innerImages, innerLabels, images, labels], noise) => {
      const head = [p["head.weight"], p["head.bias"]];
      const inner = crossEntropy(linear(vitFeatures(p, innerImages, config, noise), p, "head"), innerLabels);
      const [gw, gb] = grad(inner, head, { createGraph: true });
      const updated = {
        ...p,
        "head.weight": sub(head[0], mul(gw, innerRate)),
        "head.bias": sub(head[1], mul(gb, innerRate)),
      };
      return crossEntropy(linear(vitFeatures(p, images, config, noise), updated, "head"), labels);
    },
  };
}

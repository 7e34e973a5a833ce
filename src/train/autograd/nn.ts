/**
 * Layers on the autograd's ops, as functions of their parameter tensors (so one model code runs eagerly
 * and compiled: parameters are placeholders while tracing), with PyTorch's initialisations, seeded.
 */
import { check } from "../../core/errors.js";
import { createRng } from "../../core/rng.js";
import { describe, type Shape, size } from "./nd.js";
import {
  add,
  gather,
  geluGate,
  layerNormalization,
  logSoftmax,
  matmul,
  mul,
  reshape,
  softmax,
  sum,
  transpose,
} from "./ops.js";
import type { Tensor } from "./tensor.js";

/** A model's parameters by name. */
export type Params = Readonly<Record<string, Tensor>>;

/** A parameter's shape and initial float64 values. */
export interface ParamInit {
  readonly shape: Shape;
  readonly data: Float64Array;
}

/** Initial parameters of a Linear layer (in → out) as PyTorch draws them: W, b ~ U(−1/√in, 1/√in), W in×out. */
export function initLinear(
  prefix: string,
  inputs: number,
  outputs: number,
  seed: number,
): Record<string, ParamInit> {
  const rng = createRng(seed);
  const bound = 1 / Math.sqrt(inputs);
  const uniform = (shape: Shape) => ({
    shape,
    data: Float64Array.from({ length: size(shape) }, () => rng.uniform(-bound, bound)),
  });
  return { [`${prefix}.weight`]: uniform([inputs, outputs]), [`${prefix}.bias`]: uniform([outputs]) };
}

/** A parameter of this shape drawn from N(0, std²), seeded (embeddings, learned positions, [CLS] tokens). */
export function initNormal(shape: Shape, std: number, seed: number): ParamInit {
  const rng = createRng(seed);
  return { shape, data: Float64Array.from({ length: size(shape) }, () => std * rng.normal()) };
}

/** Initial LayerNorm parameters as PyTorch's: γ = 1, β = 0. */
export function initLayerNorm(prefix: string, features: number): Record<string, ParamInit> {
  return {
    [`${prefix}.weight`]: { shape: [features], data: new Float64Array(features).fill(1) },
    [`${prefix}.bias`]: { shape: [features], data: new Float64Array(features) },
  };
}

/** The parameter `name` of `p`; an error naming it where it is missing. */
function param(p: Params, name: string): Tensor {
  const t = p[name];
  check(t !== undefined, "layer parameters", `a parameter named ${name}`, () => Object.keys(p).join(", "));
  return t;
}

/** x·W + b over the last axis (W in×out). */
export function linear(x: Tensor, p: Params, prefix: string): Tensor {
  return add(matmul(x, param(p, `${prefix}.weight`)), param(p, `${prefix}.bias`));
}

/** Layer normalisation over the last axis: (x − μ)/√(σ² + ε)·γ + β, σ² the biased variance. */
export function layerNorm(x: Tensor, p: Params, prefix: string, eps = 1e-5): Tensor {
  return layerNormalization(x, param(p, `${prefix}.weight`), param(p, `${prefix}.bias`), eps);
}

/** GELU, tanh approximation (PyTorch's approximate="tanh"; onnxruntime's float64 kernels lack Erf): x·geluGate(x). */
export function gelu(x: Tensor): Tensor {
  return mul(x, geluGate(x));
}

/** Initial parameters of multi-head attention over `dim` features: the four projections q, k, v, out. */
export function initAttention(prefix: string, dim: number, seed: number): Record<string, ParamInit> {
  return Object.assign(
    {},
    ...["q", "k", "v", "out"].map((name, i) => initLinear(`${prefix}.${name}`, dim, dim, seed + i)),
  );
}

/**
 * Multi-head attention: queries from x ([B, T, D]), keys and values from `context` ([B, S, D]; x itself
 * for self-attention), `heads` heads of D/heads features; `mask`, added to the scores, broadcasts to
 * [B, heads, T, S] (−1e9 where a query must not see a key: causal, or key padding as [B, 1, 1, S]).
 */
export function attention(
  x: Tensor,
  context: Tensor,
  p: Params,
  prefix: string,
  heads: number,
  mask?: Tensor,
): Tensor {
  check(
    x.shape.length === 3 && context.shape.length === 3,
    "attention",
    "[batch, sequence, features] inputs",
    () => `${describe(x.shape)} and ${describe(context.shape)}`,
  );
  const [batch, length, dim] = x.shape;
  check(dim % heads === 0, "attention", `a feature count divisible by ${heads} heads`, () => String(dim));
  const width = dim / heads;
  // [B, L, D] → [B, heads, L, D/heads]
  const split = (t: Tensor) => transpose(reshape(t, [batch, t.shape[1], heads, width]), [0, 2, 1, 3]);
  const q = split(linear(x, p, `${prefix}.q`));
  const k = split(linear(context, p, `${prefix}.k`));
  const v = split(linear(context, p, `${prefix}.v`));
  const scores = mul(matmul(q, transpose(k)), 1 / Math.sqrt(width));
  const weights = softmax(mask ? add(scores, mask) : scores);
  const merged = reshape(transpose(matmul(weights, v), [0, 2, 1, 3]), [batch, length, dim]);
  return linear(merged, p, `${prefix}.out`);
}

/** Initial parameters of a pre-LN transformer block of `dim` features and an MLP of `hidden`. */
export function initTransformerBlock(
  prefix: string,
  dim: number,
  hidden: number,
  seed: number,
): Record<string, ParamInit> {
  return {
    ...initLayerNorm(`${prefix}.norm1`, dim),
    ...initAttention(`${prefix}.attention`, dim, seed),
    ...initLayerNorm(`${prefix}.norm2`, dim),
    ...initLinear(`${prefix}.mlp1`, dim, hidden, seed + 4),
    ...initLinear(`${prefix}.mlp2`, hidden, dim, seed + 5),
  };
}

/**
 * A pre-LN transformer block: x + attention(LN(x)), then + MLP(LN(·)) with GELU; `drop` (dropout while
 * training) on each branch before it joins the residual stream.
 */
export function transformerBlock(
  x: Tensor,
  p: Params,
  prefix: string,
  heads: number,
  mask?: Tensor,
  drop: (t: Tensor) => Tensor = (t) => t,
): Tensor {
  const normed = layerNorm(x, p, `${prefix}.norm1`);
  const attended = add(x, drop(attention(normed, normed, p, `${prefix}.attention`, heads, mask)));
  const hidden = gelu(linear(layerNorm(attended, p, `${prefix}.norm2`), p, `${prefix}.mlp1`));
  return add(attended, drop(linear(hidden, p, `${prefix}.mlp2`)));
}

/** Mean cross-entropy of logits [B, C] against one-hot (or soft) targets [B, C]. */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  return mul(sum(mul(targets, logSoftmax(logits))), -1 / logits.shape[0]);
}

/** A patch embedding's geometry: images of `channels`×`height`×`width` cut into `patch`×`patch` squares. */
export interface PatchGeometry {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly patch: number;
  /**
   * A patch-merging stem (non-overlapping strided convolutions): the patches projected to `stem[0]`
   * features, then each later width a projection of 2×2 neighbours, each stage LayerNorm + GELU; the
   * tokens are the last stage's 2×2 neighbours. Absent or empty: the patches are the tokens.
   */
  readonly stem?: readonly number[];
}

/** Tokens per image: patches, or the stem's cells (the patch grid halved once per stem stage). */
export function patchCount({ height, width, patch, stem = [] }: PatchGeometry): number {
  const side = patch * 2 ** stem.length;
  return (height / side) * (width / side);
}

/** Initial parameters of an embedding table of `rows` × `dim`, N(0, 1) as PyTorch's nn.Embedding. */
export function initEmbedding(
  prefix: string,
  rows: number,
  dim: number,
  seed: number,
): Record<string, ParamInit> {
  return { [`${prefix}.weight`]: initNormal([rows, dim], 1, seed) };
}

/** The embedding table's rows at `indices` (row numbers, any shape): [...indices, dim]. */
export function embedding(indices: Tensor, p: Params, prefix: string): Tensor {
  return gather(param(p, `${prefix}.weight`), indices);
}

/**
 * Initial parameters of a token embedding (ORCA/MoNA's embedder) of `tokens` pieces of `features` values
 * each into `dim`: a linear projection, a LayerNorm and learned positions ~ N(0, 0.02²).
 */
export function initTokenEmbedding(
  prefix: string,
  features: number,
  tokens: number,
  dim: number,
  seed: number,
): Record<string, ParamInit> {
  return {
    ...initLinear(`${prefix}.projection`, features, dim, seed),
    ...initLayerNorm(`${prefix}.norm`, dim),
    [`${prefix}.positions`]: initNormal([tokens, dim], 0.02, seed + 1),
  };
}

/** Pieces [B, tokens, features] projected, normalised, plus learned positions: [B, tokens, dim]. */
function embedTokens(pieces: Tensor, p: Params, prefix: string): Tensor {
  const embedded = layerNorm(linear(pieces, p, `${prefix}.projection`), p, `${prefix}.norm`);
  return add(embedded, param(p, `${prefix}.positions`));
}

/** initTokenEmbedding for the patches of images of this geometry. */
export function initPatchEmbedding(
  prefix: string,
  geometry: PatchGeometry,
  dim: number,
  seed: number,
): Record<string, ParamInit> {
  const { channels, height, width, patch, stem = [] } = geometry;
  const side = patch * 2 ** stem.length;
  check(
    height % side === 0 && width % side === 0,
    "patch embedding",
    `sides divisible by ${side} (patch ${patch}, ${stem.length} stem merges)`,
    () => `${height}×${width}`,
  );
  const stages = stem.map((features, i) => ({
    ...initLinear(
      `${prefix}.stem${i}`,
      i === 0 ? channels * patch * patch : 4 * stem[i - 1],
      features,
      seed + 10 + i,
    ),
    ...initLayerNorm(`${prefix}.stem${i}.norm`, features),
  }));
  const pieces = stem.length > 0 ? 4 * stem[stem.length - 1] : channels * patch * patch;
  return Object.assign(initTokenEmbedding(prefix, pieces, patchCount(geometry), dim, seed), ...stages);
}

/** A grid of cells [B, rows, cols, features] to its 2×2 neighbourhoods [B, rows/2, cols/2, 4·features]. */
function mergeNeighbours(cells: Tensor): Tensor {
  const [batch, rows, cols, features] = cells.shape;
  const split = reshape(cells, [batch, rows / 2, 2, cols / 2, 2, features]);
  return reshape(transpose(split, [0, 1, 3, 2, 4, 5]), [batch, rows / 2, cols / 2, 4 * features]);
}

/**
 * Images (rows of channels·height·width values, channel-major) to [B, patches, dim] tokens: cut into
 * patches (row-major over the grid), then embedded (initPatchEmbedding's parameters).
 */
export function patchEmbedding(images: Tensor, p: Params, prefix: string, geometry: PatchGeometry): Tensor {
  const { channels, height, width, patch, stem = [] } = geometry;
  const [batch] = images.shape;
  check(
    images.shape.length === 2 && images.shape[1] === channels * height * width,
    "patch embedding",
    `[batch, ${channels * height * width}] images`,
    () => describe(images.shape),
  );
  const [rows, cols] = [height / patch, width / patch];
  const grid = reshape(images, [batch, channels, rows, patch, cols, patch]);
  let cells = reshape(transpose(grid, [0, 2, 4, 1, 3, 5]), [batch, rows, cols, channels * patch * patch]);
  for (const [i] of stem.entries()) {
    const stage = `${prefix}.stem${i}`;
    cells = gelu(layerNorm(linear(i === 0 ? cells : mergeNeighbours(cells), p, stage), p, `${stage}.norm`));
  }
  const pieces = stem.length > 0 ? mergeNeighbours(cells) : cells;
  return embedTokens(reshape(pieces, [batch, patchCount(geometry), pieces.shape[3]]), p, prefix);
}

/**
 * Sequences (rows of `length` values: audio, a time series) to [B, length/chunk, dim] tokens: cut into
 * consecutive chunks, then embedded (initTokenEmbedding with chunk features and length/chunk tokens).
 */
export function chunkEmbedding(x: Tensor, p: Params, prefix: string, chunk: number): Tensor {
  const [batch, length] = x.shape;
  check(
    x.shape.length === 2 && length % chunk === 0,
    "chunk embedding",
    `[batch, length] rows, length divisible by ${chunk}`,
    () => describe(x.shape),
  );
  return embedTokens(reshape(x, [batch, length / chunk, chunk]), p, prefix);
}

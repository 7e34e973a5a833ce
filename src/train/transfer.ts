/**
 * Cross-modality transfer (ORCA, Shen et al. 2023; MoNA, Ma et al. 2024) on the autograd: a
 * modality-specific embedder e, a shared pre-LN transformer encoder g and a predictor h (mean-pool +
 * linear), and the losses of the methods' first stages — the task loss (embedder warm-up), a class-aware
 * optimal-transport distance to the source's embedded features (ORCA), and MoNA's meta-objective through
 * one inner SGD step.
 */
import { grad } from "./autograd/grad.js";
import {
  chunkEmbedding,
  crossEntropy,
  initLayerNorm,
  initLinear,
  initPatchEmbedding,
  initTokenEmbedding,
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
  detach,
  div,
  exp,
  log,
  logSumExp,
  matmul,
  mean,
  mul,
  normalize,
  relu,
  sqrt,
  sub,
  sum,
  transpose,
} from "./autograd/ops.js";
import { constant, type Tensor } from "./autograd/tensor.js";

/**
 * A modality's embedder: 2-D images cut into patches (patchify + linear + LayerNorm + positions), or 1-D
 * sequences of `length` values cut into chunks (chunks + linear + LayerNorm + positions), as ORCA's.
 */
export type Embedder =
  | { readonly kind: "patch"; readonly geometry: PatchGeometry }
  | { readonly kind: "chunk"; readonly length: number; readonly chunk: number };

/** The shared encoder's shape: `depth` pre-LN blocks of `dim` features, `heads` heads, MLPs of `hidden`. */
export interface EncoderShape {
  readonly dim: number;
  readonly heads: number;
  readonly depth: number;
  readonly hidden: number;
}

/** The parameter prefixes of the three parts. */
const EMBED = "embed";
const ENCODER = "encoder";
const HEAD = "head";

/** Initial embedder parameters (`embed.*`), seeded. */
export function initEmbedder(embedder: Embedder, dim: number, seed: number): Record<string, ParamInit> {
  return embedder.kind === "patch"
    ? initPatchEmbedding(EMBED, embedder.geometry, dim, seed)
    : initTokenEmbedding(EMBED, embedder.chunk, embedder.length / embedder.chunk, dim, seed);
}

/** Initial encoder parameters (`encoder.*`: the blocks and a final LayerNorm), PyTorch's initialisations. */
export function initEncoder(shape: EncoderShape, seed: number): Record<string, ParamInit> {
  let init: Record<string, ParamInit> = initLayerNorm(`${ENCODER}.norm`, shape.dim);
  for (let i = 0; i < shape.depth; i++)
    init = {
      ...init,
      ...initTransformerBlock(`${ENCODER}.block${i}`, shape.dim, shape.hidden, seed + 10 * i),
    };
  return init;
}

/** Initial predictor parameters (`head.*`): a linear layer from the pooled features to the class logits. */
export function initHead(dim: number, classes: number, seed: number): Record<string, ParamInit> {
  return initLinear(HEAD, dim, classes, seed);
}

/** Whether a parameter belongs to the encoder (by name). */
export const isEncoderParam = (name: string): boolean => name.startsWith(`${ENCODER}.`);

/** Whether a parameter belongs to the embedder (by name). */
export const isEmbedderParam = (name: string): boolean => name.startsWith(`${EMBED}.`);

/** Input rows [B, width] to tokens [B, tokens, dim] by the embedder. */
export function embed(p: Params, x: Tensor, embedder: Embedder): Tensor {
  return embedder.kind === "patch"
    ? patchEmbedding(x, p, EMBED, embedder.geometry)
    : chunkEmbedding(x, p, EMBED, embedder.chunk);
}

/** Tokens [B, T, dim] through the encoder's blocks and final LayerNorm, mean-pooled: features [B, dim]. */
export function encode(p: Params, tokens: Tensor, shape: EncoderShape): Tensor {
  let x = tokens;
  for (let i = 0; i < shape.depth; i++) x = transformerBlock(x, p, `${ENCODER}.block${i}`, shape.heads);
  return mean(layerNorm(x, p, `${ENCODER}.norm`), [1]);
}

/** Class logits [B, classes] of input rows: h(g(e(x))). */
export function transferLogits(p: Params, x: Tensor, embedder: Embedder, shape: EncoderShape): Tensor {
  return linear(encode(p, embed(p, x, embedder), shape), p, HEAD);
}

/** The task loss: mean cross-entropy of the model's logits against one-hot labels. */
export function taskLoss(
  p: Params,
  x: Tensor,
  labels: Tensor,
  embedder: Embedder,
  shape: EncoderShape,
): Tensor {
  return crossEntropy(transferLogits(p, x, embedder, shape), labels);
}

/** The B×B identity, as a constant. */
const identity = (n: number) =>
  constant(
    [n, n],
    Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0)),
  );

/**
 * MoNA's source-discriminability terms on unit features f [B, d] with one-hot labels [B, C] (Wang & Isola's
 * alignment and uniformity, by class): L_align = mean ‖f_i − f_j‖² over same-class pairs i ≠ j, L_unif =
 * log mean exp(−2‖f_i − f_j‖²) over different-class pairs. Their sum.
 */
export function alignUniformLoss(f: Tensor, labels: Tensor): Tensor {
  const n = f.shape[0];
  const distances = sub(2, mul(matmul(f, transpose(f)), 2)); // ‖f_i − f_j‖² of unit rows
  const sameClass = matmul(labels, transpose(labels));
  const same = sub(sameClass, identity(n));
  const different = sub(1, sameClass);
  const align = div(sum(mul(same, distances)), sum(same));
  const uniform = log(div(sum(mul(different, exp(mul(distances, -2)))), sum(different)));
  return add(align, uniform);
}

/** MoNA's first-stage settings: the inner SGD step's rate α and the weight λ of the source terms. */
export interface MonaSettings {
  readonly innerRate: number;
  readonly lambda: number;
}

/**
 * MoNA's outer objective (Ma et al. 2024, eq. 8): L_task(θ) + λ·(L_align + L_unif) of the encoder after
 * one inner SGD step θ' = θ − α∇L_task(θ), on a labelled source batch (`sourceTokens`: the source
 * embedder's tokens [B, T, dim], `sourceLabels` one-hot), features mean-pooled and L2-normalised. Its
 * gradient reaches the embedder through the inner step (second order). Only the encoder's part of θ' is
 * computed: the outer terms read nothing else of it.
 */
export function monaLoss(
  p: Params,
  [x, labels, sourceTokens, sourceLabels]: readonly Tensor[],
  embedder: Embedder,
  shape: EncoderShape,
  { innerRate, lambda }: MonaSettings,
): Tensor {
  const task = taskLoss(p, x, labels, embedder, shape);
  const names = Object.keys(p).filter(isEncoderParam);
  const gradients = grad(
    task,
    names.map((name) => p[name]),
    { createGraph: true },
  );
  const updated: Record<string, Tensor> = { ...p };
  names.forEach((name, i) => {
    updated[name] = sub(p[name], mul(gradients[i], innerRate));
  });
  const features = normalize(encode(updated, sourceTokens, shape));
  return add(task, mul(alignUniformLoss(features, sourceLabels), lambda));
}

/** Per-class mean [C, d] and standard deviation [C, d] (biased) of rows [N, d] with one-hot labels [N, C]. */
function classMoments(rows: Tensor, labels: Tensor): { means: Tensor; sds: Tensor } {
  const seen = transpose(sum(labels, [0], true)); // [C, 1]
  // a class absent from the batch counts 1, not 0: its (unused) moments stay 0, not NaN
  const counts = add(seen, relu(sub(1, seen)));
  const labelsT = transpose(labels);
  const means = div(matmul(labelsT, rows), counts);
  const variances = sub(div(matmul(labelsT, mul(rows, rows)), counts), mul(means, means));
  // floored: rounding can make E[x²] − μ² negative, a class seen once has no spread, and √ has no
  // gradient at 0
  return { means, sds: sqrt(add(relu(variances), 1e-8)) };
}

/** Squared Euclidean distances [N, M] between the rows of a [N, d] and b [M, d]. */
function squaredDistances(a: Tensor, b: Tensor): Tensor {
  const [na, nb] = [sum(mul(a, a), [1], true), transpose(sum(mul(b, b), [1], true))];
  return sub(add(na, nb), mul(matmul(a, transpose(b)), 2));
}

/** ORCA's first-stage settings: the entropic regulariser (relative to the mean cost) and Sinkhorn's iterations. */
export interface OtSettings {
  readonly epsilon: number;
  readonly iterations: number;
}

/**
 * A class-aware optimal-transport distance between labelled feature sets (OTDD, Alvarez-Melis & Fusi
 * 2020, with Gaussian label distances): the ground cost of (z, y) and (z', y') is ‖z − z'‖² plus the
 * squared 2-Wasserstein distance between the classes' diagonal Gaussians (means and standard deviations
 * of each set's rows by class); the plan is entropic (Sinkhorn in the log domain, `iterations` of them,
 * ε = `epsilon` × the mean cost, uniform marginals), and the distance ⟨plan, cost⟩. The plan is computed
 * on the detached cost, so the gradient moves the features under a fixed plan (as POT's sinkhorn2 and
 * DeepJDOT do).
 */
export function otddLoss(
  target: Tensor,
  targetLabels: Tensor,
  source: Tensor,
  sourceLabels: Tensor,
  { epsilon, iterations }: OtSettings,
): Tensor {
  const [t, s] = [classMoments(target, targetLabels), classMoments(source, sourceLabels)];
  const labelDistances = add(squaredDistances(t.means, s.means), squaredDistances(t.sds, s.sds)); // [Ct, Cs]
  const cost = add(
    squaredDistances(target, source),
    matmul(matmul(targetLabels, labelDistances), transpose(sourceLabels)),
  );
  const fixed = detach(cost);
  const kernel = div(fixed, mul(mean(fixed), -epsilon)); // log K = −C/ε
  const [n, m] = cost.shape;
  let f = constant([n, 1], new Float64Array(n));
  let g = constant([1, m], new Float64Array(m));
  for (let k = 0; k < iterations; k++) {
    f = sub(-Math.log(n), logSumExp(add(kernel, g), [1], true));
    g = sub(-Math.log(m), logSumExp(add(kernel, f), [0], true));
  }
  const plan = exp(add(add(kernel, f), g));
  return sum(mul(plan, cost));
}

/** The embedder's pooled output [B, dim]: what ORCA's distance compares between modalities. */
export function embeddedFeatures(p: Params, x: Tensor, embedder: Embedder): Tensor {
  return mean(embed(p, x, embedder), [1]);
}

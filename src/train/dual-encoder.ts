/**
 * The dual encoder `gapkit train` trains, written once with the autograd's ops (so the same code runs
 * compiled on onnxruntime, or eagerly in float64): two MLP towers to unit rows and the contrastive losses
 * between them — CLIP, SigLIP, SupCon across modalities and ALBEF's ITC.
 */
import { initLinear, linear, type ParamInit, type Params } from "./autograd/nn.js";
import {
  add,
  concat,
  detach,
  div,
  exp,
  gather,
  log,
  logSoftmax,
  logSumExp,
  matmul,
  mul,
  neg,
  normalize,
  relu,
  reshape,
  softmax,
  sub,
  sum,
  transpose,
} from "./autograd/ops.js";
import { constant, type Shape, type Tensor } from "./autograd/tensor.js";

/** The towers' sides: A (images, say) and B (captions). */
export const SIDES = ["a", "b"] as const;

/** Tower layout: widths after the input, and each side's input dimension. */
export interface TowerLayout {
  widths: readonly number[];
  inputDims: { a: number; b: number };
}

/** The input width of layer i of tower `side`. */
const layerInput = ({ widths, inputDims }: TowerLayout, side: "a" | "b", i: number) =>
  i === 0 ? inputDims[side] : widths[i - 1];

/** The shapes of every parameter: `a.0.weight` (in×out), `a.0.bias`, …, `b.…`, `logScale` and `bias` (scalars). */
export function parameterShapes(layout: TowerLayout): Record<string, Shape> {
  const shapes: Record<string, Shape> = {};
  for (const side of SIDES)
    layout.widths.forEach((w, i) => {
      shapes[`${side}.${i}.weight`] = [layerInput(layout, side, i), w];
      shapes[`${side}.${i}.bias`] = [w];
    });
  return { ...shapes, logScale: [], bias: [] };
}

/** The names of the towers' parameters, `side.i.weight` and `side.i.bias` for each layer i of each side. */
export const towerParameterNames = (widths: readonly number[], sides: readonly ("a" | "b")[] = SIDES) =>
  sides.flatMap((side) => widths.flatMap((_, i) => [`${side}.${i}.weight`, `${side}.${i}.bias`]));

/** The towers' initial parameters as PyTorch's Linear draws them, layer i of side A (B) from seed·1000 + 1 (500) + i. */
export function initTowers(layout: TowerLayout, seed: number): Record<string, ParamInit> {
  return Object.assign(
    {},
    ...SIDES.flatMap((side, s) =>
      layout.widths.map((w, i) =>
        initLinear(`${side}.${i}`, layerInput(layout, side, i), w, seed * 1000 + (s === 0 ? 1 : 500) + i),
      ),
    ),
  );
}

/** Rows through tower `side` (Linear → ReLU → … → Linear) to unit length. */
export function towerOutput(x: Tensor, p: Params, side: "a" | "b", depth: number): Tensor {
  let h = x;
  for (let i = 0; i < depth; i++) {
    h = linear(h, p, `${side}.${i}`);
    if (i < depth - 1) h = relu(h);
  }
  return normalize(h);
}

/** A rows×cols constant: `onDiagonal` where the row equals the column, `elsewhere` everywhere else. */
const diagonalConstant = (rows: number, cols: number, onDiagonal: number, elsewhere: number) =>
  constant(
    [rows, cols],
    Float64Array.from({ length: rows * cols }, (_, k) =>
      Math.floor(k / cols) === k % cols ? onDiagonal : elsewhere,
    ),
  );

/** Σ_i s·a_i·b_i: the scaled similarities of the pairs (the logits' diagonal). */
const pairedLogits = (a: Tensor, b: Tensor, s: Tensor) => mul(sum(mul(a, b)), s);

/** Symmetric CLIP loss of unit rows a, b at logit scale s: (CE over rows + CE over columns) / 2, labels the diagonal. */
export function clipLoss(a: Tensor, b: Tensor, s: Tensor): Tensor {
  const n = a.shape[0];
  const logits = mul(matmul(a, transpose(b)), s);
  // −Σ the diagonal of log softmax over rows and over columns (the rows of Lᵀ: onnxruntime's softmax over
  // the last axis is several times faster than over the first); the diagonal gathered from the flat matrix
  const both = add(logSoftmax(logits), logSoftmax(transpose(logits)));
  const diagonal = gather(
    reshape(both, [n * n, 1]),
    constant(
      [n],
      Float64Array.from({ length: n }, (_, i) => i * (n + 1)),
    ),
  );
  return div(neg(sum(diagonal)), 2 * n);
}

/** log(1 + eᵘ) without overflow: max(u, 0) + log(1 + e^−|u|). */
function softplus(u: Tensor): Tensor {
  const [positive, negative] = [relu(u), relu(neg(u))];
  return add(positive, log(add(exp(neg(add(positive, negative))), 1)));
}

/** SigLIP: −(1/N)·Σ log σ(z·(s·a·bᵀ + bias)), z = +1 on the diagonal and −1 elsewhere. */
export function siglipLoss(a: Tensor, b: Tensor, s: Tensor, bias: Tensor): Tensor {
  const n = a.shape[0];
  const signs = diagonalConstant(n, n, -1, 1);
  return div(sum(softplus(mul(add(mul(matmul(a, transpose(b)), s), bias), signs))), n);
}

/**
 * SupCon / NT-Xent across modalities: the 2N rows [A; B] are views, row i's only positive its partner
 * (i ± N), every other row a negative; the mean over rows of lse_{j≠i}(s·z_i·z_j) − s·z_i·z_partner.
 */
export function supconLoss(a: Tensor, b: Tensor, s: Tensor): Tensor {
  const z = concat([a, b], 0);
  const size = z.shape[0];
  // the anchor leaves its own denominator: a large negative logit on the diagonal (its exp underflows to 0)
  const self = diagonalConstant(size, size, -1e9, 0);
  const logits = add(mul(matmul(z, transpose(z)), s), self);
  return div(sub(sum(logSumExp(logits, [-1])), mul(pairedLogits(a, b, s), 2)), size);
}

/** The momentum encoder's side of an ITC batch: its features of both sides, and the queues of earlier ones. */
export interface ItcTeacher {
  momentum: { a: Tensor; b: Tensor };
  queues?: { a: Tensor; b: Tensor };
}

/**
 * ALBEF's ITC: each side's online features query the other side's momentum features of the batch and its
 * queue; targets α·softmax(momentum similarities) + (1 − α)·one-hot, with no gradient through the teacher
 * (nor through s there); the mean of both directions' cross-entropies.
 */
export function itcLoss(a: Tensor, b: Tensor, s: Tensor, teacher: ItcTeacher, alpha: number): Tensor {
  const n = a.shape[0];
  const direction = (query: Tensor, queryMomentum: Tensor, keys: Tensor, queue: Tensor | undefined) => {
    const candidates = queue ? concat([keys, queue], 0) : keys;
    const similarities = (x: Tensor) => matmul(x, transpose(candidates));
    const targets = add(
      mul(softmax(mul(similarities(queryMomentum), detach(s))), alpha),
      diagonalConstant(n, candidates.shape[0], 1 - alpha, 0),
    );
    const logits = mul(similarities(query), s);
    return div(sub(sum(logSumExp(logits, [-1])), sum(mul(logits, targets))), n);
  };
  const { momentum, queues } = teacher;
  return div(
    add(direction(a, momentum.a, momentum.b, queues?.b), direction(b, momentum.b, momentum.a, queues?.a)),
    2,
  );
}

/** The loss `loss` names for a batch's unit rows a, b under parameters p (logScale, bias). */
export function contrastiveLoss(
  loss: "clip" | "siglip" | "supcon" | "itc",
  a: Tensor,
  b: Tensor,
  p: Params,
  itc?: { teacher: ItcTeacher; alpha: number },
): Tensor {
  const s = exp(p.logScale);
  if (loss === "siglip") return siglipLoss(a, b, s, p.bias);
  if (loss === "supcon") return supconLoss(a, b, s);
  if (loss === "itc") {
    if (!itc) throw new Error("contrastiveLoss: itc without its teacher");
    return itcLoss(a, b, s, itc.teacher, itc.alpha);
  }
  return clipLoss(a, b, s);
}

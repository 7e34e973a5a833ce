import { transposed } from "../core/dense64.js";
import { check } from "../core/errors.js";
import { type GemmBackend, getBackend, matmul } from "../core/gemm/index.js";
import { type Matrix, matrix, transpose } from "../core/matrix.js";
import { clipLossModel } from "./clip-graph.js";
import { crossEntropyRows, toMatrix } from "./dense.js";
import { dotScore, type ScoreFunction } from "./scores.js";

/** open_clip's initial log logit scale, ln(1/0.07). */
export const CLIP_INIT_LOG_SCALE = Math.log(1 / 0.07);
/**
 * open_clip's bounds of the log logit scale t: after each optimiser step t is clamped to [0, ln 100]
 * (the loss itself uses s = eᵗ as given).
 */
export const CLIP_LOG_SCALE_RANGE: readonly [number, number] = [0, Math.log(100)];

/** Options of the CLIP / InfoNCE loss. */
export interface ClipOptions {
  /** Learnable log logit scale t (s = exp(t)); default ln(1/0.07). */
  logScale?: number;
  /** Both directions averaged (CLIP), or one: A→B rows only, B→A columns only. */
  direction?: "both" | "aToB" | "bToA";
  /**
   * Soft targets (N×N rows summing to 1) for the A→B rows; their transpose serves the B→A columns unless
   * `targetsBToA` is given (ALBEF momentum distillation). Default: the diagonal (true pairs).
   */
  targets?: Float64Array;
  targetsBToA?: Float64Array;
  /** Similarity of the logits (default: dot, i.e. cosine for unit rows). */
  score?: ScoreFunction;
  /**
   * Upper clamp of the scale s inside the loss, where t above ln(maxScale) gets no gradient (default: none —
   * open_clip clamps the parameter after each step instead, as the trainer does).
   */
  maxScale?: number;
}

/** Loss value and exact gradients. */
export interface ClipResult {
  value: number;
  gradA: Matrix;
  gradB: Matrix;
  /** ∂loss/∂t for the log scale (0 where a `maxScale` clamp is active). */
  gradLogScale: number;
}

/**
 * CLIP / InfoNCE (Radford et al. 2021; open_clip `ClipLoss`): logits = s·score(A, B) (score = A·Bᵀ by default)
 * with s = exp(t) as given (open_clip: the trainer, not the loss, keeps t in CLIP_LOG_SCALE_RANGE),
 * loss = (CE(rows, diag) + CE(columns, diag)) / 2, or one direction. A and B are used as given (normalise
 * them first for cosine logits); every sum is float64.
 */
export function clipLoss(a: Matrix, b: Matrix, options: ClipOptions = {}): ClipResult {
  const score = options.score ?? dotScore;
  const core = clipCore(a, b, options, (x, y) => score.scores(x, y));
  const { gradX, gradY } = score.backward(a, b, core.dLogits);
  const [n, d] = [a.rows, a.cols];
  return {
    value: core.value,
    gradA: toMatrix(gradX, n, d, core.scale),
    gradB: toMatrix(gradY, n, d, core.scale),
    gradLogScale: core.gradLogScale,
  };
}

/**
 * clipLoss (dot score) at training speed, float32: on a backend that runs ONNX graphs (onnxruntime, by
 * default in Node) the symmetric loss with its gradients is one graph run; otherwise, or with one
 * direction, targets or an active maxScale, the three N×N×d products run on the backend with a float64
 * softmax and sums between them. clipLoss is the exact float64 reference.
 */
export async function clipLossOnBackend(
  a: Matrix,
  b: Matrix,
  options: Omit<ClipOptions, "score"> & { backend?: string | GemmBackend } = {},
): Promise<ClipResult> {
  const backend = getBackend(options.backend);
  const { logScale = CLIP_INIT_LOG_SCALE, direction = "both", maxScale = Number.POSITIVE_INFINITY } = options;
  const plain =
    direction === "both" && !options.targets && !options.targetsBToA && logScale <= Math.log(maxScale);
  if (plain && backend.runGraph) {
    checkClipInputs(a, b, options); // clipCore checks them on the other path
    const [n, d] = [a.rows, a.cols];
    const out = await backend.runGraph("clip_loss", clipLossModel, {
      u_a: { data: a.data, dims: [n, d] },
      u_b: { data: b.data, dims: [n, d] },
      t: { data: Float32Array.of(logScale), dims: [1] },
      half_inv_batch: { data: Float32Array.of(1 / (2 * n)), dims: [1] },
    });
    if (out)
      return {
        value: out.loss.data[0],
        gradA: matrix(n, d, out.du_a.data),
        gradB: matrix(n, d, out.du_b.data),
        gradLogScale: out.g_t.data[0],
      };
  }
  const sims = new Float64Array((await matmul(a, b, { transB: true, backend })).data);
  const core = clipCore(a, b, options, () => sims);
  const n = a.rows;
  const dLogits = matrix(n, n);
  for (let k = 0; k < dLogits.data.length; k++) dLogits.data[k] = core.dLogits[k] * core.scale;
  const gradA = await matmul(dLogits, b, { backend });
  const gradB = await matmul(transpose(dLogits), a, { backend });
  return { value: core.value, gradA, gradB, gradLogScale: core.gradLogScale };
}

/** Checks the shapes, the log scale and the targets' sizes. */
function checkClipInputs(a: Matrix, b: Matrix, options: ClipOptions): void {
  const { logScale = CLIP_INIT_LOG_SCALE } = options;
  const [n, d] = [a.rows, a.cols];
  check(b.rows === n && b.cols === d, "clipLoss", `B of A's shape ${n}×${d}`, () => `${b.rows}×${b.cols}`);
  check(n >= 1, "clipLoss", "a batch of at least 1 pair", () => "0");
  check(Number.isFinite(logScale), "clipLoss logScale", "a finite number", () => String(logScale));
  for (const [name, t] of [
    ["targets", options.targets],
    ["targetsBToA", options.targetsBToA],
  ] as const)
    if (t) check(t.length === n * n, `clipLoss ${name}`, `${n}×${n} values`, () => String(t.length));
}

/** Validates the inputs, then computes the loss, ∂loss/∂logits and ∂loss/∂t from the similarities `sims(a, b)`. */
function clipCore(
  a: Matrix,
  b: Matrix,
  options: ClipOptions,
  sims: (a: Matrix, b: Matrix) => Float64Array,
): { value: number; dLogits: Float64Array; scale: number; gradLogScale: number } {
  const { logScale = CLIP_INIT_LOG_SCALE, direction = "both", maxScale = Number.POSITIVE_INFINITY } = options;
  checkClipInputs(a, b, options);
  const n = a.rows;
  const clamped = logScale > Math.log(maxScale);
  const scale = clamped ? maxScale : Math.exp(logScale);
  const logits = sims(a, b);
  for (let k = 0; k < logits.length; k++) logits[k] *= scale;
  const dLogits = new Float64Array(n * n);
  const weight = direction === "both" ? 0.5 : 1;
  let value = 0;
  if (direction !== "bToA")
    value += weight * crossEntropyRows(logits, n, n, options.targets ?? null, dLogits, weight);
  if (direction !== "aToB") {
    // B→A runs down the columns in place; explicit B→A targets are row-major by B, so they are transposed
    const columnTargets = options.targetsBToA
      ? transposed(options.targetsBToA, n, n)
      : (options.targets ?? null);
    value += weight * crossEntropyRows(logits, n, n, columnTargets, dLogits, weight, { row: 1, col: n });
  }
  let gradLogScale = 0;
  if (!clamped) for (let k = 0; k < dLogits.length; k++) gradLogScale += dLogits[k] * logits[k];
  return { value, dLogits, scale, gradLogScale };
}

/** The symmetric CLIP loss value alone, from precomputed similarities (n×n) and a scale: no gradient work. */
export function clipValue(sims: Float64Array, n: number, scale: number): number {
  const logits = new Float64Array(sims.length);
  for (let k = 0; k < sims.length; k++) logits[k] = sims[k] * scale;
  const scratch = new Float64Array(n * n);
  const rows = crossEntropyRows(logits, n, n, null, scratch, 0);
  return (rows + crossEntropyRows(logits, n, n, null, scratch, 0, { row: 1, col: n })) / 2;
}

import { check } from "../core/errors.js";
import type { Matrix } from "../core/matrix.js";
import { crossEntropyRows, toMatrix, transposed } from "./dense.js";
import { dotScore, type ScoreFunction } from "./scores.js";

/** open_clip's initial log logit scale, ln(1/0.07). */
export const CLIP_INIT_LOG_SCALE = Math.log(1 / 0.07);
/** open_clip clamps the logit scale to at most 100. */
export const CLIP_MAX_SCALE = 100;

/** Options of the CLIP / InfoNCE loss. */
export interface ClipOptions {
  /** Learnable log logit scale t (s = exp(t), clamped to ≤ 100); default ln(1/0.07). */
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
  /** Upper clamp of the scale s (default 100, open_clip's; Infinity for none). */
  maxScale?: number;
}

/** Loss value and exact gradients. */
export interface ClipResult {
  value: number;
  gradA: Matrix;
  gradB: Matrix;
  /** ∂loss/∂t for the log scale (0 where the clamp is active). */
  gradLogScale: number;
}

/**
 * CLIP / InfoNCE (Radford et al. 2021; open_clip `ClipLoss`): logits = s·score(A, B) (score = A·Bᵀ by default)
 * with s = exp(t) ≤ 100,
 * loss = (CE(rows, diag) + CE(columns, diag)) / 2, or one direction. A and B are used as given (normalise
 * them first for cosine logits); every sum is float64.
 */
export function clipLoss(a: Matrix, b: Matrix, options: ClipOptions = {}): ClipResult {
  const {
    logScale = CLIP_INIT_LOG_SCALE,
    direction = "both",
    score = dotScore,
    maxScale = CLIP_MAX_SCALE,
  } = options;
  const n = a.rows;
  const d = a.cols;
  check(b.rows === n && b.cols === d, "clipLoss", `B of A's shape ${n}×${d}`, () => `${b.rows}×${b.cols}`);
  check(n >= 1, "clipLoss", "a batch of at least 1 pair", () => "0");
  check(Number.isFinite(logScale), "clipLoss logScale", "a finite number", () => String(logScale));
  for (const [name, t] of [
    ["targets", options.targets],
    ["targetsBToA", options.targetsBToA],
  ] as const)
    if (t) check(t.length === n * n, `clipLoss ${name}`, `${n}×${n} values`, () => String(t.length));
  const clamped = logScale > Math.log(maxScale);
  const s = clamped ? maxScale : Math.exp(logScale);
  const sims = score.scores(a, b);
  const logits = sims.map((v) => s * v);
  const dLogits = new Float64Array(n * n);
  const weight = direction === "both" ? 0.5 : 1;
  let value = 0;
  if (direction !== "bToA")
    value += weight * crossEntropyRows(logits, n, n, options.targets ?? null, dLogits, weight);
  if (direction !== "aToB") {
    const columnTargets = options.targetsBToA ?? (options.targets ? transposed(options.targets, n, n) : null);
    const dColumns = new Float64Array(n * n);
    value += weight * crossEntropyRows(transposed(logits, n, n), n, n, columnTargets, dColumns, weight);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) dLogits[i * n + j] += dColumns[j * n + i];
  }
  let gradLogScale = 0;
  if (!clamped) for (let k = 0; k < dLogits.length; k++) gradLogScale += dLogits[k] * logits[k];
  const { gradX, gradY } = score.backward(a, b, dLogits);
  return { value, gradA: toMatrix(gradX, n, d, s), gradB: toMatrix(gradY, n, d, s), gradLogScale };
}

/** The symmetric CLIP loss value alone, from precomputed similarities (n×n) and a scale: no gradient work. */
export function clipValue(sims: Float64Array, n: number, scale: number): number {
  const logits = sims.map((v) => v * scale);
  const scratch = new Float64Array(n * n);
  const rows = crossEntropyRows(logits, n, n, null, scratch, 0);
  return (rows + crossEntropyRows(transposed(logits, n, n), n, n, null, scratch, 0)) / 2;
}

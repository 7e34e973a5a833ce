import { mulAB, mulABt, transposed } from "../core/dense64.js";
import { check } from "../core/errors.js";
import { type GemmBackend, getBackend } from "../core/gemm/index.js";
import { type Matrix, matrix } from "../core/matrix.js";
import { siglipLossModel } from "./clip-graph.js";
import { toMatrix } from "./dense.js";

/** SigLIP's initial log scale t' = ln 10 and bias b = −10 (Zhai et al. 2023). */
export const SIGLIP_INIT = { logScale: Math.log(10), bias: -10 } as const;

/** Loss value and exact gradients of the sigmoid loss. */
export interface SiglipResult {
  value: number;
  gradA: Matrix;
  gradB: Matrix;
  gradLogScale: number;
  gradBias: number;
}

/** log σ(x), stable for any finite x: −softplus(−x). */
export function logSigmoid(x: number): number {
  return -(Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
}

/** σ(x) without overflow. */
export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function checkSiglipInputs(a: Matrix, b: Matrix, logScale: number, bias: number): void {
  const [n, d] = [a.rows, a.cols];
  check(b.rows === n && b.cols === d, "siglipLoss", `B of A's shape ${n}×${d}`, () => `${b.rows}×${b.cols}`);
  check(
    n >= 1 && Number.isFinite(logScale) && Number.isFinite(bias),
    "siglipLoss",
    "a batch ≥ 1, finite scale and bias",
    () => `n=${n}, t=${logScale}, b=${bias}`,
  );
}

/**
 * SigLIP pairwise sigmoid loss (open_clip `SigLipLoss`): logits = exp(t')·A·Bᵀ + b, z_ij = +1 on the diagonal
 * and −1 elsewhere, loss = −(1/N)·Σ_ij log σ(z_ij·logit_ij).
 */
export function siglipLoss(
  a: Matrix,
  b: Matrix,
  options: { logScale?: number; bias?: number } = {},
): SiglipResult {
  const { logScale = SIGLIP_INIT.logScale, bias = SIGLIP_INIT.bias } = options;
  checkSiglipInputs(a, b, logScale, bias);
  const [n, d] = [a.rows, a.cols];
  const s = Math.exp(logScale);
  const sims = mulABt(a.data, n, b.data, n, d);
  const dLogits = new Float64Array(n * n);
  let value = 0;
  let gradLogScale = 0;
  let gradBias = 0;
  for (let k = 0; k < sims.length; k++) {
    const z = Math.floor(k / n) === k % n ? 1 : -1;
    const logit = s * sims[k] + bias;
    value -= logSigmoid(z * logit);
    const g = (-z * sigmoid(-z * logit)) / n;
    dLogits[k] = g;
    gradBias += g;
    gradLogScale += g * s * sims[k];
  }
  return {
    value: value / n,
    gradA: toMatrix(mulAB(dLogits, n, b.data, n, d), n, d, s),
    gradB: toMatrix(mulAB(transposed(dLogits, n, n), n, a.data, n, d), n, d, s),
    gradLogScale,
    gradBias,
  };
}

/**
 * siglipLoss at training speed, float32: one graph run on a backend that runs ONNX graphs (onnxruntime, by
 * default in Node); elsewhere the exact float64 siglipLoss.
 */
export async function siglipLossOnBackend(
  a: Matrix,
  b: Matrix,
  options: { logScale?: number; bias?: number; backend?: string | GemmBackend } = {},
): Promise<SiglipResult> {
  const { logScale = SIGLIP_INIT.logScale, bias = SIGLIP_INIT.bias } = options;
  checkSiglipInputs(a, b, logScale, bias);
  const backend = getBackend(options.backend);
  const [n, d] = [a.rows, a.cols];
  const scalar = (x: number) => ({ data: Float32Array.of(x), dims: [1] });
  const out = await backend.runGraph?.("siglip_loss", siglipLossModel, {
    u_a: { data: a.data, dims: [n, d] },
    u_b: { data: b.data, dims: [n, d] },
    t: scalar(logScale),
    bias: scalar(bias),
    inv_batch: scalar(1 / n),
  });
  if (!out) return siglipLoss(a, b, options);
  return {
    value: out.loss.data[0],
    gradA: matrix(n, d, out.du_a.data),
    gradB: matrix(n, d, out.du_b.data),
    gradLogScale: out.g_t.data[0],
    gradBias: out.g_bias.data[0],
  };
}

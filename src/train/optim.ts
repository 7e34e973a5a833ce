import { check } from "../core/errors.js";
import type { Kernels } from "../core/gemm/wasm.js";

/** What an optimiser updates and reads: float64 values in place (a tape Var is one). */
export interface ValueArray {
  readonly value: Float64Array;
}

/** An optimiser's state, in parameter order: plain arrays, so checkpoints can store and restore it exactly. */
export interface OptimizerState {
  step: number;
  /** One or two buffers per parameter (velocity; or Adam's first and second moments). */
  buffers: Float64Array[][];
}

/** Updates parameters in place from their gradients (same order as the state's buffers). */
export interface Optimizer {
  step(params: readonly ValueArray[], grads: readonly ValueArray[], lr: number): void;
  /** The state to checkpoint (live, not a copy). */
  readonly state: OptimizerState;
}

function checkPairs(params: readonly ValueArray[], grads: readonly ValueArray[]): void {
  check(params.length === grads.length, "optimizer", `one gradient per parameter (${params.length})`, () =>
    String(grads.length),
  );
  for (const [i, p] of params.entries())
    check(
      p.value.length === grads[i].value.length,
      "optimizer",
      `a gradient shaped like parameter ${i}`,
      () => String(grads[i].value.length),
    );
}

/** Buffers for parameter i, created zeroed on first use. */
function buffersFor(state: OptimizerState, i: number, count: number, length: number): Float64Array[] {
  state.buffers[i] ??= Array.from({ length: count }, () => new Float64Array(length));
  return state.buffers[i];
}

/** SGD with (heavy-ball) momentum and optional weight decay. */
export function sgd(
  options: { momentum?: number; weightDecay?: number } = {},
  state: OptimizerState = { step: 0, buffers: [] },
): Optimizer {
  const { momentum = 0, weightDecay = 0 } = options;
  return {
    state,
    step(params, grads, lr) {
      checkPairs(params, grads);
      state.step++;
      for (const [i, p] of params.entries()) {
        const [v] = buffersFor(state, i, 1, p.value.length);
        for (let k = 0; k < v.length; k++) {
          v[k] = momentum * v[k] + grads[i].value[k] + weightDecay * p.value[k];
          p.value[k] -= lr * v[k];
        }
      }
    },
  };
}

/** Options of Adam / AdamW. */
export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** AdamW (Loshchilov & Hutter): the decay multiplies the weights instead of entering the gradient. */
  decoupledWeightDecay?: boolean;
}

/** Adam's defaults (Kingma & Ba; PyTorch's). */
export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** Adam (Kingma & Ba) with bias correction; AdamW with `decoupledWeightDecay`. */
export function adam(options: AdamOptions = {}, state: OptimizerState = { step: 0, buffers: [] }): Optimizer {
  const {
    beta1 = ADAM_DEFAULTS.beta1,
    beta2 = ADAM_DEFAULTS.beta2,
    eps = ADAM_DEFAULTS.eps,
    weightDecay = 0,
    decoupledWeightDecay = false,
  } = options;
  return {
    state,
    step(params, grads, lr) {
      checkPairs(params, grads);
      state.step++;
      const [c1, c2] = [1 - beta1 ** state.step, 1 - beta2 ** state.step];
      // the decays fold into two factors, so the inner loop is plain arithmetic on local arrays
      const coupled = decoupledWeightDecay ? 0 : weightDecay;
      const shrink = decoupledWeightDecay ? 1 - lr * weightDecay : 1;
      for (const [i, p] of params.entries()) {
        const [m, v] = buffersFor(state, i, 2, p.value.length);
        const [w, gradient] = [p.value, grads[i].value];
        for (let k = 0; k < w.length; k++) {
          const g = gradient[k] + coupled * w[k];
          m[k] = beta1 * m[k] + (1 - beta1) * g;
          v[k] = beta2 * v[k] + (1 - beta2) * g * g;
          w[k] = shrink * w[k] - (lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + eps);
        }
      }
    },
  };
}

/** Learning rate at `step` of `total`: linear warm-up over `warmup` steps, then cosine decay to `minLr`. */
export function cosineSchedule(
  step: number,
  total: number,
  options: { lr: number; warmup?: number; minLr?: number },
): number {
  const { lr, warmup = 0, minLr = 0 } = options;
  if (step < warmup) return (lr * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress));
}

/** Scales gradients in place so their global L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipGradNorm(
  grads: readonly { readonly value: Float32Array | Float64Array }[],
  maxNorm: number,
): number {
  let total = 0;
  for (const g of grads) for (const v of g.value) total += v * v;
  const norm = Math.sqrt(total);
  if (norm > maxNorm && norm > 0)
    for (const g of grads) for (let k = 0; k < g.value.length; k++) g.value[k] *= maxNorm / norm;
  return norm;
}

/** Clamps a one-element parameter (a log logit scale) to [lo, hi] in place, as open_clip does after each step. */
export function clampScalar(value: Float32Array | Float64Array, [lo, hi]: readonly [number, number]): void {
  value[0] = Math.min(Math.max(value[0], lo), hi);
}

/** Float32 parameters, gradients and Adam's moments, end to end in the kernels' memory (float32Arrays). */
export interface AdamArrays {
  readonly values: Float32Array;
  readonly grads: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

/**
 * AdamW step number `step` (from 1) over every parameter by the `adamw` WebAssembly kernel, one pass:
 * adam's update with ADAM_DEFAULTS and decoupled weight decay, in float32.
 */
export function adamwKernelStep(
  kernels: Kernels,
  arrays: AdamArrays,
  step: number,
  lr: number,
  weightDecay: number,
): void {
  const { beta1, beta2, eps } = ADAM_DEFAULTS;
  const { values, grads, m, v } = arrays;
  kernels.adamw(
    values.byteOffset,
    grads.byteOffset,
    m.byteOffset,
    v.byteOffset,
    values.length,
    lr,
    1 - beta1 ** step,
    1 - beta2 ** step,
    1 - lr * weightDecay,
    beta1,
    beta2,
    eps,
  );
}

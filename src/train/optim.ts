import { check } from "../core/errors.js";
import type { Var } from "./tape.js";

/** Updates parameters in place from their gradients (same order). */
export interface Optimizer {
  step(params: readonly Var[], grads: readonly Var[], lr: number): void;
}

function checkPairs(params: readonly Var[], grads: readonly Var[]): void {
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

/** SGD with (heavy-ball) momentum and optional weight decay. */
export function sgd(options: { momentum?: number; weightDecay?: number } = {}): Optimizer {
  const { momentum = 0, weightDecay = 0 } = options;
  const velocity = new Map<Var, Float64Array>();
  return {
    step(params, grads, lr) {
      checkPairs(params, grads);
      params.forEach((p, i) => {
        const v = velocity.get(p) ?? new Float64Array(p.value.length);
        velocity.set(p, v);
        for (let k = 0; k < v.length; k++) {
          v[k] = momentum * v[k] + grads[i].value[k] + weightDecay * p.value[k];
          p.value[k] -= lr * v[k];
        }
      });
    },
  };
}

/**
 * Adam (Kingma & Ba) with bias correction; with `decoupledWeightDecay` it is AdamW (Loshchilov & Hutter):
 * the decay multiplies the weights directly instead of entering the gradient.
 */
export function adam(
  options: {
    beta1?: number;
    beta2?: number;
    eps?: number;
    weightDecay?: number;
    decoupledWeightDecay?: boolean;
  } = {},
): Optimizer {
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, decoupledWeightDecay = false } = options;
  const moments = new Map<Var, { m: Float64Array; v: Float64Array }>();
  let t = 0;
  return {
    step(params, grads, lr) {
      checkPairs(params, grads);
      t++;
      const [c1, c2] = [1 - beta1 ** t, 1 - beta2 ** t];
      params.forEach((p, i) => {
        const state = moments.get(p) ?? {
          m: new Float64Array(p.value.length),
          v: new Float64Array(p.value.length),
        };
        moments.set(p, state);
        for (let k = 0; k < p.value.length; k++) {
          const g = grads[i].value[k] + (decoupledWeightDecay ? 0 : weightDecay * p.value[k]);
          state.m[k] = beta1 * state.m[k] + (1 - beta1) * g;
          state.v[k] = beta2 * state.v[k] + (1 - beta2) * g * g;
          if (decoupledWeightDecay) p.value[k] -= lr * weightDecay * p.value[k];
          p.value[k] -= (lr * (state.m[k] / c1)) / (Math.sqrt(state.v[k] / c2) + eps);
        }
      });
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
export function clipGradNorm(grads: readonly Var[], maxNorm: number): number {
  let total = 0;
  for (const g of grads) for (const v of g.value) total += v * v;
  const norm = Math.sqrt(total);
  if (norm > maxNorm && norm > 0)
    for (const g of grads) for (let k = 0; k < g.value.length; k++) g.value[k] *= maxNorm / norm;
  return norm;
}

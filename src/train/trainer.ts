import { check } from "../core/errors.js";
import { type Matrix, matrix, sliceRows } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { recallSummary, retrievalRanks } from "../eval/retrieval.js";
import { gapL2M } from "../gap/metrics.js";
import { clipStepOnBackend } from "./fast-clip.js";
import { clipLossVar, initLinear, type LinearParams, linear, supconPairLossVar } from "./layers.js";
import { adam, cosineSchedule, type OptimizerState } from "./optim.js";
import {
  add,
  constant,
  exp,
  grad,
  log,
  matmul,
  mul,
  neg,
  normalizeRowsVar,
  relu,
  scalar,
  scale,
  sum,
  transpose,
  type Var,
  variable,
} from "./tape.js";

/** How a dual encoder is built and trained. */
export interface TrainConfig {
  loss: "clip" | "siglip" | "supcon";
  /** Tower widths after the input, e.g. [256, 128]: Linear → ReLU → … → Linear. */
  widths: number[];
  epochs: number;
  batch: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  /** Initial temperature τ (logit scale 1/τ, clamped to ≤ 100); learnable unless `fixedTemperature`. */
  temperature: number;
  fixedTemperature: boolean;
  /** Keep tower B fixed (ImageBind-style: align a new modality to a frozen hub). */
  freezeB: boolean;
  /** Fraction of the pairs held out for per-epoch metrics. */
  heldOut: number;
  seed: number;
}

/** Defaults: CLIP loss, towers d→256→128, AdamW-style Adam, τ = 0.07 learnable. */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  loss: "clip",
  widths: [256, 128],
  epochs: 5,
  batch: 256,
  lr: 1e-3,
  warmup: 10,
  weightDecay: 0,
  temperature: 0.07,
  fixedTemperature: false,
  freezeB: false,
  heldOut: 0.2,
  seed: 0,
};

/** Small towers for built-in data (the demo, the training experiments): seconds on 2 cores. */
export const SMALL_TRAIN_CONFIG: TrainConfig = {
  ...DEFAULT_TRAIN_CONFIG,
  epochs: 8,
  batch: 200,
  widths: [128, 64],
  lr: 2e-3,
};

/** Everything needed to continue training exactly where it stopped. */
export interface TrainState {
  config: TrainConfig;
  /** Input dimension of each tower (images and captions may differ). */
  inputDims: { a: number; b: number };
  epoch: number;
  towers: { a: LinearParams[]; b: LinearParams[] };
  logScale: Var;
  bias: Var;
  optimizer: OptimizerState;
}

/** Metrics after one epoch (one JSONL line). */
export interface EpochMetrics {
  epoch: number;
  step: number;
  loss: number;
  lr: number;
  temperature: number;
  /** Held-out pairs through the towers. */
  gap: number;
  r1: number;
  r1BToA: number;
}

/** A fresh, seeded dual encoder for A inputs of dimension `inputA` and B inputs of `inputB` (default: the same). */
export function initTraining(config: TrainConfig, inputA: number, inputB = inputA): TrainState {
  check(
    config.widths.length >= 1 && config.widths.every((w) => Number.isInteger(w) && w >= 1),
    "widths",
    "positive integers",
    () => config.widths.join(","),
  );
  const tower = (offset: number) =>
    config.widths.map((w, i) =>
      initLinear(
        i === 0 ? (offset === 1 ? inputA : inputB) : config.widths[i - 1],
        w,
        config.seed * 1000 + offset + i,
      ),
    );
  return {
    config,
    inputDims: { a: inputA, b: inputB },
    epoch: 0,
    towers: { a: tower(1), b: tower(500) },
    logScale: variable(1, 1, [Math.log(1 / config.temperature)]),
    bias: variable(1, 1, [config.loss === "siglip" ? -10 : 0]),
    optimizer: { step: 0, buffers: [] },
  };
}

/** The trainable parameters in a fixed order (the optimiser state follows it). */
export function parameters(state: TrainState): Var[] {
  const towers = state.config.freezeB ? state.towers.a : [...state.towers.a, ...state.towers.b];
  const linearParams = towers.flatMap((l) => [l.w, l.b]);
  const extra = state.config.fixedTemperature ? [] : [state.logScale];
  return [...linearParams, ...extra, ...(state.config.loss === "siglip" ? [state.bias] : [])];
}

function towerForward(x: Var, layers: LinearParams[]): Var {
  let h = x;
  for (const [i, layer] of layers.entries()) {
    h = linear(h, layer);
    if (i < layers.length - 1) h = relu(h);
  }
  return normalizeRowsVar(h);
}

/** The logit scale s = min(exp(t), 100), as open_clip clamps it. */
function logitScale(state: TrainState): Var {
  return state.logScale.value[0] > Math.log(100) ? scalar(100) : exp(state.logScale);
}

function batchLoss(state: TrainState, a: Var, b: Var): Var {
  const [za, zb] = [towerForward(a, state.towers.a), towerForward(b, state.towers.b)];
  if (state.config.loss === "clip") return clipLossVar(za, zb, logitScale(state));
  if (state.config.loss === "supcon") return supconPairLossVar(za, zb, logitScale(state));
  // SigLIP: −(1/N)·Σ log σ(z·(s·a·bᵀ + bias)), z = +1 on the diagonal, −1 elsewhere
  const n = a.rows;
  const z = constant(
    n,
    n,
    Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : -1)),
  );
  const logits = add(mul(matmul(za, transpose(zb)), logitScale(state)), state.bias);
  const softplus = log(add(exp(neg(mul(logits, z))), scalar(1)));
  return scale(sum(softplus), 1 / n);
}

function rowsVar(m: Matrix, order: Int32Array, start: number, end: number): Var {
  const out = new Float64Array((end - start) * m.cols);
  for (let i = start; i < end; i++)
    out.set(m.data.subarray(order[i] * m.cols, (order[i] + 1) * m.cols), (i - start) * m.cols);
  return constant(end - start, m.cols, out);
}

/**
 * The batch's loss and parameter gradients: CLIP runs its products on the gemm backend (clipStepOnBackend,
 * float32, fast); SigLIP runs on the float64 tape.
 */
async function lossAndGradients(
  state: TrainState,
  params: Var[],
  a: Matrix,
  b: Matrix,
  order: Int32Array,
  from: number,
  to: number,
): Promise<{ loss: number; grads: Var[] }> {
  if (state.config.loss === "clip") {
    const rows = (m: Matrix) => {
      const v = rowsVar(m, order, from, to);
      return matrix(v.rows, v.cols, Float32Array.from(v.value));
    };
    return clipStepOnBackend(state, rows(a), rows(b));
  }
  const loss = batchLoss(state, rowsVar(a, order, from, to), rowsVar(b, order, from, to));
  return { loss: loss.value[0], grads: grad(loss, params) };
}

/** Embeds rows through one tower (no gradient), as a float32 matrix. */
export function embed(state: TrainState, m: Matrix, side: "a" | "b"): Matrix {
  const order = Int32Array.from({ length: m.rows }, (_, i) => i);
  const z = towerForward(rowsVar(m, order, 0, m.rows), state.towers[side]);
  return matrix(z.rows, z.cols, Float32Array.from(z.value));
}

/** The fit / held-out split of `n` pairs: the last `heldOut` fraction is held out. */
export function splitRows(n: number, heldOut: number): number {
  const fit = n - Math.round(heldOut * n);
  check(
    fit >= 2 && n - fit >= 2,
    "--held-out",
    `a split leaving ≥ 2 pairs on each side of ${n}`,
    () => `${fit} and ${n - fit}`,
  );
  return fit;
}

/**
 * Trains until `state.config.epochs`, one epoch at a time, mutating `state` (so it can be checkpointed after
 * any epoch and resumed bit-for-bit: each epoch's batch order comes from the seed and the epoch number).
 */
export async function train(
  a: Matrix,
  b: Matrix,
  state: TrainState,
  hooks: {
    onEpoch?: (m: EpochMetrics, state: TrainState) => Promise<void> | void;
    onStep?: (step: number, total: number) => void;
  } = {},
): Promise<EpochMetrics[]> {
  const { config } = state;
  check(
    a.rows === b.rows && a.cols === state.inputDims.a && b.cols === state.inputDims.b,
    "train",
    `paired rows of dimensions ${state.inputDims.a} (A) and ${state.inputDims.b} (B)`,
    () => `${a.rows}×${a.cols} and ${b.rows}×${b.cols}`,
  );
  const fit = splitRows(a.rows, config.heldOut);
  const batch = Math.min(config.batch, fit);
  const perEpoch = Math.floor(fit / batch);
  const total = perEpoch * config.epochs;
  const optimizer = adam({ weightDecay: config.weightDecay, decoupledWeightDecay: true }, state.optimizer);
  const params = parameters(state);
  const history: EpochMetrics[] = [];
  while (state.epoch < config.epochs) {
    const order = createRng(config.seed * 7919 + state.epoch).permutation(fit);
    let lossSum = 0;
    let lr = 0;
    for (let s = 0; s < perEpoch; s++) {
      const { loss, grads } = await lossAndGradients(state, params, a, b, order, s * batch, (s + 1) * batch);
      lossSum += loss;
      lr = cosineSchedule(optimizer.state.step, total, { lr: config.lr, warmup: config.warmup });
      optimizer.step(params, grads, lr);
      hooks.onStep?.(optimizer.state.step, total);
    }
    state.epoch++;
    const [heldA, heldB] = [
      embed(state, sliceRows(a, fit, a.rows), "a"),
      embed(state, sliceRows(b, fit, b.rows), "b"),
    ];
    const ranks = await retrievalRanks(heldA, heldB, { backend: "js" });
    const metrics: EpochMetrics = {
      epoch: state.epoch,
      step: optimizer.state.step,
      loss: lossSum / perEpoch,
      lr,
      temperature: 1 / logitScale(state).value[0],
      gap: gapL2M(heldA, heldB),
      r1: recallSummary(ranks.aToB).r1,
      r1BToA: recallSummary(ranks.bToA).r1,
    };
    history.push(metrics);
    await hooks.onEpoch?.(metrics, state);
  }
  return history;
}

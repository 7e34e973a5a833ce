import { check, InputError } from "../core/errors.js";
import { getBackend } from "../core/gemm/index.js";
import { type Matrix, matrix, selectRows, sliceRows } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { recallSummary, retrievalRanks } from "../eval/retrieval.js";
import { checkedSplit } from "../eval/split.js";
import { gapL2M } from "../gap/metrics.js";
import { ITC_LOG_SCALE_RANGE, momentumUpdate, softTargets } from "../losses/albef.js";
import { CLIP_LOG_SCALE_RANGE } from "../losses/clip.js";
import { clipStepOnBackend } from "./fast-clip.js";
import { type FusedClipTraining, fusedClipTraining } from "./fused-clip.js";
import { initLinear, type LinearParams, linear, supconPairLossVar } from "./layers.js";
import { adam, clampScalar, cosineSchedule, type OptimizerState } from "./optim.js";
import {
  add,
  concatRows,
  constant,
  exp,
  grad,
  log,
  logSumExpRows,
  matmul,
  mul,
  neg,
  normalizeRowsVar,
  relu,
  scalar,
  scale,
  sub,
  sum,
  transpose,
  type Var,
  variable,
} from "./tape.js";

/** How a dual encoder is built and trained. */
export interface TrainConfig {
  loss: "clip" | "siglip" | "supcon" | "itc";
  /** ITC (ALBEF): EMA momentum of the momentum towers, feature-queue length, distillation weight α. */
  momentum: number;
  queueSize: number;
  alpha: number;
  /** Tower widths after the input, e.g. [256, 128]: Linear → ReLU → … → Linear. */
  widths: number[];
  epochs: number;
  batch: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  /**
   * Initial temperature τ (logit scale 1/τ); learnable unless `fixedTemperature`, when the log scale is
   * clamped after every step to [0, ln 100] (open_clip's rule; ITC: τ to ALBEF's [0.001, 0.5]).
   */
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
  momentum: 0.995,
  queueSize: 512,
  alpha: 0.4,
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
  /** ITC only: momentum (EMA) copies of the towers and queues of their past features (row-major). */
  momentumTowers?: { a: LinearParams[]; b: LinearParams[] };
  queues?: { a: Float64Array; b: Float64Array };
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

/** The logit scale s = exp(t), unclamped inside the loss (as open_clip computes it). */
function logitScale(state: TrainState): Var {
  return exp(state.logScale);
}

/** The tape's loss for a batch: SupCon or SigLIP (CLIP and ITC take their own paths in lossAndGradients). */
function batchLoss(state: TrainState, a: Var, b: Var): Var {
  const [za, zb] = [towerForward(a, state.towers.a), towerForward(b, state.towers.b)];
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

/** A copy of the towers as constants (the momentum encoder's starting point). */
function frozenCopy(layers: LinearParams[]): LinearParams[] {
  return layers.map((l) => ({
    w: constant(l.w.rows, l.w.cols, l.w.value),
    b: constant(1, l.b.cols, l.b.value),
  }));
}

/**
 * ALBEF's ITC on the tape: online features query the momentum features of the batch followed by the queue;
 * targets = α·softmax(momentum similarities) + (1 − α)·one-hot (constants: no gradient through the teacher).
 * Returns the batch's momentum features too: afterItcStep enqueues them once the step is taken.
 */
function itcLossVar(
  state: TrainState,
  a: Var,
  b: Var,
): { loss: Var; momentum: { a: Float64Array; b: Float64Array } } {
  const [za, zb] = [towerForward(a, state.towers.a), towerForward(b, state.towers.b)];
  state.momentumTowers ??= { a: frozenCopy(state.towers.a), b: frozenCopy(state.towers.b) };
  state.queues ??= { a: new Float64Array(0), b: new Float64Array(0) };
  const [ma, mb] = [towerForward(a, state.momentumTowers.a), towerForward(b, state.momentumTowers.b)];
  const s = logitScale(state);
  const direction = (query: Var, queryMomentum: Var, keys: Var, queue: Float64Array) => {
    const candidates = queue.length
      ? concatRows(keys, constant(queue.length / keys.cols, keys.cols, queue))
      : keys;
    const logits = mul(matmul(query, transpose(candidates)), s);
    const teacher = mul(matmul(queryMomentum, transpose(candidates)), scalar(s.value[0])).value;
    const [n, width] = [query.rows, candidates.rows];
    const targets = softTargets(teacher, n, width, state.config.alpha);
    return scale(sub(sum(logSumExpRows(logits)), sum(mul(logits, constant(n, width, targets)))), 1 / n);
  };
  const loss = scale(add(direction(za, ma, mb, state.queues.b), direction(zb, mb, ma, state.queues.a)), 0.5);
  return { loss, momentum: { a: ma.value, b: mb.value } };
}

/** After an ITC step: EMA-update the momentum towers and enqueue the batch's momentum features (FIFO). */
function afterItcStep(state: TrainState, momentum: { a: Float64Array; b: Float64Array }): void {
  if (!state.momentumTowers || !state.queues) return;
  const values = (towers: { a: LinearParams[]; b: LinearParams[] }) =>
    [...towers.a, ...towers.b].flatMap((l) => [l.w.value, l.b.value]);
  momentumUpdate(values(state.towers), values(state.momentumTowers), state.config.momentum);
  const keep = state.config.queueSize * state.config.widths.at(-1)!;
  const push = (queue: Float64Array, rows: Float64Array) => {
    const joined = new Float64Array(queue.length + rows.length);
    joined.set(queue);
    joined.set(rows, queue.length);
    return joined.slice(Math.max(0, joined.length - keep));
  };
  state.queues = { a: push(state.queues.a, momentum.a), b: push(state.queues.b, momentum.b) };
}

function rowsVar(m: Matrix, batch: Int32Array): Var {
  const rows = selectRows(m, batch);
  return constant(rows.rows, rows.cols, rows.data);
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
  batch: Int32Array,
): Promise<{ loss: number; grads: Var[]; momentum?: { a: Float64Array; b: Float64Array } }> {
  if (state.config.loss === "itc") {
    const { loss, momentum } = itcLossVar(state, rowsVar(a, batch), rowsVar(b, batch));
    return { loss: loss.value[0], grads: grad(loss, params), momentum };
  }
  if (state.config.loss === "clip")
    return clipStepOnBackend(state, selectRows(a, batch), selectRows(b, batch));
  const loss = batchLoss(state, rowsVar(a, batch), rowsVar(b, batch));
  return { loss: loss.value[0], grads: grad(loss, params) };
}

/** Embeds rows through one tower (no gradient), as a float32 matrix. */
export function embed(state: TrainState, m: Matrix, side: "a" | "b"): Matrix {
  const z = towerForward(constant(m.rows, m.cols, m.data), state.towers[side]);
  return matrix(z.rows, z.cols, Float32Array.from(z.value));
}

/** The fit / held-out split of `n` pairs: the last `heldOut` fraction is held out. */
export function splitRows(n: number, heldOut: number): number {
  return checkedSplit(n, n - Math.round(heldOut * n), "--held-out");
}

/** What a run of `config` does on `n` pairs: the split, the batch (at most the fit rows) and the steps. */
export interface TrainingPlan {
  fitRows: number;
  heldOutRows: number;
  batch: number;
  /** Full batches per epoch (the last partial batch of each shuffled epoch is dropped). */
  stepsPerEpoch: number;
  steps: number;
}

/** The plan `train` follows for `config` on `n` pairs. */
export function trainingPlan(config: TrainConfig, n: number): TrainingPlan {
  const fitRows = splitRows(n, config.heldOut);
  const batch = Math.min(config.batch, fitRows);
  const stepsPerEpoch = Math.floor(fitRows / batch);
  return { fitRows, heldOutRows: n - fitRows, batch, stepsPerEpoch, steps: stepsPerEpoch * config.epochs };
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
    /** After each step, with a short status: loss, τ and the last epoch's held-out gap. */
    onStep?: (step: number, total: number, status: string) => void;
  } = {},
): Promise<EpochMetrics[]> {
  const { config } = state;
  check(
    a.rows === b.rows && a.cols === state.inputDims.a && b.cols === state.inputDims.b,
    "train",
    `paired rows of dimensions ${state.inputDims.a} (A) and ${state.inputDims.b} (B)`,
    () => `${a.rows}×${a.cols} and ${b.rows}×${b.cols}`,
  );
  const { fitRows: fit, batch, stepsPerEpoch: perEpoch, steps: total } = trainingPlan(config, a.rows);
  const optimizer = adam({ weightDecay: config.weightDecay, decoupledWeightDecay: true }, state.optimizer);
  const params = parameters(state);
  // CLIP on a backend that runs ONNX graphs: each step, AdamW included, is one graph (fused-clip.ts)
  let fused: FusedClipTraining | undefined =
    config.loss === "clip" ? fusedClipTraining(state, params, config.weightDecay, getBackend()) : undefined;
  const history: EpochMetrics[] = [];
  const [batchA, batchB] = [matrix(batch, a.cols), matrix(batch, b.cols)]; // refilled every step
  while (state.epoch < config.epochs) {
    const order = createRng(config.seed * 7919 + state.epoch).permutation(fit);
    let lossSum = 0;
    let lr = 0;
    for (let s = 0; s < perEpoch; s++) {
      lr = cosineSchedule(optimizer.state.step, total, { lr: config.lr, warmup: config.warmup });
      const rows = order.subarray(s * batch, (s + 1) * batch);
      // with a too-large learning rate the parameters overflow: a non-finite loss or tower output
      const where = `train step ${optimizer.state.step + 1}`;
      const diverged = (got: string) =>
        new InputError(
          where,
          `a finite loss and tower outputs (a smaller --lr keeps them so; now ${config.lr})`,
          got,
        );
      let loss: number | undefined;
      try {
        loss = fused
          ? await fused.step(selectRows(a, rows, batchA), selectRows(b, rows, batchB), lr)
          : undefined;
        if (loss === undefined) {
          // no fused step, or a backend that turned out to run no graphs (onnxruntime failed to load)
          fused?.sync();
          fused = undefined;
          const step = await lossAndGradients(state, params, a, b, rows);
          optimizer.step(params, step.grads, lr);
          if (!config.fixedTemperature)
            clampScalar(
              state.logScale.value,
              config.loss === "itc" ? ITC_LOG_SCALE_RANGE : CLIP_LOG_SCALE_RANGE,
            );
          if (step.momentum) afterItcStep(state, step.momentum);
          loss = step.loss;
        }
      } catch (error) {
        // the rows were checked before training: an InputError here is the towers' output
        throw error instanceof InputError ? diverged(error.message) : error;
      }
      if (!Number.isFinite(loss)) throw diverged(`a loss of ${loss}`);
      lossSum += loss;
      const gap = history.at(-1)?.gap;
      hooks.onStep?.(
        optimizer.state.step,
        total,
        `loss ${loss.toFixed(3)}  τ ${(1 / logitScale(state).value[0]).toFixed(4)}${gap === undefined ? "" : `  gap ${gap.toFixed(3)}`}`,
      );
    }
    state.epoch++;
    fused?.sync();
    // the held-out rows through the towers: on the graph where training runs one (float32, as it trains)
    const held = async (m: Matrix, side: "a" | "b") => {
      const rows = sliceRows(m, fit, m.rows);
      return (await fused?.embed(rows, side)) ?? embed(state, rows, side);
    };
    const [heldA, heldB] = [await held(a, "a"), await held(b, "b")];
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

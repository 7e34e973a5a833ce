import { check, InputError } from "../core/errors.js";
import { getBackend, type Tensor32 } from "../core/gemm/index.js";
import { instantiateKernelsSync } from "../core/gemm/wasm.js";
import { type Matrix, matrix, selectRows, sliceRows } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { recallSummary, retrievalRanks } from "../eval/retrieval.js";
import { checkedSplit } from "../eval/split.js";
import { gapL2M } from "../gap/metrics.js";
import { ITC_LOG_SCALE_RANGE, momentumUpdate } from "../losses/albef.js";
import { CLIP_LOG_SCALE_RANGE } from "../losses/clip.js";
import { exportModel } from "./autograd/compile.js";
import type { Params } from "./autograd/nn.js";
import { constant, type Tensor } from "./autograd/tensor.js";
import {
  compiledTraining,
  eagerTraining,
  type NamedOptimizerState,
  type TrainableModel,
  type Training,
} from "./autograd/training.js";
import {
  contrastiveLoss,
  initTowers,
  parameterShapes,
  SIDES,
  towerOutput,
  towerParameterNames,
} from "./dual-encoder.js";
import { clampScalar, cosineSchedule } from "./optim.js";

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
  /**
   * Every parameter by name (dual-encoder.ts's parameterShapes), float64 row-major: the towers' layers
   * `a.0.weight` (in×out), `a.0.bias`, …, `b.…`; `logScale` (ln 1/τ); `bias` (SigLIP's).
   */
  params: Record<string, Float64Array>;
  /** The optimiser's steps and moments by parameter name (the trained ones). */
  optimizer: NamedOptimizerState;
  /** ITC only: momentum (EMA) copies of the towers' parameters and queues of their past features (row-major). */
  momentum?: Record<string, Float64Array>;
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
  const inputDims = { a: inputA, b: inputB };
  const towers = initTowers({ widths: config.widths, inputDims }, config.seed);
  return {
    config,
    inputDims,
    epoch: 0,
    params: {
      ...Object.fromEntries(Object.entries(towers).map(([name, { data }]) => [name, data])),
      logScale: Float64Array.of(Math.log(1 / config.temperature)),
      bias: Float64Array.of(config.loss === "siglip" ? -10 : 0),
    },
    optimizer: { step: 0, moments: {} },
  };
}

/** The names of the trained parameters, in a fixed order (checkpoints number the optimiser's moments by it). */
export function trainedParameters(state: TrainState): string[] {
  const { widths, freezeB, fixedTemperature, loss } = state.config;
  const towers = towerParameterNames(widths, freezeB ? ["a"] : SIDES);
  return [...towers, ...(fixedTemperature ? [] : ["logScale"]), ...(loss === "siglip" ? ["bias"] : [])];
}

/** The shapes of the state's parameters, by name. */
const shapesOf = (state: TrainState) =>
  parameterShapes({ widths: state.config.widths, inputDims: state.inputDims });

/** Some of the state's parameters as constants (no gradient), by name. */
function constants(params: Record<string, Float64Array>, state: TrainState): Record<string, Tensor> {
  const shapes = shapesOf(state);
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => [name, constant(shapes[name], value)]),
  );
}

/** Embeds rows through one tower (no gradient, float64), as a float32 matrix. */
export function embed(state: TrainState, m: Matrix, side: "a" | "b"): Matrix {
  const z = towerOutput(
    constant([m.rows, m.cols], m.data),
    constants(state.params, state),
    side,
    state.config.widths.length,
  );
  return matrix(m.rows, z.shape[1], Float32Array.from(z.value ?? []));
}

/** The names of an exported tower's input (feature rows) and output (unit embedding rows). */
export const TOWER_IO = { input: "features", output: "embedding" } as const;

/**
 * Tower `side` as an ONNX inference model (opset 17, float32, the weights built in): input "features"
 * [batch, in], output "embedding" [batch, out], unit rows — for onnxruntime-node or -web, any batch length.
 */
export function exportTower(state: TrainState, side: "a" | "b"): Uint8Array {
  const params = constants(state.params, state);
  return exportModel(
    ([x]) => [towerOutput(x, params, side, state.config.widths.length)],
    [[1, state.inputDims[side]]],
    { dynamicBatch: true, inputNames: [TOWER_IO.input], outputNames: [TOWER_IO.output] },
  );
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
 * The dual encoder as a model to train: the trained parameters learn, the rest (a frozen tower B, a fixed
 * τ, SigLIP's bias elsewhere) are constants. Its batch: A rows, B rows and, for ITC, the momentum
 * features of both and (once filled) the queues.
 */
function dualEncoder(state: TrainState): { model: TrainableModel; fixed: Params } {
  const trained = trainedParameters(state);
  const shapes = shapesOf(state);
  const fixed = constants(
    Object.fromEntries(Object.entries(state.params).filter(([name]) => !trained.includes(name))),
    state,
  );
  const { loss, alpha, widths } = state.config;
  return {
    fixed,
    model: {
      init: Object.fromEntries(
        trained.map((name) => [name, { shape: shapes[name], data: state.params[name] }]),
      ),
      loss(p, [xa, xb, ma, mb, qa, qb]) {
        const all = { ...fixed, ...p };
        const [a, b] = [towerOutput(xa, all, "a", widths.length), towerOutput(xb, all, "b", widths.length)];
        const itc =
          loss === "itc"
            ? { teacher: { momentum: { a: ma, b: mb }, ...(qa && { queues: { a: qa, b: qb } }) }, alpha }
            : undefined;
        return contrastiveLoss(loss, a, b, all, itc);
      },
    },
  };
}

/** Float32 rows as a batch tensor. */
const rowsTensor = (m: Matrix) => ({ data: m.data, dims: [m.rows, m.cols] });

/** Float64 values (parameters, queued features) as a float32 batch tensor of this shape. */
const valuesTensor = (values: Float64Array, dims: readonly number[]) => ({
  data: Float32Array.from(values),
  dims,
});

/**
 * Trains until `state.config.epochs`, one epoch at a time, mutating `state` (so it can be checkpointed after
 * any epoch and resumed bit-for-bit: each epoch's batch order comes from the seed and the epoch number).
 * Each step is one compiled onnxruntime graph where the backend runs graphs (float32, AdamW by the
 * WebAssembly kernel), else the same model in float64 on the autograd's eager path.
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
  const { model, fixed } = dualEncoder(state);
  const options = { weightDecay: config.weightDecay, resume: state.optimizer };
  const training: Training =
    getBackend().runGraph && instantiateKernelsSync()
      ? compiledTraining(model, options)
      : eagerTraining(model, options);
  const depth = config.widths.length;
  const towers = Object.fromEntries(
    SIDES.map((side) => [
      side,
      (p: Params, [x]: readonly Tensor[]) => [towerOutput(x, { ...fixed, ...p }, side, depth)],
    ]),
  );
  const itc = config.loss === "itc" ? itcTeacher(state, training) : undefined;
  const logScale = () => (training.values.logScale ?? state.params.logScale)[0];
  const history: EpochMetrics[] = [];
  const [batchA, batchB] = [matrix(batch, a.cols), matrix(batch, b.cols)]; // refilled every step
  let step = state.optimizer.step;
  // with a too-large learning rate the float32 parameters overflow: a non-finite loss or tower output
  const diverged = (got: string) =>
    new InputError(
      `train step ${step}`,
      `a finite loss and tower outputs (a smaller --lr keeps them so; now ${config.lr})`,
      got,
    );
  while (state.epoch < config.epochs) {
    const order = createRng(config.seed * 7919 + state.epoch).permutation(fit);
    let lossSum = 0;
    let lr = 0;
    for (let s = 0; s < perEpoch; s++) {
      lr = cosineSchedule(step, total, { lr: config.lr, warmup: config.warmup });
      const rows = order.subarray(s * batch, (s + 1) * batch);
      const inputs = [rowsTensor(selectRows(a, rows, batchA)), rowsTensor(selectRows(b, rows, batchB))];
      const loss = await training.step([...inputs, ...((await itc?.before(inputs)) ?? [])], lr);
      step++;
      if (!Number.isFinite(loss)) throw diverged(`a loss of ${loss}`);
      if (!config.fixedTemperature)
        clampScalar(
          training.values.logScale,
          config.loss === "itc" ? ITC_LOG_SCALE_RANGE : CLIP_LOG_SCALE_RANGE,
        );
      itc?.after();
      lossSum += loss;
      const gap = history.at(-1)?.gap;
      hooks.onStep?.(
        step,
        total,
        `loss ${loss.toFixed(3)}  τ ${(1 / Math.exp(logScale())).toFixed(4)}${gap === undefined ? "" : `  gap ${gap.toFixed(3)}`}`,
      );
    }
    state.epoch++;
    for (const [name, value] of Object.entries(training.values))
      state.params[name] = Float64Array.from(value);
    state.optimizer = training.optimizerState();
    // the held-out rows through the towers, as training runs them
    const held = async (m: Matrix, side: "a" | "b") => {
      const [z] = await training.run(towers[side], [rowsTensor(sliceRows(m, fit, m.rows))]);
      if (!z.every(Number.isFinite)) throw diverged(`non-finite held-out ${side.toUpperCase()} embeddings`);
      return matrix(m.rows - fit, config.widths[depth - 1], z);
    };
    const [heldA, heldB] = [await held(a, "a"), await held(b, "b")];
    const ranks = await retrievalRanks(heldA, heldB, { backend: "js" });
    const metrics: EpochMetrics = {
      epoch: state.epoch,
      step,
      loss: lossSum / perEpoch,
      lr,
      temperature: 1 / Math.exp(logScale()),
      gap: gapL2M(heldA, heldB),
      r1: recallSummary(ranks.aToB).r1,
      r1BToA: recallSummary(ranks.bToA).r1,
    };
    history.push(metrics);
    await hooks.onEpoch?.(metrics, state);
  }
  return history;
}

/**
 * ALBEF's momentum encoder around each ITC step: before it, the batch's momentum features (and the queues,
 * once they hold rows) as batch tensors; after it, the momentum towers' EMA update towards the online
 * ones and the batch's features enqueued (FIFO, at most queueSize rows).
 */
function itcTeacher(state: TrainState, training: Training) {
  const { config } = state;
  const depth = config.widths.length;
  const towerNames = towerParameterNames(config.widths);
  const shapes = shapesOf(state);
  state.momentum ??= Object.fromEntries(towerNames.map((name) => [name, state.params[name].slice()]));
  state.queues ??= { a: new Float64Array(0), b: new Float64Array(0) };
  const momentum = state.momentum;
  const features = (_: Params, [xa, xb, ...tensors]: readonly Tensor[]) => {
    const p = Object.fromEntries(towerNames.map((name, k) => [name, tensors[k]]));
    return [towerOutput(xa, p, "a", depth), towerOutput(xb, p, "b", depth)];
  };
  const width = config.widths[depth - 1];
  let latest: Float32Array[] = [];
  return {
    async before(inputs: readonly Tensor32[]): Promise<Tensor32[]> {
      const params = towerNames.map((name) => valuesTensor(momentum[name], shapes[name]));
      latest = await training.run(features, [...inputs, ...params]);
      const queues = state.queues as { a: Float64Array; b: Float64Array };
      const queued = queues.a.length
        ? [queues.a, queues.b].map((q) => valuesTensor(q, [q.length / width, width]))
        : [];
      return [...latest.map((z) => ({ data: z, dims: [z.length / width, width] })), ...queued];
    },
    after() {
      const online = (name: string) => training.values[name] ?? state.params[name];
      momentumUpdate(
        towerNames.map(online),
        towerNames.map((name) => momentum[name]),
        config.momentum,
      );
      const keep = config.queueSize * width;
      const push = (queue: Float64Array, rows: Float32Array) => {
        const joined = new Float64Array(queue.length + rows.length);
        joined.set(queue);
        joined.set(rows, queue.length);
        return joined.slice(Math.max(0, joined.length - keep));
      };
      const queues = state.queues as { a: Float64Array; b: Float64Array };
      state.queues = { a: push(queues.a, latest[0]), b: push(queues.b, latest[1]) };
    },
  };
}

import { z } from "zod";
import { check, InputError, validated } from "../core/errors.js";
import type { NdArray } from "../io/npy.js";
import type { LinearParams } from "./layers.js";
import { variable } from "./tape.js";
import { DEFAULT_TRAIN_CONFIG, parameters, type TrainConfig, type TrainState } from "./trainer.js";

/** A checkpoint: JSON metadata plus named float64 arrays (weights and optimiser buffers). */
export interface Checkpoint {
  meta: {
    kind: "gapkit-train";
    version: 1;
    config: TrainConfig;
    inputDims: { a: number; b: number };
    epoch: number;
    optimizerStep: number;
    /**
     * The SHA-256 (hex) of the weights file saved with this metadata, which is written before it: a
     * checkpoint torn by a crash between the two (new weights, old metadata) is refused.
     */
    weightsSha256?: string;
  };
  arrays: Record<string, NdArray>;
}

const f8 = (rows: number, cols: number, data: Float64Array): NdArray => ({
  shape: [rows, cols],
  dtype: "f8",
  data: Float64Array.from(data),
});

/** The state as a checkpoint (copies: training may go on). */
export function checkpointOf(state: TrainState): Checkpoint {
  const arrays: Record<string, NdArray> = {};
  for (const side of ["a", "b"] as const)
    for (const [i, l] of state.towers[side].entries()) {
      arrays[`${side}.${i}.w`] = f8(l.w.rows, l.w.cols, l.w.value);
      arrays[`${side}.${i}.b`] = f8(1, l.b.cols, l.b.value);
    }
  if (state.momentumTowers && state.queues) {
    for (const side of ["a", "b"] as const) {
      for (const [i, l] of state.momentumTowers[side].entries()) {
        arrays[`momentum.${side}.${i}.w`] = f8(l.w.rows, l.w.cols, l.w.value);
        arrays[`momentum.${side}.${i}.b`] = f8(1, l.b.cols, l.b.value);
      }
      arrays[`queue.${side}`] = f8(1, state.queues[side].length, state.queues[side]);
    }
  }
  arrays.logScale = f8(1, 1, state.logScale.value);
  arrays.bias = f8(1, 1, state.bias.value);
  for (const [i, buffers] of state.optimizer.buffers.entries())
    for (const [j, buffer] of buffers.entries()) arrays[`opt.${i}.${j}`] = f8(1, buffer.length, buffer);
  return {
    meta: {
      kind: "gapkit-train",
      version: 1,
      config: state.config,
      inputDims: state.inputDims,
      epoch: state.epoch,
      optimizerStep: state.optimizer.step,
    },
    arrays,
  };
}

const positiveInt = z.number().int().positive();
const metaSchema = z.object({
  kind: z.literal("gapkit-train"),
  version: z.literal(1),
  config: z
    .object({
      loss: z.enum(["clip", "siglip", "supcon", "itc"]),
      momentum: z.number().min(0).max(1),
      queueSize: z.number().int().min(0).max(1_000_000),
      alpha: z.number().min(0).max(1),
      widths: z.array(positiveInt.max(65_536)).min(1).max(64),
      epochs: z.number().int().min(0),
      batch: positiveInt,
      lr: z.number().positive().finite(),
      warmup: z.number().int().min(0),
      weightDecay: z.number().min(0).finite(),
      temperature: z.number().positive().finite(),
      fixedTemperature: z.boolean(),
      freezeB: z.boolean(),
      heldOut: z.number().min(0).max(1),
      seed: z.number().int(),
    })
    .partial(),
  inputDims: z.object({ a: positiveInt.max(1_000_000), b: positiveInt.max(1_000_000) }),
  epoch: z.number().int().min(0),
  optimizerStep: z.number().int().min(0),
  weightsSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "not a SHA-256 (64 hex digits)")
    .optional(),
});

/**
 * Rebuilds a training state from a checkpoint (parsed state.json and the arrays of weights.npz), checking
 * the metadata's every field, the weights file's SHA-256 (`weightsSha256`, where the metadata records
 * one), every array's presence, dtype, shape and finiteness, and the optimiser buffers against the
 * parameters they belong to.
 */
export function restoreCheckpoint(
  checkpoint: { meta: unknown; arrays: Record<string, NdArray>; weightsSha256?: string },
  where: string,
): TrainState {
  const meta = validated(metaSchema, checkpoint.meta, where, "a gapkit-train checkpoint of version 1");
  if (meta.weightsSha256 !== undefined && checkpoint.weightsSha256 !== undefined)
    check(
      meta.weightsSha256 === checkpoint.weightsSha256,
      where,
      `the weights its metadata records (SHA-256 ${meta.weightsSha256.slice(0, 12)}…)`,
      () =>
        `weights of SHA-256 ${checkpoint.weightsSha256?.slice(0, 12)}…: weights and metadata of different epochs, torn by an interrupted write`,
    );
  const { arrays } = checkpoint;
  const config: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...meta.config };
  const values = (name: string, length: number): Float64Array => {
    const arr = arrays[name];
    if (!arr) throw new InputError(where, `an array named ${name}`, "none");
    check(
      arr.data instanceof Float64Array || arr.data instanceof Float32Array,
      `${where} ${name}`,
      "float64 or float32 values",
      () => arr.dtype,
    );
    check(arr.data.length === length, `${where} ${name}`, `${length} values`, () => String(arr.data.length));
    const out = Float64Array.from(arr.data);
    check(out.every(Number.isFinite), `${where} ${name}`, "finite values", () => "NaN or ±Infinity");
    return out;
  };
  const take = (name: string, rows: number, cols: number) => values(name, rows * cols);
  const tower = (side: "a" | "b", prefix = ""): LinearParams[] =>
    config.widths.map((w, i) => {
      const inputs = i === 0 ? meta.inputDims[side] : config.widths[i - 1];
      const name = `${prefix}${side}.${i}`;
      return {
        w: variable(inputs, w, take(`${name}.w`, inputs, w)),
        b: variable(1, w, take(`${name}.b`, 1, w)),
      };
    });
  const state: TrainState = {
    config,
    inputDims: meta.inputDims,
    epoch: meta.epoch,
    towers: { a: tower("a"), b: tower("b") },
    logScale: variable(1, 1, take("logScale", 1, 1)),
    bias: variable(1, 1, take("bias", 1, 1)),
    optimizer: { step: meta.optimizerStep, buffers: [] },
  };
  if (arrays["queue.a"] && arrays["queue.b"]) {
    state.momentumTowers = { a: tower("a", "momentum."), b: tower("b", "momentum.") };
    // whole feature rows of the towers' output width
    const width = config.widths[config.widths.length - 1];
    const queue = (side: "a" | "b") => {
      const length = arrays[`queue.${side}`].data.length;
      check(
        length % width === 0 && length <= config.queueSize * width,
        `${where} queue.${side}`,
        `whole rows of ${width} values, at most queueSize (${config.queueSize}) of them`,
        () => `${length} values`,
      );
      return values(`queue.${side}`, length);
    };
    state.queues = { a: queue("a"), b: queue("b") };
  }
  // each optimiser buffer belongs to a parameter (in `parameters` order) and has its length
  const params = parameters(state);
  for (const name of Object.keys(arrays).filter((k) => k.startsWith("opt."))) {
    const match = /^opt\.(\d+)\.([01])$/.exec(name);
    const i = Number(match?.[1]);
    check(
      match !== null && i < params.length,
      `${where} ${name}`,
      `opt.I.J with I < ${params.length}, J 0 or 1`,
      () => name,
    );
    state.optimizer.buffers[i] ??= [];
    state.optimizer.buffers[i][Number(match?.[2])] = values(name, params[i].value.length);
  }
  return state;
}

import { z } from "zod";
import { check, InputError, validated } from "../core/errors.js";
import type { NdArray } from "../io/npy.js";
import { size } from "./autograd/nd.js";
import { parameterShapes, SIDES, towerParameterNames } from "./dual-encoder.js";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig, type TrainState, trainedParameters } from "./trainer.js";

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

/** A parameter's array name in weights.npz: the towers' `a.0.weight` / `a.0.bias` as `a.0.w` / `a.0.b`. */
const arrayName = (name: string) => name.replace(/\.weight$/, ".w").replace(/\.bias$/, ".b");

/** Values as a float64 array of two axes: a matrix as it is, anything else one row. */
const f8 = (values: Float64Array, shape: readonly number[] = [1, values.length]): NdArray => ({
  shape: shape.length === 2 ? [...shape] : [1, values.length],
  dtype: "f8",
  data: Float64Array.from(values),
});

/** The state as a checkpoint (copies: training may go on). */
export function checkpointOf(state: TrainState): Checkpoint {
  const shapes = parameterShapes({ widths: state.config.widths, inputDims: state.inputDims });
  const arrays: Record<string, NdArray> = {};
  for (const [name, value] of Object.entries(state.params)) arrays[arrayName(name)] = f8(value, shapes[name]);
  if (state.momentum && state.queues) {
    for (const [name, value] of Object.entries(state.momentum))
      arrays[`momentum.${arrayName(name)}`] = f8(value, shapes[name]);
    for (const side of SIDES) arrays[`queue.${side}`] = f8(state.queues[side]);
  }
  for (const [i, name] of trainedParameters(state).entries())
    for (const [j, buffer] of (state.optimizer.moments[name] ?? []).entries())
      arrays[`opt.${i}.${j}`] = f8(buffer);
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
  const shapes = parameterShapes({ widths: config.widths, inputDims: meta.inputDims });
  const state: TrainState = {
    config,
    inputDims: meta.inputDims,
    epoch: meta.epoch,
    params: Object.fromEntries(
      Object.entries(shapes).map(([name, shape]) => [name, values(arrayName(name), size(shape))]),
    ),
    optimizer: { step: meta.optimizerStep, moments: {} },
  };
  if (arrays["queue.a"] && arrays["queue.b"]) {
    state.momentum = Object.fromEntries(
      towerParameterNames(config.widths).map((name) => [
        name,
        values(`momentum.${arrayName(name)}`, size(shapes[name])),
      ]),
    );
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
  // each optimiser buffer belongs to a trained parameter (in `trainedParameters` order) and has its length
  const trained = trainedParameters(state);
  for (const name of Object.keys(arrays).filter((k) => k.startsWith("opt."))) {
    const match = /^opt\.(\d+)\.([01])$/.exec(name);
    const i = Number(match?.[1]);
    check(
      match !== null && i < trained.length,
      `${where} ${name}`,
      `opt.I.J with I < ${trained.length}, J 0 or 1`,
      () => name,
    );
    state.optimizer.moments[trained[i]] ??= [];
    state.optimizer.moments[trained[i]][Number(match?.[2])] = values(name, size(shapes[trained[i]]));
  }
  return state;
}

import { check, InputError } from "../core/errors.js";
import type { NdArray } from "../io/npy.js";
import type { LinearParams } from "./layers.js";
import { variable } from "./tape.js";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig, type TrainState } from "./trainer.js";

/** A checkpoint: JSON metadata plus named float64 arrays (weights and optimiser buffers). */
export interface Checkpoint {
  meta: {
    kind: "gapkit-train";
    version: 1;
    config: TrainConfig;
    inputDims: { a: number; b: number };
    epoch: number;
    optimizerStep: number;
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

/** Rebuilds a training state from a checkpoint, checking every array's presence and shape. */
export function restoreCheckpoint(checkpoint: Checkpoint, where: string): TrainState {
  const { meta, arrays } = checkpoint;
  if (meta?.kind !== "gapkit-train" || meta.version !== 1)
    throw new InputError(
      where,
      "a gapkit-train checkpoint of version 1",
      JSON.stringify({ kind: meta?.kind, version: meta?.version }),
    );
  const config = { ...DEFAULT_TRAIN_CONFIG, ...meta.config };
  const take = (name: string, rows: number, cols: number): Float64Array => {
    const arr = arrays[name];
    if (!arr) throw new InputError(where, `an array named ${name}`, "none");
    check(arr.data.length === rows * cols, `${where} ${name}`, `${rows}×${cols} values`, () =>
      String(arr.data.length),
    );
    return Float64Array.from(arr.data as Float64Array);
  };
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
    state.queues = {
      a: Float64Array.from(arrays["queue.a"].data as Float64Array),
      b: Float64Array.from(arrays["queue.b"].data as Float64Array),
    };
  }
  const buffers = Object.keys(arrays).filter((k) => k.startsWith("opt."));
  for (const name of buffers) {
    const [, i, j] = name.split(".").map(Number);
    state.optimizer.buffers[i] ??= [];
    state.optimizer.buffers[i][j] = Float64Array.from(arrays[name].data as Float64Array);
  }
  return state;
}

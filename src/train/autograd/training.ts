/**
 * Compiled training: a model's loss and every parameter's gradient as one onnxruntime graph per batch
 * shape (compile.ts), and AdamW as one pass of the WebAssembly kernel over all parameters, which stay
 * float32 in that kernel's memory between steps — fused-clip's design, for any model written with the
 * autograd's ops.
 */
import { check, InputError } from "../../core/errors.js";
import type { Tensor32 } from "../../core/gemm/index.js";
import { float32Arrays, instantiateKernelsSync } from "../../core/gemm/wasm.js";
import { createRng, type Rng } from "../../core/rng.js";
import type { NdArray } from "../../io/npy.js";
import { parseNpz, serializeNpz } from "../../io/npz.js";
import { adam, adamwKernelStep, clipGradNorm, type OptimizerState, sgd } from "../optim.js";
import { type CompiledStep, compile, exportModel } from "./compile.js";
import { grad } from "./grad.js";
import { describe, type Shape, size } from "./nd.js";
import type { ParamInit, Params } from "./nn.js";
import { mul } from "./ops.js";
import { constant, parameter, placeholder, type Tensor } from "./tensor.js";

/** A model to train: its initial parameters by name and its loss on a batch. */
export interface TrainableModel {
  readonly init: Readonly<Record<string, ParamInit>>;
  /** The loss (one element) of parameters `p` on the batch's tensors; `noise` gives its dropout. */
  loss(p: Params, batch: readonly Tensor[], noise?: Noise): Tensor;
}

/** The randomness a loss may draw on while training. */
export interface Noise {
  /** x with each element kept with probability 1 − rate and scaled by 1/(1 − rate), else 0 (inverted dropout). */
  dropout(x: Tensor, rate: number): Tensor;
}

/** One dropout site of a loss: the shape it masks and its rate, in the order the loss calls them. */
export interface DropoutSite {
  readonly shape: Shape;
  readonly rate: number;
}

const checkRate = (rate: number) =>
  check(rate >= 0 && rate < 1, "dropout", "a rate in [0, 1)", () => String(rate));

/** One inverted-dropout mask (0 or 1/(1 − rate), float32) of this shape, drawn from `rng`. */
function drawMask(rng: Rng, shape: Shape, rate: number): Float32Array {
  checkRate(rate);
  return Float32Array.from({ length: size(shape) }, () => (rng.uniform() < rate ? 0 : 1 / (1 - rate)));
}

/** Inverted-dropout masks (0 or 1/(1 − rate)) for these sites, drawn in order from `seed`. */
export function dropoutMasks(sites: readonly DropoutSite[], seed: number): Float32Array[] {
  const rng = createRng(seed);
  return sites.map(({ shape, rate }) => drawMask(rng, shape, rate));
}

/**
 * Noise whose k-th dropout multiplies by masks[k] (dropoutMasks' values, as constants eagerly or as graph
 * inputs compiled); where `sites` is given, each call is recorded there instead and x passes unchanged
 * (to learn a loss's sites).
 */
export function maskNoise(masks: readonly Tensor[], sites?: DropoutSite[]): Noise {
  let k = 0;
  return {
    dropout(x, rate) {
      checkRate(rate);
      if (sites) {
        sites.push({ shape: x.shape, rate });
        return x;
      }
      const mask = masks[k++];
      check(mask !== undefined, "dropout", `at most ${masks.length} dropout calls`, () => "more");
      return mul(x, mask);
    },
  };
}

/** Noise drawing each dropout's mask as it comes, from `seed`: dropoutMasks(sites, seed) for the sites met. */
function drawnNoise(seed: number): Noise {
  const rng = createRng(seed);
  return { dropout: (x, rate) => mul(x, constant(x.shape, drawMask(rng, x.shape, rate))) };
}

/** An optimiser's state by parameter name: the steps taken and each parameter's moments (Adam's m and v; SGD's velocity). */
export interface NamedOptimizerState {
  step: number;
  moments: Record<string, Float64Array[]>;
}

/** Options of compiledTraining and eagerTraining. */
export interface TrainingOptions {
  /**
   * "adamw" (default: optim.ts's betas and ε) or "sgd": heavy-ball momentum, optim.ts's sgd
   * (v = μ·v + g + λ·p, p −= lr·v).
   */
  optimizer?: "adamw" | "sgd";
  /** SGD's momentum μ (default 0). */
  momentum?: number;
  /** AdamW's decoupled weight decay (default 0.01, PyTorch's); SGD's λ (default 0). */
  weightDecay?: number;
  /** Scales the gradients down to this global L2 norm where they exceed it (default: no clipping). */
  clipNorm?: number;
  /** Seed of the dropout masks (default 0): step t draws dropoutMasks(sites, seed·2²⁰ + t). */
  seed?: number;
  /** The optimiser's state to continue from (a checkpoint's): its step count and moments. */
  resume?: NamedOptimizerState;
  /**
   * Parameters kept as they are: the loss may still differentiate with respect to them (an inner update,
   * as MoNA's), but no step changes them, weight decay included.
   */
  frozen?: readonly string[];
}

/** A model in training (see compiledTraining and eagerTraining). */
export interface Training {
  /** One optimiser step at learning rate `lr` on the batch (float32 tensors, as `loss` takes them); the loss. */
  step(batch: readonly Tensor32[], lr: number): Promise<number>;
  /** Runs `outputs(parameters, batch)` on the current parameters (evaluation, prediction). */
  run(
    outputs: (p: Params, batch: readonly Tensor[]) => readonly Tensor[],
    batch: readonly Tensor32[],
  ): Promise<Float32Array[]>;
  /** The current parameters by name, live: what the next step reads (a projection may write them). */
  readonly values: Readonly<Record<string, Float32Array | Float64Array>>;
  /** The current parameters by name (float32 copies). */
  parameters(): Record<string, Float32Array>;
  /** The optimiser's state (float64 copies), to checkpoint and resume from. */
  optimizerState(): NamedOptimizerState;
  /**
   * An ONNX inference model of `outputs(parameters, inputs)` for inputs of these shapes, the current
   * parameters built in (see exportModel).
   */
  export(
    outputs: (p: Params, inputs: readonly Tensor[]) => readonly Tensor[],
    shapes: readonly Shape[],
  ): Uint8Array;
}

/**
 * A model's parameter names (the order of every per-parameter array: the trained ones sorted, then the
 * frozen ones sorted), their shapes, and how many are trained (the first `trained`).
 */
function layout(model: TrainableModel, frozen: readonly string[] = []) {
  const all = Object.keys(model.init).sort();
  for (const name of frozen)
    check(all.includes(name), "training: frozen", `a parameter of the model (${all.join(", ")})`, () => name);
  const names = [
    ...all.filter((name) => !frozen.includes(name)),
    ...all.filter((name) => frozen.includes(name)),
  ];
  const shapes = names.map((name) => model.init[name].shape);
  const named = <T>(flat: readonly T[]) => Object.fromEntries(names.map((name, i) => [name, flat[i]]));
  return { names, shapes, named, trained: all.length - new Set(frozen).size };
}

/** layout's result. */
type Layout = ReturnType<typeof layout>;

/** What every training does with its value arrays: copies, the live record, an export. */
function valueAccess(
  { shapes, named }: Layout,
  values: readonly (Float32Array | Float64Array)[],
): Pick<Training, "values" | "parameters" | "export"> {
  return {
    values: named(values),
    parameters: () => named(values.map((v) => Float32Array.from(v))),
    export: (outputs, inputShapes) => {
      const p = named(values.map((v, i) => constant(shapes[i], v)));
      return exportModel((inputs) => outputs(p, inputs), inputShapes);
    },
  };
}

/** The default weight decay of an optimiser (PyTorch's: 0.01 for AdamW, 0 for SGD). */
const weightDecayOf = (options: TrainingOptions) =>
  options.weightDecay ?? ((options.optimizer ?? "adamw") === "adamw" ? 0.01 : 0);

/**
 * Trains `model` from its initial parameters with AdamW (optim.ts's betas and ε) or SGD: the loss and
 * gradients from one compiled graph on the selected backend (ort), AdamW's update by the `adamw` kernel,
 * all in float32. Deterministic: the same model, batches and rates give the same parameters bit for bit.
 */
export function compiledTraining(model: TrainableModel, options: TrainingOptions = {}): Training {
  const wasm = instantiateKernelsSync();
  if (!wasm) throw new InputError("compiledTraining", "an engine with WebAssembly SIMD", "none");
  const { optimizer = "adamw", momentum = 0, clipNorm, seed = 0, resume } = options;
  const weightDecay = weightDecayOf(options);
  const parameterLayout = layout(model, options.frozen);
  const { names, shapes, named, trained } = parameterLayout;
  const total = shapes.reduce((n, s) => n + size(s), 0);
  // values, gradients and the optimiser's moments of all parameters end to end, at fixed offsets (Adam's
  // m and v; SGD's velocity in m); the trained parameters come first, and the optimiser sees only them
  const [values, grads, m, v] = float32Arrays(wasm.memory, total, 4, "compiledTraining");
  const stepped = shapes.slice(0, trained).reduce((n, s) => n + size(s), 0);
  const views = (all: Float32Array) => {
    let offset = 0;
    return shapes.map((dims) => {
      offset += size(dims);
      return { data: all.subarray(offset - size(dims), offset), dims };
    });
  };
  const [valueViews, gradViews, mViews, vViews] = [values, grads, m, v].map(views);
  const adam = {
    values: values.subarray(0, stepped),
    grads: grads.subarray(0, stepped),
    m: m.subarray(0, stepped),
    v: v.subarray(0, stepped),
  };
  const moments = optimizer === "adamw" ? [mViews, vViews] : [mViews];
  names.forEach((name, i) => {
    valueViews[i].data.set(model.init[name].data);
    for (const [j, buffers] of moments.entries()) buffers[i].data.set(resume?.moments[name]?.[j] ?? []);
  });
  // one compiled step per signature of batch shapes, with the loss's dropout sites for it, learnt by
  // tracing the loss once: their masks are graph inputs after the batch, drawn each step from (seed, step)
  const stepsBySignature = new Map<string, { sites: DropoutSite[]; run: CompiledStep }>();
  const stepFor = (batch: readonly Tensor32[]) => {
    const key = batch.map((x) => describe(x.dims)).join(",");
    let entry = stepsBySignature.get(key);
    if (!entry) {
      const sites: DropoutSite[] = [];
      const traced = [...batch.map((x) => x.dims), ...shapes].map((s, slot) => placeholder(s, slot, false));
      model.loss(named(traced.slice(batch.length)), traced.slice(0, batch.length), maskNoise([], sites));
      const first = batch.length + sites.length; // the parameters' first slot
      const run = compile(
        (inputs) => {
          const flat = inputs.slice(first);
          const loss = model.loss(
            named(flat),
            inputs.slice(0, batch.length),
            maskNoise(inputs.slice(batch.length, first)),
          );
          return [loss, ...grad(loss, flat.slice(0, trained))];
        },
        { requiresGrad: (slot) => slot >= first },
      );
      entry = { sites, run };
      stepsBySignature.set(key, entry);
    }
    return entry;
  };
  const loss: Tensor32 = { data: new Float32Array(1), dims: [] };
  const compiledRuns = new Map<unknown, CompiledStep>();
  let steps = resume?.step ?? 0;
  return {
    ...valueAccess(
      parameterLayout,
      valueViews.map((view) => view.data),
    ),
    async step(batch, lr) {
      const { sites, run } = stepFor(batch);
      const masks = dropoutMasks(sites, seed * 2 ** 20 + steps).map((data, k) => ({
        data,
        dims: sites[k].shape,
      }));
      await run([...batch, ...masks, ...valueViews], [loss, ...gradViews.slice(0, trained)]);
      if (clipNorm !== undefined) clipGradNorm([{ value: adam.grads }], clipNorm);
      steps++;
      if (optimizer === "adamw") adamwKernelStep(wasm.kernels, adam, steps, lr, weightDecay);
      else
        for (let k = 0; k < stepped; k++) {
          m[k] = momentum * m[k] + grads[k] + weightDecay * values[k];
          values[k] -= lr * m[k];
        }
      return loss.data[0];
    },
    run(outputs, batch) {
      let compiled = compiledRuns.get(outputs);
      if (!compiled) {
        compiled = compile(
          (inputs) =>
            outputs(
              named(inputs.slice(inputs.length - names.length)),
              inputs.slice(0, inputs.length - names.length),
            ),
          { requiresGrad: () => false },
        );
        compiledRuns.set(outputs, compiled);
      }
      return compiled([...batch, ...valueViews]);
    },
    optimizerState: () => ({
      step: steps,
      moments: named(names.map((_, i) => moments.map((buffers) => Float64Array.from(buffers[i].data)))),
    }),
  };
}

/**
 * compiledTraining's twin on any backend: the same model, loss and optimiser evaluated eagerly in float64
 * (optim.ts's adam and sgd, the dropout masks of the same seeds) — the reference the compiled step is
 * checked against, and training where onnxruntime does not run.
 */
export function eagerTraining(model: TrainableModel, options: TrainingOptions = {}): Training {
  const { optimizer = "adamw", momentum = 0, clipNorm, seed = 0, resume } = options;
  const weightDecay = weightDecayOf(options);
  const parameterLayout = layout(model, options.frozen);
  const { names, shapes, named, trained } = parameterLayout;
  const values = names.map((name) => Float64Array.from(model.init[name].data));
  const state: OptimizerState = { step: resume?.step ?? 0, buffers: [] };
  names.forEach((name, i) => {
    const saved = resume?.moments[name];
    if (saved) state.buffers[i] = saved.map((buffer) => Float64Array.from(buffer));
  });
  const update =
    optimizer === "adamw"
      ? adam({ weightDecay, decoupledWeightDecay: true }, state)
      : sgd({ momentum, weightDecay }, state);
  const asFloat32 = (tensors: readonly Tensor[]) => tensors.map((t) => Float32Array.from(t.value ?? []));
  const constants = (batch: readonly Tensor32[]) => batch.map((x) => constant(x.dims, x.data));
  return {
    ...valueAccess(parameterLayout, values),
    async step(batch, lr) {
      const params = values.map((value, i) => parameter(shapes[i], value));
      const loss = model.loss(named(params), constants(batch), drawnNoise(seed * 2 ** 20 + state.step));
      const grads = grad(loss, params.slice(0, trained)).map((g) => g.value as Float64Array);
      if (clipNorm !== undefined)
        clipGradNorm(
          grads.map((value) => ({ value })),
          clipNorm,
        );
      update.step(
        values.slice(0, trained).map((value) => ({ value })),
        grads.map((value) => ({ value })),
        lr,
      );
      return (loss.value as Float64Array)[0];
    },
    async run(outputs, batch) {
      return asFloat32(
        outputs(named(values.map((value, i) => constant(shapes[i], value))), constants(batch)),
      );
    },
    optimizerState: () => ({
      step: state.step,
      moments: named(names.map((_, i) => (state.buffers[i] ?? []).map((buffer) => buffer.slice()))),
    }),
  };
}

/** A training's parameters as an .npz archive, one float32 member per name (numpy's np.load reads it). */
export function parametersToNpz(training: Training, model: TrainableModel): Uint8Array {
  const values = training.parameters();
  return serializeNpz(
    Object.fromEntries(
      Object.entries(model.init).map(([name, { shape }]) => [name, { shape, data: values[name] }]),
    ),
  );
}

/**
 * Parameters read back from an .npz (parametersToNpz's, or numpy's) as the initial values of `init`'s
 * parameters: the same names and shapes, any float dtype; an InputError naming what differs.
 */
export function parametersFromNpz(
  bytes: Uint8Array,
  init: Readonly<Record<string, ParamInit>>,
  where: string,
): Record<string, ParamInit> {
  const arrays = parseNpz(bytes, where);
  const expected = Object.keys(init).sort();
  const found = [...arrays.keys()].sort();
  check(expected.join() === found.join(), where, `the parameters ${expected.join(", ")}`, () =>
    found.join(", "),
  );
  return Object.fromEntries(
    expected.map((name) => {
      const { shape, data } = arrays.get(name) as NdArray;
      const want = init[name].shape;
      check(
        shape.length === want.length &&
          shape.every((d, k) => d === want[k]) &&
          (data instanceof Float32Array || data instanceof Float64Array),
        `${where}/${name}`,
        `a float array of shape ${describe(want)}`,
        () => `${describe(shape)} ${data.constructor.name}`,
      );
      return [name, { shape: want, data: Float64Array.from(data as Float32Array | Float64Array) }];
    }),
  );
}

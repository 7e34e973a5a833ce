/**
 * CLIP training of MLP towers at onnxruntime speed: the step's forward pass, symmetric loss and every
 * gradient are one ONNX graph (one onnxruntime call per batch), and AdamW is one pass of a WebAssembly
 * SIMD kernel over all parameters, which stay float32 in that kernel's memory between steps.
 * clipStepOnBackend (fast-clip.ts) runs the same step as a dozen products with float64 JS in between,
 * bound by that glue: ≈ 25 ms per batch of 256 with towers 512→256→128, where PyTorch takes ≈ 5–7 ms on one
 * thread. An AdamW written as graph nodes measured 2 ms a step (fifteen passes over the parameters); the
 * kernel makes one. Checked against the float64 tape and optim.ts's adam (tests/train/trainer.test.ts).
 */
import type { GemmBackend, Tensor32 } from "../core/gemm/index.js";
import { float32Arrays, instantiateKernelsSync } from "../core/gemm/wasm.js";
import { type Matrix, matrix } from "../core/matrix.js";
import {
  type Emit,
  graphBody,
  constant as initializer,
  intAttribute,
  intsAttribute,
  model,
  tensorInfo,
} from "../core/onnx.js";
import { CLIP_LOG_SCALE_RANGE } from "../losses/clip.js";
import { emitClipLoss, emitLogScaleGradient } from "../losses/clip-graph.js";
import { adamwKernelStep, clampScalar } from "./optim.js";
import type { Var } from "./tape.js";
import type { TrainState } from "./trainer.js";

/** What fixes the graph: tower depth, whether tower B and the logit scale learn. */
interface StepShape {
  depth: number;
  freezeB: boolean;
  learnScale: boolean;
}

const SIDES = ["a", "b"] as const;

/** Names of a tower's weight and bias inputs, layer i (from 1). */
const weight = (side: string, i: number) => `w_${side}${i}`;
const bias = (side: string, i: number) => `b_${side}${i}`;

/**
 * Emits tower `s`'s forward nodes from its input x_s: z_s{i} = h_s{i−1}·W_i + b_i, h_s{i} = relu(z_s{i}) below
 * the top, and declares x_s, W_s{i} and b_s{i} as graph inputs. Returns the top's name, z_s{depth}.
 */
function towerForward(op: Emit, inputs: Uint8Array[], s: string, depth: number): string {
  inputs.push(tensorInfo(`x_${s}`, "float32", ["batch", `in_${s}`]));
  for (let i = 1; i <= depth; i++) {
    inputs.push(tensorInfo(weight(s, i), "float32"), tensorInfo(bias(s, i), "float32"));
    op("Gemm", [i === 1 ? `x_${s}` : `h_${s}${i - 1}`, weight(s, i), bias(s, i)], `z_${s}${i}`);
    if (i < depth) op("Relu", [`z_${s}${i}`], `h_${s}${i}`);
  }
  return `z_${s}${depth}`;
}

/** Emits u_s = top / ‖top‖ per row (the norm kept as norm_s, for the backward pass). */
function unitRows(op: Emit, top: string, s: string): string {
  op("ReduceSumSquare", [top], `sq_${s}`, [intsAttribute("axes", [1]), intAttribute("keepdims", 1)]);
  op("Sqrt", [`sq_${s}`], `norm_${s}`);
  op("Div", [top, `norm_${s}`], `u_${s}`);
  return `u_${s}`;
}

/** Tower `side`'s embedding graph (unit rows): inputs x_side, w_side{i}, b_side{i}; output u_side. */
function embedModel(side: string, depth: number): Uint8Array {
  const { body, op } = graphBody([]);
  const inputs: Uint8Array[] = [];
  const u = unitRows(op, towerForward(op, inputs, side, depth), side);
  return model(`gapkit_embed_${side}`, body, inputs, [tensorInfo(u, "float32")]);
}

/**
 * The step's graph. Inputs: x_a, x_b (batch rows), w_s{i} (in×out), b_s{i} (out), t (the log logit scale,
 * [1]), half_inv_batch (1 / 2B, [1]) and ones ([1, B]); outputs: loss, then g_P for every trained parameter P, in
 * `parameters(state)` order.
 */
function clipStepModel({ depth, freezeB, learnScale }: StepShape): Uint8Array {
  // only initializers some node reads: onnxruntime warns on stderr about each unused one
  const { body, op } = graphBody([
    ...(depth > 1 ? [initializer("zero", "float32", [0])] : []),
    initializer("two", "float32", [2]),
    initializer("rows_axis", "int64", [1]),
    ...(learnScale ? [initializer("one_element", "int64", [1])] : []), // the shape [1]
  ]);
  const inputs = [
    tensorInfo("t", "float32", [1]),
    tensorInfo("half_inv_batch", "float32", [1]),
    tensorInfo("ones", "float32", [1, "batch"]),
  ];
  const outputs = [tensorInfo("loss", "float32")];
  for (const s of SIDES) unitRows(op, towerForward(op, inputs, s, depth), s);
  emitClipLoss(op);
  const grads: string[] = [];
  for (const s of freezeB ? (["a"] as const) : SIDES) {
    // through the row normalisation: ∂z = (∂u − u·(u·∂u)) / ‖z‖
    op("Mul", [`u_${s}`, `du_${s}`], `u_du_${s}`);
    op("ReduceSum", [`u_du_${s}`, "rows_axis"], `dot_${s}`, [intAttribute("keepdims", 1)]);
    op("Mul", [`u_${s}`, `dot_${s}`], `radial_${s}`);
    op("Sub", [`du_${s}`, `radial_${s}`], `tangent_${s}`);
    op("Div", [`tangent_${s}`, `norm_${s}`], `dz_${s}${depth}`);
    const towerGrads: string[] = [];
    for (let i = depth; i >= 1; i--) {
      const input = i === 1 ? `x_${s}` : `h_${s}${i - 1}`;
      op("Gemm", [input, `dz_${s}${i}`], `g_${weight(s, i)}`, [intAttribute("transA", 1)]);
      // the bias gradient, a column sum, as a product: onnxruntime's ReduceSum over the first axis is 5× slower
      op("MatMul", ["ones", `dz_${s}${i}`], `g_${bias(s, i)}`);
      towerGrads.unshift(`g_${weight(s, i)}`, `g_${bias(s, i)}`);
      if (i === 1) break;
      op("Gemm", [`dz_${s}${i}`, weight(s, i)], `dh_${s}${i - 1}`, [intAttribute("transB", 1)]);
      // relu′ read off h (h > 0 where z > 0): z then feeds only the Relu, which onnxruntime fuses into the Gemm
      op("Greater", [`h_${s}${i - 1}`, "zero"], `active_${s}${i - 1}`);
      op("Where", [`active_${s}${i - 1}`, `dh_${s}${i - 1}`, "zero"], `dz_${s}${i - 1}`);
    }
    grads.push(...towerGrads);
  }
  if (learnScale) {
    emitLogScaleGradient(op);
    grads.push("g_t");
  }
  outputs.push(...grads.map((g) => tensorInfo(g, "float32")));
  return model("gapkit_clip_step", body, inputs, outputs);
}

const f32 = (values: ArrayLike<number>, dims: readonly number[]): Tensor32 => ({
  data: Float32Array.from(values),
  dims,
});

/** The batch's feeds: both sides' rows and 1/2B. */
function batchFeeds(xa: Matrix, xb: Matrix): Record<string, Tensor32> {
  return {
    x_a: { data: xa.data, dims: [xa.rows, xa.cols] },
    x_b: { data: xb.data, dims: [xb.rows, xb.cols] },
    half_inv_batch: f32([1 / (2 * xa.rows)], [1]),
    ones: { data: new Float32Array(xa.rows).fill(1), dims: [1, xa.rows] },
  };
}

/** Every parameter by its graph input name: t, then w_s{i} and b_s{i} for each tower. */
function namedParameters(state: TrainState): Map<string, Var> {
  const named = new Map<string, Var>([["t", state.logScale]]);
  for (const s of SIDES)
    state.towers[s].forEach((layer, k) => {
      named.set(weight(s, k + 1), layer.w);
      named.set(bias(s, k + 1), layer.b);
    });
  return named;
}

/** The graph dims of parameter `p` fed as `name`: weights in×out, biases one row, t a one-element vector. */
function dimsOf(p: Var, name: string): number[] {
  return name === "t" ? [1] : name.startsWith("w_") ? [p.rows, p.cols] : [1, p.value.length];
}

function stepShape(state: TrainState): StepShape {
  const { freezeB, fixedTemperature } = state.config;
  return { depth: state.towers.a.length, freezeB, learnScale: !fixedTemperature };
}

const keyOf = (shape: StepShape) => `clip_step_${shape.depth}_${shape.freezeB}_${shape.learnScale}`;

/** CLIP training of MLP towers, each step one graph and one AdamW pass (see fusedClipTraining). */
export interface FusedClipTraining {
  /** One AdamW step at learning rate `lr` on the batch; the loss, or undefined where no graph can run. */
  step(xa: Matrix, xb: Matrix, lr: number): Promise<number | undefined>;
  /** Rows through tower `side` to unit rows (float32, as training reads it); undefined where no graph can run. */
  embed(m: Matrix, side: "a" | "b"): Promise<Matrix | undefined>;
  /** Writes the parameters and Adam's moments back into the state (float32 values, exact in float64). */
  sync(): void;
}

/**
 * Trains `params` (`parameters(state)`) with AdamW (decoupled `weightDecay`, optim.ts's betas): gradients
 * from the step graph on `backend`, the update by the `adamw` kernel. Parameters, moments and gradients
 * live, float32, in the kernel's memory, which the graph reads and writes directly; the state sees them at
 * sync(). Undefined where the backend runs no graphs or the engine lacks WebAssembly SIMD.
 */
export function fusedClipTraining(
  state: TrainState,
  params: readonly Var[],
  weightDecay: number,
  backend: GemmBackend,
): FusedClipTraining | undefined {
  const wasm = backend.runGraph && instantiateKernelsSync();
  if (!backend.runGraph || !wasm) return undefined;
  const runGraph = backend.runGraph.bind(backend);
  const shape = stepShape(state);
  const named = namedParameters(state);
  const names = params.map((p) => {
    const name = [...named].find(([, q]) => q === p)?.[0];
    if (name === undefined) throw new Error("fusedClipTraining: a parameter that is not in the towers");
    return name;
  });
  const { optimizer } = state;
  // four arrays of all parameters end to end — values, gradients, Adam's m and v — at fixed offsets: the
  // memory never grows after this, so the views stay valid
  const total = params.reduce((n, p) => n + p.value.length, 0);
  const [values, grads, m, v] = float32Arrays(wasm.memory, total, 4, "fusedClipTraining");
  const views = (all: Float32Array) => {
    let offset = 0;
    return params.map((p, i) => {
      offset += p.value.length;
      return { data: all.subarray(offset - p.value.length, offset), dims: dimsOf(p, names[i]) };
    });
  };
  const [valueViews, gradViews, mViews, vViews] = [values, grads, m, v].map(views);
  params.forEach((p, i) => {
    valueViews[i].data.set(p.value);
    mViews[i].data.set(optimizer.buffers[i]?.[0] ?? []);
    vViews[i].data.set(optimizer.buffers[i]?.[1] ?? []);
  });
  // every parameter's feed: the trained ones read the kernel's memory; what does not train (a frozen tower
  // B, a fixed t) is converted once
  const parameterFeeds: Record<string, Tensor32> = {};
  for (const [name, p] of named)
    parameterFeeds[name] = valueViews[names.indexOf(name)] ?? {
      data: Float32Array.from(p.value),
      dims: dimsOf(p, name),
    };
  const fetches: Record<string, Tensor32> = { loss: f32([0], [1]) };
  names.forEach((name, i) => {
    fetches[`g_${name}`] = gradViews[i];
  });
  return {
    async step(xa, xb, lr) {
      const feeds = { ...batchFeeds(xa, xb), ...parameterFeeds };
      if (!(await runGraph(keyOf(shape), () => clipStepModel(shape), feeds, fetches))) return undefined;
      optimizer.step++;
      adamwKernelStep(wasm.kernels, { values, grads, m, v }, optimizer.step, lr, weightDecay);
      if (names.includes("t")) {
        clampScalar(parameterFeeds.t.data, CLIP_LOG_SCALE_RANGE);
        state.logScale.value[0] = parameterFeeds.t.data[0]; // the scale is read between steps (the status line's τ)
      }
      return fetches.loss.data[0];
    },
    async embed(rows, side) {
      const feeds: Record<string, Tensor32> = {
        [`x_${side}`]: { data: rows.data, dims: [rows.rows, rows.cols] },
      };
      for (let i = 1; i <= shape.depth; i++)
        for (const name of [weight(side, i), bias(side, i)]) feeds[name] = parameterFeeds[name];
      const out = await runGraph(`embed_${side}_${shape.depth}`, () => embedModel(side, shape.depth), feeds);
      const u = out?.[`u_${side}`];
      return u && matrix(u.dims[0], u.dims[1], u.data);
    },
    sync() {
      params.forEach((p, i) => {
        p.value.set(valueViews[i].data);
        const [mi, vi] = optimizer.buffers[i] ?? [];
        // the moments' arrays are reused from epoch to epoch: fresh memory costs here (page faults)
        if (mi?.length === p.value.length && vi?.length === p.value.length) {
          mi.set(mViews[i].data);
          vi.set(vViews[i].data);
        } else optimizer.buffers[i] = [Float64Array.from(mViews[i].data), Float64Array.from(vViews[i].data)];
      });
    },
  };
}

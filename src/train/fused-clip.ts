/**
 * The CLIP training step for MLP towers as one ONNX graph — forward, symmetric loss, every gradient and,
 * for training, the AdamW update — run in a single onnxruntime call per batch. clipStepOnBackend (fast-clip.ts) runs the same step as a
 * dozen products with float64 JS in between, which leaves the step bound by the glue: ≈ 25 ms per batch of
 * 256 with towers 512→256→128, against ≈ 5 ms for PyTorch on one thread. This is the same arithmetic in
 * float32 (softmax and sums included), checked against the float64 tape (tests/train/trainer.test.ts).
 */
import type { GemmBackend, Tensor32 } from "../core/gemm/index.js";
import type { Matrix } from "../core/matrix.js";
import {
  type Field,
  constant as initializer,
  intAttribute,
  intsAttribute,
  model,
  node,
  tensorInfo,
} from "../core/onnx.js";
import { ADAM_DEFAULTS } from "./optim.js";
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
 * The step's graph. Inputs: x_a, x_b (batch rows), w_s{i} (in×out), b_s{i} (out), t (the log logit scale,
 * [1]), half_inv_batch (1 / 2B, [1]); for each trained parameter P, Adam's moments m_P and v_P; and lr,
 * c1, c2 (the bias corrections 1 − βᵏ), shrink (1 − lr·weight decay), each [1]. Outputs: loss, then
 * new_P, new_m_P, new_v_P for every trained parameter.
 */
export function clipStepModel({ depth, freezeB, learnScale }: StepShape): Uint8Array {
  const body: Field[] = [
    initializer("c0", "float32", [0]),
    initializer("two", "float32", [2]),
    initializer("max_scale", "float32", [100]),
    initializer("rows_axis", "int64", [1]),
    initializer("batch_axis", "int64", [0]),
  ];
  const inputs = [tensorInfo("t", "float32", [1]), tensorInfo("half_inv_batch", "float32", [1])];
  const outputs = [tensorInfo("loss", "float32")];
  const op = (name: string, inputs: string[], output: string, attributes: Field[] = []) =>
    body.push(node(name, inputs, output, attributes));
  // forward: z_i = h_{i−1}·W_i + b_i, h_i = relu(z_i) below the top, u = z_L / ‖z_L‖ per row
  for (const s of SIDES) {
    inputs.push(tensorInfo(`x_${s}`, "float32", ["batch", `in_${s}`]));
    for (let i = 1; i <= depth; i++) {
      inputs.push(tensorInfo(weight(s, i), "float32"), tensorInfo(bias(s, i), "float32"));
      op("Gemm", [i === 1 ? `x_${s}` : `h_${s}${i - 1}`, weight(s, i), bias(s, i)], `z_${s}${i}`);
      if (i < depth) op("Relu", [`z_${s}${i}`], `h_${s}${i}`);
    }
    op("ReduceSumSquare", [`z_${s}${depth}`], `sq_${s}`, [
      intsAttribute("axes", [1]),
      intAttribute("keepdims", 1),
    ]);
    op("Sqrt", [`sq_${s}`], `norm_${s}`);
    op("Div", [`z_${s}${depth}`, `norm_${s}`], `u_${s}`);
  }
  // logits L = s·u_a·u_bᵀ with s = min(eᵗ, 100); loss = −(Σ diag log softmax(rows) + Σ diag log softmax(cols)) / 2B
  op("Exp", ["t"], "exp_t");
  op("Min", ["exp_t", "max_scale"], "scale");
  op("Gemm", ["u_a", "u_b"], "sims", [intAttribute("transB", 1)]);
  op("Mul", ["sims", "scale"], "logits");
  op("EyeLike", ["logits"], "eye");
  op("LogSoftmax", ["logits"], "log_rows", [intAttribute("axis", 1)]);
  op("LogSoftmax", ["logits"], "log_cols", [intAttribute("axis", 0)]);
  op("Add", ["log_rows", "log_cols"], "log_both");
  op("Mul", ["log_both", "eye"], "log_diag");
  op("ReduceSum", ["log_diag"], "log_sum", [intAttribute("keepdims", 0)]);
  op("Neg", ["log_sum"], "neg_sum");
  op("Mul", ["neg_sum", "half_inv_batch"], "loss");
  // ∂loss/∂logits = (softmax(rows) + softmax(cols) − 2I) / 2B
  op("Softmax", ["logits"], "p_rows", [intAttribute("axis", 1)]);
  op("Softmax", ["logits"], "p_cols", [intAttribute("axis", 0)]);
  op("Add", ["p_rows", "p_cols"], "p_both");
  op("Mul", ["eye", "two"], "two_eye");
  op("Sub", ["p_both", "two_eye"], "d_excess");
  op("Mul", ["d_excess", "half_inv_batch"], "d_logits");
  op("Mul", ["d_logits", "scale"], "d_sims");
  op("MatMul", ["d_sims", "u_b"], "du_a");
  op("Gemm", ["d_sims", "u_a"], "du_b", [intAttribute("transA", 1)]);
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
      op("ReduceSum", [`dz_${s}${i}`, "batch_axis"], `g_${bias(s, i)}`, [intAttribute("keepdims", 0)]);
      towerGrads.unshift(`g_${weight(s, i)}`, `g_${bias(s, i)}`);
      if (i === 1) break;
      op("Gemm", [`dz_${s}${i}`, weight(s, i)], `dh_${s}${i - 1}`, [intAttribute("transB", 1)]);
      op("Greater", [`z_${s}${i - 1}`, "c0"], `active_${s}${i - 1}`);
      op("Cast", [`active_${s}${i - 1}`], `mask_${s}${i - 1}`, [intAttribute("to", 1)]);
      op("Mul", [`dh_${s}${i - 1}`, `mask_${s}${i - 1}`], `dz_${s}${i - 1}`);
    }
    grads.push(...towerGrads);
  }
  if (learnScale) {
    // ∂loss/∂t = s·Σ ∂logits ⊙ sims where eᵗ < 100 (the clamp has no gradient)
    op("Mul", ["d_logits", "sims"], "d_scale_terms");
    op("ReduceSum", ["d_scale_terms"], "d_scale", [intAttribute("keepdims", 0)]);
    op("Less", ["exp_t", "max_scale"], "unclamped");
    op("Cast", ["unclamped"], "unclamped_f", [intAttribute("to", 1)]);
    op("Mul", ["d_scale", "scale"], "d_t_raw");
    op("Mul", ["d_t_raw", "unclamped_f"], "g_t");
    grads.push("g_t");
  }
  // AdamW as optim.ts: m′ = β1·m + (1 − β1)·g, v′ = β2·v + (1 − β2)·g², P′ = shrink·P − lr·(m′/c1) / (√(v′/c2) + ε)
  const { beta1, beta2, eps } = ADAM_DEFAULTS;
  body.push(
    initializer("beta1", "float32", [beta1]),
    initializer("beta1_rest", "float32", [1 - beta1]),
    initializer("beta2", "float32", [beta2]),
    initializer("beta2_rest", "float32", [1 - beta2]),
    initializer("eps", "float32", [eps]),
  );
  inputs.push(...["lr", "c1", "c2", "shrink"].map((name) => tensorInfo(name, "float32", [1])));
  for (const g of grads) {
    const p = g.slice(2);
    inputs.push(tensorInfo(`m_${p}`, "float32"), tensorInfo(`v_${p}`, "float32"));
    op("Mul", [`m_${p}`, "beta1"], `m_old_${p}`);
    op("Mul", [g, "beta1_rest"], `m_new_${p}`);
    op("Add", [`m_old_${p}`, `m_new_${p}`], `new_m_${p}`);
    op("Mul", [`v_${p}`, "beta2"], `v_old_${p}`);
    op("Mul", [g, g], `g2_${p}`);
    op("Mul", [`g2_${p}`, "beta2_rest"], `v_new_${p}`);
    op("Add", [`v_old_${p}`, `v_new_${p}`], `new_v_${p}`);
    op("Div", [`new_m_${p}`, "c1"], `m_hat_${p}`);
    op("Mul", ["lr", `m_hat_${p}`], `step_${p}`);
    op("Div", [`new_v_${p}`, "c2"], `v_hat_${p}`);
    op("Sqrt", [`v_hat_${p}`], `root_${p}`);
    op("Add", [`root_${p}`, "eps"], `denominator_${p}`);
    op("Div", [`step_${p}`, `denominator_${p}`], `update_${p}`);
    op("Mul", ["shrink", p], `shrunk_${p}`);
    op("Sub", [`shrunk_${p}`, `update_${p}`], `new_${p}`);
    outputs.push(...[`new_${p}`, `new_m_${p}`, `new_v_${p}`].map((name) => tensorInfo(name, "float32")));
  }
  return model("gapkit_clip_adam_step", body, inputs, outputs);
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
  };
}

/** Every tower parameter and t as they stand, as float32 feeds. */
function parameterFeeds(state: TrainState): Record<string, Tensor32> {
  const feeds: Record<string, Tensor32> = { t: f32(state.logScale.value, [1]) };
  for (const s of SIDES)
    state.towers[s].forEach((layer, k) => {
      feeds[weight(s, k + 1)] = f32(layer.w.value, [layer.w.rows, layer.w.cols]);
      feeds[bias(s, k + 1)] = f32(layer.b.value, [layer.b.cols]);
    });
  return feeds;
}

function stepShape(state: TrainState): StepShape {
  const { freezeB, fixedTemperature } = state.config;
  return { depth: state.towers.a.length, freezeB, learnScale: !fixedTemperature };
}

const keyOf = (shape: StepShape) => `clip_adam_step_${shape.depth}_${shape.freezeB}_${shape.learnScale}`;

/** CLIP training of MLP towers whose every step — gradients and AdamW — is one graph (see fusedClipTraining). */
export interface FusedClipTraining {
  /** One AdamW step at learning rate `lr` on the batch; the loss, or undefined where no graph can run. */
  step(xa: Matrix, xb: Matrix, lr: number): Promise<number | undefined>;
  /** Writes the parameters and Adam's moments back into the state (float32 values, exact in float64). */
  sync(): void;
}

/**
 * Trains `params` (`parameters(state)`) with AdamW (decoupled `weightDecay`, optim.ts's betas) entirely in
 * onnxruntime: parameters and moments stay float32 between steps, in two sets of buffers the graph reads
 * from and writes to in turn; the state sees them at sync(). Undefined where the backend runs no graphs.
 */
export function fusedClipTraining(
  state: TrainState,
  params: readonly Var[],
  weightDecay: number,
  backend: GemmBackend,
): FusedClipTraining | undefined {
  if (!backend.runGraph) return undefined;
  const runGraph = backend.runGraph.bind(backend);
  const shape = stepShape(state);
  const names = params.map((p) => nameOf(state, p));
  const { optimizer } = state;
  const moments = (i: number, which: 0 | 1) =>
    optimizer.buffers[i]?.[which] ?? new Float64Array(params[i].value.length);
  // current: what the next step reads; spare: where it writes (then they swap)
  let current = params.map((p, i) => ({
    p: f32(p.value, dimsOf(p, names[i])),
    m: f32(moments(i, 0), dimsOf(p, names[i])),
    v: f32(moments(i, 1), dimsOf(p, names[i])),
  }));
  let spare = current.map(({ p, m, v }) => ({
    p: f32(p.data, p.dims),
    m: f32(m.data, m.dims),
    v: f32(v.data, v.dims),
  }));
  const loss = f32([0], [1]);
  // what does not train (a frozen tower B, a fixed t) is fed as it stands, converted once
  const fixed = parameterFeeds(state);
  for (const name of names) delete fixed[name];
  return {
    async step(xa, xb, lr) {
      const stepNumber = optimizer.step + 1;
      const feeds = { ...batchFeeds(xa, xb), ...fixed };
      const scalars = {
        lr,
        c1: 1 - ADAM_DEFAULTS.beta1 ** stepNumber,
        c2: 1 - ADAM_DEFAULTS.beta2 ** stepNumber,
        shrink: 1 - lr * weightDecay,
      };
      for (const [name, value] of Object.entries(scalars)) feeds[name] = f32([value], [1]);
      const fetches: Record<string, Tensor32> = { loss };
      names.forEach((name, i) => {
        Object.assign(feeds, {
          [name]: current[i].p,
          [`m_${name}`]: current[i].m,
          [`v_${name}`]: current[i].v,
        });
        Object.assign(fetches, {
          [`new_${name}`]: spare[i].p,
          [`new_m_${name}`]: spare[i].m,
          [`new_v_${name}`]: spare[i].v,
        });
      });
      if (!(await runGraph(keyOf(shape), () => clipStepModel(shape), feeds, fetches))) return undefined;
      optimizer.step = stepNumber;
      [current, spare] = [spare, current];
      // the scale is read between steps (the status line's τ)
      if (names.includes("t")) state.logScale.value[0] = current[names.indexOf("t")].p.data[0];
      return loss.data[0];
    },
    sync() {
      params.forEach((p, i) => {
        p.value.set(current[i].p.data);
        optimizer.buffers[i] = [Float64Array.from(current[i].m.data), Float64Array.from(current[i].v.data)];
      });
    },
  };
}

/** The graph dims of parameter `p` fed as `name`: biases are vectors, t a one-element vector. */
function dimsOf(p: Var, name: string): number[] {
  return name.startsWith("w_") ? [p.rows, p.cols] : [p.value.length];
}

/** The graph input that feeds parameter `p`. */
function nameOf(state: TrainState, p: Var): string {
  if (p === state.logScale) return "t";
  for (const s of SIDES)
    for (const [k, layer] of state.towers[s].entries()) {
      if (p === layer.w) return weight(s, k + 1);
      if (p === layer.b) return bias(s, k + 1);
    }
  throw new Error("fusedClipTraining: a parameter that is not in the towers");
}

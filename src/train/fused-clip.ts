/**
 * The CLIP training step for MLP towers as one ONNX graph — forward, symmetric loss and every gradient —
 * run in a single onnxruntime call per batch. clipStepOnBackend (fast-clip.ts) runs the same step as a
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
import { constant, type Var } from "./tape.js";
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
 * [1]) and half_inv_batch (1 / 2B, [1]); outputs: loss, then g_<input> for every trained parameter in
 * `parameters(state)` order.
 */
export function clipStepModel({ depth, freezeB, learnScale }: StepShape): Uint8Array {
  const body: Field[] = [
    initializer("c0", "float32", [0]),
    initializer("c2", "float32", [2]),
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
  op("Mul", ["eye", "c2"], "two_eye");
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
    op("ReduceSum", ["d_scale_terms"], "d_scale", [intAttribute("keepdims", 1)]);
    op("Less", ["exp_t", "max_scale"], "unclamped");
    op("Cast", ["unclamped"], "unclamped_f", [intAttribute("to", 1)]);
    op("Mul", ["d_scale", "scale"], "d_t_raw");
    op("Mul", ["d_t_raw", "unclamped_f"], "g_t");
    grads.push("g_t");
  }
  outputs.push(...grads.map((g) => tensorInfo(g, "float32")));
  return model("gapkit_clip_step", body, inputs, outputs);
}

const f32 = (v: Var, dims: number[]): Tensor32 => ({ data: Float32Array.from(v.value), dims });

/**
 * One CLIP step of `state`'s towers on the batch (xa, xb) as a single graph on `backend`: the loss and the
 * gradients of `params` (`parameters(state)`); undefined where the backend runs no ONNX graphs.
 */
export async function clipStepFused(
  state: TrainState,
  params: readonly Var[],
  xa: Matrix,
  xb: Matrix,
  backend: GemmBackend,
): Promise<{ loss: number; grads: Var[] } | undefined> {
  if (!backend.runGraph) return undefined;
  const shape: StepShape = {
    depth: state.towers.a.length,
    freezeB: state.config.freezeB,
    learnScale: !state.config.fixedTemperature,
  };
  const feeds: Record<string, Tensor32> = {
    x_a: { data: xa.data, dims: [xa.rows, xa.cols] },
    x_b: { data: xb.data, dims: [xb.rows, xb.cols] },
    t: f32(state.logScale, [1]),
    half_inv_batch: { data: Float32Array.of(1 / (2 * xa.rows)), dims: [1] },
  };
  for (const s of SIDES)
    state.towers[s].forEach((layer, k) => {
      feeds[weight(s, k + 1)] = f32(layer.w, [layer.w.rows, layer.w.cols]);
      feeds[bias(s, k + 1)] = f32(layer.b, [layer.b.cols]);
    });
  const key = `clip_step_${shape.depth}_${shape.freezeB}_${shape.learnScale}`;
  const out = await backend.runGraph(key, () => clipStepModel(shape), feeds);
  if (!out) return undefined;
  return {
    loss: out.loss.data[0],
    grads: params.map((p) => constant(p.rows, p.cols, out[`g_${nameOf(state, p)}`].data)),
  };
}

/** The graph input that feeds parameter `p`. */
function nameOf(state: TrainState, p: Var): string {
  if (p === state.logScale) return "t";
  for (const s of SIDES)
    for (const [k, layer] of state.towers[s].entries()) {
      if (p === layer.w) return weight(s, k + 1);
      if (p === layer.b) return bias(s, k + 1);
    }
  throw new Error("clipStepFused: a parameter that is not in the towers");
}

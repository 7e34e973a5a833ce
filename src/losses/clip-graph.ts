/**
 * The CLIP and SigLIP losses with their gradients as ONNX graphs: one onnxruntime run per batch, for the
 * fused training step (train/fused-clip.ts), clipLossOnBackend and siglipLossOnBackend; clipLoss and
 * siglipLoss stay the float64 references.
 */
import {
  type Emit,
  graphBody,
  constant as initializer,
  intAttribute,
  model,
  tensorInfo,
} from "../core/onnx.js";

/**
 * Emits, from rows u_a, u_b (B×d), the log logit scale t ([1]) and half_inv_batch (1 / 2B, [1]), and the
 * initializer "two": loss, du_a = ∂loss/∂u_a, du_b, and sims / d_sims (for emitLogScaleGradient).
 */
export function emitClipLoss(op: Emit): void {
  // logits L = s·u_a·u_bᵀ with s = eᵗ; loss = −(Σ diag log softmax(rows) + Σ diag log softmax(cols)) / 2B
  // (log softmax per element, not log of softmax: the diagonal's probability can underflow float32). The
  // columns are taken as the rows of Lᵀ: onnxruntime's softmax over the last axis is 4× its softmax over the
  // first; and each softmax is the exp of its log softmax, one cheap pass instead of another softmax.
  op("Exp", ["t"], "scale");
  op("Gemm", ["u_a", "u_b"], "sims", [intAttribute("transB", 1)]);
  op("Mul", ["sims", "scale"], "logits");
  op("Transpose", ["logits"], "logits_t");
  op("EyeLike", ["logits"], "eye");
  op("LogSoftmax", ["logits"], "log_rows", [intAttribute("axis", 1)]);
  op("LogSoftmax", ["logits_t"], "log_cols_t", [intAttribute("axis", 1)]);
  op("Add", ["log_rows", "log_cols_t"], "log_both"); // only its diagonal is used, the same in Lᵀ
  op("Mul", ["log_both", "eye"], "log_diag");
  op("ReduceSum", ["log_diag"], "log_sum", [intAttribute("keepdims", 0)]);
  op("Neg", ["half_inv_batch"], "minus_half_inv_batch");
  op("Mul", ["log_sum", "minus_half_inv_batch"], "loss");
  // ∂loss/∂sims = s·∂loss/∂logits = (softmax(rows) + softmax(cols) − 2I)·s / 2B
  op("Exp", ["log_rows"], "p_rows");
  op("Exp", ["log_cols_t"], "p_cols_t");
  op("Transpose", ["p_cols_t"], "p_cols");
  op("Add", ["p_rows", "p_cols"], "p_both");
  op("Mul", ["eye", "two"], "two_eye");
  op("Sub", ["p_both", "two_eye"], "d_excess");
  op("Mul", ["scale", "half_inv_batch"], "d_factor");
  op("Mul", ["d_excess", "d_factor"], "d_sims");
  op("MatMul", ["d_sims", "u_b"], "du_a");
  op("Gemm", ["d_sims", "u_a"], "du_b", [intAttribute("transA", 1)]);
}

/** Emits g_t = ∂loss/∂t ([1]) after emitClipLoss; needs the initializer "one_element" (int64 [1]). */
export function emitLogScaleGradient(op: Emit): void {
  // ∂loss/∂t = s·Σ ∂logits ⊙ sims = Σ ∂sims ⊙ sims
  op("Mul", ["d_sims", "sims"], "d_t_terms");
  op("ReduceSum", ["d_t_terms"], "d_t", [intAttribute("keepdims", 0)]);
  op("Reshape", ["d_t", "one_element"], "g_t");
}

/**
 * The loss graph alone. Inputs: u_a, u_b (B×d rows, used as given), t ([1]), half_inv_batch ([1]); outputs:
 * loss, du_a, du_b, g_t.
 */
export function clipLossModel(): Uint8Array {
  const { body, op } = graphBody([
    initializer("two", "float32", [2]),
    initializer("one_element", "int64", [1]),
  ]);
  emitClipLoss(op);
  emitLogScaleGradient(op);
  return model(
    "gapkit_clip_loss",
    body,
    [
      tensorInfo("u_a", "float32", ["batch", "dim"]),
      tensorInfo("u_b", "float32", ["batch", "dim"]),
      tensorInfo("t", "float32", [1]),
      tensorInfo("half_inv_batch", "float32", [1]),
    ],
    ["loss", "du_a", "du_b", "g_t"].map((name) => tensorInfo(name, "float32")),
  );
}

/**
 * The SigLIP loss graph. Inputs: u_a, u_b (B×d rows, used as given), t ([1], the log scale), bias ([1]),
 * inv_batch (1 / B, [1]); outputs: loss, du_a, du_b, g_t, g_bias.
 */
export function siglipLossModel(): Uint8Array {
  const { body, op } = graphBody([
    initializer("one", "float32", [1]),
    initializer("two", "float32", [2]),
    initializer("one_element", "int64", [1]),
  ]);
  // logits L = s·u_a·u_bᵀ + bias, z = 2I − 1; loss = Σ softplus(−z⊙L) / B (−log σ(x) = softplus(−x))
  op("Exp", ["t"], "scale");
  op("Gemm", ["u_a", "u_b"], "sims", [intAttribute("transB", 1)]);
  op("Mul", ["sims", "scale"], "scaled");
  op("Add", ["scaled", "bias"], "logits");
  op("EyeLike", ["logits"], "eye");
  op("Mul", ["eye", "two"], "two_eye");
  op("Sub", ["two_eye", "one"], "z");
  op("Mul", ["z", "logits"], "z_logits");
  op("Neg", ["z_logits"], "minus_z_logits");
  op("Softplus", ["minus_z_logits"], "terms");
  op("ReduceSum", ["terms"], "total", [intAttribute("keepdims", 0)]);
  op("Mul", ["total", "inv_batch"], "loss");
  // ∂loss/∂L = −z·σ(−z⊙L) / B; ∂loss/∂u_a = s·∂L·u_b, ∂loss/∂u_b = s·∂Lᵀ·u_a
  op("Sigmoid", ["minus_z_logits"], "p_wrong");
  op("Mul", ["z", "p_wrong"], "z_p");
  op("Neg", ["inv_batch"], "minus_inv_batch");
  op("Mul", ["z_p", "minus_inv_batch"], "d_logits");
  op("Mul", ["d_logits", "scale"], "d_sims");
  op("MatMul", ["d_sims", "u_b"], "du_a");
  op("Gemm", ["d_sims", "u_a"], "du_b", [intAttribute("transA", 1)]);
  emitLogScaleGradient(op);
  op("ReduceSum", ["d_logits"], "d_bias", [intAttribute("keepdims", 0)]);
  op("Reshape", ["d_bias", "one_element"], "g_bias");
  return model(
    "gapkit_siglip_loss",
    body,
    [
      tensorInfo("u_a", "float32", ["batch", "dim"]),
      tensorInfo("u_b", "float32", ["batch", "dim"]),
      tensorInfo("t", "float32", [1]),
      tensorInfo("bias", "float32", [1]),
      tensorInfo("inv_batch", "float32", [1]),
    ],
    ["loss", "du_a", "du_b", "g_t", "g_bias"].map((name) => tensorInfo(name, "float32")),
  );
}

import { mulAB, mulABt } from "../core/dense64.js";
import { check } from "../core/errors.js";
import type { Matrix } from "../core/matrix.js";
import { logSumExp, toMatrix } from "./dense.js";

/** Options of the supervised contrastive loss. */
export interface SupConOptions {
  /** Temperature τ (default 0.07, as in SupContrast). */
  temperature?: number;
  /** L_out: the mean over positives outside the log (the paper's better form); L_in: inside. */
  form?: "out" | "in";
}

/**
 * Supervised contrastive loss (Khosla et al. 2020, SupContrast): rows of `z` are the views (several per
 * sample allowed), `labels[i]` their class; for anchor i, positives P(i) = other rows with its label and
 * A(i) = all other rows. L_out = mean_i −1/|P(i)|·Σ_p log softmax_A(i)(z_i·z_p/τ);
 * L_in = mean_i −log(1/|P(i)|·Σ_p softmax_A(i)(z_i·z_p/τ)). Anchors without positives are skipped.
 * z is used as given (normalise it first, as SupContrast does). Returns the loss and ∂/∂z.
 */
export function supconLoss(
  z: Matrix,
  labels: ArrayLike<number>,
  options: SupConOptions = {},
): { value: number; grad: Matrix } {
  const { temperature = 0.07, form = "out" } = options;
  const n = z.rows;
  const d = z.cols;
  check(labels.length === n, "supconLoss labels", `one label per row (${n})`, () => String(labels.length));
  check(
    temperature > 0 && Number.isFinite(temperature),
    "supconLoss temperature",
    "a finite number > 0",
    () => String(temperature),
  );
  const logits = mulABt(z.data, n, z.data, n, d).map((v) => v / temperature);
  const dLogits = new Float64Array(n * n);
  let total = 0;
  let anchors = 0;
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const positives: number[] = [];
    for (let j = 0; j < n; j++) if (j !== i && labels[j] === labels[i]) positives.push(j);
    if (!positives.length) continue;
    anchors++;
    // the anchor's own logit leaves the denominator: −∞ there
    for (let j = 0; j < n; j++) row[j] = j === i ? Number.NEGATIVE_INFINITY : logits[i * n + j];
    const lse = logSumExp(row, 0, n);
    const p = row.map((v) => Math.exp(v - lse));
    if (form === "out") {
      for (const j of positives) total -= (row[j] - lse) / positives.length;
      for (let j = 0; j < n; j++) if (j !== i) dLogits[i * n + j] += p[j];
      for (const j of positives) dLogits[i * n + j] -= 1 / positives.length;
    } else {
      const lsePos = logSumExp(
        Float64Array.from(positives, (j) => row[j]),
        0,
        positives.length,
      );
      total -= lsePos - Math.log(positives.length) - lse;
      for (let j = 0; j < n; j++) if (j !== i) dLogits[i * n + j] += p[j];
      for (const j of positives) dLogits[i * n + j] -= Math.exp(row[j] - lsePos);
    }
  }
  check(anchors > 0, "supconLoss labels", "at least one row whose label appears twice", () => "none");
  // logits = Z·Zᵀ/τ is symmetric in Z: ∂/∂Z = (G + Gᵀ)·Z/τ with G = ∂loss/∂logits
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) g[i * n + j] = (dLogits[i * n + j] + dLogits[j * n + i]) / anchors;
  return { value: total / anchors, grad: toMatrix(mulAB(g, n, z.data, n, d), n, d, 1 / temperature) };
}

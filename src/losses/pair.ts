import { check } from "../core/errors.js";
import { type Matrix, matrix } from "../core/matrix.js";

/** Per-row Euclidean distances ‖x_i − y_i‖ (float64) with the unit difference vectors (zero where x_i = y_i). */
export function pairDistances(x: Matrix, y: Matrix): { distance: Float64Array; direction: Float64Array } {
  const d = x.cols;
  const distance = new Float64Array(x.rows);
  const direction = new Float64Array(x.rows * d);
  for (let i = 0; i < x.rows; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += (x.data[i * d + j] - y.data[i * d + j]) ** 2;
    distance[i] = Math.sqrt(s);
    if (distance[i] > 0)
      for (let j = 0; j < d; j++)
        direction[i * d + j] = (x.data[i * d + j] - y.data[i * d + j]) / distance[i];
  }
  return { distance, direction };
}

/**
 * Contrastive pair loss (Hadsell, Chopra & LeCun 2006): for pairs (x_i, y_i) with label 1 (similar) or 0,
 * L = mean of y·d² + (1 − y)·max(0, margin − d)², d = ‖x_i − y_i‖ — positives pulled together, negatives
 * pushed out to the margin. Returns the loss and ∂/∂x (∂/∂y is its negative).
 */
export function contrastivePairLoss(
  x: Matrix,
  y: Matrix,
  similar: ArrayLike<number>,
  margin = 1,
): { value: number; gradX: Matrix; gradY: Matrix } {
  check(
    x.rows === y.rows && x.cols === y.cols,
    "contrastivePairLoss",
    `Y of X's shape ${x.rows}×${x.cols}`,
    () => `${y.rows}×${y.cols}`,
  );
  check(similar.length === x.rows, "contrastivePairLoss labels", `one 0/1 label per pair (${x.rows})`, () =>
    String(similar.length),
  );
  check(margin > 0 && Number.isFinite(margin), "contrastivePairLoss margin", "a finite number > 0", () =>
    String(margin),
  );
  const n = x.rows;
  const d = x.cols;
  const { distance, direction } = pairDistances(x, y);
  const gradX = matrix(n, d);
  const gradY = matrix(n, d);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const label = similar[i];
    check(label === 0 || label === 1, "contrastivePairLoss labels", "0 or 1", () => `${label} at ${i}`);
    const gap = Math.max(0, margin - distance[i]);
    total += label ? distance[i] ** 2 : gap ** 2;
    // d(d²)/dx = 2(x − y); d(gap²)/dx = −2·gap·(x − y)/d
    const dd = label ? 2 * distance[i] : -2 * gap;
    for (let j = 0; j < d; j++) {
      const g = (dd * direction[i * d + j]) / n;
      gradX.data[i * d + j] = g;
      gradY.data[i * d + j] = -g;
    }
  }
  return { value: total / n, gradX, gradY };
}

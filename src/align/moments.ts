import { gramF64 } from "../core/gemm/index.js";
import { colMeans, type Matrix } from "../core/matrix.js";

/** Mean vector and trace variance T = mean ‖x − μ‖² of the rows, float64. */
export function meanAndTrace(u: Matrix): { mean: Float64Array; trace: number } {
  const mean = colMeans(u);
  let total = 0;
  for (let i = 0; i < u.rows; i++) {
    for (let j = 0; j < u.cols; j++) total += (u.data[i * u.cols + j] - mean[j]) ** 2;
  }
  return { mean, trace: total / u.rows };
}

/** Population covariance (1/N) of the rows as a d×d float64 matrix: XᵀX/N − μμᵀ. */
export async function covarianceF64(u: Matrix, mean: Float64Array): Promise<Float64Array> {
  const d = u.cols;
  const c = await gramF64(u);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) c[i * d + j] = c[i * d + j] / u.rows - mean[i] * mean[j];
  return c;
}

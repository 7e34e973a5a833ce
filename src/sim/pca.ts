import { covariance, symmetricEigen } from "../core/linalg.js";
import { colMeans, type Matrix } from "../core/matrix.js";

/** Coordinates of the rows on the top two principal axes (row-major pairs x, y). */
export async function pca2(m: Matrix): Promise<Float64Array> {
  const d = m.cols;
  const mean = colMeans(m);
  const { vectors } = symmetricEigen(await covariance(m));
  const out = new Float64Array(m.rows * 2);
  for (let i = 0; i < m.rows; i++)
    for (let axis = 0; axis < 2; axis++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (m.data[i * d + j] - mean[j]) * vectors.data[j * d + axis];
      out[i * 2 + axis] = s;
    }
  return out;
}

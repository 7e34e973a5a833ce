import { covariance, symmetricEigen } from "../core/linalg.js";
import { colMeans, type Matrix } from "../core/matrix.js";

/** A frozen 2-D principal-axes frame: the rows' mean and the top two axes (d values each). */
export interface PcaFrame {
  mean: Float64Array;
  axes: [Float64Array, Float64Array];
}

/** The top two principal axes of the rows and their mean. */
export async function pcaFrame(m: Matrix): Promise<PcaFrame> {
  const d = m.cols;
  const { vectors } = symmetricEigen(await covariance(m));
  const axis = (k: number) => Float64Array.from({ length: d }, (_, j) => vectors.data[j * d + k]);
  return { mean: colMeans(m), axes: [axis(0), axis(1)] };
}

/** Coordinates of the rows in a frame (row-major pairs x, y). */
export function projectRows(frame: PcaFrame, m: Matrix): Float64Array {
  const d = m.cols;
  const out = new Float64Array(m.rows * 2);
  for (let i = 0; i < m.rows; i++)
    for (let k = 0; k < 2; k++) {
      const axis = frame.axes[k];
      let s = 0;
      for (let j = 0; j < d; j++) s += (m.data[i * d + j] - frame.mean[j]) * axis[j];
      out[i * 2 + k] = s;
    }
  return out;
}

/** Coordinates of the rows on their own top two principal axes (row-major pairs x, y). */
export async function pca2(m: Matrix): Promise<Float64Array> {
  return projectRows(await pcaFrame(m), m);
}

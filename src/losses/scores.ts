import { mulAB, mulABt, transposed } from "../core/dense64.js";
import { check } from "../core/errors.js";
import type { Matrix } from "../core/matrix.js";

/** Gradients of a score function's inputs (float64, row-major), and of W for the bilinear score. */
export interface ScoreGradients {
  gradX: Float64Array;
  gradY: Float64Array;
  gradW?: Float64Array;
}

/** A similarity s(x_i, y_j) over all row pairs, with its exact backward pass. */
export interface ScoreFunction {
  readonly name: string;
  /** S[i, j] = s(x_i, y_j), m×n, float64. */
  scores(x: Matrix, y: Matrix): Float64Array;
  /** Given ∂L/∂S (m×n), returns ∂L/∂x, ∂L/∂y (and ∂L/∂W). */
  backward(x: Matrix, y: Matrix, dS: Float64Array): ScoreGradients;
}

/** s = x·y. */
export const dotScore: ScoreFunction = {
  name: "dot",
  scores: (x, y) => mulABt(x.data, x.rows, y.data, y.rows, x.cols),
  backward: (x, y, dS) => ({
    gradX: mulAB(dS, x.rows, y.data, y.rows, y.cols),
    gradY: mulAB(transposed(dS, x.rows, y.rows), y.rows, x.data, x.rows, x.cols),
  }),
};

function norms(m: Matrix): Float64Array {
  return Float64Array.from({ length: m.rows }, (_, i) => {
    let s = 0;
    for (let k = i * m.cols; k < (i + 1) * m.cols; k++) s += m.data[k] * m.data[k];
    check(s > 0, "cosineScore", "rows with a non-zero norm", () => `a zero row at ${i}`);
    return Math.sqrt(s);
  });
}

/** s = x·y / (‖x‖‖y‖). */
export const cosineScore: ScoreFunction = {
  name: "cosine",
  scores(x, y) {
    const [nx, ny] = [norms(x), norms(y)];
    return dotScore.scores(x, y).map((v, k) => v / (nx[Math.floor(k / y.rows)] * ny[k % y.rows]));
  },
  backward(x, y, dS) {
    const [m, n, d] = [x.rows, y.rows, x.cols];
    const [nx, ny] = [norms(x), norms(y)];
    const cos = cosineScore.scores(x, y);
    // ∂cos/∂x = y/(‖x‖‖y‖) − cos·x/‖x‖²
    const scaled = dS.map((g, k) => g / (nx[Math.floor(k / n)] * ny[k % n]));
    const { gradX, gradY } = dotScore.backward(x, y, scaled);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += dS[i * n + j] * cos[i * n + j];
      for (let k = 0; k < d; k++) gradX[i * d + k] -= (s * x.data[i * d + k]) / nx[i] ** 2;
    }
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += dS[i * n + j] * cos[i * n + j];
      for (let k = 0; k < d; k++) gradY[j * d + k] -= (s * y.data[j * d + k]) / ny[j] ** 2;
    }
    return { gradX, gradY };
  },
};

function pairwise(name: string, f: (diff: number) => number, df: (diff: number) => number): ScoreFunction {
  return {
    name,
    scores(x, y) {
      const [m, n, d] = [x.rows, y.rows, x.cols];
      const out = new Float64Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += f(x.data[i * d + k] - y.data[j * d + k]);
          out[i * n + j] = -s;
        }
      return out;
    },
    backward(x, y, dS) {
      const [m, n, d] = [x.rows, y.rows, x.cols];
      const gradX = new Float64Array(m * d);
      const gradY = new Float64Array(n * d);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          const g = dS[i * n + j];
          if (g === 0) continue;
          for (let k = 0; k < d; k++) {
            const t = g * df(x.data[i * d + k] - y.data[j * d + k]);
            gradX[i * d + k] -= t;
            gradY[j * d + k] += t;
          }
        }
      return { gradX, gradY };
    },
  };
}

/** s = −‖x − y‖₁ (subgradient 0 where a coordinate difference is exactly 0). */
export const negativeL1Score = pairwise("negative-l1", Math.abs, Math.sign);

/** s = −‖x − y‖². */
export const negativeSquaredL2Score = pairwise(
  "negative-squared-l2",
  (t) => t * t,
  (t) => 2 * t,
);

/** s = xᵀ·W·y with a learnable d_x×d_y matrix W (row-major); backward also returns ∂L/∂W. */
export function bilinearScore(w: Float64Array, dx: number, dy: number): ScoreFunction {
  check(w.length === dx * dy, "bilinearScore", `W of ${dx}×${dy} values`, () => String(w.length));
  return {
    name: "bilinear",
    scores: (x, y) => mulABt(mulAB(x.data, x.rows, w, dx, dy), x.rows, y.data, y.rows, dy),
    backward(x, y, dS) {
      const [m, n] = [x.rows, y.rows];
      const xw = mulAB(x.data, m, w, dx, dy); // m×dy
      const dSy = mulAB(dS, m, y.data, n, dy); // m×dy
      return {
        gradX: mulABt(dSy, m, w, dx, dy), // dS·Y·Wᵀ
        gradY: mulAB(transposed(dS, m, n), n, xw, m, dy), // dSᵀ·X·W
        gradW: mulAB(transposed(x.data, m, dx), dx, dSy, m, dy), // Xᵀ·dS·Y
      };
    },
  };
}

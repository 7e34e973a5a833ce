/**
 * Householder LQ of a wide float64 matrix with its orthogonal factor in compact WY form, for the
 * decompositions that work through the n×n problem of n < d rows (orthogonalProcrustesOfRows). Internal
 * to core/.
 *
 * X (n×d, n ≤ d) = [L 0]·Qᵀ with Q = H₀·H₁⋯H_{n−1} = I − Y·T·Yᵀ (LAPACK dgelqf + dlarft): the reflectors run
 * along X's rows, so every loop here runs along a contiguous row; the d×d work (applying Q) is left to
 * three float64 products (mulF64), which onnxruntime runs at BLAS speed.
 */
import { transposed } from "./dense64.js";
import { mulF64 } from "./gemm/index.js";

/** An LQ factorisation X = [L 0]·Qᵀ: L (n×n, lower triangular) and Q = I − Y·T·Yᵀ. */
export interface WideLq {
  readonly n: number;
  readonly d: number;
  /** L, row-major n×n. */
  readonly l: Float64Array;
  /** Yᵀ, row-major n×d: row i is reflector i (zero left of i, 1 at i). */
  readonly yt: Float64Array;
  /** T, row-major n×n, upper triangular. */
  readonly t: Float64Array;
}

// Rows per panel of the blocked LQ: the reflectors of a panel reach the rows below it as one WY update.
const PANEL_ROWS = 32;

/**
 * The LQ factorisation of the n×d row-major `x` (n ≤ d; not modified), blocked as LAPACK's dgelqf: each
 * panel of PANEL_ROWS rows is reduced row by row, then the rows below take its reflectors at once,
 * rows·(I − V·T·Vᵀ), in three float64 products (mulF64).
 */
export async function wideLq(x: Float64Array, n: number, d: number): Promise<WideLq> {
  const a = Float64Array.from(x);
  const tau = new Float64Array(n);
  for (let start = 0; start < n; start += PANEL_ROWS) {
    const end = Math.min(n, start + PANEL_ROWS);
    for (let i = start; i < end; i++) {
      tau[i] = reflector(a, i * d + i, d - i);
      if (tau[i] === 0) continue;
      // the panel's rows below: r ← r − τ·(r·v)·vᵀ over columns i …
      for (let j = i + 1; j < end; j++) {
        const [row, v] = [j * d + i, i * d + i];
        let dot = a[row];
        for (let k = 1; k < d - i; k++) dot += a[row + k] * a[v + k];
        const s = tau[i] * dot;
        a[row] -= s;
        for (let k = 1; k < d - i; k++) a[row + k] -= s * a[v + k];
      }
    }
    if (end < n) await reflectRowsBelow(a, n, d, start, end, tau);
  }
  const l = new Float64Array(n * n);
  const yt = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) l[i * n + j] = a[i * d + j];
    yt[i * d + i] = 1;
    for (let k = i + 1; k < d; k++) yt[i * d + k] = a[i * d + k];
  }
  return { n, d, l, yt, t: await triangularFactor(yt, tau, n, d) };
}

/**
 * Rows end … n − 1 of `a` (columns start …) times the panel's reflectors H_start⋯H_{end−1} (their v in
 * rows start … end − 1, v[0] = 1 on the diagonal): rows·(I − V·T·Vᵀ) with T from triangularFactor.
 */
async function reflectRowsBelow(
  a: Float64Array,
  n: number,
  d: number,
  start: number,
  end: number,
  tau: Float64Array,
): Promise<void> {
  const [rows, width, panel] = [n - end, d - start, end - start];
  const vt = new Float64Array(panel * width);
  for (let i = 0; i < panel; i++) {
    const at = (start + i) * d + start;
    vt[i * width + i] = 1;
    vt.set(a.subarray(at + i + 1, at + width), i * width + i + 1);
  }
  const below = new Float64Array(rows * width);
  for (let j = 0; j < rows; j++) below.set(a.subarray((end + j) * d + start, (end + j + 1) * d), j * width);
  const t = await triangularFactor(vt, tau.subarray(start, end), panel, width);
  const projected = await mulF64(
    await mulF64(below, vt, rows, width, panel, { transB: true }),
    t,
    rows,
    panel,
    panel,
  );
  const correction = await mulF64(projected, vt, rows, panel, width);
  for (let j = 0; j < rows; j++)
    for (let k = 0; k < width; k++)
      a[(end + j) * d + start + k] = below[j * width + k] - correction[j * width + k];
}

/**
 * Householder reflector (LAPACK dlarfg) for x = a[at … at + len): H·x = β·e₀ with H = I − τ·v·vᵀ; leaves β in
 * a[at] and v[1 …] in a[at + 1 …] (v[0] = 1), returns τ (0 when x is already a multiple of e₀); the
 * eigendecomposition's kernel (assembly/kernels.ts) has its twin.
 */
function reflector(a: Float64Array, at: number, len: number): number {
  const alpha = a[at];
  let scale = 0;
  for (let k = at + 1; k < at + len; k++) scale = Math.max(scale, Math.abs(a[k]));
  if (scale === 0) return 0;
  // the norm of the scaled rest: no overflow or underflow in the squares
  let ss = 0;
  for (let k = at + 1; k < at + len; k++) ss += (a[k] / scale) ** 2;
  const rest = scale * Math.sqrt(ss);
  const big = Math.max(Math.abs(alpha), rest);
  const beta = -Math.sign(alpha || 1) * big * Math.sqrt((alpha / big) ** 2 + (rest / big) ** 2);
  const inverse = 1 / (alpha - beta);
  for (let k = at + 1; k < at + len; k++) a[k] *= inverse;
  a[at] = beta;
  return (beta - alpha) / beta;
}

/** T of Q = H₀⋯H_{n−1} = I − Y·T·Yᵀ (LAPACK dlarft, forward, columnwise), from the Gram Yᵀ·Y. */
async function triangularFactor(
  yt: Float64Array,
  tau: Float64Array,
  n: number,
  d: number,
): Promise<Float64Array> {
  const gram = await mulF64(yt, yt, n, d, n, { transB: true });
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    t[i * n + i] = tau[i];
    // T[0:i, i] = −τ_i · T[0:i, 0:i] · (Yᵀ·y_i)[0:i], T upper triangular
    for (let r = 0; r < i; r++) {
      let s = 0;
      for (let c = r; c < i; c++) s += t[r * n + c] * gram[c * n + i];
      t[r * n + i] = -tau[i] * s;
    }
  }
  return t;
}

/** Qᵀ itself (d×d, row-major): I − (Y·Tᵀ)·Yᵀ, timesQt of the identity without its product by I. */
export async function transposedQ(q: WideLq): Promise<Float64Array> {
  const { n, d, yt, t } = q;
  const ytT = await mulF64(transposed(yt, n, d), t, d, n, n, { transB: true });
  const correction = await mulF64(ytT, yt, d, n, d);
  return correction.map((v, k) => (k % (d + 1) === 0 ? 1 : 0) - v);
}

/** X·Qᵀ for a row-major d×d X: X − ((X·Y)·Tᵀ)·Yᵀ, three float64 products. */
export async function timesQt(x: Float64Array, q: WideLq): Promise<Float64Array> {
  const { n, d, yt, t } = q;
  const xy = await mulF64(x, transposed(yt, n, d), d, d, n);
  const xyTt = await mulF64(xy, t, d, n, n, { transB: true });
  const correction = await mulF64(xyTt, yt, d, n, d);
  return x.map((v, k) => v - correction[k]);
}

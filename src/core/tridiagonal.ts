/**
 * Eigenvalues of dense symmetric matrices in float64: Householder tridiagonalisation (LAPACK dsytd2 with
 * uplo = 'U', values only) followed by the root-free Pal–Walker–Kahan QL iteration (LAPACK dsterf).
 * Internal to linalg.ts and spectrum.ts.
 *
 * The reduction's O(n³) work — each step's rank-2 update A −= v·wᵀ + w·vᵀ fused with the next step's
 * product y = A·v′, so the trailing matrix is streamed once per step — runs in the WebAssembly SIMD
 * kernel `updateAndMultiply` (assembly/kernels.ts): ≈ 3× the best plain-JS version, which V8 neither
 * vectorises nor frees of bounds checks. The lower triangle is packed row after row and reduced from the
 * last row up, so every reflector is a contiguous row prefix and every inner loop runs along a row. The
 * O(n²) rest (reflectors, the QL iteration) stays here. JS drives the kernel once per step: V8 tiers up a
 * WebAssembly function only between calls.
 */
import { InputError } from "./errors.js";
import { callingThreadKernels, ensureMemory, type Kernels, RESERVED_BYTES } from "./gemm/wasm.js";

/** Eigenvalues of the symmetric n×n matrix whose lower triangle is in row-major `m`, ascending. */
export function symmetricEigenvaluesOf(m: Float32Array | Float64Array, n: number): Float64Array {
  const instance = callingThreadKernels();
  if (!instance) throw new InputError("symmetric eigenvalues", "an engine with WebAssembly SIMD", "none");
  // the packed lower triangle, then the four work vectors
  const length = rowStart(n) + 4 * n;
  ensureMemory(instance.memory, RESERVED_BYTES + 8 * length, "symmetric eigenvalues");
  const work = new Float64Array(instance.memory.buffer, RESERVED_BYTES, length);
  for (let i = 0; i < n; i++) work.set(m.subarray(i * n, i * n + i + 1), rowStart(i));
  const d = doubles(n);
  const e = doubles(Math.max(n - 1, 0));
  tridiagonalize(work, n, d, e, instance.kernels);
  tridiagonalEigenvalues(d, e);
  return Float64Array.from(d).sort();
}

/**
 * A plain array of `length` doubles. Filled with a non-integer so that V8 stores it as unboxed doubles
 * from the start: an array that begins as small integers changes representation at its first fraction,
 * and the code optimised for the first kind then deoptimises.
 */
function doubles(length: number): number[] {
  return new Array<number>(length).fill(0.5);
}

/** Offset of row r of a packed lower triangle. */
function rowStart(r: number): number {
  return (r * (r + 1)) / 2;
}

/**
 * Reduces the symmetric matrix in `work` (its packed lower triangle, then 4n entries of scratch space, at
 * RESERVED_BYTES of the kernels' memory) to tridiagonal form by orthogonal similarity: diagonal into d,
 * off-diagonal e[k] between k and k + 1. Values only: the reflectors are not kept.
 */
function tridiagonalize(work: Float64Array, n: number, d: number[], e: number[], kernels: Kernels): void {
  if (n === 0) return;
  // offsets of the work vectors: reflector v (H = I − τ·v·vᵀ, v[m − 1] = 1), the next step's reflector,
  // w with H·B·H = B − v·wᵀ − w·vᵀ, and y = B·v for the current trailing block B
  let v = rowStart(n);
  let next = v + n;
  const w = next + n;
  const y = w + n;
  let m = n - 1; // the current step annihilates row m left of its subdiagonal; B = A[0:m, 0:m]
  let tau = m > 0 ? reflector(work, rowStart(m), m, v, e) : 0;
  d[m] = work[rowStart(m) + m];
  // the first product has no preceding update to fuse with: a zero rank-2 update leaves A as it is
  for (let k = w; k < w + n; k++) work[k] = 0;
  kernels.updateAndMultiply(RESERVED_BYTES, m, w, w, v, y);
  for (; m > 0; m--) {
    partner(work, m, tau, v, y, w);
    // update B's last row first: it holds the next reflector, which the fused pass below needs
    const last = rowStart(m - 1);
    updateRow(work, last, m, v, w);
    d[m - 1] = work[last + m - 1];
    if (m === 1) break;
    tau = reflector(work, last, m - 1, next, e);
    kernels.updateAndMultiply(RESERVED_BYTES, m - 1, v, w, next, y);
    const swap = v;
    v = next;
    next = swap;
  }
}

/** w = τ·y − (τ²/2)(yᵀv)·v (vectors of length m at offsets in a), so that H·B·H = B − v·wᵀ − w·vᵀ. */
function partner(a: Float64Array, m: number, tau: number, v: number, y: number, w: number): void {
  let dot = 0;
  for (let k = 0; k < m; k++) {
    a[w + k] = tau * a[y + k];
    dot += a[w + k] * a[v + k];
  }
  const alpha = -0.5 * tau * dot;
  for (let k = 0; k < m; k++) a[w + k] += alpha * a[v + k];
}

/** Row segment a[row .. row + m) −= v[m − 1]·w + w[m − 1]·v. */
function updateRow(a: Float64Array, row: number, m: number, v: number, w: number): void {
  const vl = a[v + m - 1];
  const wl = a[w + m - 1];
  for (let s = 0; s < m; s++) a[row + s] -= vl * a[w + s] + wl * a[v + s];
}

/**
 * Householder reflector (LAPACK dlarfg) for the row prefix x = a[row .. row + m): writes v = a[at .. at + m)
 * (v[m − 1] = 1) with (I − τ·v·vᵀ)·x = β·e_{m−1}, stores β in e[m − 1] and returns τ (0 when x already is a
 * multiple of e_{m−1}; v is then zero).
 */
function reflector(a: Float64Array, row: number, m: number, at: number, e: number[]): number {
  const alpha = a[row + m - 1];
  const xnorm = norm(a, row, m - 1);
  if (xnorm === 0) {
    e[m - 1] = alpha;
    for (let k = at; k < at + m; k++) a[k] = 0;
    return 0;
  }
  const beta = alpha > 0 ? -hypot(alpha, xnorm) : hypot(alpha, xnorm);
  e[m - 1] = beta;
  const denominator = alpha - beta;
  if (Math.abs(denominator) > 2 ** -1000) {
    const scale = 1 / denominator;
    for (let k = 0; k < m - 1; k++) a[at + k] = a[row + k] * scale;
  } else {
    // the reciprocal of a (nearly) subnormal number overflows: divide instead
    for (let k = 0; k < m - 1; k++) a[at + k] = a[row + k] / denominator;
  }
  a[at + m - 1] = 1;
  return (beta - alpha) / beta;
}

/** Euclidean norm of a[start .. start + count), without harmful overflow or underflow. */
function norm(a: Float64Array, start: number, count: number): number {
  let ss = 0;
  for (let k = start; k < start + count; k++) ss += a[k] * a[k];
  // a sum of squares in [2^-960, ∞) lost nothing that matters to underflow or overflow
  if (ss >= 2 ** -960 && ss < Number.POSITIVE_INFINITY) return Math.sqrt(ss);
  let amax = 0;
  for (let k = start; k < start + count; k++) amax = Math.max(amax, Math.abs(a[k]));
  if (amax === 0) return 0;
  ss = 0;
  for (let k = start; k < start + count; k++) ss += (a[k] / amax) ** 2;
  return amax * Math.sqrt(ss);
}

/** √(x² + y²) without overflow or underflow; far cheaper than Math.hypot in V8. */
function hypot(x: number, y: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const big = Math.max(ax, ay);
  const small = Math.min(ax, ay);
  if (big === 0 || big === Number.POSITIVE_INFINITY) return big;
  const ratio = small / big;
  return big * Math.sqrt(1 + ratio * ratio);
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix (diagonal d, off-diagonal e) into d, in no particular
 * order; e is destroyed. LAPACK dsterf: the root-free Pal–Walker–Kahan QL iteration works on squared
 * off-diagonals, so its inner loop needs no square root (nor Math.hypot, which is slow in V8).
 */
function tridiagonalEigenvalues(d: number[], e: number[]): void {
  const n = d.length;
  const budget = { iterations: 30 * n };
  let start = 0;
  while (start < n) {
    // split off the unreduced block [lo, hi] at the first negligible off-diagonal
    let hi = start;
    while (
      hi < n - 1 &&
      !(Math.abs(e[hi]) <= Math.sqrt(Math.abs(d[hi])) * Math.sqrt(Math.abs(d[hi + 1])) * EPS)
    )
      hi++;
    if (hi < n - 1) e[hi] = 0;
    const lo = start;
    start = hi + 1;
    if (hi === lo) continue;
    // QL deflates at the top, so it wants the larger end there; dsterf runs QR when the bottom is larger,
    // which is QL on the reversed block (one code path is also one path for V8 to optimise)
    if (Math.abs(d[hi]) < Math.abs(d[lo])) {
      reverse(d, lo, hi);
      reverse(e, lo, hi - 1);
    }
    qlBlock(d, e, lo, hi, budget);
  }
}

/** Reverses a[lo..hi] in place. */
function reverse(a: number[], lo: number, hi: number): void {
  for (; lo < hi; lo++, hi--) {
    const t = a[lo];
    a[lo] = a[hi];
    a[hi] = t;
  }
}

const EPS = 2 ** -53;
const EPS2 = EPS * EPS;
const SAFE_MIN = 2 ** -1022;
// a block scaled to a max-norm within [SCALED_MIN, SCALED_MAX] squares its off-diagonals safely (dsterf's
// bounds, except that SCALED_MAX = 2^500 rather than ≈ 2^509 keeps 1/p in qlSweep a normal number)
const SCALED_MAX = 2 ** 500;
const SCALED_MIN = Math.sqrt(SAFE_MIN) / EPS2;

/** dsterf's QL iteration on the unreduced block [lo, hi] of (d, e); spends budget.iterations. */
function qlBlock(d: number[], e: number[], lo: number, hi: number, budget: { iterations: number }): void {
  let anorm = 0;
  for (let i = lo; i <= hi; i++) anorm = Math.max(anorm, Math.abs(d[i]));
  for (let i = lo; i < hi; i++) anorm = Math.max(anorm, Math.abs(e[i]));
  if (anorm === 0) return;
  const scale = anorm > SCALED_MAX ? SCALED_MAX / anorm : anorm < SCALED_MIN ? SCALED_MIN / anorm : 1;
  for (let i = lo; i <= hi; i++) d[i] *= scale;
  for (let i = lo; i < hi; i++) e[i] = (e[i] * scale) ** 2;
  let l = lo;
  while (l <= hi) {
    const m = negligibleBelow(d, e, l, hi);
    if (m === l) {
      l++; // d[l] is an eigenvalue
      continue;
    }
    if (m === l + 1) {
      eigenvalues2x2(d, l, Math.sqrt(e[l]));
      e[l] = 0;
      l += 2;
      continue;
    }
    // LAPACK reports this as info > 0; a wrong spectrum must not pass silently
    if (budget.iterations === 0)
      throw new Error("symmetric eigenvalues: QL found no convergence in 30·n iterations");
    budget.iterations--;
    // shift: the eigenvalue of the leading 2×2 nearer d[l]
    const rte = Math.sqrt(e[l]);
    let sigma = (d[l + 1] - d[l]) / (2 * rte);
    const r = hypot(sigma, 1);
    sigma = d[l] - rte / (sigma + (sigma >= 0 ? r : -r));
    qlSweep(d, e, l, m, sigma);
  }
  for (let i = lo; i <= hi; i++) d[i] /= scale;
}

/** The first m in [l, hi) whose squared off-diagonal e[m] is negligible (then set to 0), else hi. */
function negligibleBelow(d: number[], e: number[], l: number, hi: number): number {
  for (let m = l; m < hi; m++) {
    if (Math.abs(e[m]) <= EPS2 * Math.abs(d[m] * d[m + 1])) {
      e[m] = 0;
      return m;
    }
  }
  return hi;
}

/**
 * One implicit QL sweep with shift sigma over rows l..m of (d, squared e) (the dsterf inner loop). Its own
 * function, called once per iteration, so V8 optimises it after a few calls rather than by on-stack
 * replacement of a long-running loop.
 */
function qlSweep(d: number[], e: number[], l: number, m: number, sigma: number): void {
  let c = 1;
  let s = 0;
  let gamma = d[m] - sigma;
  let p = gamma * gamma;
  for (let i = m - 1; i >= l; i--) {
    const bb = e[i];
    const r = p + bb;
    if (i !== m - 1) e[i + 1] = s * r;
    const oldc = c;
    // γ²/c = γ²·(r/p), and 1/p need not wait for this step's results: one division fewer on the
    // loop-carried chain (≈ 15% faster). Not finite when p is 0 or tiny: dsterf's own formula then.
    const ratio = r * (1 / p);
    c = p / r;
    s = bb / r;
    const oldgam = gamma;
    const alpha = d[i];
    gamma = c * (alpha - sigma) - s * oldgam;
    d[i + 1] = oldgam + (alpha - gamma);
    p = ratio < Number.POSITIVE_INFINITY ? gamma * gamma * ratio : c !== 0 ? (gamma * gamma) / c : oldc * bb;
  }
  e[l] = s * p;
  d[l] = sigma + gamma;
}

/** Eigenvalues of the 2×2 block [[d[i], b], [b, d[i + 1]]] into d[i], d[i + 1] (LAPACK dlae2). */
function eigenvalues2x2(d: number[], i: number, b: number): void {
  const a = d[i];
  const c = d[i + 1];
  const sm = a + c;
  const rt = hypot(a - c, 2 * b);
  if (sm === 0) {
    d[i] = 0.5 * rt;
    d[i + 1] = -0.5 * rt;
    return;
  }
  const rt1 = 0.5 * (sm < 0 ? sm - rt : sm + rt);
  // the other root from the product of the roots, ac − b², avoiding cancellation
  const aIsLarger = Math.abs(a) > Math.abs(c);
  d[i] = rt1;
  d[i + 1] = ((aIsLarger ? a : c) / rt1) * (aIsLarger ? c : a) - (b / rt1) * b;
}

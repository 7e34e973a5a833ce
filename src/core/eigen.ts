/**
 * Symmetric eigendecomposition with eigenvectors in float64: Householder tridiagonalisation with the
 * transform accumulated (EISPACK tred2's job) and the implicit QL iteration (tql2). Internal to linalg.ts.
 *
 * Hand-written rather than ml-matrix's EigenvalueDecomposition, which stores arrays of arrays of JS
 * numbers and runs its inner loops down columns: 1–2 s at n = 512. Here everything is one row-major
 * Float64Array and every inner loop runs along a row: the reduction keeps each reflector in the row it
 * annihilates and updates the trailing block two rows at a time, fused with the next step's product; the
 * transform is accumulated two reflectors and two rows at a time; the eigenvectors are built as the rows
 * of Vᵀ, so that each QL rotation combines two contiguous rows, three rotations per pass.
 * symmetricEigenvaluesOf (tridiagonal.ts) is the faster path when no vectors are needed.
 */
import { pivotSign } from "./dense64.js";
import { check } from "./errors.js";
import { reflector } from "./householder.js";

/** Eigenvalues, descending, and eigenvectors as the rows of `vectors` (n×n, row-major: Vᵀ). */
export interface SymmetricEigenSystem {
  readonly values: Float64Array;
  /** Row j is the unit eigenvector for values[j], its largest-magnitude entry (first on ties) positive. */
  readonly vectors: Float64Array;
}

/** Eigenvalues and eigenvectors of the symmetric n×n matrix whose lower triangle is in row-major `s`. */
export function symmetricEigenSystem(s: Float32Array | Float64Array, n: number): SymmetricEigenSystem {
  const a = new Float64Array(n * n);
  let max = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const x = s[i * n + j];
      a[i * n + j] = x;
      a[j * n + i] = x;
      max = Math.max(max, Math.abs(x));
    }
  check(Number.isFinite(max), "symmetric eigendecomposition", "finite values", () => String(max));
  // scaled by a power of two (exactly) to a max-norm in [1, 2): no step below can then overflow, and what
  // underflows is far below the rounding error of the result
  // (a subnormal max-norm stays below 1: 2^1074 would overflow)
  const scale = max > 0 ? 2 ** -Math.max(Math.floor(Math.log2(max)), -1020) : 1;
  for (let k = 0; k < a.length; k++) a[k] *= scale;
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const tau = new Float64Array(n);
  tridiagonalize(a, n, d, e, tau);
  const vt = transformTransposed(a, n, tau);
  tridiagonalQL(d, e, vt, n);
  const order = Array.from(d, (_, i) => i).sort((x, y) => d[y] - d[x] || x - y);
  const values = Float64Array.from(order, (i) => d[i] / scale);
  const vectors = new Float64Array(n * n);
  order.forEach((from, j) => {
    const row = vt.subarray(from * n, (from + 1) * n);
    const sign = pivotSign(row);
    for (let k = 0; k < n; k++) vectors[j * n + k] = sign * row[k];
  });
  return { values, vectors };
}

/**
 * Reduces the symmetric `a` (full storage) to tridiagonal T = Qᵀ·A·Q, Q = H₀·H₁⋯H_{n−3}: diagonal into d,
 * off-diagonal e[k] between k and k + 1. Step k's reflector H_k = I − τ_k·v·vᵀ (v[0] = 1, acting on indices
 * k + 1 … n − 1) annihilates row k right of its superdiagonal and is left in that row, a[k][k + 1 …].
 */
function tridiagonalize(
  a: Float64Array,
  n: number,
  d: Float64Array,
  e: Float64Array,
  tau: Float64Array,
): void {
  const y = new Float64Array(n);
  const w = new Float64Array(n);
  if (n > 2) {
    tau[0] = reflectorInPlace(a, 1, n - 1, e, 0);
    // the first product has no update before it to fuse with: a zero update (w = 0) leaves A as it is
    for (let i = 0; i < n - 1; i++) y[i] = updateRow(a, (i + 1) * n + 1, n - 1, 0, 0, 1, w, 0, 1);
  }
  for (let k = 0; k < n - 2; k++) {
    // the trailing block B = a[k + 1 …][k + 1 …] (m×m) becomes H·B·H = B − v·wᵀ − w·vᵀ with y = B·v
    const m = n - k - 1;
    const v = k * n + k + 1;
    d[k] = a[k * n + k];
    let dot = 0;
    for (let i = 0; i < m; i++) {
      w[i] = tau[k] * y[i];
      dot += w[i] * a[v + i];
    }
    const alpha = -0.5 * tau[k] * dot;
    for (let i = 0; i < m; i++) w[i] += alpha * a[v + i];
    // B's first row first: it holds the next reflector, whose product with the rest of the updated block
    // is taken in the same pass as the update
    const first = (k + 1) * n + k + 1;
    updateRow(a, first, m, 1, w[0], v, w, 0, first); // (v[0] = 1; the dot it returns is not needed)
    const next = k + 1 < n - 2;
    if (next) tau[k + 1] = reflectorInPlace(a, first + 1, m - 1, e, k + 1);
    // column k + 1 of rows below is never read again: only columns k + 2 … are updated, two rows a pass
    let i = 1;
    for (; i + 1 < m; i += 2) updateRowPair(a, n, (k + 1 + i) * n + k + 2, m - 1, i, v, w, first + 1, y);
    if (i < m)
      y[i - 1] = updateRow(a, (k + 1 + i) * n + k + 2, m - 1, a[v + i], w[i], v + 1, w, 1, first + 1);
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + n - 2];
    e[n - 2] = a[(n - 2) * n + n - 1];
  }
  if (n >= 1) d[n - 1] = a[n * n - 1];
}

/** Row update a[row … row + len) −= vi·w[from …] + wi·a[v …]; returns the new row's dot with a[x …]. */
function updateRow(
  a: Float64Array,
  row: number,
  len: number,
  vi: number,
  wi: number,
  v: number,
  w: Float64Array,
  from: number,
  x: number,
): number {
  let dot = 0;
  for (let j = 0; j < len; j++) {
    const updated = a[row + j] - (vi * w[from + j] + wi * a[v + j]);
    a[row + j] = updated;
    dot += updated * a[x + j];
  }
  return dot;
}

/** updateRow on rows `row`, `row + n` (the trailing block's i, i + 1), their dots into y[i − 1], y[i]. */
function updateRowPair(
  a: Float64Array,
  n: number,
  row: number,
  len: number,
  i: number,
  v: number,
  w: Float64Array,
  x: number,
  y: Float64Array,
): void {
  const [v0, w0, v1, w1] = [a[v + i], w[i], a[v + i + 1], w[i + 1]];
  const next = row + n;
  let dot0 = 0;
  let dot1 = 0;
  for (let j = 0; j < len; j++) {
    const wj = w[1 + j];
    const vj = a[v + 1 + j];
    const xj = a[x + j];
    const u0 = a[row + j] - (v0 * wj + w0 * vj);
    const u1 = a[next + j] - (v1 * wj + w1 * vj);
    a[row + j] = u0;
    a[next + j] = u1;
    dot0 += u0 * xj;
    dot1 += u1 * xj;
  }
  y[i - 1] = dot0;
  y[i] = dot1;
}

/**
 * householder.ts's reflector with β stored in e[k] and v[0] = 1 left in its place, as the reduction and
 * transformTransposed read it; returns τ.
 */
function reflectorInPlace(a: Float64Array, at: number, len: number, e: Float64Array, k: number): number {
  const tau = reflector(a, at, len);
  e[k] = a[at];
  a[at] = 1;
  return tau;
}

/**
 * Qᵀ = H_{n−3}⋯H₁·H₀ from the reflectors left in `a` by tridiagonalize, built as X ← X·H_p·H_{p−1} for p
 * from the last down, so that each row of X is updated on its own and once per pair of reflectors.
 */
function transformTransposed(a: Float64Array, n: number, tau: Float64Array): Float64Array {
  const x = new Float64Array(n * n);
  for (let i = 0; i < n; i++) x[i * n + i] = 1;
  // an odd count of reflectors starts with a pair whose first is H_{n−2} = I (τ = 0)
  for (let p = n % 2 === 1 ? n - 2 : n - 3; p >= 1; p -= 2) {
    // v = H_p's reflector (columns p + 1 …), u = H_{p−1}'s (columns p …, u[p] = 1)
    const v = p * n + 1;
    const u = (p - 1) * n + 1;
    const [tv, tu] = [tau[p], tau[p - 1]];
    let uv = 0;
    for (let j = p; j < n - 1; j++) uv += a[u + j] * a[v + j];
    // rows above p are still unit rows with zeros where the pair acts, which leaves them as they are: the
    // rows go two at a time (sharing the loads of v and u) from p, or from p − 1 when n − p is odd
    for (let i = p - ((n - p) % 2); i < n; i += 2) {
      const row = i * n;
      const next = row + n;
      let dv0 = 0;
      let du0 = 0;
      let dv1 = 0;
      let du1 = 0;
      for (let j = p + 1; j < n; j++) {
        const vj = a[v + j - 1];
        const uj = a[u + j - 1];
        const x0 = x[row + j];
        const x1 = x[next + j];
        dv0 += x0 * vj;
        du0 += x0 * uj;
        dv1 += x1 * vj;
        du1 += x1 * uj;
      }
      const t0 = tv * dv0;
      const r0 = tu * (du0 + x[row + p] - t0 * uv);
      const t1 = tv * dv1;
      const r1 = tu * (du1 + x[next + p] - t1 * uv);
      x[row + p] -= r0;
      x[next + p] -= r1;
      for (let j = p + 1; j < n; j++) {
        const vj = a[v + j - 1];
        const uj = a[u + j - 1];
        x[row + j] -= t0 * vj + r0 * uj;
        x[next + j] -= t1 * vj + r1 * uj;
      }
    }
  }
  return x;
}

/**
 * Eigenvalues of the symmetric tridiagonal (d, e) into d, unordered, by the implicit QL iteration with
 * Wilkinson shifts (EISPACK tql2); each sweep's rotations (rotation i combining rows i and i + 1 of
 * Vᵀ = `vt`) are applied after it, so that vt's rows end as the eigenvectors of the original matrix. e is
 * destroyed.
 */
function tridiagonalQL(d: Float64Array, e: Float64Array, vt: Float64Array, n: number): void {
  if (n > 0) e[n - 1] = 0;
  let budget = 30 * n;
  // each sweep's rotations, applied to vt after it in fused passes
  const cs = new Float64Array(n);
  const sn = new Float64Array(n);
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > Number.EPSILON * tst1) m++;
    if (m > l)
      do {
        if (budget-- === 0)
          throw new Error("symmetric eigendecomposition: QL found no convergence in 30·n iterations");
        // shift: the eigenvalue of the leading 2×2 nearer d[l]
        const g = d[l];
        const p = (d[l + 1] - g) / (2 * e[l]);
        // √(p² + 1) without overflow: p is huge when e[l] is tiny
        const r = Math.abs(p) <= 1 ? Math.sqrt(1 + p * p) : Math.abs(p) * Math.sqrt(1 + 1 / (p * p));
        const pr = p < 0 ? p - r : p + r;
        d[l] = e[l] / pr;
        d[l + 1] = e[l] * pr;
        const h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        qlSweep(d, e, l, m, cs, sn);
        rotateRows(vt, n, l, m, cs, sn);
      } while (Math.abs(e[l]) > Number.EPSILON * tst1);
    d[l] += f;
    e[l] = 0;
  }
}

/** One implicit QL sweep over rows l … m (tql2's inner loop); rotation i (of i, i + 1) into cs[i], sn[i]. */
function qlSweep(
  d: Float64Array,
  e: Float64Array,
  l: number,
  m: number,
  cs: Float64Array,
  sn: Float64Array,
): void {
  const dl1 = d[l + 1];
  let p = d[m];
  let c = 1;
  let c2 = 1;
  let c3 = 1;
  const el1 = e[l + 1];
  let s = 0;
  let s2 = 0;
  for (let i = m - 1; i >= l; i--) {
    c3 = c2;
    c2 = c;
    s2 = s;
    const g = c * e[i];
    const h = c * p;
    let r = Math.sqrt(p * p + e[i] * e[i]);
    // both below 2^-500: the squares underflow, so take the careful (slow) way
    if (r < 2 ** -500) r = Math.hypot(p, e[i]);
    e[i + 1] = s * r;
    s = e[i] / r;
    c = p / r;
    p = c * d[i] - s * g;
    d[i + 1] = h + s * (c * g + s * d[i]);
    cs[i] = c;
    sn[i] = s;
  }
  p = (-s * s2 * c3 * el1 * e[l]) / dl1;
  e[l] = s * p;
  d[l] = c * p;
}

/**
 * Applies the sweep's rotations, i from m − 1 down to l, each taking rows x = vt[i], y = vt[i + 1] to
 * c·x − s·y and s·x + c·y. Three at a time: rows i − 2 … i + 1 are read and written once per three,
 * with what a rotation leaves in row i passed on to the next in a register.
 */
function rotateRows(
  vt: Float64Array,
  n: number,
  l: number,
  m: number,
  cs: Float64Array,
  sn: Float64Array,
): void {
  let i = m - 1;
  for (; i >= l + 2; i -= 3) {
    const [c2, s2, c1, s1, c0, s0] = [cs[i], sn[i], cs[i - 1], sn[i - 1], cs[i - 2], sn[i - 2]];
    const r0 = (i - 2) * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    for (let k = 0; k < n; k++) {
      const x2 = vt[r2 + k];
      const x3 = vt[r3 + k];
      const y2 = c2 * x2 - s2 * x3;
      vt[r3 + k] = s2 * x2 + c2 * x3;
      const x1 = vt[r1 + k];
      const y1 = c1 * x1 - s1 * y2;
      vt[r2 + k] = s1 * x1 + c1 * y2;
      const x0 = vt[r0 + k];
      vt[r1 + k] = s0 * x0 + c0 * y1;
      vt[r0 + k] = c0 * x0 - s0 * y1;
    }
  }
  // the one or two left
  for (; i >= l; i--) {
    const [c, s] = [cs[i], sn[i]];
    const r0 = i * n;
    const r1 = r0 + n;
    for (let k = 0; k < n; k++) {
      const x = vt[r0 + k];
      const y = vt[r1 + k];
      vt[r0 + k] = c * x - s * y;
      vt[r1 + k] = s * x + c * y;
    }
  }
}

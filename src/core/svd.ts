import { check } from "./errors.js";

/** A thin SVD A = U·diag(values)·Vᵀ of an m×n matrix, k = min(m, n), vectors as rows (row-major float64). */
export interface Svd64 {
  /** Singular values, descending. */
  readonly values: Float64Array;
  /** Uᵀ, k×m: row j is the left singular vector for values[j]. */
  readonly ut: Float64Array;
  /** Vᵀ, k×n: row j is the right singular vector for values[j]. */
  readonly vt: Float64Array;
}

// LINPACK's floor in the negligibility tests
const TINY = 2 ** -966;

/**
 * Thin SVD of a row-major float64 m×n matrix (not modified): Golub–Kahan–Reinsch as in LINPACK/JAMA.
 * Hand-written rather than ml-matrix's port of the same algorithm because that one works on arrays of arrays
 * of numbers and walks columns (≈ 4 s at 512×512); here everything is flat float64 and each inner loop runs
 * along a row: U and V are kept transposed, so every Givens rotation mixes two contiguous rows.
 */
export function svd64(a: Float64Array, m: number, n: number): Svd64 {
  check(a.length === m * n, "svd", `${m * n} values for ${m}×${n}`, () => String(a.length));
  // the QR iteration would never converge on NaN
  const bad = a.findIndex((x) => !Number.isFinite(x));
  check(bad < 0, "svd", "finite values", () => `${a[bad]} at index ${bad}`);
  // the bidiagonalisation multiplies entries pairwise: scaled by a power of two (exactly) to a largest
  // magnitude near 1, their products neither overflow nor lose anything that matters to underflow
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i]));
  const scale = largest > 0 ? 2 ** Math.floor(Math.log2(largest)) : 1;
  let dec: Svd64;
  if (m >= n)
    dec = tallSvd(
      a.map((x) => x / scale),
      m,
      n,
    );
  else {
    // A = U·S·Vᵀ ⇔ Aᵀ = V·S·Uᵀ: decompose the tall transpose and swap the sides
    const at = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) at[j * m + i] = a[i * n + j] / scale;
    const swapped = tallSvd(at, n, m);
    dec = { values: swapped.values, ut: swapped.vt, vt: swapped.ut };
  }
  for (let j = 0; j < dec.values.length; j++) dec.values[j] *= scale;
  return dec;
}

/** Euclidean norm of x[from], x[from + stride], … (count entries), scaled against overflow. */
function norm(x: Float64Array, from: number, count: number, stride: number): number {
  let scale = 0;
  for (let i = 0, at = from; i < count; i++, at += stride) scale = Math.max(scale, Math.abs(x[at]));
  if (scale === 0) return 0;
  let sum = 0;
  for (let i = 0, at = from; i < count; i++, at += stride) {
    const v = x[at] / scale;
    sum += v * v;
  }
  return scale * Math.sqrt(sum);
}

/** Rows i and j of x (each `len` long) ← (c·row_i + s·row_j, c·row_j − s·row_i). */
function rotateRows(x: Float64Array, i: number, j: number, len: number, c: number, s: number): void {
  const oi = i * len;
  const oj = j * len;
  for (let k = 0; k < len; k++) {
    const xi = x[oi + k];
    const xj = x[oj + k];
    x[oi + k] = c * xi + s * xj;
    x[oj + k] = c * xj - s * xi;
  }
}

/**
 * For j = lo..hi−1 in turn, rows j and j+1 of x (each `len` long) ← (c_j·row_j + s_j·row_{j+1},
 * c_j·row_{j+1} − s_j·row_j): a QR sweep's rotations, applied eight columns at a time with the running
 * row in locals, so each entry is loaded and stored once per rotation rather than twice.
 */
function rotateSequence(
  x: Float64Array,
  lo: number,
  hi: number,
  len: number,
  c: Float64Array,
  s: Float64Array,
): void {
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    let at = lo * len + i;
    let v0 = x[at];
    let v1 = x[at + 1];
    let v2 = x[at + 2];
    let v3 = x[at + 3];
    let v4 = x[at + 4];
    let v5 = x[at + 5];
    let v6 = x[at + 6];
    let v7 = x[at + 7];
    for (let j = lo; j < hi; j++) {
      const b = at + len;
      const cj = c[j];
      const sj = s[j];
      let y = x[b];
      x[at] = cj * v0 + sj * y;
      v0 = cj * y - sj * v0;
      y = x[b + 1];
      x[at + 1] = cj * v1 + sj * y;
      v1 = cj * y - sj * v1;
      y = x[b + 2];
      x[at + 2] = cj * v2 + sj * y;
      v2 = cj * y - sj * v2;
      y = x[b + 3];
      x[at + 3] = cj * v3 + sj * y;
      v3 = cj * y - sj * v3;
      y = x[b + 4];
      x[at + 4] = cj * v4 + sj * y;
      v4 = cj * y - sj * v4;
      y = x[b + 5];
      x[at + 5] = cj * v5 + sj * y;
      v5 = cj * y - sj * v5;
      y = x[b + 6];
      x[at + 6] = cj * v6 + sj * y;
      v6 = cj * y - sj * v6;
      y = x[b + 7];
      x[at + 7] = cj * v7 + sj * y;
      v7 = cj * y - sj * v7;
      at = b;
    }
    x[at] = v0;
    x[at + 1] = v1;
    x[at + 2] = v2;
    x[at + 3] = v3;
    x[at + 4] = v4;
    x[at + 5] = v5;
    x[at + 6] = v6;
    x[at + 7] = v7;
  }
  for (; i < len; i++) {
    let at = lo * len + i;
    let v = x[at];
    for (let j = lo; j < hi; j++) {
      const y = x[at + len];
      x[at] = c[j] * v + s[j] * y;
      v = c[j] * y - s[j] * v;
      at += len;
    }
    x[at] = v;
  }
}

/** x[xo..xo+len) · y[yo..yo+len), in four partial sums (independent adds pipeline). */
function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    s0 += x[xo + i] * y[yo + i];
    s1 += x[xo + i + 1] * y[yo + i + 1];
    s2 += x[xo + i + 2] * y[yo + i + 2];
    s3 += x[xo + i + 3] * y[yo + i + 3];
  }
  for (; i < len; i++) s0 += x[xo + i] * y[yo + i];
  return s0 + s1 + (s2 + s3);
}

/** y[yo..yo+len) += alpha · x[xo..xo+len). */
function axpy(alpha: number, x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): void {
  for (let i = 0; i < len; i++) y[yo + i] += alpha * x[xo + i];
}

/** SVD of a (m×n, m ≥ n, overwritten): bidiagonalise, accumulate U and V, then QR on the bidiagonal. */
function tallSvd(a: Float64Array, m: number, n: number): Svd64 {
  const s = new Float64Array(n);
  const e = new Float64Array(n);
  // row k of ut holds the k-th left Householder vector until U is generated; likewise vt
  const ut = new Float64Array(n * m);
  const vt = new Float64Array(n * n);
  // m ≥ n: every step reflects a column but the last where m = n, and a row but the last two
  const nct = Math.min(m - 1, n);
  const nrt = Math.max(0, n - 2);
  bidiagonalise(a, m, n, nct, nrt, s, e, ut, vt);

  // U = H_0·H_1·…·H_{n−1} applied to the first n unit vectors, built backwards (rows j > k are done)
  for (let k = nct; k < n; k++) ut[k * m + k] = 1;
  for (let k = nct - 1; k >= 0; k--) {
    const hk = k * m;
    if (s[k] !== 0) {
      reflectRowsBelow(ut, m, n, k, k);
      for (let i = hk + k; i < hk + m; i++) ut[i] = -ut[i];
      ut[hk + k] += 1;
    } else {
      ut.fill(0, hk, hk + m);
      ut[hk + k] = 1;
    }
  }
  for (let k = n - 1; k >= 0; k--) {
    if (k < nrt && e[k] !== 0) reflectRowsBelow(vt, n, n, k, k + 1);
    vt.fill(0, k * n, (k + 1) * n);
    vt[k * n + k] = 1;
  }

  diagonalise(s, e, ut, m, vt, n);
  return sorted(s, ut, m, vt, n);
}

/**
 * Householder reduction of a (m×n, m ≥ n) to upper bidiagonal form, reflecting columns 0..nct−1 and rows
 * 0..nrt−1: diagonal into s, superdiagonal into e, the left reflectors into rows of ut and the right ones
 * into rows of vt (from the entry after the diagonal).
 */
function bidiagonalise(
  a: Float64Array,
  m: number,
  n: number,
  nct: number,
  nrt: number,
  s: Float64Array,
  e: Float64Array,
  ut: Float64Array,
  vt: Float64Array,
): void {
  // raw[j] = Σ_{i≥k} a_ik·a_ij (j > k): column k against the columns right of it, before its reflection
  const raw = new Float64Array(n);
  const coef = new Float64Array(n);
  for (let i = 0; i < m; i++) axpy(a[i * n], a, i * n + 1, raw, 1, n - 1);
  for (let k = 0; k < nct; k++) {
    const kk = k * n + k;
    const tail = n - k - 1;
    // reflect column k onto e_k: v = x/s_k + e_k, stored in place (rows k..)
    let sk = norm(a, kk, m - k, n);
    if (sk !== 0) {
      if (a[kk] < 0) sk = -sk;
      for (let i = kk; i < m * n; i += n) a[i] /= sk;
      a[kk] += 1;
      // column j −= v·(vᵀa_j)/v_k, where vᵀa_j = raw_j/s_k + a_kj; row k now, the rows below in the pass
      const inv = -1 / a[kk];
      for (let j = k + 1; j < n; j++) {
        coef[j] = (raw[j] / sk + a[kk - k + j]) * inv;
        a[kk - k + j] += a[kk] * coef[j];
      }
    }
    s[k] = -sk;
    for (let i = k; i < m; i++) ut[k * m + i] = a[i * n + k];
    if (tail === 0) break;
    e.set(a.subarray(kk + 1, kk + 1 + tail), k + 1);
    let rowScale = 0;
    if (k < nrt) {
      // reflect row k (columns k+1..) onto e_{k+1}, the vector kept in e
      let ek = norm(e, k + 1, tail, 1);
      if (ek !== 0) {
        if (e[k + 1] < 0) ek = -ek;
        for (let j = k + 1; j < n; j++) e[j] /= ek;
        e[k + 1] += 1;
        rowScale = -1 / e[k + 1];
      }
      e[k] = -ek;
      vt.set(e.subarray(k + 1, n), kk + 1);
    }
    // One pass over the rows below k, each row once through the cache: the column reflection (a zero
    // column, s_k = 0, has v = 0 and so adds nothing), its dot product with the row reflector, the row
    // reflection, and the raw products of step k + 1 (rowScale = 0 where there is no row reflection).
    raw.fill(0, k + 2);
    const ek1 = e[k + 1];
    for (let i = k + 1; i < m; i++) {
      const at = i * n + k + 1;
      const v = a[at - 1];
      let d0 = 0;
      let d1 = 0;
      let j = 0;
      for (; j + 2 <= tail; j += 2) {
        const x0 = a[at + j] + v * coef[k + 1 + j];
        const x1 = a[at + j + 1] + v * coef[k + 2 + j];
        a[at + j] = x0;
        a[at + j + 1] = x1;
        d0 += e[k + 1 + j] * x0;
        d1 += e[k + 2 + j] * x1;
      }
      if (j < tail) {
        const x0 = a[at + j] + v * coef[k + 1 + j];
        a[at + j] = x0;
        d0 += e[k + 1 + j] * x0;
      }
      const d = rowScale * (d0 + d1);
      const x = a[at] + d * ek1;
      a[at] = x;
      for (let jj = 1; jj < tail; jj++) {
        const y = a[at + jj] + d * e[k + 1 + jj];
        a[at + jj] = y;
        raw[k + 1 + jj] += x * y;
      }
    }
  }
  // the last diagonal and superdiagonal entries, untouched by the reflections
  if (nct < n) s[nct] = a[nct * n + nct];
  if (nrt + 1 < n) e[nrt] = a[nrt * n + n - 1];
  e[n - 1] = 0;
}

/**
 * Rows k+1..rows−1 of x (each `len` long) reflected by the vector v in row k, entries from..:
 * row −= v·(vᵀrow)/v_from; two rows at a time, so each entry of v is loaded once for both.
 */
function reflectRowsBelow(x: Float64Array, len: number, rows: number, k: number, from: number): void {
  const v = k * len + from;
  const count = len - from;
  const inv = -1 / x[v];
  let at = v + len;
  for (; at + len < rows * len; at += 2 * len) {
    const b = at + len;
    let p0 = 0;
    let p1 = 0;
    let q0 = 0;
    let q1 = 0;
    let i = 0;
    for (; i + 2 <= count; i += 2) {
      const w0 = x[v + i];
      const w1 = x[v + i + 1];
      p0 += w0 * x[at + i];
      p1 += w1 * x[at + i + 1];
      q0 += w0 * x[b + i];
      q1 += w1 * x[b + i + 1];
    }
    if (i < count) {
      p0 += x[v + i] * x[at + i];
      q0 += x[v + i] * x[b + i];
    }
    const p = inv * (p0 + p1);
    const q = inv * (q0 + q1);
    for (i = 0; i < count; i++) {
      const w = x[v + i];
      x[at + i] += p * w;
      x[b + i] += q * w;
    }
  }
  if (at < rows * len) axpy(inv * dot(x, v, x, at, count), x, v, x, at, count);
}

/**
 * Implicit-shift QR on the upper bidiagonal (diagonal s, superdiagonal e; LINPACK's dsvdc cases), each
 * rotation applied to rows of ut (length m) or vt (length n); leaves s non-negative, unsorted.
 */
function diagonalise(
  s: Float64Array,
  e: Float64Array,
  ut: Float64Array,
  m: number,
  vt: Float64Array,
  n: number,
): void {
  // a QR step's rotations, applied to vt and ut after it
  const sweep: Rotations = {
    cv: new Float64Array(n),
    sv: new Float64Array(n),
    cu: new Float64Array(n),
    su: new Float64Array(n),
  };
  let p = n;
  let steps = 0;
  while (p > 0) {
    // k: the largest index below p − 1 with a negligible e[k] (−1 if none)
    let k = p - 2;
    for (; k >= 0; k--)
      if (Math.abs(e[k]) <= TINY + Number.EPSILON * (Math.abs(s[k]) + Math.abs(s[k + 1]))) {
        e[k] = 0;
        break;
      }
    if (k === p - 2) {
      // s[p − 1] has converged: make it non-negative
      if (s[p - 1] < 0) for (let i = (p - 1) * n; i < p * n; i++) vt[i] = -vt[i];
      s[p - 1] = Math.abs(s[p - 1]);
      p--;
      continue;
    }
    // ks: a negligible s[ks] inside the unreduced block k+1..p−1, if any
    let ks = p - 1;
    for (; ks > k; ks--) {
      const t = (ks !== p - 1 ? Math.abs(e[ks]) : 0) + (ks !== k + 1 ? Math.abs(e[ks - 1]) : 0);
      if (Math.abs(s[ks]) <= TINY + Number.EPSILON * t) {
        s[ks] = 0;
        break;
      }
    }
    if (ks === p - 1) {
      // s[p − 1] = 0: chase e[p − 2] up and out with rotations from the right
      let f = e[p - 2];
      e[p - 2] = 0;
      for (let j = p - 2; j > k; j--) {
        const t = Math.hypot(s[j], f);
        const cs = s[j] / t;
        const sn = f / t;
        s[j] = t;
        if (j !== k + 1) {
          f = -sn * e[j - 1];
          e[j - 1] *= cs;
        }
        rotateRows(vt, j, p - 1, n, cs, sn);
      }
    } else if (ks > k) {
      // s[ks] = 0: split, chasing e[ks] down and out with rotations from the left
      let f = e[ks];
      e[ks] = 0;
      for (let j = ks + 1; j < p; j++) {
        const t = Math.hypot(s[j], f);
        const cs = s[j] / t;
        const sn = f / t;
        s[j] = t;
        f = -sn * e[j];
        e[j] *= cs;
        rotateRows(ut, j, ks, m, cs, sn);
      }
    } else {
      // finite input converges in about two steps a value (LINPACK allows 30): a guard, not a limit
      if (++steps > 30 * n) throw new Error("svd: the QR iteration did not converge");
      qrStep(s, e, k + 1, p, sweep);
      rotateSequence(vt, k + 1, p - 1, n, sweep.cv, sweep.sv);
      rotateSequence(ut, k + 1, p - 1, m, sweep.cu, sweep.su);
    }
  }
}

/** Cosines and sines of a QR step's rotations j, j+1 (at index j): of V's rows (cv, sv) and U's (cu, su). */
interface Rotations {
  readonly cv: Float64Array;
  readonly sv: Float64Array;
  readonly cu: Float64Array;
  readonly su: Float64Array;
}

/** One implicit QR step with Wilkinson-type shift on the unreduced block lo..p−1, recording its rotations. */
function qrStep(s: Float64Array, e: Float64Array, lo: number, p: number, rotations: Rotations): void {
  const { cv, sv, cu, su } = rotations;
  const scale = Math.max(
    Math.abs(s[p - 1]),
    Math.abs(s[p - 2]),
    Math.abs(e[p - 2]),
    Math.abs(s[lo]),
    Math.abs(e[lo]),
  );
  const sp = s[p - 1] / scale;
  const spm1 = s[p - 2] / scale;
  const epm1 = e[p - 2] / scale;
  const sk = s[lo] / scale;
  const ek = e[lo] / scale;
  const b = ((spm1 + sp) * (spm1 - sp) + epm1 * epm1) / 2;
  const c = sp * epm1 * (sp * epm1);
  let shift = 0;
  if (b !== 0 || c !== 0) {
    shift = Math.sqrt(b * b + c);
    if (b < 0) shift = -shift;
    shift = c / (b + shift);
  }
  let f = (sk + sp) * (sk - sp) + shift;
  let g = sk * ek;
  for (let j = lo; j < p - 1; j++) {
    let t = Math.hypot(f, g);
    let cs = f / t;
    let sn = g / t;
    if (j !== lo) e[j - 1] = t;
    f = cs * s[j] + sn * e[j];
    e[j] = cs * e[j] - sn * s[j];
    g = sn * s[j + 1];
    s[j + 1] *= cs;
    cv[j] = cs;
    sv[j] = sn;
    t = Math.hypot(f, g);
    cs = f / t;
    sn = g / t;
    s[j] = t;
    f = cs * e[j] + sn * s[j + 1];
    s[j + 1] = -sn * e[j] + cs * s[j + 1];
    g = sn * e[j + 1];
    e[j + 1] *= cs;
    cu[j] = cs;
    su[j] = sn;
  }
  e[p - 2] = f;
}

/** The decomposition with values descending (stable) and the vector rows permuted to match. */
function sorted(s: Float64Array, ut: Float64Array, m: number, vt: Float64Array, n: number): Svd64 {
  const order = Array.from(s, (_, i) => i).sort((x, y) => s[y] - s[x] || x - y);
  const values = Float64Array.from(order, (i) => s[i]);
  const u = new Float64Array(ut.length);
  const v = new Float64Array(vt.length);
  order.forEach((from, to) => {
    u.set(ut.subarray(from * m, (from + 1) * m), to * m);
    v.set(vt.subarray(from * n, (from + 1) * n), to * n);
  });
  return { values, ut: u, vt: v };
}

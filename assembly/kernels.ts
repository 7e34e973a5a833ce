// gapkit's WebAssembly SIMD kernels, in AssemblyScript. `npm run build:wasm` compiles this file into
// src/core/gemm/wasm-binary.ts. Every pointer is a byte offset into the memory the host imports and
// manages; a call touches only the rows it is given, so threads run disjoint row ranges at once.
// Matrices are row-major float32; products accumulate in float32 (like BLAS), Gram matrices in float64.

// Register tile: MR rows × two vectors = 8 accumulators (NR = 8 float32 or NR64 = 4 float64 columns).
// V8 has 16 vector registers on x64; a 6×8 tile spills and runs at half the speed.
const MR: i32 = 4;
const NR: i32 = 8;
const NR64: i32 = 4;
// Cache blocking: a KC×NC panel of B stays in L2 while MC×KC blocks of A stream past it.
const KC: i32 = 256;
const NC: i32 = 512;
const MC: i32 = 128;

const PACKED_B: usize = <usize>KC * (NC + NR) * 8;
const PACKED_A: usize = <usize>KC * (MC + MR) * 8;
const TILE: usize = <usize>MR * NR * 8;
const SCORES: usize = <usize>MC * NC * 4;

/** Bytes of scratch memory each thread needs, handed to every kernel as `scratch`. */
export function scratchBytes(): usize {
  return PACKED_B + PACKED_A + TILE + SCORES;
}

function element(base: usize, index: usize): f32 {
  return load<f32>(base + (index << 2));
}

// c += a·b in each lane: f32x4 (a fused multiply-add where the engine offers relaxed SIMD) or f64x2.
function madd<T>(a: v128, b: v128, c: v128): v128 {
  if (sizeof<T>() == 8) return f64x2.add(c, f64x2.mul(a, b));
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

function add<T>(a: v128, b: v128): v128 {
  return sizeof<T>() == 8 ? f64x2.add(a, b) : f32x4.add(a, b);
}

// One element of type T at `at`, in every lane.
function splat<T>(at: usize): v128 {
  return sizeof<T>() == 8 ? v128.load64_splat(at) : v128.load32_splat(at);
}

// Rows [i0, i0 + mc) × depth [p0, p0 + kc) of A into panels of MR rows, depth-major, zero-padded.
// A(i, p) = a[i·lda + p], or a[p·lda + i] when transA.
function packA<T>(a: usize, lda: i32, transA: bool, i0: i32, mc: i32, p0: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    for (let p = p0; p < p0 + kc; p++) {
      for (let r = 0; r < MR; r++) {
        const i = i0 + ir + r;
        let v: f32 = 0;
        if (r < rows) v = element(a, transA ? <usize>p * lda + i : <usize>i * lda + p);
        store<T>(dst, <T>v);
        dst += sizeof<T>();
      }
    }
  }
}

// Columns [j0, j0 + nc) × depth [p0, p0 + kc) of B into panels of `nr` columns, depth-major, zero-padded.
// B(p, j) = b[p·ldb + j], or b[j·ldb + p] when transB.
function packPanels<T>(
  b: usize,
  ldb: i32,
  transB: bool,
  p0: i32,
  kc: i32,
  j0: i32,
  nc: i32,
  dst: usize,
): void {
  const nr: i32 = sizeof<T>() == 4 ? NR : NR64;
  for (let jr = 0; jr < nc; jr += nr) {
    const cols = min(nr, nc - jr);
    for (let p = p0; p < p0 + kc; p++) {
      if (sizeof<T>() == 4 && !transB && cols == NR) {
        const src = b + ((<usize>p * ldb + j0 + jr) << 2);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      } else {
        for (let q = 0; q < nr; q++) {
          const j = j0 + jr + q;
          let v: f32 = 0;
          if (q < cols) v = element(b, transB ? <usize>j * ldb + p : <usize>p * ldb + j);
          store<T>(dst + q * sizeof<T>(), <T>v);
        }
      }
      dst += nr * sizeof<T>();
    }
  }
}

// Writes (or with `accumulate` adds) an MR-row tile of packed A·B at c: two vectors per row, so NR = 8
// float32 or NR64 = 4 float64 columns, 8 accumulators. Partial tiles go through `tile`, so only
// `rows`×`cols` entries of C are touched. Float64 factors are promoted float32 values: each product is
// exact, and the sums round as a float64 loop's would.
function micro<T>(
  ap: usize,
  bp: usize,
  kc: i32,
  c: usize,
  ldc: i32,
  rows: i32,
  cols: i32,
  accumulate: bool,
  tile: usize,
): void {
  const size = sizeof<T>();
  let c00 = i64x2.splat(0);
  let c01 = i64x2.splat(0);
  let c10 = i64x2.splat(0);
  let c11 = i64x2.splat(0);
  let c20 = i64x2.splat(0);
  let c21 = i64x2.splat(0);
  let c30 = i64x2.splat(0);
  let c31 = i64x2.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let x = splat<T>(ap);
    c00 = madd<T>(x, b0, c00);
    c01 = madd<T>(x, b1, c01);
    x = splat<T>(ap + size);
    c10 = madd<T>(x, b0, c10);
    c11 = madd<T>(x, b1, c11);
    x = splat<T>(ap + 2 * size);
    c20 = madd<T>(x, b0, c20);
    c21 = madd<T>(x, b1, c21);
    x = splat<T>(ap + 3 * size);
    c30 = madd<T>(x, b0, c30);
    c31 = madd<T>(x, b1, c31);
    ap += 4 * size;
    bp += 32;
  }
  const nr: i32 = 32 / <i32>size;
  const full = rows == MR && cols == nr;
  const out = full ? c : tile;
  const ld: usize = full ? <usize>ldc * size : 32;
  if (full && accumulate) {
    c00 = add<T>(c00, v128.load(out));
    c01 = add<T>(c01, v128.load(out, 16));
    c10 = add<T>(c10, v128.load(out + ld));
    c11 = add<T>(c11, v128.load(out + ld, 16));
    c20 = add<T>(c20, v128.load(out + 2 * ld));
    c21 = add<T>(c21, v128.load(out + 2 * ld, 16));
    c30 = add<T>(c30, v128.load(out + 3 * ld));
    c31 = add<T>(c31, v128.load(out + 3 * ld, 16));
  }
  v128.store(out, c00);
  v128.store(out, c01, 16);
  v128.store(out + ld, c10);
  v128.store(out + ld, c11, 16);
  v128.store(out + 2 * ld, c20);
  v128.store(out + 2 * ld, c21, 16);
  v128.store(out + 3 * ld, c30);
  v128.store(out + 3 * ld, c31, 16);
  if (!full) copyTile<T>(tile, nr, c, ldc, rows, cols, accumulate);
}

function copyTile<T>(
  tile: usize,
  ldt: i32,
  c: usize,
  ldc: i32,
  rows: i32,
  cols: i32,
  accumulate: bool,
): void {
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      const dst = c + (<usize>r * ldc + q) * sizeof<T>();
      const v = load<T>(tile + (<usize>r * ldt + q) * sizeof<T>());
      store<T>(dst, accumulate ? load<T>(dst) + v : v);
    }
  }
}

// Columns padded to whole panels: a packed B holds depth × paddedColumns(n) elements.
function paddedColumns(n: i32): i32 {
  return ((n + NR - 1) / NR) * NR;
}

// Rows [r0, r1) of C = A·B (m×n, element type T) over `depth`, written from `c` (= row r0 of C). B is
// packed block by block into scratch, or when `packed` is not 0 comes packed whole by packB: then C is
// the window of columns [j0, j0 + n) of a packed B with `columns` columns.
function drive<T>(
  a: usize,
  lda: i32,
  transA: bool,
  b: usize,
  ldb: i32,
  packed: usize,
  columns: i32,
  j0: i32,
  c: usize,
  ldc: i32,
  r0: i32,
  r1: i32,
  n: i32,
  depth: i32,
  scratch: usize,
): void {
  const nr: i32 = sizeof<T>() == 4 ? NR : NR64;
  const ap = scratch + PACKED_B;
  const tile = ap + PACKED_A;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < depth; pc += KC) {
      const kc = min(KC, depth - pc);
      let bp = scratch;
      if (packed) bp = packed + (<usize>pc * paddedColumns(columns) + <usize>(j0 + jc) * kc) * sizeof<T>();
      else packPanels<T>(b, ldb, false, pc, kc, jc, nc, bp);
      for (let ic = r0; ic < r1; ic += MC) {
        const mc = min(MC, r1 - ic);
        packA<T>(a, lda, transA, ic, mc, pc, kc, ap);
        for (let jr = 0; jr < nc; jr += nr) {
          for (let ir = 0; ir < mc; ir += MR) {
            const at = ap + <usize>ir * kc * sizeof<T>();
            const bt = bp + <usize>jr * kc * sizeof<T>();
            const ct = c + (<usize>(ic - r0 + ir) * ldc + jc + jr) * sizeof<T>();
            const rows = min(MR, mc - ir);
            const cols = min(nr, nc - jr);
            micro<T>(at, bt, kc, ct, ldc, rows, cols, pc > 0, tile);
          }
        }
      }
    }
  }
}

/** Bytes of a packed k×n right-hand side (packB's output). */
export function packedBytes(k: i32, n: i32): usize {
  return (<usize>k * paddedColumns(n)) << 2;
}

/**
 * Packs the NR-column panels [p0, p1) of B (k×n, or n×k when transB) into `packed`, laid out by KC-deep
 * block and then panel, so that threads packing disjoint panels build one packed B that all of them use.
 */
export function packB(b: usize, k: i32, n: i32, transB: bool, packed: usize, p0: i32, p1: i32): void {
  const j0 = p0 * NR;
  const j1 = min(n, p1 * NR);
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    const dst = packed + ((<usize>pc * paddedColumns(n) + <usize>j0 * kc) << 2);
    packPanels<f32>(b, transB ? k : n, transB, pc, kc, j0, j1 - j0, dst);
  }
}

/** Rows [r0, r1) of C (m×n) = A (m×k)·B, B packed by packB; k ≥ 1. */
export function gemm(
  a: usize,
  packed: usize,
  c: usize,
  k: i32,
  n: i32,
  r0: i32,
  r1: i32,
  scratch: usize,
): void {
  drive<f32>(a, k, false, 0, 0, packed, n, 0, c + ((<usize>r0 * n) << 2), n, r0, r1, n, k, scratch);
}

/** Rows [r0, r1) of the float64 cross product C (kx×ky) = XᵀY, X rows×kx and Y rows×ky float32; rows ≥ 1. */
export function gram(
  x: usize,
  y: usize,
  c: usize,
  rows: i32,
  kx: i32,
  ky: i32,
  r0: i32,
  r1: i32,
  scratch: usize,
): void {
  drive<f64>(x, kx, true, y, ky, 0, 0, 0, c + ((<usize>r0 * ky) << 3), ky, r0, r1, ky, rows, scratch);
}

/**
 * Scales rows [r0, r1) of M (rows×cols, in place) to unit L2 norm and stores each norm in `norms` (f64),
 * summed in row order and scaled in float64 exactly as the js normalizeRows does, so both give the same
 * bits. A row whose norm is 0 or not finite is left as it is, for the caller to reject.
 */
export function normalize(m: usize, norms: usize, cols: i32, r0: i32, r1: i32, _scratch: usize): void {
  for (let i = r0; i < r1; i++) {
    const row = m + ((<usize>i * cols) << 2);
    let sum: f64 = 0;
    for (let p = 0; p < cols; p++) {
      const x = <f64>load<f32>(row + ((<usize>p) << 2));
      sum += x * x;
    }
    const norm = Math.sqrt(sum);
    store<f64>(norms + ((<usize>i) << 3), norm);
    if (!(norm > 0 && norm < Infinity)) continue;
    const inverse = 1 / norm;
    for (let p = 0; p < cols; p++) {
      const at = row + ((<usize>p) << 2);
      store<f32>(at, <f32>(<f64>load<f32>(at) * inverse));
    }
  }
}

// Heap order for top-k: the root is the weakest kept entry (smaller score; on equal scores, larger index).
function weaker(values: usize, indices: usize, x: i32, y: i32): bool {
  const vx = load<f32>(values + ((<usize>x) << 2));
  const vy = load<f32>(values + ((<usize>y) << 2));
  return (
    vx < vy || (vx == vy && load<i32>(indices + ((<usize>x) << 2)) > load<i32>(indices + ((<usize>y) << 2)))
  );
}

function swap(values: usize, indices: usize, x: i32, y: i32): void {
  const px = (<usize>x) << 2;
  const py = (<usize>y) << 2;
  const v = load<f32>(values + px);
  store<f32>(values + px, load<f32>(values + py));
  store<f32>(values + py, v);
  const i = load<i32>(indices + px);
  store<i32>(indices + px, load<i32>(indices + py));
  store<i32>(indices + py, i);
}

function siftDown(values: usize, indices: usize, size: i32): void {
  let p = 0;
  for (;;) {
    const l = 2 * p + 1;
    let w = p;
    if (l < size && weaker(values, indices, l, w)) w = l;
    if (l + 1 < size && weaker(values, indices, l + 1, w)) w = l + 1;
    if (w == p) return;
    swap(values, indices, p, w);
    p = w;
  }
}

/**
 * For query rows [r0, r1) of Q (m×k): the `top` highest scores q_i·g_j over the gallery G (n×k, packed
 * as Gᵀ by packB; top ≤ n), descending, ties to the lower index, into `values` (f32) and `indices` (i32),
 * `top` per row. Scores are computed MC×NC at a time in scratch, never held whole.
 */
export function topk(
  q: usize,
  packed: usize,
  values: usize,
  indices: usize,
  k: i32,
  n: i32,
  top: i32,
  r0: i32,
  r1: i32,
  scratch: usize,
): void {
  const scores = scratch + PACKED_B + PACKED_A + TILE;
  for (let ic = r0; ic < r1; ic += MC) {
    const mc = min(MC, r1 - ic);
    for (let jc = 0; jc < n; jc += NC) {
      const nc = min(NC, n - jc);
      drive<f32>(q, k, false, 0, 0, packed, n, jc, scores, nc, ic, ic + mc, nc, k, scratch);
      for (let r = 0; r < mc; r++) {
        const heapValues = values + ((<usize>(ic + r) * top) << 2);
        const heapIndices = indices + ((<usize>(ic + r) * top) << 2);
        let size = min(top, jc);
        for (let j = 0; j < nc; j++) {
          const s = load<f32>(scores + ((<usize>r * nc + j) << 2));
          if (size < top) {
            // sift up; candidates arrive in index order, so a tie never beats a kept entry
            let child = size++;
            store<f32>(heapValues + ((<usize>child) << 2), s);
            store<i32>(heapIndices + ((<usize>child) << 2), jc + j);
            while (child > 0) {
              const parent = (child - 1) >> 1;
              if (!weaker(heapValues, heapIndices, child, parent)) break;
              swap(heapValues, heapIndices, child, parent);
              child = parent;
            }
          } else if (s > load<f32>(heapValues)) {
            store<f32>(heapValues, s);
            store<i32>(heapIndices, jc + j);
            siftDown(heapValues, heapIndices, size);
          }
        }
      }
    }
    // heapsort in place: the weakest goes last, leaving each row in descending order
    for (let r = 0; r < mc; r++) {
      const heapValues = values + ((<usize>(ic + r) * top) << 2);
      const heapIndices = indices + ((<usize>(ic + r) * top) << 2);
      for (let size = top; size > 1; size--) {
        swap(heapValues, heapIndices, 0, size - 1);
        siftDown(heapValues, heapIndices, size - 1);
      }
    }
  }
}

// ---- Householder tridiagonalisation (src/core/tridiagonal.ts drives it) ----
// `a` is a packed lower triangle of doubles, row r at element r(r+1)/2 (half the memory of the square, so
// twice the order that stays in cache); vectors are element offsets from a.

function at64(a: usize, element: i32): usize {
  return a + ((<usize>element) << 3);
}

function rowStart(r: i32): i32 {
  return (r * (r + 1)) >> 1;
}

/**
 * On the leading m×m block B of the packed lower triangle at `a`: B −= u·wᵀ + w·uᵀ, then y = B·x (B
 * symmetric: each stored element serves both y[r] and y[s]), streaming B once. Four rows at a time, two
 * columns per f64x2, so every load of u, w, x and y serves four rows.
 */
function updateAndMultiply(a: usize, m: i32, u: i32, w: i32, x: i32, y: i32): void {
  memory.fill(at64(a, y), 0, (<usize>m) << 3);
  const first = m & 3;
  for (let r = 0; r < first; r++) updateAndMultiplyRow(a, r, 0, u, w, x, y);
  for (let r = first; r < m; r += 4) {
    const o0 = at64(a, rowStart(r));
    const o1 = o0 + ((<usize>(r + 1)) << 3);
    const o2 = o1 + ((<usize>(r + 2)) << 3);
    const o3 = o2 + ((<usize>(r + 3)) << 3);
    const u0 = v128.load64_splat(at64(a, u + r));
    const u1 = v128.load64_splat(at64(a, u + r + 1));
    const u2 = v128.load64_splat(at64(a, u + r + 2));
    const u3 = v128.load64_splat(at64(a, u + r + 3));
    const w0 = v128.load64_splat(at64(a, w + r));
    const w1 = v128.load64_splat(at64(a, w + r + 1));
    const w2 = v128.load64_splat(at64(a, w + r + 2));
    const w3 = v128.load64_splat(at64(a, w + r + 3));
    const x0 = v128.load64_splat(at64(a, x + r));
    const x1 = v128.load64_splat(at64(a, x + r + 1));
    const x2 = v128.load64_splat(at64(a, x + r + 2));
    const x3 = v128.load64_splat(at64(a, x + r + 3));
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    let s2 = f64x2.splat(0);
    let s3 = f64x2.splat(0);
    const pu = at64(a, u);
    const pw = at64(a, w);
    const px = at64(a, x);
    const py = at64(a, y);
    const pairs = (<usize>(r >> 1)) << 4;
    for (let k: usize = 0; k < pairs; k += 16) {
      const us = v128.load(pu + k);
      const ws = v128.load(pw + k);
      const xs = v128.load(px + k);
      const b0 = f64x2.sub(v128.load(o0 + k), f64x2.add(f64x2.mul(u0, ws), f64x2.mul(w0, us)));
      const b1 = f64x2.sub(v128.load(o1 + k), f64x2.add(f64x2.mul(u1, ws), f64x2.mul(w1, us)));
      const b2 = f64x2.sub(v128.load(o2 + k), f64x2.add(f64x2.mul(u2, ws), f64x2.mul(w2, us)));
      const b3 = f64x2.sub(v128.load(o3 + k), f64x2.add(f64x2.mul(u3, ws), f64x2.mul(w3, us)));
      v128.store(o0 + k, b0);
      v128.store(o1 + k, b1);
      v128.store(o2 + k, b2);
      v128.store(o3 + k, b3);
      s0 = f64x2.add(s0, f64x2.mul(b0, xs));
      s1 = f64x2.add(s1, f64x2.mul(b1, xs));
      s2 = f64x2.add(s2, f64x2.mul(b2, xs));
      s3 = f64x2.add(s3, f64x2.mul(b3, xs));
      const terms = f64x2.add(
        f64x2.add(f64x2.mul(b0, x0), f64x2.mul(b1, x1)),
        f64x2.add(f64x2.mul(b2, x2), f64x2.mul(b3, x3)),
      );
      v128.store(py + k, f64x2.add(v128.load(py + k), terms));
    }
    const tail = r & ~1; // an odd r leaves one column, and then the 4×4 diagonal block
    store<f64>(
      at64(a, y + r),
      load<f64>(at64(a, y + r)) + f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1),
    );
    store<f64>(
      at64(a, y + r + 1),
      load<f64>(at64(a, y + r + 1)) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1),
    );
    store<f64>(
      at64(a, y + r + 2),
      load<f64>(at64(a, y + r + 2)) + f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1),
    );
    store<f64>(
      at64(a, y + r + 3),
      load<f64>(at64(a, y + r + 3)) + f64x2.extract_lane(s3, 0) + f64x2.extract_lane(s3, 1),
    );
    for (let i = r; i < r + 4; i++) updateAndMultiplyRow(a, i, tail, u, w, x, y);
  }
}

// updateAndMultiply's work on row i, columns from..i (diagonal included), one element at a time.
function updateAndMultiplyRow(a: usize, i: i32, from: i32, u: i32, w: i32, x: i32, y: i32): void {
  const oi = rowStart(i);
  const ui = load<f64>(at64(a, u + i));
  const wi = load<f64>(at64(a, w + i));
  const xi = load<f64>(at64(a, x + i));
  let si: f64 = 0;
  for (let s = from; s < i; s++) {
    const b = load<f64>(at64(a, oi + s)) - (ui * load<f64>(at64(a, w + s)) + wi * load<f64>(at64(a, u + s)));
    store<f64>(at64(a, oi + s), b);
    si += b * load<f64>(at64(a, x + s));
    store<f64>(at64(a, y + s), load<f64>(at64(a, y + s)) + b * xi);
  }
  const diagonal = load<f64>(at64(a, oi + i)) - 2 * ui * wi;
  store<f64>(at64(a, oi + i), diagonal);
  store<f64>(at64(a, y + i), load<f64>(at64(a, y + i)) + si + diagonal * xi);
}

/**
 * Eigenvalues of the symmetric n×n matrix whose lower triangle is packed at `a` (row r at element
 * r(r+1)/2, then 4n doubles of scratch space), unordered, into `d` (n doubles; `e` takes n − 1 more):
 * Householder tridiagonalisation (LAPACK dsytd2, values only) by updateAndMultiply's fused passes, then
 * dsterf's root-free QL iteration. Returns 0, or 1 where QL found no convergence in 30·n iterations.
 * src/core/tridiagonal.ts drives it: one call, so a worker thread can run it whole.
 */
export function symmetricEigenvalues(a: usize, n: i32, d: usize, e: usize): i32 {
  tridiagonalize(a, n, d, e);
  return tridiagonalEigenvalues(d, e, n) ? 0 : 1;
}

function getF64(p: usize, i: i32): f64 {
  return load<f64>(at64(p, i));
}

function setF64(p: usize, i: i32, v: f64): void {
  store<f64>(at64(p, i), v);
}

// The diagonal into d, the off-diagonal e[k] (between k and k + 1) into e. The lower triangle is reduced
// from the last row up, so every reflector is a contiguous row prefix; the reflectors are not kept.
function tridiagonalize(a: usize, n: i32, d: usize, e: usize): void {
  if (n == 0) return;
  // element offsets of the work vectors: reflector v (H = I − τ·v·vᵀ, v[m − 1] = 1), the next step's
  // reflector, w with H·B·H = B − v·wᵀ − w·vᵀ, and y = B·v for the current trailing block B
  let v = rowStart(n);
  let next = v + n;
  const w = next + n;
  const y = w + n;
  let m = n - 1; // the current step annihilates row m left of its subdiagonal; B = A[0:m, 0:m]
  let tau: f64 = m > 0 ? reflector(a, rowStart(m), m, v, e) : 0;
  setF64(d, m, getF64(a, rowStart(m) + m));
  // the first product has no preceding update to fuse with: a zero rank-2 update leaves A as it is
  memory.fill(at64(a, w), 0, (<usize>n) << 3);
  updateAndMultiply(a, m, w, w, v, y);
  for (; m > 0; m--) {
    partner(a, m, tau, v, y, w);
    // update B's last row first: it holds the next reflector, which the fused pass below needs
    const last = rowStart(m - 1);
    updateRow(a, last, m, v, w);
    setF64(d, m - 1, getF64(a, last + m - 1));
    if (m == 1) break;
    tau = reflector(a, last, m - 1, next, e);
    updateAndMultiply(a, m - 1, v, w, next, y);
    const swap = v;
    v = next;
    next = swap;
  }
}

// w = τ·y − (τ²/2)(yᵀv)·v (vectors of length m), so that H·B·H = B − v·wᵀ − w·vᵀ.
function partner(a: usize, m: i32, tau: f64, v: i32, y: i32, w: i32): void {
  let dot: f64 = 0;
  for (let k = 0; k < m; k++) {
    const wk = tau * getF64(a, y + k);
    setF64(a, w + k, wk);
    dot += wk * getF64(a, v + k);
  }
  const alpha = -0.5 * tau * dot;
  for (let k = 0; k < m; k++) setF64(a, w + k, getF64(a, w + k) + alpha * getF64(a, v + k));
}

// Row segment a[row .. row + m) −= v[m − 1]·w + w[m − 1]·v.
function updateRow(a: usize, row: i32, m: i32, v: i32, w: i32): void {
  const vl = getF64(a, v + m - 1);
  const wl = getF64(a, w + m - 1);
  for (let s = 0; s < m; s++)
    setF64(a, row + s, getF64(a, row + s) - (vl * getF64(a, w + s) + wl * getF64(a, v + s)));
}

// Householder reflector (LAPACK dlarfg) for the row prefix x = a[row .. row + m): writes v = a[at .. at + m)
// (v[m − 1] = 1) with (I − τ·v·vᵀ)·x = β·e_{m−1}, stores β in e[m − 1] and returns τ (0 when x already is a
// multiple of e_{m−1}; v is then zero).
function reflector(a: usize, row: i32, m: i32, at: i32, e: usize): f64 {
  const alpha = getF64(a, row + m - 1);
  const xnorm = norm(a, row, m - 1);
  if (xnorm == 0) {
    setF64(e, m - 1, alpha);
    memory.fill(at64(a, at), 0, (<usize>m) << 3);
    return 0;
  }
  const beta = alpha > 0 ? -hypot(alpha, xnorm) : hypot(alpha, xnorm);
  setF64(e, m - 1, beta);
  const denominator = alpha - beta;
  if (Math.abs(denominator) > TINY) {
    const scale = 1 / denominator;
    for (let k = 0; k < m - 1; k++) setF64(a, at + k, getF64(a, row + k) * scale);
  } else {
    // the reciprocal of a (nearly) subnormal number overflows: divide instead
    for (let k = 0; k < m - 1; k++) setF64(a, at + k, getF64(a, row + k) / denominator);
  }
  setF64(a, at + m - 1, 1);
  return (beta - alpha) / beta;
}

// 2^-53, 2^-106, 2^-960 and 2^-1000, exactly.
const EPS = reinterpret<f64>(0x3ca0000000000000);
const EPS2 = reinterpret<f64>(0x3950000000000000);
const SQUARES_MIN = reinterpret<f64>(0x03f0000000000000);
const TINY = reinterpret<f64>(0x0170000000000000);
// a block scaled to a max-norm within [SCALED_MIN, SCALED_MAX] squares its off-diagonals safely (dsterf's
// bounds, except that SCALED_MAX = 2^500 rather than ≈ 2^509 keeps 1/p in qlSweep a normal number)
const SCALED_MAX = reinterpret<f64>(0x5f30000000000000);
const SCALED_MIN = reinterpret<f64>(0x26a0000000000000); // √(2^-1022) / EPS2 = 2^-405

// Euclidean norm of a[start .. start + count), without harmful overflow or underflow.
function norm(a: usize, start: i32, count: i32): f64 {
  let ss: f64 = 0;
  for (let k = start; k < start + count; k++) {
    const x = getF64(a, k);
    ss += x * x;
  }
  // a sum of squares in [2^-960, ∞) lost nothing that matters to underflow or overflow
  if (ss >= SQUARES_MIN && ss < Infinity) return Math.sqrt(ss);
  let amax: f64 = 0;
  for (let k = start; k < start + count; k++) amax = Math.max(amax, Math.abs(getF64(a, k)));
  if (amax == 0) return 0;
  ss = 0;
  for (let k = start; k < start + count; k++) {
    const x = getF64(a, k) / amax;
    ss += x * x;
  }
  return amax * Math.sqrt(ss);
}

// √(x² + y²) without overflow or underflow.
function hypot(x: f64, y: f64): f64 {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const big = Math.max(ax, ay);
  const small = Math.min(ax, ay);
  if (big == 0 || big == Infinity) return big;
  const ratio = small / big;
  return big * Math.sqrt(1 + ratio * ratio);
}

// QL iterations left to tridiagonalEigenvalues' current call (LAPACK's 30·n).
let qlBudget: i32 = 0;

// Eigenvalues of the symmetric tridiagonal matrix (diagonal d, off-diagonal e; n) into d, in no particular
// order; e is destroyed. LAPACK dsterf: the root-free Pal–Walker–Kahan QL iteration works on squared
// off-diagonals, so its inner loop needs no square root. False where the budget ran out.
function tridiagonalEigenvalues(d: usize, e: usize, n: i32): bool {
  qlBudget = 30 * n;
  let start = 0;
  while (start < n) {
    // split off the unreduced block [lo, hi] at the first negligible off-diagonal
    let hi = start;
    while (
      hi < n - 1 &&
      !(
        Math.abs(getF64(e, hi)) <=
        Math.sqrt(Math.abs(getF64(d, hi))) * Math.sqrt(Math.abs(getF64(d, hi + 1))) * EPS
      )
    )
      hi++;
    if (hi < n - 1) setF64(e, hi, 0);
    const lo = start;
    start = hi + 1;
    if (hi == lo) continue;
    // QL deflates at the top, so it wants the larger end there; dsterf runs QR when the bottom is larger,
    // which is QL on the reversed block
    if (Math.abs(getF64(d, hi)) < Math.abs(getF64(d, lo))) {
      reverse(d, lo, hi);
      reverse(e, lo, hi - 1);
    }
    if (!qlBlock(d, e, lo, hi)) return false;
  }
  return true;
}

function reverse(a: usize, lo: i32, hi: i32): void {
  for (; lo < hi; lo++, hi--) {
    const t = getF64(a, lo);
    setF64(a, lo, getF64(a, hi));
    setF64(a, hi, t);
  }
}

// dsterf's QL iteration on the unreduced block [lo, hi] of (d, e); false where qlBudget ran out.
function qlBlock(d: usize, e: usize, lo: i32, hi: i32): bool {
  let anorm: f64 = 0;
  for (let i = lo; i <= hi; i++) anorm = Math.max(anorm, Math.abs(getF64(d, i)));
  for (let i = lo; i < hi; i++) anorm = Math.max(anorm, Math.abs(getF64(e, i)));
  if (anorm == 0) return true;
  const scale: f64 = anorm > SCALED_MAX ? SCALED_MAX / anorm : anorm < SCALED_MIN ? SCALED_MIN / anorm : 1;
  for (let i = lo; i <= hi; i++) setF64(d, i, getF64(d, i) * scale);
  for (let i = lo; i < hi; i++) {
    const scaled = getF64(e, i) * scale;
    setF64(e, i, scaled * scaled);
  }
  let l = lo;
  while (l <= hi) {
    const m = negligibleBelow(d, e, l, hi);
    if (m == l) {
      l++; // d[l] is an eigenvalue
      continue;
    }
    if (m == l + 1) {
      eigenvalues2x2(d, l, Math.sqrt(getF64(e, l)));
      setF64(e, l, 0);
      l += 2;
      continue;
    }
    if (qlBudget == 0) return false;
    qlBudget--;
    // shift: the eigenvalue of the leading 2×2 nearer d[l]
    const rte = Math.sqrt(getF64(e, l));
    let sigma = (getF64(d, l + 1) - getF64(d, l)) / (2 * rte);
    const r = hypot(sigma, 1);
    sigma = getF64(d, l) - rte / (sigma + (sigma >= 0 ? r : -r));
    qlSweep(d, e, l, m, sigma);
  }
  for (let i = lo; i <= hi; i++) setF64(d, i, getF64(d, i) / scale);
  return true;
}

// The first m in [l, hi) whose squared off-diagonal e[m] is negligible (then set to 0), else hi.
function negligibleBelow(d: usize, e: usize, l: i32, hi: i32): i32 {
  for (let m = l; m < hi; m++) {
    if (Math.abs(getF64(e, m)) <= EPS2 * Math.abs(getF64(d, m) * getF64(d, m + 1))) {
      setF64(e, m, 0);
      return m;
    }
  }
  return hi;
}

// One implicit QL sweep with shift sigma over rows l..m of (d, squared e): the dsterf inner loop.
function qlSweep(d: usize, e: usize, l: i32, m: i32, sigma: f64): void {
  let c: f64 = 1;
  let s: f64 = 0;
  let gamma = getF64(d, m) - sigma;
  let p = gamma * gamma;
  for (let i = m - 1; i >= l; i--) {
    const bb = getF64(e, i);
    const r = p + bb;
    if (i != m - 1) setF64(e, i + 1, s * r);
    const oldc = c;
    // γ²/c = γ²·(r/p), and 1/p need not wait for this step's results: one division fewer on the
    // loop-carried chain. Not finite when p is 0 or tiny: dsterf's own formula then.
    const ratio = r * (1 / p);
    c = p / r;
    s = bb / r;
    const oldgam = gamma;
    const alpha = getF64(d, i);
    gamma = c * (alpha - sigma) - s * oldgam;
    setF64(d, i + 1, oldgam + (alpha - gamma));
    p = ratio < Infinity ? gamma * gamma * ratio : c != 0 ? (gamma * gamma) / c : oldc * bb;
  }
  setF64(e, l, s * p);
  setF64(d, l, sigma + gamma);
}

// Eigenvalues of the 2×2 block [[d[i], b], [b, d[i + 1]]] into d[i], d[i + 1] (LAPACK dlae2).
function eigenvalues2x2(d: usize, i: i32, b: f64): void {
  const a = getF64(d, i);
  const c = getF64(d, i + 1);
  const sm = a + c;
  const rt = hypot(a - c, 2 * b);
  if (sm == 0) {
    setF64(d, i, 0.5 * rt);
    setF64(d, i + 1, -0.5 * rt);
    return;
  }
  const rt1 = 0.5 * (sm < 0 ? sm - rt : sm + rt);
  // the other root from the product of the roots, ac − b², avoiding cancellation
  const aIsLarger = Math.abs(a) > Math.abs(c);
  setF64(d, i, rt1);
  setF64(d, i + 1, ((aIsLarger ? a : c) / rt1) * (aIsLarger ? c : a) - (b / rt1) * b);
}

// ---- Symmetric eigendecomposition with vectors (src/core/eigen.ts drives it) ----
// EISPACK's tred2 + tql2 on full row-major storage, every inner loop along a row: the reduction keeps each
// reflector in the row it annihilates and updates the trailing block two rows at a time, fused with the
// next step's product; the transform is accumulated two reflectors and two rows at a time; the
// eigenvectors are built as the rows of Vᵀ, so each QL rotation combines two contiguous rows, three
// rotations per pass. Element-wise loops run two columns per f64x2 (the same bits as one at a time); the
// dot products sum two lanes, then add them.

/**
 * Eigenvalues into d (n, unordered) and eigenvectors as the rows of vt (n×n) of the symmetric matrix in
 * full storage at `a` (n×n, destroyed), which the caller has scaled to a max-norm in [1, 2) so that no step
 * overflows. `work`: 6n doubles of scratch space. Returns 0, or 1 where QL found no convergence in 30·n
 * iterations.
 */
export function symmetricEigenSystem(a: usize, n: i32, d: usize, vt: usize, work: usize): i32 {
  const bytes = (<usize>n) << 3;
  memory.fill(work, 0, 6 * bytes);
  const e = work;
  const tau = e + bytes;
  const y = tau + bytes;
  const w = y + bytes;
  const cs = w + bytes;
  const sn = cs + bytes;
  reduceWithReflectors(a, n, d, e, tau, y, w);
  transformTransposed(a, n, tau, vt);
  return eigenvectorsQL(d, e, vt, n, cs, sn) ? 0 : 1;
}

// Reduces the symmetric `a` to tridiagonal T = Qᵀ·A·Q, Q = H₀·H₁⋯H_{n−3}: diagonal into d, off-diagonal e[k]
// between k and k + 1. Step k's reflector H_k = I − τ_k·v·vᵀ (v[0] = 1, acting on indices k + 1 … n − 1)
// annihilates row k right of its superdiagonal and is left in that row, a[k][k + 1 …]. y and w: n doubles
// each, w zero.
function reduceWithReflectors(a: usize, n: i32, d: usize, e: usize, tau: usize, y: usize, w: usize): void {
  if (n > 2) {
    setF64(tau, 0, reflectorInPlace(a, 1, n - 1, e, 0));
    // the first product has no update before it to fuse with: a zero update (w = 0) leaves A as it is
    for (let i = 0; i < n - 1; i++) setF64(y, i, updateFullRow(a, (i + 1) * n + 1, n - 1, 0, 0, 1, w, 0, 1));
  }
  for (let k = 0; k < n - 2; k++) {
    // the trailing block B = a[k + 1 …][k + 1 …] (m×m) becomes H·B·H = B − v·wᵀ − w·vᵀ with y = B·v
    const m = n - k - 1;
    const v = k * n + k + 1;
    const tk = getF64(tau, k);
    setF64(d, k, getF64(a, k * n + k));
    let dot: f64 = 0;
    for (let i = 0; i < m; i++) {
      const wi = tk * getF64(y, i);
      setF64(w, i, wi);
      dot += wi * getF64(a, v + i);
    }
    const alpha = -0.5 * tk * dot;
    for (let i = 0; i < m; i++) setF64(w, i, getF64(w, i) + alpha * getF64(a, v + i));
    // B's first row first: it holds the next reflector, whose product with the rest of the updated block
    // is taken in the same pass as the update
    const first = (k + 1) * n + k + 1;
    updateFullRow(a, first, m, 1, getF64(w, 0), v, w, 0, first); // (v[0] = 1; its dot is not needed)
    if (k + 1 < n - 2) setF64(tau, k + 1, reflectorInPlace(a, first + 1, m - 1, e, k + 1));
    // column k + 1 of rows below is never read again: only columns k + 2 … are updated, two rows a pass
    let i = 1;
    for (; i + 1 < m; i += 2) updateFullRowPair(a, n, (k + 1 + i) * n + k + 2, m - 1, i, v, w, first + 1, y);
    if (i < m) {
      const row = (k + 1 + i) * n + k + 2;
      setF64(y, i - 1, updateFullRow(a, row, m - 1, getF64(a, v + i), getF64(w, i), v + 1, w, 1, first + 1));
    }
  }
  if (n >= 2) {
    setF64(d, n - 2, getF64(a, (n - 2) * n + n - 2));
    setF64(e, n - 2, getF64(a, (n - 2) * n + n - 1));
  }
  if (n >= 1) setF64(d, n - 1, getF64(a, n * n - 1));
}

// Row update a[row … row + len) −= vi·w[from …] + wi·a[v …]; returns the new row's dot with a[x …].
function updateFullRow(
  a: usize,
  row: i32,
  len: i32,
  vi: f64,
  wi: f64,
  v: i32,
  w: usize,
  from: i32,
  x: i32,
): f64 {
  let dot: f64 = 0;
  for (let j = 0; j < len; j++) {
    const updated = getF64(a, row + j) - (vi * getF64(w, from + j) + wi * getF64(a, v + j));
    setF64(a, row + j, updated);
    dot += updated * getF64(a, x + j);
  }
  return dot;
}

// updateFullRow on rows `row`, `row + n` (the trailing block's i, i + 1) with w from 1 and v from v + 1,
// their dots with a[x …] into y[i − 1], y[i].
function updateFullRowPair(
  a: usize,
  n: i32,
  row: i32,
  len: i32,
  i: i32,
  v: i32,
  w: usize,
  x: i32,
  y: usize,
): void {
  const v0 = getF64(a, v + i);
  const w0 = getF64(w, i);
  const v1 = getF64(a, v + i + 1);
  const w1 = getF64(w, i + 1);
  const p0 = at64(a, row);
  const p1 = at64(a, row + n);
  const pw = at64(w, 1);
  const pv = at64(a, v + 1);
  const px = at64(a, x);
  const sv0 = f64x2.splat(v0);
  const sw0 = f64x2.splat(w0);
  const sv1 = f64x2.splat(v1);
  const sw1 = f64x2.splat(w1);
  let dots0 = f64x2.splat(0);
  let dots1 = f64x2.splat(0);
  const pairs = (<usize>(len >> 1)) << 4;
  for (let k: usize = 0; k < pairs; k += 16) {
    const wj = v128.load(pw + k);
    const vj = v128.load(pv + k);
    const xj = v128.load(px + k);
    const u0 = f64x2.sub(v128.load(p0 + k), f64x2.add(f64x2.mul(sv0, wj), f64x2.mul(sw0, vj)));
    const u1 = f64x2.sub(v128.load(p1 + k), f64x2.add(f64x2.mul(sv1, wj), f64x2.mul(sw1, vj)));
    v128.store(p0 + k, u0);
    v128.store(p1 + k, u1);
    dots0 = f64x2.add(dots0, f64x2.mul(u0, xj));
    dots1 = f64x2.add(dots1, f64x2.mul(u1, xj));
  }
  let dot0 = f64x2.extract_lane(dots0, 0) + f64x2.extract_lane(dots0, 1);
  let dot1 = f64x2.extract_lane(dots1, 0) + f64x2.extract_lane(dots1, 1);
  if (len & 1) {
    const j = len - 1;
    const wj = getF64(w, 1 + j);
    const vj = getF64(a, v + 1 + j);
    const xj = getF64(a, x + j);
    const u0 = getF64(a, row + j) - (v0 * wj + w0 * vj);
    const u1 = getF64(a, row + n + j) - (v1 * wj + w1 * vj);
    setF64(a, row + j, u0);
    setF64(a, row + n + j, u1);
    dot0 += u0 * xj;
    dot1 += u1 * xj;
  }
  setF64(y, i - 1, dot0);
  setF64(y, i, dot1);
}

// The Householder reflector (LAPACK dlarfg) for x = a[at … at + len): H·x = β·e₀ with H = I − τ·v·vᵀ;
// leaves v[1 …] in a[at + 1 …], β in e[k] and v[0] = 1 in a[at]; returns τ (0 when x already is a multiple
// of e₀). src/core/householder.ts's reflector, with β moved out.
function reflectorInPlace(a: usize, at: i32, len: i32, e: usize, k: i32): f64 {
  const alpha = getF64(a, at);
  let scale: f64 = 0;
  for (let j = at + 1; j < at + len; j++) scale = Math.max(scale, Math.abs(getF64(a, j)));
  if (scale == 0) {
    setF64(e, k, alpha);
    setF64(a, at, 1);
    return 0;
  }
  // the norm of the scaled rest: no overflow or underflow in the squares
  let ss: f64 = 0;
  for (let j = at + 1; j < at + len; j++) {
    const x = getF64(a, j) / scale;
    ss += x * x;
  }
  const rest = scale * Math.sqrt(ss);
  const big = Math.max(Math.abs(alpha), rest);
  const ratioA = alpha / big;
  const ratioR = rest / big;
  const beta = (alpha < 0 ? 1 : -1) * big * Math.sqrt(ratioA * ratioA + ratioR * ratioR);
  const inverse = 1 / (alpha - beta);
  for (let j = at + 1; j < at + len; j++) setF64(a, j, getF64(a, j) * inverse);
  setF64(e, k, beta);
  setF64(a, at, 1);
  return (beta - alpha) / beta;
}

// Qᵀ = H_{n−3}⋯H₁·H₀ into x (n×n) from the reflectors left in `a` by reduceWithReflectors, built as
// X ← X·H_p·H_{p−1} for p from the last down, so that each row of X is updated on its own and once per pair.
function transformTransposed(a: usize, n: i32, tau: usize, x: usize): void {
  memory.fill(x, 0, (<usize>n * n) << 3);
  for (let i = 0; i < n; i++) setF64(x, i * n + i, 1);
  // an odd count of reflectors starts with a pair whose first is H_{n−2} = I (τ = 0)
  for (let p = n % 2 == 1 ? n - 2 : n - 3; p >= 1; p -= 2) {
    // v = H_p's reflector (columns p + 1 …), u = H_{p−1}'s (columns p …, u[p] = 1)
    const v = p * n + 1;
    const u = (p - 1) * n + 1;
    const tv = getF64(tau, p);
    const tu = getF64(tau, p - 1);
    let uv: f64 = 0;
    for (let j = p; j < n - 1; j++) uv += getF64(a, u + j) * getF64(a, v + j);
    // columns p + 1 … n − 1 of x, paired with a[v + p …] and a[u + p …]
    const len = n - p - 1;
    const pv = at64(a, v + p);
    const pu = at64(a, u + p);
    const pairs = (<usize>(len >> 1)) << 4;
    // rows above p are still unit rows with zeros where the pair acts, which leaves them as they are: the
    // rows go two at a time (sharing the loads of v and u) from p, or from p − 1 when n − p is odd
    for (let i = p - ((n - p) % 2); i < n; i += 2) {
      const row = i * n;
      const next = row + n;
      const p0 = at64(x, row + p + 1);
      const p1 = at64(x, next + p + 1);
      let dv0 = f64x2.splat(0);
      let du0 = f64x2.splat(0);
      let dv1 = f64x2.splat(0);
      let du1 = f64x2.splat(0);
      for (let k: usize = 0; k < pairs; k += 16) {
        const vj = v128.load(pv + k);
        const uj = v128.load(pu + k);
        const x0 = v128.load(p0 + k);
        const x1 = v128.load(p1 + k);
        dv0 = f64x2.add(dv0, f64x2.mul(x0, vj));
        du0 = f64x2.add(du0, f64x2.mul(x0, uj));
        dv1 = f64x2.add(dv1, f64x2.mul(x1, vj));
        du1 = f64x2.add(du1, f64x2.mul(x1, uj));
      }
      let sv0 = f64x2.extract_lane(dv0, 0) + f64x2.extract_lane(dv0, 1);
      let su0 = f64x2.extract_lane(du0, 0) + f64x2.extract_lane(du0, 1);
      let sv1 = f64x2.extract_lane(dv1, 0) + f64x2.extract_lane(dv1, 1);
      let su1 = f64x2.extract_lane(du1, 0) + f64x2.extract_lane(du1, 1);
      if (len & 1) {
        const j = len - 1;
        const vj = getF64(a, v + p + j);
        const uj = getF64(a, u + p + j);
        const x0 = getF64(x, row + p + 1 + j);
        const x1 = getF64(x, next + p + 1 + j);
        sv0 += x0 * vj;
        su0 += x0 * uj;
        sv1 += x1 * vj;
        su1 += x1 * uj;
      }
      const t0 = tv * sv0;
      const r0 = tu * (su0 + getF64(x, row + p) - t0 * uv);
      const t1 = tv * sv1;
      const r1 = tu * (su1 + getF64(x, next + p) - t1 * uv);
      setF64(x, row + p, getF64(x, row + p) - r0);
      setF64(x, next + p, getF64(x, next + p) - r1);
      const st0 = f64x2.splat(t0);
      const sr0 = f64x2.splat(r0);
      const st1 = f64x2.splat(t1);
      const sr1 = f64x2.splat(r1);
      for (let k: usize = 0; k < pairs; k += 16) {
        const vj = v128.load(pv + k);
        const uj = v128.load(pu + k);
        v128.store(p0 + k, f64x2.sub(v128.load(p0 + k), f64x2.add(f64x2.mul(st0, vj), f64x2.mul(sr0, uj))));
        v128.store(p1 + k, f64x2.sub(v128.load(p1 + k), f64x2.add(f64x2.mul(st1, vj), f64x2.mul(sr1, uj))));
      }
      if (len & 1) {
        const j = len - 1;
        const vj = getF64(a, v + p + j);
        const uj = getF64(a, u + p + j);
        setF64(x, row + p + 1 + j, getF64(x, row + p + 1 + j) - (t0 * vj + r0 * uj));
        setF64(x, next + p + 1 + j, getF64(x, next + p + 1 + j) - (t1 * vj + r1 * uj));
      }
    }
  }
}

const EPSILON = reinterpret<f64>(0x3cb0000000000000); // 2^-52
const HYPOT_BELOW = reinterpret<f64>(0x20b0000000000000); // 2^-500

// Eigenvalues of the symmetric tridiagonal (d, e) into d, unordered, by the implicit QL iteration with
// Wilkinson shifts (EISPACK tql2); each sweep's rotations (i combining rows i and i + 1 of Vᵀ = vt) are
// applied after it, so that vt's rows end as the eigenvectors of the original matrix. e is destroyed.
// False where 30·n iterations did not converge.
function eigenvectorsQL(d: usize, e: usize, vt: usize, n: i32, cs: usize, sn: usize): bool {
  if (n > 0) setF64(e, n - 1, 0);
  let budget = 30 * n;
  let f: f64 = 0;
  let tst1: f64 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(getF64(d, l)) + Math.abs(getF64(e, l)));
    let m = l;
    while (m < n - 1 && Math.abs(getF64(e, m)) > EPSILON * tst1) m++;
    if (m > l)
      do {
        if (budget == 0) return false;
        budget--;
        // shift: the eigenvalue of the leading 2×2 nearer d[l]
        const g = getF64(d, l);
        const el = getF64(e, l);
        const p = (getF64(d, l + 1) - g) / (2 * el);
        // √(p² + 1) without overflow: p is huge when e[l] is tiny
        const r = Math.abs(p) <= 1 ? Math.sqrt(1 + p * p) : Math.abs(p) * Math.sqrt(1 + 1 / (p * p));
        const pr = p < 0 ? p - r : p + r;
        setF64(d, l, el / pr);
        setF64(d, l + 1, el * pr);
        const h = g - getF64(d, l);
        for (let i = l + 2; i < n; i++) setF64(d, i, getF64(d, i) - h);
        f += h;
        sweepQL(d, e, l, m, cs, sn);
        rotateRows(vt, n, l, m, cs, sn);
      } while (Math.abs(getF64(e, l)) > EPSILON * tst1);
    setF64(d, l, getF64(d, l) + f);
    setF64(e, l, 0);
  }
  return true;
}

// One implicit QL sweep over rows l … m (tql2's inner loop); rotation i (of i, i + 1) into cs[i], sn[i].
function sweepQL(d: usize, e: usize, l: i32, m: i32, cs: usize, sn: usize): void {
  const dl1 = getF64(d, l + 1);
  let p = getF64(d, m);
  let c: f64 = 1;
  let c2: f64 = 1;
  let c3: f64 = 1;
  const el1 = getF64(e, l + 1);
  let s: f64 = 0;
  let s2: f64 = 0;
  for (let i = m - 1; i >= l; i--) {
    c3 = c2;
    c2 = c;
    s2 = s;
    const ei = getF64(e, i);
    const di = getF64(d, i);
    const g = c * ei;
    const h = c * p;
    let r = Math.sqrt(p * p + ei * ei);
    // both below 2^-500: the squares underflow, so take the careful way
    if (r < HYPOT_BELOW) r = hypot(p, ei);
    setF64(e, i + 1, s * r);
    s = ei / r;
    c = p / r;
    p = c * di - s * g;
    setF64(d, i + 1, h + s * (c * g + s * di));
    setF64(cs, i, c);
    setF64(sn, i, s);
  }
  p = (-s * s2 * c3 * el1 * getF64(e, l)) / dl1;
  setF64(e, l, s * p);
  setF64(d, l, c * p);
}

// Applies the sweep's rotations, i from m − 1 down to l, each taking rows x = vt[i], y = vt[i + 1] to
// c·x − s·y and s·x + c·y. Three at a time: rows i − 2 … i + 1 are read and written once per three, with
// what a rotation leaves in row i passed on to the next in a register.
function rotateRows(vt: usize, n: i32, l: i32, m: i32, cs: usize, sn: usize): void {
  const rowBytes = (<usize>n) << 3;
  const pairs = (<usize>(n >> 1)) << 4;
  let i = m - 1;
  for (; i >= l + 2; i -= 3) {
    const c2 = getF64(cs, i);
    const s2 = getF64(sn, i);
    const c1 = getF64(cs, i - 1);
    const s1 = getF64(sn, i - 1);
    const c0 = getF64(cs, i - 2);
    const s0 = getF64(sn, i - 2);
    const r0 = vt + <usize>(i - 2) * rowBytes;
    const r1 = r0 + rowBytes;
    const r2 = r1 + rowBytes;
    const r3 = r2 + rowBytes;
    const vc2 = f64x2.splat(c2);
    const vs2 = f64x2.splat(s2);
    const vc1 = f64x2.splat(c1);
    const vs1 = f64x2.splat(s1);
    const vc0 = f64x2.splat(c0);
    const vs0 = f64x2.splat(s0);
    for (let k: usize = 0; k < pairs; k += 16) {
      const x2 = v128.load(r2 + k);
      const x3 = v128.load(r3 + k);
      const y2 = f64x2.sub(f64x2.mul(vc2, x2), f64x2.mul(vs2, x3));
      v128.store(r3 + k, f64x2.add(f64x2.mul(vs2, x2), f64x2.mul(vc2, x3)));
      const x1 = v128.load(r1 + k);
      const y1 = f64x2.sub(f64x2.mul(vc1, x1), f64x2.mul(vs1, y2));
      v128.store(r2 + k, f64x2.add(f64x2.mul(vs1, x1), f64x2.mul(vc1, y2)));
      const x0 = v128.load(r0 + k);
      v128.store(r1 + k, f64x2.add(f64x2.mul(vs0, x0), f64x2.mul(vc0, y1)));
      v128.store(r0 + k, f64x2.sub(f64x2.mul(vc0, x0), f64x2.mul(vs0, y1)));
    }
    if (n & 1) {
      rotateElements(r2 + pairs, r3 + pairs, c2, s2);
      rotateElements(r1 + pairs, r2 + pairs, c1, s1);
      rotateElements(r0 + pairs, r1 + pairs, c0, s0);
    }
  }
  // the one or two left
  for (; i >= l; i--) {
    const c = getF64(cs, i);
    const s = getF64(sn, i);
    const r0 = vt + <usize>i * rowBytes;
    const r1 = r0 + rowBytes;
    const vc = f64x2.splat(c);
    const vs = f64x2.splat(s);
    for (let k: usize = 0; k < pairs; k += 16) {
      const x = v128.load(r0 + k);
      const y = v128.load(r1 + k);
      v128.store(r0 + k, f64x2.sub(f64x2.mul(vc, x), f64x2.mul(vs, y)));
      v128.store(r1 + k, f64x2.add(f64x2.mul(vs, x), f64x2.mul(vc, y)));
    }
    if (n & 1) rotateElements(r0 + pairs, r1 + pairs, c, s);
  }
}

// The rotation on one element of each row: x at `p`, y at `q` to c·x − s·y and s·x + c·y (the odd column).
function rotateElements(p: usize, q: usize, c: f64, s: f64): void {
  const x = load<f64>(p);
  const y = load<f64>(q);
  store<f64>(p, c * x - s * y);
  store<f64>(q, s * x + c * y);
}

/**
 * One AdamW step over n float32 parameters in place (src/train/optim.ts's formula, in float32):
 * m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g², p = shrink·p − lr·(m/c1) / (√(v/c2) + ε), computed as
 * (lr/c1)·m / (√v·(1/√c2) + ε): one division and one square root per element instead of three and one.
 */
export function adamw(
  p: usize,
  g: usize,
  m: usize,
  v: usize,
  n: i32,
  lr: f32,
  c1: f32,
  c2: f32,
  shrink: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
): void {
  const b1 = f32x4.splat(beta1);
  const r1 = f32x4.splat(1 - beta1);
  const b2 = f32x4.splat(beta2);
  const r2 = f32x4.splat(1 - beta2);
  const step: f32 = lr / c1;
  const unbias: f32 = 1 / Mathf.sqrt(c2);
  const vstep = f32x4.splat(step);
  const vunbias = f32x4.splat(unbias);
  const vshrink = f32x4.splat(shrink);
  const veps = f32x4.splat(eps);
  const vectors = (<usize>(n >> 2)) << 4;
  for (let k: usize = 0; k < vectors; k += 16) {
    const gk = v128.load(g + k);
    const mk = f32x4.add(f32x4.mul(b1, v128.load(m + k)), f32x4.mul(r1, gk));
    const vk = f32x4.add(f32x4.mul(b2, v128.load(v + k)), f32x4.mul(r2, f32x4.mul(gk, gk)));
    v128.store(m + k, mk);
    v128.store(v + k, vk);
    const update = f32x4.div(f32x4.mul(vstep, mk), f32x4.add(f32x4.mul(f32x4.sqrt(vk), vunbias), veps));
    v128.store(p + k, f32x4.sub(f32x4.mul(vshrink, v128.load(p + k)), update));
  }
  for (let k = vectors; k < (<usize>n) << 2; k += 4) {
    const gk = load<f32>(g + k);
    const mk = beta1 * load<f32>(m + k) + (1 - beta1) * gk;
    const vk = beta2 * load<f32>(v + k) + (1 - beta2) * (gk * gk);
    store<f32>(m + k, mk);
    store<f32>(v + k, vk);
    store<f32>(p + k, shrink * load<f32>(p + k) - (step * mk) / (Mathf.sqrt(vk) * unbias + eps));
  }
}

// ---- First-order statistics of paired rows (src/gap/first-order.ts drives it) ----
// Float32 elements are promoted to float64 before they are multiplied: a product of two float32 values is
// exact in float64, so only the sums round. No fused multiply-add and no relaxed instruction here: every
// build variant gives the same bits.

// Elements 2k and 2k + 1 of the float32 row at `row` (byte offset `at` = 8k), as float64.
function pair64(row: usize, at: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(row + at));
}

// Squared norms and dot product of the float32 rows x and y (d elements each) into normX, normY and dotXY:
// in one pass, four partial sums each (j mod 4) over the whole groups of four, added as (s0 + s2) +
// (s1 + s3), then the remaining d mod 4 products in order.
function rowProducts(x: usize, y: usize, d: i32): void {
  const whole = (<usize>(d >> 2)) << 4;
  let xx01 = f64x2.splat(0);
  let xx23 = f64x2.splat(0);
  let yy01 = f64x2.splat(0);
  let yy23 = f64x2.splat(0);
  let xy01 = f64x2.splat(0);
  let xy23 = f64x2.splat(0);
  for (let k: usize = 0; k < whole; k += 16) {
    const x01 = pair64(x, k);
    const x23 = pair64(x, k + 8);
    const y01 = pair64(y, k);
    const y23 = pair64(y, k + 8);
    xx01 = f64x2.add(xx01, f64x2.mul(x01, x01));
    xx23 = f64x2.add(xx23, f64x2.mul(x23, x23));
    yy01 = f64x2.add(yy01, f64x2.mul(y01, y01));
    yy23 = f64x2.add(yy23, f64x2.mul(y23, y23));
    xy01 = f64x2.add(xy01, f64x2.mul(x01, y01));
    xy23 = f64x2.add(xy23, f64x2.mul(x23, y23));
  }
  let xx = lanes(f64x2.add(xx01, xx23));
  let yy = lanes(f64x2.add(yy01, yy23));
  let xy = lanes(f64x2.add(xy01, xy23));
  for (let k = whole; k < (<usize>d) << 2; k += 4) {
    const xk = <f64>load<f32>(x + k);
    const yk = <f64>load<f32>(y + k);
    xx += xk * xk;
    yy += yk * yk;
    xy += xk * yk;
  }
  normX = xx;
  normY = yy;
  dotXY = xy;
}

function lanes(s: v128): f64 {
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

let normX: f64 = 0;
let normY: f64 = 0;
let dotXY: f64 = 0;

// Running sums of one gapSums call, and the scales of the row pair last checked by scalePair.
let paired: f64 = 0;
let squaresA: f64 = 0;
let squaresB: f64 = 0;
let scaleA: f64 = 0;
let scaleB: f64 = 0;

// Squared norms and dot product of rows ra and rb: false where a squared norm is 0 or not finite, else
// adds the pair to the scalar sums and leaves 1/‖a‖ and 1/‖b‖ in scaleA and scaleB.
function scalePair(ra: usize, rb: usize, d: i32): bool {
  rowProducts(ra, rb, d);
  const na = normX;
  const nb = normY;
  const ab = dotXY;
  if (!(na > 0 && na < Infinity && nb > 0 && nb < Infinity)) return false;
  const ia = 1 / Math.sqrt(na);
  const ib = 1 / Math.sqrt(nb);
  paired += ab * ia * ib;
  squaresA += na * ia * ia;
  squaresB += nb * ib * ib;
  scaleA = ia;
  scaleB = ib;
  return true;
}

// sum[d − 1] += x[d − 1]·s: an odd d's last element.
function accumulateLast(x: usize, sum: usize, d: i32, s: f64): void {
  const last = <usize>(d - 1);
  const at = sum + (last << 3);
  store<f64>(at, load<f64>(at) + <f64>load<f32>(x + (last << 2)) * s);
}

/**
 * Adds `rows` pairs of float32 rows (row-major, d elements each, at a and b) to the sums of their
 * L2-normalised rows â = a/‖a‖, b̂ = b/‖b‖, all float64: Σ â into the d doubles at sumA, Σ b̂ into sumB, and
 * Σ â·b̂, Σ ‖â‖², Σ ‖b̂‖² into the three doubles at `scalars`. Every sum runs over the rows in order, each
 * term rounded as the plain loop `sum += x * (1 / √‖x‖²)` rounds it: only the squared norms and the dot
 * product within a pair are summed in another order (rowProducts), so sums continue bit for bit from call to
 * call, whatever the rows per call. Returns −1, or the index of the first row of a or b whose squared
 * norm is 0 or not finite (a zero, NaN or infinite row); then the sums are partly updated, to be discarded.
 */
export function gapSums(
  a: usize,
  b: usize,
  rows: i32,
  d: i32,
  sumA: usize,
  sumB: usize,
  scalars: usize,
): i32 {
  const rowBytes = (<usize>d) << 2;
  const whole = (<usize>(d >> 1)) << 3;
  paired = load<f64>(scalars);
  squaresA = load<f64>(scalars, 8);
  squaresB = load<f64>(scalars, 16);
  let i = 0;
  // four rows at a time: each load and store of the d-vector sums serves four rows, added in row order
  for (; i + 4 <= rows; i += 4) {
    const ra = a + <usize>i * rowBytes;
    const rb = b + <usize>i * rowBytes;
    if (!scalePair(ra, rb, d)) return i;
    const a0 = scaleA;
    const b0 = scaleB;
    if (!scalePair(ra + rowBytes, rb + rowBytes, d)) return i + 1;
    const a1 = scaleA;
    const b1 = scaleB;
    if (!scalePair(ra + 2 * rowBytes, rb + 2 * rowBytes, d)) return i + 2;
    const a2 = scaleA;
    const b2 = scaleB;
    if (!scalePair(ra + 3 * rowBytes, rb + 3 * rowBytes, d)) return i + 3;
    const a3 = scaleA;
    const b3 = scaleB;
    accumulate4(ra, rowBytes, sumA, whole, a0, a1, a2, a3);
    accumulate4(rb, rowBytes, sumB, whole, b0, b1, b2, b3);
    if (d & 1) {
      accumulateLast(ra, sumA, d, a0);
      accumulateLast(ra + rowBytes, sumA, d, a1);
      accumulateLast(ra + 2 * rowBytes, sumA, d, a2);
      accumulateLast(ra + 3 * rowBytes, sumA, d, a3);
      accumulateLast(rb, sumB, d, b0);
      accumulateLast(rb + rowBytes, sumB, d, b1);
      accumulateLast(rb + 2 * rowBytes, sumB, d, b2);
      accumulateLast(rb + 3 * rowBytes, sumB, d, b3);
    }
  }
  for (; i < rows; i++) {
    const ra = a + <usize>i * rowBytes;
    const rb = b + <usize>i * rowBytes;
    if (!scalePair(ra, rb, d)) return i;
    accumulate1(ra, sumA, whole, scaleA);
    accumulate1(rb, sumB, whole, scaleB);
    if (d & 1) {
      accumulateLast(ra, sumA, d, scaleA);
      accumulateLast(rb, sumB, d, scaleB);
    }
  }
  store<f64>(scalars, paired);
  store<f64>(scalars, squaresA, 8);
  store<f64>(scalars, squaresB, 16);
  return -1;
}

// sum[j] += x_r[j]·s_r for four consecutive rows x_0..x_3 (`stride` bytes apart), r in order, over the
// first `whole` / 4 elements (an even count).
function accumulate4(
  x: usize,
  stride: usize,
  sum: usize,
  whole: usize,
  s0: f64,
  s1: f64,
  s2: f64,
  s3: f64,
): void {
  const v0 = f64x2.splat(s0);
  const v1 = f64x2.splat(s1);
  const v2 = f64x2.splat(s2);
  const v3 = f64x2.splat(s3);
  const x1 = x + stride;
  const x2 = x1 + stride;
  const x3 = x2 + stride;
  for (let k: usize = 0; k < whole; k += 8) {
    const at = sum + (k << 1);
    let s = v128.load(at);
    s = f64x2.add(s, f64x2.mul(pair64(x, k), v0));
    s = f64x2.add(s, f64x2.mul(pair64(x1, k), v1));
    s = f64x2.add(s, f64x2.mul(pair64(x2, k), v2));
    s = f64x2.add(s, f64x2.mul(pair64(x3, k), v3));
    v128.store(at, s);
  }
}

// sum[j] += x[j]·s over the first `whole` / 4 elements (an even count).
function accumulate1(x: usize, sum: usize, whole: usize, s: f64): void {
  const v = f64x2.splat(s);
  for (let k: usize = 0; k < whole; k += 8) {
    const at = sum + (k << 1);
    v128.store(at, f64x2.add(v128.load(at), f64x2.mul(pair64(x, k), v)));
  }
}

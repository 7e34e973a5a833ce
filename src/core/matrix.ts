import { check, InputError } from "./errors.js";

/** A dense row-major float32 matrix; `data[i * cols + j]` is row i, column j. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/**
 * A matrix whose values carry about 48 bits as two float32 parts: `data`, each value rounded to float32, and
 * `lo`, what that rounding left (rounded). The float64 products (gramF64) take its values as data + lo.
 */
export interface SplitMatrix extends Matrix {
  readonly lo: Float32Array;
}

/** Rows [start, end) of m in float64 (row-major): data + lo where split. */
export function rowsF64(m: Matrix, start: number, end: number): Float64Array {
  const { cols, data } = m;
  const lo = (m as Partial<SplitMatrix>).lo;
  const out = new Float64Array((end - start) * cols);
  // one loop per case: each stays monomorphic and free of a per-element branch
  if (lo) for (let k = 0, at = start * cols; k < out.length; k++, at++) out[k] = data[at] + lo[at];
  else out.set(data.subarray(start * cols, end * cols));
  return out;
}

/** Rows [start, end) of m transposed (m.cols × (end − start), row-major) in float64: data + lo where split. */
export function transposedRowsF64(m: Matrix, start: number, end: number): Float64Array {
  const { cols, data } = m;
  const lo = (m as Partial<SplitMatrix>).lo;
  const rows = end - start;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0, k = (start + i) * cols; j < cols; j++, k++)
      out[j * rows + i] = lo ? data[k] + lo[k] : data[k];
  return out;
}

/** Creates a rows×cols matrix, zero-filled or over `data` (not copied; length must be rows·cols). */
export function matrix(rows: number, cols: number, data?: Float32Array): Matrix {
  check(
    Number.isInteger(rows) && Number.isInteger(cols) && rows >= 0 && cols >= 0,
    "matrix",
    "non-negative integer rows and cols",
    () => `${rows}×${cols}`,
  );
  const storage = data ?? new Float32Array(rows * cols);
  check(storage.length === rows * cols, "matrix", `${rows * cols} values for ${rows}×${cols}`, () =>
    String(storage.length),
  );
  return { rows, cols, data: storage };
}

/** Builds a matrix from an array of equal-length rows. */
export function fromRows(values: ArrayLike<number>[]): Matrix {
  const cols = values.length ? values[0].length : 0;
  const out = matrix(values.length, cols);
  values.forEach((r, i) => {
    check(
      r.length === cols,
      "fromRows",
      `every row of length ${cols}`,
      () => `row ${i} of length ${r.length}`,
    );
    out.data.set(r, i * cols);
  });
  return out;
}

/** The rows as plain arrays (for JSON and tests). */
export function toRows(m: Matrix): number[][] {
  return Array.from({ length: m.rows }, (_, i) => Array.from(row(m, i)));
}

/** Row i as a view (no copy). */
export function row(m: Matrix, i: number): Float32Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** Rows [start, end) as a view sharing storage with `m`. */
export function sliceRows(m: Matrix, start: number, end: number): Matrix {
  check(
    Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= m.rows,
    "sliceRows",
    `0 ≤ start ≤ end ≤ ${m.rows}`,
    () => `${start}:${end}`,
  );
  return matrix(end - start, m.cols, m.data.subarray(start * m.cols, end * m.cols));
}

/** The rows of `parts` one after another, as a new matrix (a part without rows may have any width). */
export function stackRows(parts: readonly Matrix[]): Matrix {
  const filled = parts.filter((p) => p.rows > 0);
  const cols = filled[0]?.cols ?? parts[0]?.cols ?? 0;
  check(
    filled.every((p) => p.cols === cols),
    "stackRows",
    `parts with ${cols} columns`,
    () => filled.map((p) => p.cols).join(", "),
  );
  const out = matrix(
    filled.reduce((n, p) => n + p.rows, 0),
    cols,
  );
  let at = 0;
  for (const p of filled) {
    out.data.set(p.data, at);
    at += p.data.length;
  }
  return out;
}

/**
 * The rows at `indices`, in that order, as a new matrix — or written into `out` (indices.length × m.cols),
 * which loops reuse: fresh memory costs a page fault per 4 KiB, ≈ 10 µs each on some virtual machines.
 */
export function selectRows(
  m: Matrix,
  indices: ArrayLike<number>,
  out = matrix(indices.length, m.cols),
): Matrix {
  check(
    out.rows === indices.length && out.cols === m.cols,
    "selectRows",
    `an output of ${indices.length}×${m.cols}`,
    () => `${out.rows}×${out.cols}`,
  );
  for (let k = 0; k < indices.length; k++) {
    const r = indices[k];
    // not check(): its message, built for every row, took a quarter of a training batch's gather
    if (!(Number.isInteger(r) && r >= 0 && r < m.rows))
      throw new InputError("selectRows", `row indices in [0, ${m.rows})`, `${r} at ${k}`);
    out.data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), k * m.cols);
  }
  return out;
}

/** The transpose, as a new matrix. */
export function transpose(m: Matrix): Matrix {
  const { rows, cols, data } = m;
  const out = new Float32Array(rows * cols);
  const tile = 32;
  for (let i0 = 0; i0 < rows; i0 += tile) {
    const i1 = Math.min(i0 + tile, rows);
    for (let j0 = 0; j0 < cols; j0 += tile) {
      const j1 = Math.min(j0 + tile, cols);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * rows + i] = data[i * cols + j];
    }
  }
  return matrix(cols, rows, out);
}

/** Throws an InputError naming the first non-finite entry, if any (rows numbered from `firstRow`). */
export function assertFinite(m: Matrix, where: string, firstRow = 0): void {
  const { data, cols } = m;
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) {
      const i = Math.floor(k / cols);
      throw new InputError(
        where,
        "finite values",
        `${data[k]} at row ${firstRow + i}, column ${k - i * cols}`,
      );
    }
  }
}

/** Index of the first smallest value (NaNs never win): the argmin rule of every sweep. */
export function argmin(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] < values[best]) best = i;
  return best;
}

/** Euclidean norm of a vector, float64 (no argument spread, so any length works). */
export function vectorNorm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** Euclidean norm of each row, accumulated in float64. */
export function rowNorms(m: Matrix): Float64Array {
  const { rows, cols, data } = m;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let k = i * cols, end = k + cols; k < end; k++) s += data[k] * data[k];
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** Throws normalizeRows' InputError if any of the row norms is zero or not finite. */
export function checkNorms(norms: Float64Array, where: string, firstRow = 0): void {
  const bad: number[] = [];
  norms.forEach((n, i) => {
    if (!(n > 0 && Number.isFinite(n))) bad.push(i);
  });
  if (bad.length) {
    const first = bad[0];
    throw new InputError(
      where,
      "rows with a finite, non-zero norm",
      `${bad.length} row(s) without one, the first is row ${firstRow + first} (norm ${norms[first]})`,
    );
  }
}

/** 1/‖row‖ of each row, float64; a zero or non-finite norm throws normalizeRows' InputError. */
export function inverseRowNorms(m: Matrix, where = "inverseRowNorms", firstRow = 0): Float64Array {
  const norms = rowNorms(m);
  checkNorms(norms, where, firstRow);
  return norms.map((n) => 1 / n);
}

/**
 * Whether the cosines of rows with these inverse norms can be float32 products of the rows as they are,
 * scaled by the inverse norms: every norm within 2^±40, so that no product overflows or underflows.
 */
export function scaledProductsSafe(inverseNorms: Float64Array): boolean {
  return inverseNorms.every((v) => v >= 2 ** -40 && v <= 2 ** 40);
}

/**
 * Scales every row to unit L2 norm (new matrix). A zero or non-finite row has no direction, so it is
 * rejected with an InputError that counts them and names the first (numbered from `firstRow`), never
 * turned into NaN.
 */
export function normalizeRows(m: Matrix, where = "normalizeRows", firstRow = 0): Matrix {
  const inverse = inverseRowNorms(m, where, firstRow);
  const out = new Float32Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    const inv = inverse[i];
    for (let k = i * m.cols, end = k + m.cols; k < end; k++) out[k] = m.data[k] * inv;
  }
  return matrix(m.rows, m.cols, out);
}

/** Sum of each row, float64. */
export function rowSums(m: Matrix): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let k = i * m.cols, end = k + m.cols; k < end; k++) s += m.data[k];
    out[i] = s;
  }
  return out;
}

/** Sum of each column, float64. */
export function colSums(m: Matrix): Float64Array {
  const out = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) {
    const base = i * m.cols;
    for (let j = 0; j < m.cols; j++) out[j] += m.data[base + j];
  }
  return out;
}

/** Mean of each row, float64. */
export function rowMeans(m: Matrix): Float64Array {
  check(m.cols > 0, "rowMeans", "at least one column", () => "0");
  return rowSums(m).map((s) => s / m.cols);
}

/** Mean of each column, float64. */
export function colMeans(m: Matrix): Float64Array {
  check(m.rows > 0, "colMeans", "at least one row", () => "0");
  return colSums(m).map((s) => s / m.rows);
}

/** Each row minus `center` (length cols), as a new matrix. */
export function subtractRow(m: Matrix, center: ArrayLike<number>): Matrix {
  check(center.length === m.cols, "subtractRow", `a vector of length ${m.cols}`, () => String(center.length));
  const out = new Float32Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    const base = i * m.cols;
    for (let j = 0; j < m.cols; j++) out[base + j] = m.data[base + j] - center[j];
  }
  return matrix(m.rows, m.cols, out);
}

/** The k largest entries of each row, in descending order (ties: lower column first). */
export interface TopK {
  readonly k: number;
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/** Top-k column indices and values per row; O(cols·log k) per row with a bounded min-heap. */
export function topK(m: Matrix, k: number): TopK {
  check(Number.isInteger(k) && k >= 1 && k <= m.cols, "topK", `an integer k in [1, ${m.cols}]`, () =>
    String(k),
  );
  const indices = new Int32Array(m.rows * k);
  const values = new Float32Array(m.rows * k);
  const heapIdx = new Int32Array(k);
  const heapVal = new Float64Array(k);
  // heap order: root is the weakest kept entry (smallest value; on equal values, the larger index)
  const weaker = (a: number, b: number) =>
    heapVal[a] < heapVal[b] || (heapVal[a] === heapVal[b] && heapIdx[a] > heapIdx[b]);
  const swap = (a: number, b: number) => {
    const v = heapVal[a];
    heapVal[a] = heapVal[b];
    heapVal[b] = v;
    const t = heapIdx[a];
    heapIdx[a] = heapIdx[b];
    heapIdx[b] = t;
  };
  const siftDown = (size: number) => {
    let p = 0;
    for (;;) {
      const l = 2 * p + 1;
      const r = l + 1;
      let w = p;
      if (l < size && weaker(l, w)) w = l;
      if (r < size && weaker(r, w)) w = r;
      if (w === p) return;
      swap(p, w);
      p = w;
    }
  };
  for (let i = 0; i < m.rows; i++) {
    const base = i * m.cols;
    let size = 0;
    for (let j = 0; j < m.cols; j++) {
      const v = m.data[base + j];
      if (size < k) {
        let c = size++;
        heapVal[c] = v;
        heapIdx[c] = j;
        while (c > 0) {
          const p = (c - 1) >> 1;
          if (!weaker(c, p)) break;
          swap(c, p);
          c = p;
        }
      } else if (v > heapVal[0]) {
        heapVal[0] = v;
        heapIdx[0] = j;
        siftDown(size);
      }
    }
    for (let out = k - 1; out >= 0; out--) {
      indices[i * k + out] = heapIdx[0];
      values[i * k + out] = heapVal[0];
      swap(0, --size);
      siftDown(size);
    }
  }
  return { k, indices, values };
}

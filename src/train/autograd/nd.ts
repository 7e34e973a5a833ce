/**
 * Float64 N-dimensional array kernels for the autograd's eager mode (row-major values with a shape):
 * numpy-style broadcasting, batched products, transposes and reductions. The reference every compiled
 * graph is checked against, so plain loops, written for clarity over speed — but for the products, which
 * run the JS gemm kernel (eager training and embedding spend their time there).
 */
import { check } from "../../core/errors.js";
import { gemmRowsKernel } from "../../core/gemm/kernel.js";

/** Dimensions, outermost first; [] is a scalar. */
export type Shape = readonly number[];

/** Number of elements of a shape. */
export function size(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides (in elements) of a shape. */
export function strides(shape: Shape): number[] {
  const out = new Array<number>(shape.length).fill(0);
  let step = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    out[k] = step;
    step *= shape[k];
  }
  return out;
}

/** A shape as text, for errors: "2×3×4" (a scalar: "scalar"). */
export function describe(shape: Shape): string {
  return shape.length ? shape.join("×") : "scalar";
}

/** The numpy broadcast of two shapes (aligned at their last axes); an InputError where they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape, where: string): Shape {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const x = a[a.length - rank + k] ?? 1;
    const y = b[b.length - rank + k] ?? 1;
    check(
      x === y || x === 1 || y === 1,
      where,
      `shapes that broadcast (numpy rules)`,
      () => `${describe(a)} and ${describe(b)}`,
    );
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Strides that read an array of shape `from` broadcast to `to` (0 along repeated axes). */
function broadcastStrides(from: Shape, to: Shape): number[] {
  const own = strides(from);
  return to.map((_, k) => {
    const j = k - (to.length - from.length);
    return j < 0 || from[j] === 1 ? 0 : own[j];
  });
}

/**
 * Calls visit(outIndex, offsets) for every element of `shape` in row-major order, with the offset of
 * each operand read through its strides.
 */
function forEachIndex(
  shape: Shape,
  operandStrides: number[][],
  visit: (i: number, offsets: number[]) => void,
) {
  const rank = shape.length;
  const total = size(shape);
  const counter = new Array<number>(rank).fill(0);
  const offsets = operandStrides.map(() => 0);
  for (let i = 0; i < total; i++) {
    visit(i, offsets);
    for (let k = rank - 1; k >= 0; k--) {
      counter[k]++;
      for (let o = 0; o < offsets.length; o++) offsets[o] += operandStrides[o][k];
      if (counter[k] < shape[k]) break;
      for (let o = 0; o < offsets.length; o++) offsets[o] -= operandStrides[o][k] * shape[k];
      counter[k] = 0;
    }
  }
}

/** f applied elementwise to a and b broadcast to `shape`. */
export function binary(
  a: Float64Array,
  aShape: Shape,
  b: Float64Array,
  bShape: Shape,
  shape: Shape,
  f: (x: number, y: number) => number,
): Float64Array {
  const out = new Float64Array(size(shape));
  forEachIndex(shape, [broadcastStrides(aShape, shape), broadcastStrides(bShape, shape)], (i, [p, q]) => {
    out[i] = f(a[p], b[q]);
  });
  return out;
}

/** x (of shape `from`) repeated to the shape `to` it broadcasts to. */
export function expand(x: Float64Array, from: Shape, to: Shape): Float64Array {
  const out = new Float64Array(size(to));
  forEachIndex(to, [broadcastStrides(from, to)], (i, [p]) => {
    out[i] = x[p];
  });
  return out;
}

/** The adjoint of expand: x (shape `from`) summed down to `to`, a shape that broadcasts to `from`. */
export function sumTo(x: Float64Array, from: Shape, to: Shape): Float64Array {
  const out = new Float64Array(size(to));
  forEachIndex(from, [broadcastStrides(to, from)], (i, [p]) => {
    out[p] += x[i];
  });
  return out;
}

/** `shape` with `axes` kept as length 1 (a reduction's result, keepdims). */
export const keptShape = (shape: Shape, axes: readonly number[]): Shape =>
  shape.map((d, k) => (axes.includes(k) ? 1 : d));

/** Sums over `axes` (sorted, distinct), the result shaped with those axes removed or kept as 1. */
export function reduce(
  x: Float64Array,
  shape: Shape,
  axes: readonly number[],
  combine: (acc: number, v: number) => number,
  initial: number,
): Float64Array {
  const kept = keptShape(shape, axes);
  const out = new Float64Array(size(kept)).fill(initial);
  forEachIndex(shape, [broadcastStrides(kept, shape)], (i, [p]) => {
    out[p] = combine(out[p], x[i]);
  });
  return out;
}

/** x with its axes permuted: output axis k is input axis perm[k]. */
export function transpose(x: Float64Array, shape: Shape, perm: readonly number[]): Float64Array {
  const own = strides(shape);
  const outShape = perm.map((p) => shape[p]);
  const out = new Float64Array(x.length);
  forEachIndex(outShape, [perm.map((p) => own[p])], (i, [p]) => {
    out[i] = x[p];
  });
  return out;
}

/**
 * Batched products a·b over the last two axes ([…, m, k]·[…, k, n]), the leading axes broadcast to
 * `batch`; float64 sums by the JS gemm kernel.
 */
export function batchedMatmul(
  a: Float64Array,
  aShape: Shape,
  b: Float64Array,
  bShape: Shape,
  batch: Shape,
): Float64Array {
  const [m, k] = aShape.slice(-2);
  const n = bShape[bShape.length - 1];
  const out = new Float64Array(size(batch) * m * n);
  const aBatch = broadcastStrides(aShape.slice(0, -2), batch);
  const bBatch = broadcastStrides(bShape.slice(0, -2), batch);
  forEachIndex(batch, [aBatch, bBatch], (t, [p, q]) => {
    const bt = transpose(b.subarray(q * k * n, (q + 1) * k * n), [k, n], [1, 0]);
    gemmRowsKernel(
      a.subarray(p * m * k, (p + 1) * m * k),
      bt,
      out.subarray(t * m * n, (t + 1) * m * n),
      n,
      k,
      0,
      m,
    );
  });
  return out;
}

/** Elements [start, end) along `axis` of x. */
export function sliceAxis(
  x: Float64Array,
  shape: Shape,
  axis: number,
  start: number,
  end: number,
): Float64Array {
  const outShape = shape.map((d, k) => (k === axis ? end - start : d));
  const own = strides(shape);
  const out = new Float64Array(size(outShape));
  const first = start * own[axis];
  forEachIndex(outShape, [own], (i, [p]) => {
    out[i] = x[first + p];
  });
  return out;
}

/** The arrays joined along `axis` (their shapes equal elsewhere). */
export function concatAxis(
  values: readonly Float64Array[],
  shapes: readonly Shape[],
  axis: number,
): Float64Array {
  const outer = size(shapes[0].slice(0, axis));
  const blocks = shapes.map((s) => size(s.slice(axis)));
  const out = new Float64Array(outer * blocks.reduce((a, b) => a + b, 0));
  let at = 0;
  for (let o = 0; o < outer; o++)
    values.forEach((v, i) => {
      out.set(v.subarray(o * blocks[i], (o + 1) * blocks[i]), at);
      at += blocks[i];
    });
  return out;
}

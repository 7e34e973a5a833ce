import { check } from "../core/errors.js";
import { gemmRowsKernel } from "../core/gemm/kernel.js";

/**
 * Reverse-mode automatic differentiation on a tape of float64 matrices.
 *
 * Every backward rule is written with the same differentiable ops, so a gradient is itself a graph and
 * can be differentiated again (Hessian-vector products, bilevel meta-learning): `grad(..., {createGraph:
 * true})`. Values are float64 so gradients can be checked against finite differences to 1e-6 and beyond.
 */
export interface Var {
  readonly rows: number;
  readonly cols: number;
  readonly value: Float64Array;
  /** Inputs this node was computed from (empty for leaves and constants). */
  readonly parents: readonly Var[];
  /** Given ∂L/∂this, the contributions to ∂L/∂parent for each parent (null where none). */
  readonly backward: ((g: Var) => (Var | null)[]) | null;
  /** Whether gradients flow to or through this node. */
  readonly requiresGrad: boolean;
}

function node(
  rows: number,
  cols: number,
  value: Float64Array,
  parents: Var[],
  backward: (g: Var) => (Var | null)[],
): Var {
  const requiresGrad = parents.some((p) => p.requiresGrad);
  return {
    rows,
    cols,
    value,
    parents: requiresGrad ? parents : [],
    backward: requiresGrad ? backward : null,
    requiresGrad,
  };
}

/** A trainable leaf (parameter or input whose gradient is wanted). */
export function variable(rows: number, cols: number, data: ArrayLike<number>): Var {
  check(data.length === rows * cols, "variable", `${rows * cols} values for ${rows}×${cols}`, () =>
    String(data.length),
  );
  return { rows, cols, value: Float64Array.from(data), parents: [], backward: null, requiresGrad: true };
}

/** A constant: no gradient flows to it. */
export function constant(rows: number, cols: number, data: ArrayLike<number>): Var {
  check(data.length === rows * cols, "constant", `${rows * cols} values for ${rows}×${cols}`, () =>
    String(data.length),
  );
  return { rows, cols, value: Float64Array.from(data), parents: [], backward: null, requiresGrad: false };
}

/** A 1×1 constant. */
export function scalar(x: number): Var {
  return constant(1, 1, [x]);
}

/** The same value with no gradient path (stop-gradient). */
export function detach(x: Var): Var {
  return { ...x, parents: [], backward: null, requiresGrad: false };
}

const shape = (x: Var) => `${x.rows}×${x.cols}`;

/** Broadcasting rule: b matches a, or is a row (1×n), a column (m×1) or a scalar (1×1). */
function broadcastable(a: Var, b: Var, where: string): void {
  check(
    (b.rows === a.rows || b.rows === 1) && (b.cols === a.cols || b.cols === 1),
    where,
    `shapes that broadcast onto ${shape(a)} (equal, 1×${a.cols}, ${a.rows}×1 or 1×1)`,
    () => shape(b),
  );
}

/** Sums g (m×n) down to rows×cols (the inverse of broadcasting). */
export function reduceTo(g: Var, rows: number, cols: number): Var {
  if (g.rows === rows && g.cols === cols) return g;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < g.rows; i++)
    for (let j = 0; j < g.cols; j++)
      out[(rows === 1 ? 0 : i) * cols + (cols === 1 ? 0 : j)] += g.value[i * g.cols + j];
  return node(rows, cols, out, [g], (d) => [broadcastTo(d, g.rows, g.cols)]);
}

/** Repeats x (rows×cols with rows or cols possibly 1) to rows'×cols'. */
export function broadcastTo(x: Var, rows: number, cols: number): Var {
  if (x.rows === rows && x.cols === cols) return x;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++)
      out[i * cols + j] = x.value[(x.rows === 1 ? 0 : i) * x.cols + (x.cols === 1 ? 0 : j)];
  return node(rows, cols, out, [x], (d) => [reduceTo(d, x.rows, x.cols)]);
}

function elementwise(
  a: Var,
  b: Var,
  where: string,
  f: (x: number, y: number) => number,
  backward: (g: Var) => [Var | null, Var | null],
): Var {
  broadcastable(a, b, where);
  const out = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < a.cols; j++)
      out[i * a.cols + j] = f(
        a.value[i * a.cols + j],
        b.value[(b.rows === 1 ? 0 : i) * b.cols + (b.cols === 1 ? 0 : j)],
      );
  return node(a.rows, a.cols, out, [a, b], backward);
}

/** a + b; the second operand broadcasts (row, column or scalar), the first sets the shape. */
export function add(a: Var, b: Var): Var {
  return elementwise(
    a,
    b,
    "add",
    (x, y) => x + y,
    (g) => [g, reduceTo(g, b.rows, b.cols)],
  );
}

/** a − b (b broadcast). */
export function sub(a: Var, b: Var): Var {
  return elementwise(
    a,
    b,
    "sub",
    (x, y) => x - y,
    (g) => [g, neg(reduceTo(g, b.rows, b.cols))],
  );
}

/** Elementwise a·b (b broadcast). */
export function mul(a: Var, b: Var): Var {
  return elementwise(
    a,
    b,
    "mul",
    (x, y) => x * y,
    (g) => [mul(g, b), reduceTo(mul(g, a), b.rows, b.cols)],
  );
}

function unary(x: Var, f: (v: number) => number, backward: (g: Var, out: Var) => Var): Var {
  const out = node(x.rows, x.cols, x.value.map(f), [x], (g) => [backward(g, out)]);
  return out;
}

/** −x. */
export function neg(x: Var): Var {
  return unary(
    x,
    (v) => -v,
    (g) => neg(g),
  );
}

/** c·x for a constant number c. */
export function scale(x: Var, c: number): Var {
  return unary(
    x,
    (v) => c * v,
    (g) => scale(g, c),
  );
}

/** eᕽ elementwise (its derivative reuses the output). */
export function exp(x: Var): Var {
  return unary(x, Math.exp, (g, out) => mul(g, out));
}

/** ln x elementwise. */
export function log(x: Var): Var {
  return unary(x, Math.log, (g) => mul(g, reciprocal(x)));
}

/** 1/x elementwise. */
export function reciprocal(x: Var): Var {
  return unary(
    x,
    (v) => 1 / v,
    (g, out) => neg(mul(g, mul(out, out))),
  );
}

/** √x elementwise. */
export function sqrt(x: Var): Var {
  return unary(x, Math.sqrt, (g, out) => scale(mul(g, reciprocal(out)), 0.5));
}

/** tanh elementwise. */
export function tanh(x: Var): Var {
  return unary(x, Math.tanh, (g, out) => mul(g, add(neg(mul(out, out)), scalar(1))));
}

/** max(x, 0) elementwise; its derivative is the step mask (a constant: the second derivative is 0). */
export function relu(x: Var): Var {
  const mask = constant(
    x.rows,
    x.cols,
    x.value.map((v) => (v > 0 ? 1 : 0)),
  );
  return unary(
    x,
    (v) => (v > 0 ? v : 0),
    (g) => mul(g, mask),
  );
}

/** 1/(1 + e⁻ˣ) elementwise. */
export function sigmoid(x: Var): Var {
  return reciprocal(add(exp(neg(x)), scalar(1)));
}

/** The matrix product a·b (float64). */
export function matmul(a: Var, b: Var): Var {
  check(a.cols === b.rows, "matmul", `inner dimensions to agree (${shape(a)} · ?)`, () => shape(b));
  const out = new Float64Array(a.rows * b.cols);
  gemmRowsKernel(a.value, transpose(b).value, out, b.cols, a.cols, 0, a.rows);
  return node(a.rows, b.cols, out, [a, b], (g) => [matmul(g, transpose(b)), matmul(transpose(a), g)]);
}

/** xᵀ. */
export function transpose(x: Var): Var {
  const out = new Float64Array(x.rows * x.cols);
  for (let i = 0; i < x.rows; i++)
    for (let j = 0; j < x.cols; j++) out[j * x.rows + i] = x.value[i * x.cols + j];
  return node(x.cols, x.rows, out, [x], (g) => [transpose(g)]);
}

/** Σ over everything (1×1). */
export function sum(x: Var): Var {
  return reduceTo(x, 1, 1);
}

/** Σ over each row (m×1). */
export function sumRows(x: Var): Var {
  return reduceTo(x, x.rows, 1);
}

/** Mean over everything (1×1). */
export function mean(x: Var): Var {
  return scale(sum(x), 1 / (x.rows * x.cols));
}

/** log Σ exp of each row (m×1), stable: the row maximum is factored out as a constant. */
export function logSumExpRows(x: Var): Var {
  const max = constant(
    x.rows,
    1,
    Array.from({ length: x.rows }, (_, i) => Math.max(...x.value.subarray(i * x.cols, (i + 1) * x.cols))),
  );
  return add(log(sumRows(exp(sub(x, max)))), max);
}

/** Each row scaled to unit L2 norm (differentiable). */
export function normalizeRowsVar(x: Var): Var {
  return mul(x, reciprocal(sqrt(sumRows(mul(x, x)))));
}

/**
 * Gradients of a scalar `output` with respect to `inputs`. With `createGraph` the gradients are themselves
 * differentiable (for second derivatives); otherwise they are returned detached.
 */
export function grad(output: Var, inputs: readonly Var[], options: { createGraph?: boolean } = {}): Var[] {
  check(output.rows === 1 && output.cols === 1, "grad", "a scalar (1×1) output", () => shape(output));
  // topological order of the nodes between the inputs and the output
  const order: Var[] = [];
  const seen = new Set<Var>();
  const visit = (v: Var) => {
    if (seen.has(v)) return;
    seen.add(v);
    for (const p of v.parents) visit(p);
    order.push(v);
  };
  visit(output);
  const grads = new Map<Var, Var>([[output, scalar(1)]]);
  for (let k = order.length - 1; k >= 0; k--) {
    const v = order[k];
    const g = grads.get(v);
    if (!g || !v.backward) continue;
    for (const [i, contribution] of v.backward(g).entries()) {
      const parent = v.parents[i];
      if (!contribution || !parent.requiresGrad) continue;
      const previous = grads.get(parent);
      grads.set(parent, previous ? add(previous, contribution) : contribution);
    }
  }
  return inputs.map((x) => {
    const g = grads.get(x) ?? constant(x.rows, x.cols, new Float64Array(x.rows * x.cols));
    // detached gradients get their own storage: two inputs may share one gradient node (x + y), and
    // callers such as clipGradNorm scale gradients in place
    return options.createGraph ? g : constant(g.rows, g.cols, g.value);
  });
}

/**
 * Rows of `table` picked by `indices` (an embedding lookup); the gradient scatters back, adding where an
 * index repeats.
 */
export function gatherRows(table: Var, indices: ArrayLike<number>): Var {
  const d = table.cols;
  const out = new Float64Array(indices.length * d);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    check(
      Number.isInteger(r) && r >= 0 && r < table.rows,
      "gatherRows",
      `indices in [0, ${table.rows})`,
      () => `${r} at ${i}`,
    );
    out.set(table.value.subarray(r * d, (r + 1) * d), i * d);
  }
  return node(indices.length, d, out, [table], (g) => [scatterRows(g, indices, table.rows)]);
}

/** The adjoint of gatherRows: row i of g is added into row indices[i] of a rows×cols result. */
function scatterRows(g: Var, indices: ArrayLike<number>, rows: number): Var {
  const d = g.cols;
  const out = new Float64Array(rows * d);
  for (let i = 0; i < indices.length; i++)
    for (let j = 0; j < d; j++) out[indices[i] * d + j] += g.value[i * d + j];
  return node(rows, d, out, [g], (h) => [gatherRows(h, indices)]);
}

/**
 * 2-D convolution (cross-correlation, stride 1, no padding) of a batch: x is N×(C·H·W) (each row one
 * image, channel-major), w is F×(C·k·k), result N×(F·(H−k+1)·(W−k+1)). Built from gatherRows and matmul
 * (im2col), so its gradients — first and second order — come from theirs.
 */
export function conv2d(
  x: Var,
  w: Var,
  image: { channels: number; height: number; width: number },
  k: number,
): Var {
  const { channels: c, height: h, width: wd } = image;
  check(x.cols === c * h * wd, "conv2d", `rows of ${c}·${h}·${wd} values`, () => String(x.cols));
  check(w.cols === c * k * k, "conv2d weights", `F×${c * k * k} (channels·k·k)`, () => `${w.rows}×${w.cols}`);
  const [oh, ow] = [h - k + 1, wd - k + 1];
  check(oh >= 1 && ow >= 1, "conv2d", `a kernel no larger than the image (${h}×${wd})`, () => String(k));
  // im2col: for each image n and output position p, the c·k·k input values under the kernel
  const columns: number[] = [];
  for (let n = 0; n < x.rows; n++)
    for (let y = 0; y < oh; y++)
      for (let xPos = 0; xPos < ow; xPos++)
        for (let ch = 0; ch < c; ch++)
          for (let dy = 0; dy < k; dy++)
            for (let dx = 0; dx < k; dx++) columns.push(n * x.cols + ch * h * wd + (y + dy) * wd + xPos + dx);
  const flat = reshape(x, x.rows * x.cols, 1);
  const patches = reshape(gatherRows(flat, columns), x.rows * oh * ow, c * k * k);
  const out = matmul(patches, transpose(w)); // (N·oh·ow) × F
  // to N × (F·oh·ow), filter-major like the input's channel-major layout
  const order: number[] = [];
  for (let n = 0; n < x.rows; n++)
    for (let f = 0; f < w.rows; f++)
      for (let p = 0; p < oh * ow; p++) order.push((n * oh * ow + p) * w.rows + f);
  return reshape(gatherRows(reshape(out, out.rows * out.cols, 1), order), x.rows, w.rows * oh * ow);
}

/** The same values viewed as rows×cols (row-major order kept). */
export function reshape(x: Var, rows: number, cols: number): Var {
  check(rows * cols === x.rows * x.cols, "reshape", `${x.rows * x.cols} values`, () => `${rows}×${cols}`);
  return node(rows, cols, x.value, [x], (g) => [reshape(g, x.rows, x.cols)]);
}

/** 2×2 mean pooling, stride 2, of each channel of a batch laid out like conv2d's output. */
export function meanPool2(x: Var, image: { channels: number; height: number; width: number }): Var {
  const { channels: c, height: h, width: w } = image;
  check(
    x.cols === c * h * w && h % 2 === 0 && w % 2 === 0,
    "meanPool2",
    `rows of ${c}·${h}·${w} values with even sides`,
    () => String(x.cols),
  );
  const [ph, pw] = [h / 2, w / 2];
  // a fixed linear map: each pooled value is ¼ of four inputs
  const pool = new Float64Array(c * h * w * c * ph * pw);
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < h; y++)
      for (let xPos = 0; xPos < w; xPos++)
        pool[
          (ch * h * w + y * w + xPos) * (c * ph * pw) +
            ch * ph * pw +
            Math.floor(y / 2) * pw +
            Math.floor(xPos / 2)
        ] = 0.25;
  return matmul(x, constant(c * h * w, c * ph * pw, pool));
}

/** Rows [start, end) of x (differentiable: the gradient lands back in those rows). */
export function sliceRowsVar(x: Var, start: number, end: number): Var {
  return gatherRows(
    x,
    Array.from({ length: end - start }, (_, i) => start + i),
  );
}

/** The rows of a followed by the rows of b. */
export function concatRows(a: Var, b: Var): Var {
  check(a.cols === b.cols, "concatRows", `matrices with ${a.cols} columns`, () => String(b.cols));
  const out = new Float64Array(a.value.length + b.value.length);
  out.set(a.value);
  out.set(b.value, a.value.length);
  return node(a.rows + b.rows, a.cols, out, [a, b], (g) => [
    sliceRowsVar(g, 0, a.rows),
    sliceRowsVar(g, a.rows, a.rows + b.rows),
  ]);
}

/**
 * The autograd's ops: each a shape rule, a float64 evaluation (nd.ts), a vector-Jacobian product written
 * with these same ops, and its ONNX lowering (opset 17). Binary elementwise ops broadcast like numpy; a
 * number operand is a scalar constant.
 */
import { check } from "../../core/errors.js";
import { floatAttribute, intAttribute, intsAttribute, stringAttribute } from "../../core/onnx.js";
import {
  batchedMatmul,
  binary,
  broadcastShapes,
  concatAxis,
  describe,
  expand as expandValues,
  keptShape,
  reduce,
  type Shape,
  size,
  sliceAxis,
  sumTo as sumToValues,
  transpose as transposeValues,
} from "./nd.js";
import { apply, constant, type Op, scalar, type Tensor } from "./tensor.js";

type Operand = Tensor | number;

const tensor = (x: Operand): Tensor => (typeof x === "number" ? scalar(x) : x);
const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, k) => d === b[k]);

/** A binary elementwise op with numpy broadcasting. */
function elementwise(
  name: string,
  onnx: string,
  f: (x: number, y: number) => number,
  vjp: (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null],
): Op {
  return {
    name,
    shape: ([a, b]) => broadcastShapes(a, b, name),
    evaluate: ([x, y], [sx, sy], _, out) => binary(x, sx, y, sy, out, f),
    vjp: (g, node) => {
      const [a, b] = node.inputs;
      const [ga, gb] = vjp(g, a, b, node);
      return [ga && sumTo(ga, a.shape), gb && sumTo(gb, b.shape)];
    },
    lower: (graph, inputs) => graph.node(onnx, inputs),
  };
}

/** A unary elementwise op. */
function unary(
  name: string,
  onnx: string,
  f: (x: number) => number,
  vjp?: (g: Tensor, x: Tensor, out: Tensor) => Tensor,
): Op {
  return {
    name,
    shape: ([x]) => x,
    evaluate: ([x]) => x.map(f),
    ...(vjp && { vjp: (g: Tensor, node: Tensor) => [vjp(g, node.inputs[0], node)] }),
    lower: (graph, inputs) => graph.node(onnx, inputs),
  };
}

const ADD = elementwise(
  "add",
  "Add",
  (x, y) => x + y,
  (g) => [g, g],
);
const SUB = elementwise(
  "sub",
  "Sub",
  (x, y) => x - y,
  (g) => [g, neg(g)],
);
const MUL = elementwise(
  "mul",
  "Mul",
  (x, y) => x * y,
  (g, a, b) => [mul(g, b), mul(g, a)],
);
const DIV = elementwise(
  "div",
  "Div",
  (x, y) => x / y,
  (g, _, b, out) => [div(g, b), neg(div(mul(g, out), b))],
);
const NEG = unary(
  "neg",
  "Neg",
  (x) => -x,
  (g) => neg(g),
);
const EXP = unary("exp", "Exp", Math.exp, (g, _, out) => mul(g, out));
const LOG = unary("log", "Log", Math.log, (g, x) => div(g, x));
const SQRT = unary("sqrt", "Sqrt", Math.sqrt, (g, _, out) => div(g, mul(out, 2)));
const TANH = unary("tanh", "Tanh", Math.tanh, (g, _, out) => mul(g, sub(1, mul(out, out))));
// relu's gradient g·[y > 0], read off relu's output y (= [x > 0]): x then feeds only the Relu, which
// onnxruntime fuses into the product before it. Linear in g (relu's second derivative is 0).
const RELU_GRADIENT: Op = {
  name: "reluGradient",
  shape: ([g]) => g,
  evaluate: ([g, y]) => g.map((v, k) => (y[k] > 0 ? v : 0)),
  vjp: (gg, node) => [apply(RELU_GRADIENT, [gg, node.inputs[1]]), null],
  lower: (graph, [g, y]) => {
    const zero = graph.floats([0], []);
    return graph.node("Where", [graph.node("Greater", [y, zero]), g, zero]);
  },
};
const RELU = unary(
  "relu",
  "Relu",
  (x) => (x > 0 ? x : 0),
  (g, _, out) => apply(RELU_GRADIENT, [g, out]),
);

// GELU's tanh form as x·σ(z), z = x·(α + β·x²): 0.5·(1 + tanh(u)) = σ(2u), so α = 2√(2/π), β = 0.044715·α
const GELU_ALPHA = 2 * Math.sqrt(2 / Math.PI);
const GELU_BETA = 0.044715 * GELU_ALPHA;
const geluGateValue = (x: number) => 1 / (1 + Math.exp(-x * (GELU_ALPHA + GELU_BETA * x * x)));
// one op rather than its composition: a transformer's MLP runs these passes over its widest activations,
// and the composed backward (every product's both sides, then their sums) took 16 passes where this takes 10
const GELU_GATE: Op = {
  name: "geluGate",
  shape: ([x]) => x,
  evaluate: ([x]) => x.map(geluGateValue),
  // σ' = σ·(1 − σ), times z' = α + 3β·x²
  vjp: (g, node) => {
    const [x] = node.inputs;
    return [mul(mul(g, mul(node, sub(1, node))), add(mul(mul(x, x), 3 * GELU_BETA), GELU_ALPHA))];
  },
  lower: (graph, [x]) => {
    const cubic = graph.node("Mul", [graph.node("Mul", [x, x]), graph.floats([GELU_BETA], [])]);
    const z = graph.node("Mul", [x, graph.node("Add", [cubic, graph.floats([GELU_ALPHA], [])])]);
    return graph.node("Sigmoid", [z]);
  },
};

/** a + b. */
export const add = (a: Operand, b: Operand): Tensor => apply(ADD, [tensor(a), tensor(b)]);
/** a − b. */
export const sub = (a: Operand, b: Operand): Tensor => apply(SUB, [tensor(a), tensor(b)]);
/** a·b elementwise. */
export const mul = (a: Operand, b: Operand): Tensor => apply(MUL, [tensor(a), tensor(b)]);
/** a / b elementwise. */
export const div = (a: Operand, b: Operand): Tensor => apply(DIV, [tensor(a), tensor(b)]);
/** −x. */
export const neg = (x: Tensor): Tensor => apply(NEG, [x]);
/** eˣ elementwise. */
export const exp = (x: Tensor): Tensor => apply(EXP, [x]);
/** ln x elementwise. */
export const log = (x: Tensor): Tensor => apply(LOG, [x]);
/** √x elementwise. */
export const sqrt = (x: Tensor): Tensor => apply(SQRT, [x]);
/** tanh elementwise. */
export const tanh = (x: Tensor): Tensor => apply(TANH, [x]);
/** max(x, 0) elementwise. */
export const relu = (x: Tensor): Tensor => apply(RELU, [x]);
/** GELU's gate σ(x·(α + β·x²)) (α = 2√(2/π), β = 0.044715·α): gelu(x) = x·geluGate(x), PyTorch's tanh form. */
export const geluGate = (x: Tensor): Tensor => apply(GELU_GATE, [x]);

/** The axes of a rank-`rank` tensor: negative ones count from the end; sorted, checked, distinct. */
function normaliseAxes(axes: readonly number[], rank: number, where: string): number[] {
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  check(
    out.every((a) => Number.isInteger(a) && a >= 0 && a < rank) && new Set(out).size === out.length,
    where,
    `distinct axes in [−${rank}, ${rank})`,
    () => JSON.stringify(axes),
  );
  return out.sort((a, b) => a - b);
}

const MATMUL: Op = {
  name: "matmul",
  shape: ([a, b]) => {
    check(
      a.length >= 2 && b.length >= 2 && a[a.length - 1] === b[b.length - 2],
      "matmul",
      "[…, m, k] and […, k, n]",
      () => `${describe(a)} and ${describe(b)}`,
    );
    return [
      ...broadcastShapes(a.slice(0, -2), b.slice(0, -2), "matmul batch axes"),
      a[a.length - 2],
      b[b.length - 1],
    ];
  },
  evaluate: ([x, y], [sx, sy], _, out) => batchedMatmul(x, sx, y, sy, out.slice(0, -2)),
  vjp: (g, node) => {
    const [a, b] = node.inputs;
    if (a.shape.length === 2 && b.shape.length === 2)
      return [gemm(g, b, false, true), gemm(a, g, true, false)];
    // a matrix b applied to a batch (a linear layer on [B, T, D]): products over the flattened batch —
    // the weight's gradient Aᵀ·G of [D, B·T]·[B·T, n], rather than B products and a sum of them
    if (b.shape.length === 2) {
      const [k, n] = b.shape;
      const [flatA, flatG] = [reshape(a, [size(a.shape) / k, k]), reshape(g, [size(g.shape) / n, n])];
      return [reshape(gemm(flatG, b, false, true), a.shape), gemm(flatA, flatG, true, false)];
    }
    return [sumTo(matmul(g, transpose(b)), a.shape), sumTo(matmul(transpose(a), g), b.shape)];
  },
  lower: (graph, inputs) => graph.node("MatMul", inputs),
};

const GEMM: Op = {
  name: "gemm",
  shape: ([a, b], { transA, transB }) => {
    const [m, k] = transA ? [a[1], a[0]] : a;
    const [l, n] = transB ? [b[1], b[0]] : b;
    check(
      a.length === 2 && b.length === 2 && k === l,
      "gemm",
      `matrices whose product fits (transA ${transA}, transB ${transB})`,
      () => `${describe(a)} and ${describe(b)}`,
    );
    return [m, n];
  },
  evaluate: ([x, y], [sx, sy], { transA, transB }, [m, n]) => {
    const k = transA ? sx[0] : sx[1];
    const left = transA ? transposeValues(x, sx, [1, 0]) : x;
    const right = transB ? transposeValues(y, sy, [1, 0]) : y;
    return batchedMatmul(left, [m, k], right, [k, n], []);
  },
  // C = op(A)·op(B): ∂A = G·op(B)ᵀ (transposed back where A is), ∂B = op(A)ᵀ·G (likewise)
  vjp: (g, node) => {
    const [a, b] = node.inputs;
    const { transA, transB } = node.attrs as { transA: boolean; transB: boolean };
    return [
      transA ? gemm(b, g, transB, true) : gemm(g, b, false, !transB),
      transB ? gemm(g, a, true, transA) : gemm(a, g, !transA, false),
    ];
  },
  lower: (graph, inputs, node) =>
    graph.node("Gemm", inputs, [
      intAttribute("transA", node.attrs.transA ? 1 : 0),
      intAttribute("transB", node.attrs.transB ? 1 : 0),
    ]),
};

/**
 * op(a)·op(b) of two matrices, op a transpose where asked: onnxruntime's Gemm, which it runs faster than a
 * MatMul of a Transpose (the products of gradients are of this form).
 */
export const gemm = (a: Tensor, b: Tensor, transA = false, transB = false): Tensor =>
  apply(GEMM, [a, b], { transA, transB });

/** A matrix's transpose as the transpose op made it (with its input kept), else undefined. */
const transposedMatrix = (x: Tensor) =>
  x.op === TRANSPOSE && x.shape.length === 2 && x.inputs.length === 1 ? x.inputs[0] : undefined;

/**
 * Batched matrix product over the last two axes, the leading axes broadcast (numpy's matmul); of two
 * matrices, one of them a transpose, the gemm of its input.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.shape.length === 2 && b.shape.length === 2) {
    const [at, bt] = [transposedMatrix(a), transposedMatrix(b)];
    if (at || bt) return gemm(at ?? a, bt ?? b, at !== undefined, bt !== undefined);
  }
  return apply(MATMUL, [a, b]);
}

const TRANSPOSE: Op = {
  name: "transpose",
  shape: ([x], { perm }) => (perm as number[]).map((p) => x[p]),
  evaluate: ([x], [s], { perm }) => transposeValues(x, s, perm as number[]),
  vjp: (g, node) => {
    const perm = node.attrs.perm as number[];
    const inverse = perm.map((_, k) => perm.indexOf(k));
    return [transpose(g, inverse)];
  },
  lower: (graph, inputs, node) =>
    graph.node("Transpose", inputs, [intsAttribute("perm", node.attrs.perm as number[])]),
};

/** x with its axes permuted (output axis k is input axis perm[k]); default: the last two swapped. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const rank = x.shape.length;
  const order = perm ?? [...Array.from({ length: rank - 2 }, (_, k) => k), rank - 1, rank - 2];
  check(
    order.length === rank && normaliseAxes(order, rank, "transpose").every((a, k) => a === k),
    "transpose",
    `a permutation of the ${rank} axes`,
    () => JSON.stringify(perm),
  );
  return apply(TRANSPOSE, [x], { perm: order.map((a) => (a < 0 ? a + rank : a)) });
}

const RESHAPE: Op = {
  name: "reshape",
  shape: (_, { shape }) => shape as Shape,
  evaluate: ([x]) => x.slice(),
  vjp: (g, node) => [reshape(g, node.inputs[0].shape)],
  lower: (graph, [x], node) => graph.node("Reshape", [x, graph.ints(node.shape)]),
};

/** The same values (row-major order) with another shape of as many elements. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  check(
    shape.every((d) => Number.isInteger(d) && d >= 0) && size(shape) === size(x.shape),
    "reshape",
    `a shape of ${size(x.shape)} elements`,
    () => describe(shape),
  );
  return sameShape(shape, x.shape) ? x : apply(RESHAPE, [x], { shape: [...shape] });
}

const SUM: Op = {
  name: "sum",
  shape: ([x], { axes, keepdims }) =>
    keepdims
      ? x.map((d, k) => ((axes as number[]).includes(k) ? 1 : d))
      : x.filter((_, k) => !(axes as number[]).includes(k)),
  evaluate: ([x], [s], { axes }) => reduce(x, s, axes as number[], (acc, v) => acc + v, 0),
  vjp: (g, node) => {
    const x = node.inputs[0];
    return [expand(reshape(g, keptShape(x.shape, node.attrs.axes as number[])), x.shape)];
  },
  lower: (graph, [x], node) =>
    graph.node(
      "ReduceSum",
      [x, graph.ints(node.attrs.axes as number[])],
      [intAttribute("keepdims", node.attrs.keepdims ? 1 : 0)],
    ),
};

/** Σ over `axes` (default: all), dropping them unless keepdims. */
export function sum(x: Tensor, axes?: readonly number[], keepdims = false): Tensor {
  const rank = x.shape.length;
  const normalised = normaliseAxes(axes ?? Array.from({ length: rank }, (_, k) => k), rank, "sum");
  if (normalised.length === 0) return x;
  return apply(SUM, [x], { axes: normalised, keepdims });
}

/** The mean over `axes` (default: all), dropping them unless keepdims. */
export function mean(x: Tensor, axes?: readonly number[], keepdims = false): Tensor {
  const rank = x.shape.length;
  const normalised = normaliseAxes(axes ?? Array.from({ length: rank }, (_, k) => k), rank, "mean");
  const count = normalised.reduce((n, a) => n * x.shape[a], 1);
  return div(sum(x, normalised, keepdims), count);
}

const EXPAND: Op = {
  name: "expand",
  shape: (_, { shape }) => shape as Shape,
  evaluate: ([x], [s], _, out) => expandValues(x, s, out),
  vjp: (g, node) => [sumTo(g, node.inputs[0].shape)],
  lower: (graph, [x], node) => graph.node("Expand", [x, graph.ints(node.shape)]),
};

/** x repeated (broadcast) to `shape`. */
export function expand(x: Tensor, shape: Shape): Tensor {
  check(
    sameShape(broadcastShapes(x.shape, shape, "expand"), shape),
    "expand",
    `a shape ${describe(x.shape)} broadcasts to`,
    () => describe(shape),
  );
  return sameShape(x.shape, shape) ? x : apply(EXPAND, [x], { shape: [...shape] });
}

const SUM_TO: Op = {
  name: "sumTo",
  shape: (_, { shape }) => shape as Shape,
  evaluate: ([x], [s], _, out) => sumToValues(x, s, out),
  vjp: (g, node) => [expand(g, node.inputs[0].shape)],
  lower: (graph, [x], node) => {
    const from = node.inputs[0].shape;
    const to = node.shape;
    const extra = from.length - to.length;
    const axes = from.map((_, k) => k).filter((k) => k < extra || (to[k - extra] === 1 && from[k] !== 1));
    // a sum over leading axes (a bias's gradient) as the product ones·X: onnxruntime's ReduceSum over the
    // first axis is several times slower than its MatMul
    if (axes.length > 0 && axes.every((k, i) => k === i) && axes.length < from.length) {
      const rows = size(from.slice(0, axes.length));
      const flat = graph.node("Reshape", [x, graph.ints([rows, size(from) / rows])]);
      const ones = graph.floats(new Float64Array(rows).fill(1), [1, rows]);
      return graph.node("Reshape", [graph.node("MatMul", [ones, flat]), graph.ints(to)]);
    }
    const summed = graph.node("ReduceSum", [x, graph.ints(axes)], [intAttribute("keepdims", 1)]);
    return graph.node("Reshape", [summed, graph.ints(to)]);
  },
};

/** x (broadcast from `shape` somewhere upstream) summed back down to `shape`: the adjoint of expand. */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  check(
    sameShape(broadcastShapes(shape, x.shape, "sumTo"), x.shape),
    "sumTo",
    `a shape that broadcasts to ${describe(x.shape)}`,
    () => describe(shape),
  );
  return sameShape(x.shape, shape) ? x : apply(SUM_TO, [x], { shape: [...shape] });
}

const MAX: Op = {
  name: "max",
  shape: SUM.shape,
  evaluate: ([x], [s], { axes }) => reduce(x, s, axes as number[], Math.max, Number.NEGATIVE_INFINITY),
  lower: (graph, [x], node) =>
    graph.node(
      "ReduceMax",
      [x],
      [
        intsAttribute("axes", node.attrs.axes as number[]),
        intAttribute("keepdims", node.attrs.keepdims ? 1 : 0),
      ],
    ),
};

/** The maximum over `axes`, without a gradient (for shifts such as a stable softmax's). */
export function max(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  return apply(MAX, [x], { axes: normaliseAxes(axes, x.shape.length, "max"), keepdims });
}

const ARGMAX: Op = {
  name: "argmax",
  shape: ([x]) => lastAxis(x, "argmax").slice(0, -1),
  evaluate: ([x], [s]) => {
    const n = s[s.length - 1];
    return Float64Array.from({ length: x.length / n }, (_, row) => {
      let best = 0;
      for (let j = 1; j < n; j++) if (x[row * n + j] > x[row * n + best]) best = j;
      return best;
    });
  },
  lower: (graph, inputs) =>
    graph.node(
      "Cast",
      [graph.node("ArgMax", inputs, [intAttribute("axis", -1), intAttribute("keepdims", 0)])],
      [intAttribute("to", 1)],
    ),
};

/**
 * The index of each row's largest value over the last axis (the first of ties), as a number, without a
 * gradient: with Gumbel noise added, a draw from the row's softmax (gather's indices).
 */
export const argmax = (x: Tensor): Tensor => apply(ARGMAX, [x]);

/** Softmax (or log-softmax) over the last axis of each row, in float64. */
function softmaxValues(x: Float64Array, shape: Shape, logarithm: boolean): Float64Array {
  const n = shape[shape.length - 1];
  const out = new Float64Array(x.length);
  for (let at = 0; at < x.length; at += n) {
    let top = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < n; j++) top = Math.max(top, x[at + j]);
    let total = 0;
    for (let j = 0; j < n; j++) total += Math.exp(x[at + j] - top);
    const logTotal = Math.log(total);
    for (let j = 0; j < n; j++)
      out[at + j] = logarithm ? x[at + j] - top - logTotal : Math.exp(x[at + j] - top - logTotal);
  }
  return out;
}

const lastAxis = (shape: Shape, where: string) => {
  check(shape.length >= 1, where, "a tensor with at least one axis", () => describe(shape));
  return shape;
};

const SOFTMAX: Op = {
  name: "softmax",
  shape: ([x]) => lastAxis(x, "softmax"),
  evaluate: ([x], [s]) => softmaxValues(x, s, false),
  vjp: (g, node) => [mul(sub(g, sum(mul(g, node), [-1], true)), node)],
  lower: (graph, inputs) => graph.node("Softmax", inputs, [intAttribute("axis", -1)]),
};

const LOG_SOFTMAX: Op = {
  name: "logSoftmax",
  shape: ([x]) => lastAxis(x, "logSoftmax"),
  evaluate: ([x], [s]) => softmaxValues(x, s, true),
  vjp: (g, node) => [sub(g, mul(exp(node), sum(g, [-1], true)))],
  lower: (graph, inputs) => graph.node("LogSoftmax", inputs, [intAttribute("axis", -1)]),
};

/** Softmax over the last axis. */
export const softmax = (x: Tensor): Tensor => apply(SOFTMAX, [x]);
/** log-softmax over the last axis (stable: no exp of large values). */
export const logSoftmax = (x: Tensor): Tensor => apply(LOG_SOFTMAX, [x]);

const DETACH: Op = {
  name: "detach",
  shape: ([x]) => x,
  evaluate: ([x]) => x.slice(),
  lower: (graph, inputs) => graph.node("Identity", inputs),
};

/** The same values with no gradient path (stop-gradient). */
export const detach = (x: Tensor): Tensor => apply(DETACH, [x]);

const CONCAT: Op = {
  name: "concat",
  shape: (shapes, { axis }) => {
    const k = axis as number;
    const [first] = shapes;
    check(
      shapes.every((s) => s.length === first.length && s.every((d, j) => j === k || d === first[j])),
      "concat",
      `shapes equal but along axis ${k}`,
      () => shapes.map(describe).join(", "),
    );
    return first.map((d, j) => (j === k ? shapes.reduce((n, s) => n + s[k], 0) : d));
  },
  evaluate: (values, shapes, { axis }) => concatAxis(values, shapes, axis as number),
  vjp: (g, node) => {
    const k = node.attrs.axis as number;
    let start = 0;
    return node.inputs.map((x) => {
      const part = slice(g, k, start, start + x.shape[k]);
      start += x.shape[k];
      return part;
    });
  },
  lower: (graph, inputs, node) =>
    graph.node("Concat", inputs, [intAttribute("axis", node.attrs.axis as number)]),
};

/** The tensors joined along `axis`. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  check(xs.length > 0, "concat", "at least one tensor", () => "none");
  const [k] = normaliseAxes([axis], xs[0].shape.length, "concat");
  return xs.length === 1 ? xs[0] : apply(CONCAT, xs, { axis: k });
}

const SLICE: Op = {
  name: "slice",
  shape: ([x], { axis, start, end }) =>
    x.map((d, k) => (k === axis ? (end as number) - (start as number) : d)),
  evaluate: ([x], [s], { axis, start, end }) =>
    sliceAxis(x, s, axis as number, start as number, end as number),
  vjp: (g, node) => {
    // the adjoint pads g with zeros back to the input's extent along the axis
    const x = node.inputs[0];
    const { axis, start, end } = node.attrs as { axis: number; start: number; end: number };
    const zeros = (length: number) => {
      const shape = x.shape.map((d, k) => (k === axis ? length : d));
      return constant(shape, new Float64Array(size(shape)));
    };
    const parts = [
      ...(start > 0 ? [zeros(start)] : []),
      g,
      ...(end < x.shape[axis] ? [zeros(x.shape[axis] - end)] : []),
    ];
    return [concat(parts, axis)];
  },
  lower: (graph, [x], node) => {
    const { axis, start, end } = node.attrs as { axis: number; start: number; end: number };
    return graph.node("Slice", [x, graph.ints([start]), graph.ints([end]), graph.ints([axis])]);
  },
};

/** Elements [start, end) along `axis`. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const [k] = normaliseAxes([axis], x.shape.length, "slice");
  check(
    Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= x.shape[k],
    "slice",
    `0 ≤ start ≤ end ≤ ${x.shape[k]}`,
    () => `${start}, ${end}`,
  );
  return start === 0 && end === x.shape[k] ? x : apply(SLICE, [x], { axis: k, start, end });
}

/** Row indices (float values, integers in [0, rows)) checked and rounded. */
function rowIndices(indices: Float64Array, rows: number, where: string): Int32Array {
  return Int32Array.from(indices, (r, i) => {
    check(
      Number.isInteger(r) && r >= 0 && r < rows,
      where,
      `row indices in [0, ${rows})`,
      () => `${r} at ${i}`,
    );
    return r;
  });
}

const GATHER: Op = {
  name: "gather",
  shape: ([table, indices]) => {
    check(table.length === 2, "gather", "a [rows, features] table", () => describe(table));
    return [...indices, table[1]];
  },
  evaluate: ([table, indices], [[rows, d]], _, out) => {
    const picked = new Float64Array(size(out));
    for (const [i, r] of rowIndices(indices, rows, "gather").entries())
      picked.set(table.subarray(r * d, (r + 1) * d), i * d);
    return picked;
  },
  vjp: (g, node) => {
    const [table, indices] = node.inputs;
    return [apply(SCATTER_ADD, [g, indices], { rows: table.shape[0] }), null];
  },
  lower: (graph, [table, indices]) =>
    graph.node(
      "Gather",
      [table, graph.node("Cast", [indices], [intAttribute("to", 7)])],
      [intAttribute("axis", 0)],
    ),
};

// gather's adjoint: the rows of g added into a zero [rows, features] at their indices
const SCATTER_ADD: Op = {
  name: "scatterAdd",
  shape: ([g], { rows }) => [rows as number, g[g.length - 1]],
  evaluate: ([g, indices], _, { rows }, out) => {
    const d = out[1];
    const sum = new Float64Array(size(out));
    for (const [i, r] of rowIndices(indices, rows as number, "scatterAdd").entries())
      for (let j = 0; j < d; j++) sum[r * d + j] += g[i * d + j];
    return sum;
  },
  vjp: (h, node) => [gather(h, node.inputs[1]), null],
  lower: (graph, [g, indices], node) => {
    const [rows, d] = node.shape;
    const count = size(node.inputs[1].shape);
    const zeros = graph.node("ConstantOfShape", [graph.ints([rows, d])]);
    const at = graph.node("Reshape", [
      graph.node("Cast", [indices], [intAttribute("to", 7)]),
      graph.ints([count, 1]),
    ]);
    const updates = graph.node("Reshape", [g, graph.ints([count, d])]);
    return graph.node("ScatterND", [zeros, at, updates], [stringAttribute("reduction", "add")]);
  },
};

/** Rows of `table` ([rows, features]) at `indices` (a tensor of row numbers, any shape): [...indices, features]. */
export const gather = (table: Tensor, indices: Tensor): Tensor => apply(GATHER, [table, indices]);

const LAYER_NORM: Op = {
  name: "layerNorm",
  shape: ([x, gamma, beta]) => {
    const d = x[x.length - 1];
    check(
      x.length >= 1 && gamma.length === 1 && gamma[0] === d && beta.length === 1 && beta[0] === d,
      "layerNorm",
      `a scale and a shift of the last axis's ${d} features`,
      () => `${describe(gamma)} and ${describe(beta)}`,
    );
    return x;
  },
  evaluate: ([x, gamma, beta], [shape], { eps }) => {
    const d = shape[shape.length - 1];
    const out = new Float64Array(x.length);
    for (let at = 0; at < x.length; at += d) {
      let mu = 0;
      for (let j = 0; j < d; j++) mu += x[at + j];
      mu /= d;
      let variance = 0;
      for (let j = 0; j < d; j++) variance += (x[at + j] - mu) ** 2;
      const rstd = 1 / Math.sqrt(variance / d + (eps as number));
      for (let j = 0; j < d; j++) out[at + j] = (x[at + j] - mu) * rstd * gamma[j] + beta[j];
    }
    return out;
  },
  vjp: (g, node) => {
    // x̂ = (x − μ)·rstd recomputed from ops; dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·γ
    const [x, gamma, beta] = node.inputs;
    const centred = sub(x, mean(x, [-1], true));
    const rstd = div(1, sqrt(add(mean(mul(centred, centred), [-1], true), node.attrs.eps as number)));
    const normed = mul(centred, rstd);
    const scaled = mul(g, gamma);
    const dx = mul(
      rstd,
      sub(sub(scaled, mean(scaled, [-1], true)), mul(normed, mean(mul(scaled, normed), [-1], true))),
    );
    return [dx, sumTo(mul(g, normed), gamma.shape), sumTo(g, beta.shape)];
  },
  lower: (graph, inputs, node) =>
    graph.node("LayerNormalization", inputs, [
      intAttribute("axis", -1),
      floatAttribute("epsilon", node.attrs.eps as number),
    ]),
};

/** Layer normalisation over the last axis, (x − μ)/√(σ² + ε)·γ + β with σ² the biased variance: one ONNX node. */
export const layerNormalization = (x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor =>
  apply(LAYER_NORM, [x, gamma, beta], { eps });

const NORMALIZE: Op = {
  name: "normalize",
  shape: ([x]) => lastAxis(x, "normalize"),
  evaluate: ([x], [shape]) => {
    const d = shape[shape.length - 1];
    const out = new Float64Array(x.length);
    for (let at = 0; at < x.length; at += d) {
      let squares = 0;
      for (let j = 0; j < d; j++) squares += x[at + j] ** 2;
      const norm = Math.sqrt(squares);
      for (let j = 0; j < d; j++) out[at + j] = x[at + j] / norm;
    }
    return out;
  },
  // y = x/‖x‖: dx = (g − y·Σ g·y) / ‖x‖, with ‖x‖ = Σ x·y
  vjp: (g, node) => {
    const [x] = node.inputs;
    const radial = mul(node, sum(mul(g, node), [-1], true));
    return [div(sub(g, radial), sum(mul(x, node), [-1], true))];
  },
  lower: (graph, inputs) =>
    graph.node("LpNormalization", inputs, [intAttribute("axis", -1), intAttribute("p", 2)]),
};

/** x / ‖x‖₂ over the last axis (unit rows): one ONNX node. A zero row has no direction: NaN. */
export const normalize = (x: Tensor): Tensor => apply(NORMALIZE, [x]);

const LOG_SUM_EXP: Op = {
  name: "logSumExp",
  shape: SUM.shape,
  evaluate: ([x], [s], { axes }) => {
    const kept = keptShape(s, axes as number[]);
    const top = reduce(x, s, axes as number[], Math.max, Number.NEGATIVE_INFINITY);
    const shifted = binary(x, s, top, kept, s, (v, t) => (Number.isFinite(t) ? Math.exp(v - t) : 0));
    const total = reduce(shifted, s, axes as number[], (acc, v) => acc + v, 0);
    return total.map((t, k) => Math.log(t) + top[k]);
  },
  // ∂/∂x = g·softmax(x) over the axes: g·exp(x − lse)
  vjp: (g, node) => {
    const [x] = node.inputs;
    const kept = keptShape(x.shape, node.attrs.axes as number[]);
    return [mul(reshape(g, kept), exp(sub(x, reshape(node, kept))))];
  },
  // onnxruntime's ReduceLogSumExp took 4× these nodes' time on a 256×256 batch's logits
  lower: (graph, [x], node) => {
    const axes = node.attrs.axes as number[];
    const top = graph.node("ReduceMax", [x], [intsAttribute("axes", axes), intAttribute("keepdims", 1)]);
    const exps = graph.node("Exp", [graph.node("Sub", [x, top])]);
    const total = graph.node("ReduceSum", [exps, graph.ints(axes)], [intAttribute("keepdims", 1)]);
    const kept = graph.node("Add", [graph.node("Log", [total]), top]);
    return node.attrs.keepdims ? kept : graph.node("Reshape", [kept, graph.ints(node.shape)]);
  },
};

/** log Σ exp over `axes` (stable: the maximum shifted out), dropping them unless keepdims. */
export function logSumExp(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
  return apply(LOG_SUM_EXP, [x], { axes: normaliseAxes(axes, x.shape.length, "logSumExp"), keepdims });
}

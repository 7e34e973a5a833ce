/**
 * The autograd's tensor: an N-dimensional value made by an op from other tensors. One model code runs two
 * ways: eagerly, where every tensor carries its float64 value (the reference, checked against finite
 * differences), and traced, where graph inputs are placeholders without values and every tensor computed
 * from them is a node of a graph that compile.ts lowers to ONNX. Gradients are built from the same ops
 * (each op's vjp), so they trace too, and a gradient can be differentiated again.
 */
import { check } from "../../core/errors.js";
import type { Field } from "../../core/onnx.js";
import { describe, type Shape, size } from "./nd.js";

export type { Shape } from "./nd.js";

/** A tensor: its shape, its value where known, and how it was made. */
export interface Tensor {
  readonly shape: Shape;
  /** Row-major float64 values; undefined for a traced tensor (computed from placeholders). */
  readonly value: Float64Array | undefined;
  /** The op that made it; undefined for leaves (parameters, constants, placeholders). */
  readonly op: Op | undefined;
  readonly inputs: readonly Tensor[];
  readonly attrs: Attrs;
  /** Whether gradients flow to or through it. */
  readonly requiresGrad: boolean;
  /** A placeholder's graph input number (see placeholder). */
  readonly slot?: number;
}

/** An op's settings (axes, a permutation, a target shape …): plain data. */
export type Attrs = Readonly<Record<string, unknown>>;

/** What an op gives its lowering: ONNX nodes and constants, by output name. */
export interface Lowering {
  /** Appends a node `op` on `inputs` and returns its (fresh) output name. */
  node(op: string, inputs: readonly string[], attributes?: Field[]): string;
  /** An int64 constant (shapes, axes), by name. */
  ints(values: readonly number[]): string;
  /** A float32 constant of the given shape, by name. */
  floats(values: ArrayLike<number>, shape: Shape): string;
}

/** One differentiable operation: shape rule, float64 evaluation, vector-Jacobian product and lowering. */
export interface Op {
  readonly name: string;
  /** The output shape for these input shapes; throws an InputError where they do not fit. */
  shape(inputs: readonly Shape[], attrs: Attrs): Shape;
  /** The float64 value from the inputs' values. */
  evaluate(inputs: readonly Float64Array[], shapes: readonly Shape[], attrs: Attrs, out: Shape): Float64Array;
  /**
   * ∂L/∂input for each input given g = ∂L/∂output, built from ops (so it traces and differentiates
   * again); null where no gradient flows. Absent: the op has no gradient (a mask, a maximum).
   */
  vjp?(g: Tensor, node: Tensor): readonly (Tensor | null)[];
  /** Appends the op's ONNX nodes for `inputs` (names) and returns the output's name. */
  lower(graph: Lowering, inputs: readonly string[], node: Tensor): string;
}

/**
 * The tensor `op` makes from `inputs`: evaluated at once where every input has a value, a traced node
 * otherwise. Inputs are kept where the graph or the gradient needs them.
 */
export function apply(op: Op, inputs: readonly Tensor[], attrs: Attrs = {}): Tensor {
  const shape = op.shape(
    inputs.map((x) => x.shape),
    attrs,
  );
  const known = inputs.every((x) => x.value !== undefined);
  const value = known
    ? op.evaluate(
        inputs.map((x) => x.value as Float64Array),
        inputs.map((x) => x.shape),
        attrs,
        shape,
      )
    : undefined;
  const requiresGrad = op.vjp !== undefined && inputs.some((x) => x.requiresGrad);
  // a constant computed from constants is a constant: its inputs are no longer needed
  const keep = requiresGrad || !known;
  return { shape, value, op, inputs: keep ? inputs : [], attrs, requiresGrad };
}

function leaf(
  shape: Shape,
  data: ArrayLike<number> | undefined,
  requiresGrad: boolean,
  where: string,
): Tensor {
  check(
    shape.every((d) => Number.isInteger(d) && d >= 0),
    where,
    "a shape of non-negative integers",
    () => JSON.stringify(shape),
  );
  if (data !== undefined)
    check(data.length === size(shape), where, `${size(shape)} values for ${describe(shape)}`, () =>
      String(data.length),
    );
  return {
    shape: [...shape],
    value: data === undefined ? undefined : Float64Array.from(data),
    op: undefined,
    inputs: [],
    attrs: {},
    requiresGrad,
  };
}

/** A trainable leaf: gradients are taken with respect to it. */
export function parameter(shape: Shape, data: ArrayLike<number>): Tensor {
  return leaf(shape, data, true, "parameter");
}

/** A constant leaf: no gradient flows to it. */
export function constant(shape: Shape, data: ArrayLike<number>): Tensor {
  return leaf(shape, data, false, "constant");
}

/** A scalar constant. */
export function scalar(x: number): Tensor {
  return constant([], [x]);
}

/** Graph input number `slot` while tracing: a shape without a value (see compile). */
export function placeholder(shape: Shape, slot: number, requiresGrad: boolean): Tensor {
  return { ...leaf(shape, undefined, requiresGrad, "placeholder"), slot };
}

/**
 * The tensors reachable from `roots` through `below` (a tensor's inputs that count), each after everything
 * below it, in the order a depth-first walk finishes them, first inputs first. Iterative: a traced graph
 * can be deeper than the call stack.
 */
export function topologicalOrder(
  roots: readonly Tensor[],
  below: (t: Tensor) => readonly Tensor[],
): Tensor[] {
  const order: Tensor[] = [];
  const state = new Map<Tensor, "open" | "done">();
  for (const root of roots) {
    const stack: Tensor[] = [root];
    while (stack.length) {
      const t = stack[stack.length - 1];
      const seen = state.get(t);
      if (seen === "done") {
        stack.pop();
        continue;
      }
      const inputs = below(t);
      if (seen === "open" || inputs.every((x) => state.get(x) === "done")) {
        state.set(t, "done");
        order.push(t);
        stack.pop();
      } else {
        state.set(t, "open");
        // the first input on top, so that it is finished first
        for (let i = inputs.length - 1; i >= 0; i--)
          if (state.get(inputs[i]) !== "done") stack.push(inputs[i]);
      }
    }
  }
  return order;
}

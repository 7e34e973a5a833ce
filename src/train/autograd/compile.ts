/**
 * Compilation: a step function written with the autograd's ops is traced once per input shape into one
 * ONNX graph (forward, loss, gradients, gradients of gradients — whatever it returns), which onnxruntime
 * then runs in float32 as a single session call. What `jax.jit` is to eager JAX code, in the small.
 */
import { InputError } from "../../core/errors.js";
import { getBackend, type Tensor32 } from "../../core/gemm/index.js";
import { type Field, graphBody, constant as initializer, model, tensorInfo } from "../../core/onnx.js";
import { describe, type Shape } from "./nd.js";
import { type Lowering, placeholder, type Tensor, topologicalOrder } from "./tensor.js";

/** A step: tensors in (placeholders while tracing), tensors out. */
export type Step = (inputs: Tensor[]) => readonly Tensor[];

/**
 * A compiled step: float32 inputs in, its outputs' float32 values out, in order — written into `outputs`
 * where given (buffers kept from call to call: fresh ones cost page faults here).
 */
export type CompiledStep = (
  inputs: readonly Tensor32[],
  outputs?: readonly Tensor32[],
) => Promise<Float32Array[]>;

/** Options for compile. */
export interface CompileOptions {
  /** Whether gradients are taken with respect to input `slot` (default: every input). */
  requiresGrad?: (slot: number) => boolean;
}

let compiledSteps = 0;

/**
 * Compiles `step`: each call with a new signature of input shapes traces it on placeholders and lowers the
 * graph (ONNX opset 17) into an onnxruntime session, kept for later calls of that signature. Needs the
 * ort backend (the selected one, or the deferred CLI one).
 */
export function compile(step: Step, options: CompileOptions = {}): CompiledStep {
  const id = compiledSteps++;
  const requiresGrad = options.requiresGrad ?? (() => true);
  return async (inputs, outputs) => {
    const shapes = inputs.map((x) => x.dims);
    const backend = getBackend();
    if (!backend.runGraph)
      throw new InputError("compile", "the ort backend (onnxruntime-node installed)", backend.name);
    const key = `autograd${id}:${shapes.map(describe).join(",")}`;
    const build = () =>
      lower(step(shapes.map((s, slot) => placeholder(s, slot, requiresGrad(slot)))), shapes);
    const feeds = Object.fromEntries(inputs.map((x, slot) => [`x${slot}`, x]));
    const fetches = outputs && Object.fromEntries(outputs.map((y, i) => [`y${i}`, y]));
    // a step's graph is hundreds of small nodes, run back to back: its threads spin (see runGraph)
    const out = await backend.runGraph(key, build, feeds, fetches, true);
    if (!out) throw new Error("compile: the backend ran no graph");
    const count = Object.keys(out).length;
    return Array.from({ length: count }, (_, i) => out[`y${i}`].data);
  };
}

/**
 * An ONNX model (opset 17, float32) of `fn` for inputs of these shapes, its inputs x0 … and outputs y0 …:
 * for inference elsewhere (onnxruntime-node or -web, `gapkit embed`-style code). Tensors with values that
 * `fn` closes over (trained parameters) become the model's initializers.
 */
export function exportModel(fn: Step, shapes: readonly Shape[]): Uint8Array {
  return lower(fn(shapes.map((s, slot) => placeholder(s, slot, false))), shapes);
}

/** The ONNX model of a traced step: inputs x0 … (float32, `shapes`), outputs y0 … in order. */
function lower(outputs: readonly Tensor[], shapes: readonly Shape[]): Uint8Array {
  const { body, op } = graphBody([]);
  let fresh = 0;
  const name = () => `t${fresh++}`;
  const graph: Lowering = {
    node(kind, inputs, attributes: Field[] = []) {
      const out = name();
      op(kind, [...inputs], out, attributes);
      return out;
    },
    ints(values) {
      const out = name();
      body.unshift(initializer(out, "int64", values));
      return out;
    },
    floats(values, shape) {
      const out = name();
      body.unshift(initializer(out, "float32", values, shape));
      return out;
    },
  };
  const names = new Map<Tensor, string>();
  // leaves and known values are graph inputs or constants: nothing below them is lowered. Last inputs
  // first: the node order these graphs have always had — onnxruntime's fusions follow node order, and
  // with them the float32 results
  const below = (t: Tensor) => (t.value === undefined && t.slot === undefined ? [...t.inputs].reverse() : []);
  for (const t of topologicalOrder(outputs, below)) {
    if (t.slot !== undefined) names.set(t, `x${t.slot}`);
    else if (t.value !== undefined) names.set(t, graph.floats(t.value, t.shape));
    else if (t.op)
      names.set(
        t,
        t.op.lower(
          graph,
          t.inputs.map((x) => names.get(x) as string),
          t,
        ),
      );
  }
  for (const [i, t] of outputs.entries()) op("Identity", [names.get(t) as string], `y${i}`);
  return model(
    "gapkit_step",
    body,
    shapes.map((s, slot) => tensorInfo(`x${slot}`, "float32", [...s])),
    outputs.map((t, i) => tensorInfo(`y${i}`, "float32", [...t.shape])),
    17,
  );
}

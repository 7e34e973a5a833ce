/**
 * Compilation: a step function written with the autograd's ops is traced once per input shape into one
 * ONNX graph (forward, loss, gradients, gradients of gradients — whatever it returns), which onnxruntime
 * then runs in float32 as a single session call. What `jax.jit` is to eager JAX code, in the small.
 */
import { check, InputError } from "../../core/errors.js";
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

/** A compiled graph's input and output names: x0, x1, … and y0, y1, … (exportModel's defaults too). */
const inputName = (slot: number) => `x${slot}`;
const outputName = (i: number) => `y${i}`;

/** Every graph lowered so far, by a hash of its bytes: equal graphs share one onnxruntime session. */
const graphsByHash = new Map<number, { bytes: Uint8Array; key: string }[]>();

/**
 * The session key of a graph: the same for equal bytes (a model compiled again — a trainer made anew for
 * each run — reuses the session its first compilation created: creating one costs tens of milliseconds).
 */
function graphKey(bytes: Uint8Array): string {
  let hash = 0x811c9dc5; // FNV-1a
  for (let k = 0; k < bytes.length; k++) hash = Math.imul(hash ^ bytes[k], 0x01000193);
  const bucket = graphsByHash.get(hash) ?? [];
  graphsByHash.set(hash, bucket);
  const equal = (other: Uint8Array) => {
    if (other.length !== bytes.length) return false;
    for (let k = 0; k < bytes.length; k++) if (other[k] !== bytes[k]) return false;
    return true;
  };
  const same = bucket.find(({ bytes: other }) => equal(other));
  if (same) return same.key;
  const key = `autograd${hash.toString(16)}.${bucket.length}`;
  bucket.push({ bytes, key });
  return key;
}

/**
 * Compiles `step`: each call with a new signature of input shapes traces it on placeholders and lowers the
 * graph (ONNX opset 17) into an onnxruntime session, kept for later calls of that signature. Needs the
 * ort backend (the selected one, or the deferred CLI one).
 */
export function compile(step: Step, options: CompileOptions = {}): CompiledStep {
  const { requiresGrad = () => true } = options;
  const graphs = new Map<string, { key: string; bytes: Uint8Array }>();
  const graphOf = (shapes: readonly Shape[]) => {
    const signature = shapes.map(describe).join(",");
    let graph = graphs.get(signature);
    if (!graph) {
      const outputs = step(shapes.map((s, slot) => placeholder(s, slot, requiresGrad(slot))));
      const bytes = lower(
        outputs,
        shapes.map((_, slot) => inputName(slot)),
        shapes,
        outputs.map((_, i) => outputName(i)),
        outputs.map((t) => t.shape),
      );
      graph = { key: graphKey(bytes), bytes };
      graphs.set(signature, graph);
    }
    return graph;
  };
  return async (inputs, outputs) => {
    const backend = getBackend();
    if (!backend.runGraph)
      throw new InputError("compile", "the ort backend (onnxruntime-node installed)", backend.name);
    const { key, bytes } = graphOf(inputs.map((x) => x.dims));
    const feeds = Object.fromEntries(inputs.map((x, slot) => [inputName(slot), x]));
    const fetches = outputs && Object.fromEntries(outputs.map((y, i) => [outputName(i), y]));
    const out = await backend.runGraph(key, () => bytes, feeds, fetches);
    if (!out) throw new Error("compile: the backend ran no graph");
    const count = Object.keys(out).length;
    return Array.from({ length: count }, (_, i) => out[outputName(i)].data);
  };
}

/** A model input's or output's dims: lengths, or names of symbolic ones ("batch"). */
type Dims = readonly (number | string)[];

/** Options of exportModel. */
export interface ExportOptions {
  /**
   * Axis 0 of every input is a batch axis of any length, named "batch" in the model (and in each output
   * whose axis 0 follows it). The graph must not depend on that length: exportModel traces `fn` at two
   * lengths and refuses a graph that differs between them.
   */
  dynamicBatch?: boolean;
  /** The model's input names (default x0, x1, …) and output names (default y0, y1, …). */
  inputNames?: readonly string[];
  outputNames?: readonly string[];
}

/**
 * An ONNX model (opset 17, float32) of `fn` for inputs of these shapes: for inference elsewhere
 * (onnxruntime-node or -web, `gapkit embed`-style code). Tensors with values that `fn` closes over
 * (trained parameters) become the model's initializers.
 */
export function exportModel(fn: Step, shapes: readonly Shape[], options: ExportOptions = {}): Uint8Array {
  const inputNames = shapes.map((_, slot) => options.inputNames?.[slot] ?? inputName(slot));
  const outputNames = (outputs: readonly Tensor[]) =>
    outputs.map((_, i) => options.outputNames?.[i] ?? outputName(i));
  const trace = (inputShapes: readonly Shape[]) =>
    fn(inputShapes.map((s, slot) => placeholder(s, slot, false)));
  if (!options.dynamicBatch) {
    const outputs = trace(shapes);
    return lower(
      outputs,
      inputNames,
      shapes,
      outputNames(outputs),
      outputs.map((t) => t.shape),
    );
  }
  // two batch lengths above 1 (where no axis broadcasts as a length of 1 would), and one model of both
  const lengths = [2, 3];
  const traced = lengths.map((batch) => trace(shapes.map((s) => [batch, ...s.slice(1)])));
  const outputDims = traced[0].map(
    (t, i): Dims =>
      t.shape[0] === lengths[0] && traced[1][i].shape[0] === lengths[1]
        ? ["batch", ...t.shape.slice(1)]
        : t.shape,
  );
  const inputDims = shapes.map((s): Dims => ["batch", ...s.slice(1)]);
  const [first, second] = traced.map((outputs) =>
    lower(outputs, inputNames, inputDims, outputNames(outputs), outputDims),
  );
  check(
    first.length === second.length && first.every((byte, k) => byte === second[k]),
    "exportModel",
    "a graph that does not depend on the batch length (dynamicBatch)",
    () => "one whose nodes or constants change with it",
  );
  return first;
}

/** The ONNX model of traced outputs: inputs and outputs by name, with their (possibly symbolic) dims. */
function lower(
  outputs: readonly Tensor[],
  inputNames: readonly string[],
  inputDims: readonly Dims[],
  outputNames: readonly string[],
  outputDims: readonly Dims[],
): Uint8Array {
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
    if (t.slot !== undefined) names.set(t, inputNames[t.slot]);
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
  for (const [i, t] of outputs.entries()) op("Identity", [names.get(t) as string], outputNames[i]);
  return model(
    "gapkit_step",
    body,
    inputDims.map((dims, slot) => tensorInfo(inputNames[slot], "float32", [...dims])),
    outputDims.map((dims, i) => tensorInfo(outputNames[i], "float32", [...dims])),
    17,
  );
}

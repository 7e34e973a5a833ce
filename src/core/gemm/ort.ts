import { type Matrix, matrix } from "../matrix.js";
import type { GemmBackend } from "./index.js";

/** The slice of the onnxruntime API (node or web) this backend uses; passed in, never imported here. */
export interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
  Tensor: new (
    type: "float32" | "float64",
    data: Float32Array | Float64Array,
    dims: readonly number[],
  ) => OrtTensor;
}

interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}

interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release?(): Promise<void>;
}

// Minimal protobuf writer for the few ONNX messages a one-node graph needs (onnx.proto3 field numbers).
type Field = [number, "varint", number] | [number, "bytes", Uint8Array] | [number, "string", string];

function varint(value: number): number[] {
  const out: number[] = [];
  while (value > 127) {
    out.push((value % 128) | 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

function message(fields: Field[]): Uint8Array {
  const bytes: number[] = [];
  for (const [num, kind, value] of fields) {
    if (kind === "varint") bytes.push(...varint(num << 3), ...varint(value));
    else {
      const payload = kind === "string" ? new TextEncoder().encode(value) : value;
      bytes.push(...varint((num << 3) | 2), ...varint(payload.length), ...payload);
    }
  }
  return Uint8Array.from(bytes);
}

const ELEM_TYPE = { float32: 1, float64: 11 } as const; // onnx TensorProto.DataType

/** ValueInfoProto for a tensor with symbolic dims. */
function tensorInfo(name: string, type: keyof typeof ELEM_TYPE, dims: string[]): Uint8Array {
  const shape = message(dims.map((d): Field => [1, "bytes", message([[2, "string", d]])]));
  const tensorType = message([
    [1, "varint", ELEM_TYPE[type]],
    [2, "bytes", shape],
  ]);
  return message([
    [1, "string", name],
    [2, "bytes", message([[1, "bytes", tensorType]])],
  ]);
}

function intAttribute(name: string, value: number): Field {
  const attribute = message([
    [1, "string", name],
    [3, "varint", value],
    [20, "varint", 2], // AttributeProto.type INT
  ]);
  return [5, "bytes", attribute];
}

/** The one-node graphs this backend runs. */
export type OrtGraph = "matmul" | "matmulT" | "gramF64";

/**
 * A one-node ONNX model with symbolic dims, so one cached session serves every shape:
 * `matmul` = MatMul(A[m,k], B[k,n]); `matmulT` = Gemm(A[m,k], B[n,k], transB=1) = A·Bᵀ;
 * `gramF64` = Gemm(X[m,k], Y[m,n], transA=1) = XᵀY in float64.
 */
export function gemmModel(graph: OrtGraph): Uint8Array {
  const type = graph === "gramF64" ? "float64" : "float32";
  const inputs = [
    tensorInfo("A", type, ["m", "k"]),
    tensorInfo("B", type, graph === "gramF64" ? ["m", "n"] : graph === "matmulT" ? ["n", "k"] : ["k", "n"]),
  ];
  const node = message([
    [1, "string", "A"],
    [1, "string", "B"],
    [2, "string", "C"],
    [4, "string", graph === "matmul" ? "MatMul" : "Gemm"],
    ...(graph === "matmulT" ? [intAttribute("transB", 1)] : []),
    ...(graph === "gramF64" ? [intAttribute("transA", 1)] : []),
  ]);
  const body = message([
    [1, "bytes", node],
    [2, "string", `gapkit_${graph}`],
    ...inputs.map((info): Field => [11, "bytes", info]),
    [12, "bytes", tensorInfo("C", type, graph === "gramF64" ? ["k", "n"] : ["m", "n"])],
  ]);
  return message([
    [1, "varint", 8], // ir_version
    [7, "bytes", body],
    [8, "bytes", message([[2, "varint", 13]])], // opset 13
  ]);
}

// Rows converted to float64 per Gram step: bounds the extra memory at 16 MB per 512 columns.
const GRAM_BLOCK_ELEMENTS = 2 ** 22;

/** The onnxruntime backend: one cached session per graph, `threads` intra-op threads. */
export function createOrtBackend(ort: OrtModule, threads: number): GemmBackend {
  const sessions = new Map<OrtGraph, Promise<OrtSession>>();
  const session = (graph: OrtGraph) => {
    let s = sessions.get(graph);
    if (!s) {
      s = ort.InferenceSession.create(gemmModel(graph), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
        enableCpuMemArena: false,
      });
      sessions.set(graph, s);
    }
    return s;
  };
  return {
    name: "ort",
    async gemm(a: Matrix, b: Matrix, transB: boolean): Promise<Matrix> {
      const run = await session(transB ? "matmulT" : "matmul");
      const out = await run.run({
        A: new ort.Tensor("float32", a.data, [a.rows, a.cols]),
        B: new ort.Tensor("float32", b.data, [b.rows, b.cols]),
      });
      const c = out.C;
      return matrix(c.dims[0], c.dims[1], c.data as Float32Array);
    },
    async gramF64(x: Matrix, y: Matrix = x): Promise<Float64Array> {
      const run = await session("gramF64");
      const out = new Float64Array(x.cols * y.cols);
      const step = Math.max(1, Math.floor(GRAM_BLOCK_ELEMENTS / Math.max(x.cols, y.cols, 1)));
      const block = (m: Matrix, start: number, end: number) =>
        new ort.Tensor("float64", new Float64Array(m.data.subarray(start * m.cols, end * m.cols)), [
          end - start,
          m.cols,
        ]);
      for (let start = 0; start < x.rows; start += step) {
        const end = Math.min(x.rows, start + step);
        const blockX = block(x, start, end);
        const result = await run.run({ A: blockX, B: y === x ? blockX : block(y, start, end) });
        const part = result.C.data as Float64Array;
        if (start === 0 && end === x.rows) return part;
        for (let k = 0; k < out.length; k++) out[k] += part[k];
      }
      return out;
    },
    prepare() {
      // the first session also starts onnxruntime's environment (≈ 30 ms), which later ones then share
      session("matmulT").catch(() => sessions.delete("matmulT"));
    },
    async dispose() {
      for (const s of sessions.values()) await (await s).release?.();
      sessions.clear();
    },
  };
}

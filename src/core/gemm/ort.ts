import { type Matrix, matrix } from "../matrix.js";
import type { GemmBackend } from "./index.js";

/** The slice of the onnxruntime API (node or web) this backend uses; passed in, never imported here. */
export interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => OrtTensor;
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

/** ValueInfoProto for a float tensor with symbolic dims. */
function floatInput(name: string, dims: string[]): Uint8Array {
  const shape = message(dims.map((d): Field => [1, "bytes", message([[2, "string", d]])]));
  const tensorType = message([
    [1, "varint", 1], // elem_type FLOAT
    [2, "bytes", shape],
  ]);
  return message([
    [1, "string", name],
    [2, "bytes", message([[1, "bytes", tensorType]])],
  ]);
}

/**
 * A one-node ONNX model: `MatMul(A[m,k], B[k,n])`, or `Gemm(A[m,k], B[n,k], transB=1)` for A·Bᵀ,
 * with symbolic dims so one cached session serves every shape.
 */
export function gemmModel(transB: boolean): Uint8Array {
  const attributes: Field[] = transB
    ? [
        [
          5,
          "bytes",
          message([
            [1, "string", "transB"],
            [3, "varint", 1],
            [20, "varint", 2], // AttributeProto.type INT
          ]),
        ],
      ]
    : [];
  const node = message([
    [1, "string", "A"],
    [1, "string", "B"],
    [2, "string", "C"],
    [4, "string", transB ? "Gemm" : "MatMul"],
    ...attributes,
  ]);
  const graph = message([
    [1, "bytes", node],
    [2, "string", "gapkit_gemm"],
    [11, "bytes", floatInput("A", ["m", "k"])],
    [11, "bytes", floatInput("B", transB ? ["n", "k"] : ["k", "n"])],
    [12, "bytes", floatInput("C", ["m", "n"])],
  ]);
  return message([
    [1, "varint", 8], // ir_version
    [7, "bytes", graph],
    [8, "bytes", message([[2, "varint", 13]])], // opset 13
  ]);
}

/** The onnxruntime backend: one cached session per graph (A·B and A·Bᵀ), `threads` intra-op threads. */
export function createOrtBackend(ort: OrtModule, threads: number): GemmBackend {
  const sessions = new Map<boolean, Promise<OrtSession>>();
  const session = (transB: boolean) => {
    let s = sessions.get(transB);
    if (!s) {
      s = ort.InferenceSession.create(gemmModel(transB), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
      });
      sessions.set(transB, s);
    }
    return s;
  };
  return {
    name: "ort",
    async gemm(a: Matrix, b: Matrix, transB: boolean): Promise<Matrix> {
      const run = await session(transB);
      const out = await run.run({
        A: new ort.Tensor("float32", a.data, [a.rows, a.cols]),
        B: new ort.Tensor("float32", b.data, [b.rows, b.cols]),
      });
      const c = out.C;
      return matrix(c.dims[0], c.dims[1], c.data as Float32Array);
    },
    async dispose() {
      for (const s of sessions.values()) await (await s).release?.();
      sessions.clear();
    },
  };
}

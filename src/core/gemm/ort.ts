import { type Matrix, matrix, rowsF64 } from "../matrix.js";
import { intAttribute, model, node, tensorInfo } from "../onnx.js";
import type { GemmBackend, Tensor32 } from "./index.js";

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
  run(
    feeds: Record<string, OrtTensor>,
    fetches?: Record<string, OrtTensor>,
  ): Promise<Record<string, OrtTensor>>;
  release?(): Promise<void>;
}

/** The one-node graphs this backend runs. */
export type OrtGraph = "matmul" | "matmulT" | "gramF64" | "matmulF64" | "matmulTF64";

/**
 * A one-node ONNX model with symbolic dims, so one cached session serves every shape:
 * `matmul` = MatMul(A[m,k], B[k,n]); `matmulT` = Gemm(A[m,k], B[n,k], transB=1) = A·Bᵀ;
 * `gramF64` = Gemm(X[m,k], Y[m,n], transA=1) = XᵀY in float64; `matmulF64`, `matmulTF64`: A·B and A·Bᵀ
 * in float64.
 */
export function gemmModel(graph: OrtGraph): Uint8Array {
  const type = graph === "matmul" || graph === "matmulT" ? "float32" : "float64";
  const [transA, transB] = [graph === "gramF64", graph === "matmulT" || graph === "matmulTF64"];
  const inputs = [
    tensorInfo("A", type, ["m", "k"]),
    tensorInfo("B", type, transA ? ["m", "n"] : transB ? ["n", "k"] : ["k", "n"]),
  ];
  const attributes = transA ? [intAttribute("transA", 1)] : transB ? [intAttribute("transB", 1)] : [];
  const product = node(graph === "matmul" ? "MatMul" : "Gemm", ["A", "B"], "C", attributes);
  const output = tensorInfo("C", type, transA ? ["k", "n"] : ["m", "n"]);
  return model(`gapkit_${graph}`, [product], inputs, [output]);
}

// Rows converted to float64 per Gram step: bounds the extra memory at 16 MB per 512 columns.
const GRAM_BLOCK_ELEMENTS = 2 ** 22;

/** The onnxruntime backend: one cached session per graph, `threads` intra-op threads. */
export function createOrtBackend(ort: OrtModule, threads: number): GemmBackend {
  const sessions = new Map<string, Promise<OrtSession>>();
  // `graph`: a whole graph (a training step) rather than one product
  const session = (key: string, build: () => Uint8Array, graph = false) => {
    let s = sessions.get(key);
    if (!s) {
      s = ort.InferenceSession.create(build(), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
        enableCpuMemArena: graph,
        // a product's idle intra-op threads sleep: spinning took the core V8 compiles, collects garbage
        // and runs JS between runs on (align eval on features_clip: 2.7 → 2.1 s, user time 4.5 → 2.8 s);
        // within a graph of many small nodes run back to back, waking a sleeping thread per node costs more
        // than the second thread gives (a ViT training step on 2 threads: 45.8 ms asleep, 29.6 spinning),
        // so a graph's threads spin — and stop as its run returns, leaving the core to the JS between runs
        // (the MLP CLIP step's optimiser and batch: ≈ 168 → 178 steps/s; spinning on, 120 to 180)
        extra: {
          session: { intra_op: { allow_spinning: graph ? "1" : "0" }, force_spinning_stop: "1" },
        },
      });
      sessions.set(key, s);
    }
    return s;
  };
  const product = (graph: OrtGraph) => session(graph, () => gemmModel(graph));
  return {
    name: "ort",
    async gemm(a: Matrix, b: Matrix, transB: boolean): Promise<Matrix> {
      const run = await product(transB ? "matmulT" : "matmul");
      // the product lands in memory allocated here, which V8 counts: blocks of scores that onnxruntime
      // allocated itself went uncounted, so garbage blocks piled up between collections
      const c = matrix(a.rows, transB ? b.rows : b.cols);
      await run.run(
        {
          A: new ort.Tensor("float32", a.data, [a.rows, a.cols]),
          B: new ort.Tensor("float32", b.data, [b.rows, b.cols]),
        },
        { C: new ort.Tensor("float32", c.data, [c.rows, c.cols]) },
      );
      return c;
    },
    async gramF64(x: Matrix, y: Matrix = x): Promise<Float64Array> {
      const run = await product("gramF64");
      const out = new Float64Array(x.cols * y.cols);
      const step = Math.max(1, Math.floor(GRAM_BLOCK_ELEMENTS / Math.max(x.cols, y.cols, 1)));
      const block = (m: Matrix, start: number, end: number) =>
        new ort.Tensor("float64", rowsF64(m, start, end), [end - start, m.cols]);
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
    async productF64(x, y, m, k, n, transB) {
      const run = await product(transB ? "matmulTF64" : "matmulF64");
      const c = new Float64Array(m * n);
      await run.run(
        {
          A: new ort.Tensor("float64", x, [m, k]),
          B: new ort.Tensor("float64", y, transB ? [n, k] : [k, n]),
        },
        { C: new ort.Tensor("float64", c, [m, n]) },
      );
      return c;
    },
    async runGraph(key, build, feeds, fetches) {
      // the arena keeps a graph's intermediate buffers from run to run: fresh pages cost more here
      const run = await session(key, build, true);
      const tensors = (named: Record<string, Tensor32>) =>
        Object.fromEntries(
          Object.entries(named).map(([name, t]) => [name, new ort.Tensor("float32", t.data, t.dims)]),
        );
      const out = await run.run(tensors(feeds), fetches && tensors(fetches));
      return Object.fromEntries(
        Object.entries(out).map(([name, t]): [string, Tensor32] => [
          name,
          { data: t.data as Float32Array, dims: t.dims },
        ]),
      );
    },
    prepare() {
      // the first session also starts onnxruntime's environment (≈ 30 ms), which later ones then share
      product("matmulT").catch(() => sessions.delete("matmulT"));
    },
    async dispose() {
      for (const s of sessions.values()) await (await s).release?.();
      sessions.clear();
    },
  };
}

/**
 * gapkit/node: what Node adds to the browser-safe entry `gapkit` — file I/O (.npy, Parquet, Arrow, JSONL,
 * CSV), streaming statistics on worker threads, the DuckDB push-down, worker threads for the js backend
 * and the optional onnxruntime-node backend. (It does not re-export `gapkit`, so the CLI loads
 * only the modules it uses.)
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { InputError } from "./core/errors.js";
import { getBackend, registerBackend, useBackend } from "./core/gemm/index.js";
import { createJsBackend, type KernelJob, type KernelPool } from "./core/gemm/js.js";
import { gemmRowsKernel } from "./core/gemm/kernel.js";
import { createOrtBackend, type OrtModule } from "./core/gemm/ort.js";

export * from "./io/duckdb.js";
export * from "./io/files.js";
export * from "./io/stream.js";
export * from "./io/tables.js";

const workerSource = `
const { parentPort } = require("node:worker_threads");
const kernel = (${gemmRowsKernel.toString()});
parentPort.on("message", (j) => {
  kernel(new Float32Array(j.a), new Float32Array(j.bt), new Float32Array(j.c), j.n, j.k, j.rowStart, j.rowEnd);
  parentPort.postMessage(0);
});`;

/** A pool of worker_threads running the gemm kernel; idle workers do not keep the process alive. */
export function createThreadPool(size: number = availableParallelism()): KernelPool {
  const workers: Worker[] = [];
  const worker = (i: number) => {
    if (!workers[i]) {
      workers[i] = new Worker(workerSource, { eval: true });
      workers[i].unref();
    }
    return workers[i];
  };
  const runOne = (w: Worker, job: KernelJob) =>
    new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        w.off("message", onMessage).off("error", done);
        w.unref();
        if (error) reject(error);
        else resolve();
      };
      const onMessage = () => done();
      w.ref();
      w.on("message", onMessage).on("error", done);
      w.postMessage(job);
    });
  return {
    size,
    run: async (jobs) => {
      await Promise.all(jobs.map((job, i) => runOne(worker(i % size), job)));
    },
    dispose: async () => {
      await Promise.all(workers.splice(0).map((w) => w.terminate()));
    },
  };
}

/** The gemm backend names accepted by GAPKIT_BACKEND and `--backend`. */
export const BACKEND_NAMES = ["js", "ort"] as const;

/**
 * Registers the Node backends (js on `threads` worker threads; ort with `threads` intra-op threads when
 * onnxruntime-node is installed) and selects `preferred`, else GAPKIT_BACKEND, else ort when available,
 * else js, and starts its slow set-up in the background. Returns the selected name.
 */
export async function initBackends(
  preferred = process.env.GAPKIT_BACKEND,
  threads = availableParallelism(),
): Promise<string> {
  registerBackend(createJsBackend(createThreadPool(threads)));
  let ortError = "";
  try {
    const ort = (await import("onnxruntime-node")) as unknown as OrtModule;
    registerBackend(createOrtBackend(ort, threads));
  } catch (error) {
    ortError = (error as Error).message.split("\n")[0];
  }
  if (preferred) {
    if (!(BACKEND_NAMES as readonly string[]).includes(preferred))
      throw new InputError("GAPKIT_BACKEND", `one of ${BACKEND_NAMES.join(", ")}`, JSON.stringify(preferred));
    if (preferred === "ort" && ortError)
      throw new InputError("backend ort", "onnxruntime-node installed and loadable", ortError);
    useBackend(preferred);
  } else useBackend(ortError ? "js" : "ort");
  const selected = getBackend();
  selected.prepare?.();
  return selected.name;
}

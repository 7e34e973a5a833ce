/**
 * gapkit/node: what Node adds to the browser-safe entry `gapkit` — file I/O (.npy, Parquet, Arrow, JSONL,
 * CSV), streaming statistics on worker threads, the DuckDB push-down, worker threads for the js and wasm backends
 * and the optional onnxruntime-node backend. (It does not re-export `gapkit`, so the CLI loads
 * only the modules it uses.)
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { InputError } from "./core/errors.js";
import { deferredBackend, getBackend, registerBackend, useBackend } from "./core/gemm/index.js";
import { createJsBackend } from "./core/gemm/js.js";
import { createOrtBackend, type OrtModule } from "./core/gemm/ort.js";
import { createWasmBackend } from "./core/gemm/wasm.js";
import { type SpawnWorker, workerScript } from "./core/workers.js";

export * from "./io/duckdb.js";
export * from "./io/emoji.js";
export * from "./io/files.js";
export * from "./io/idx.js";
export * from "./io/stream.js";
export * from "./io/tables.js";

const NODE_WIRING = `const { parentPort } = require("node:worker_threads");
const post = (reply) => parentPort.postMessage(reply);
const listen = (answer) => parentPort.on("message", answer);`;

/** Starts a worker_thread running a pool handler; an idle worker does not keep the process alive. */
export const spawnNodeWorker: SpawnWorker = (handler) => {
  const worker = new Worker(workerScript(handler, NODE_WIRING), { eval: true });
  return {
    post: (message) => worker.postMessage(message),
    listen: (onReply, onCrash) => worker.on("message", onReply).on("error", onCrash),
    keepAlive: (alive) => (alive ? worker.ref() : worker.unref()),
    terminate: () => worker.terminate(),
  };
};

/** The gemm backend names accepted by GAPKIT_BACKEND and `--backend`; auto = ort, else wasm, else js. */
export const BACKEND_NAMES = ["auto", "js", "ort", "wasm"] as const;

// With deferOrt, products run in WebAssembly on the calling thread until they have cost this many
// multiply-adds: ≈ 50–100 ms of work, what loading onnxruntime and starting its threads takes here.
const ORT_DEFER_MACS = 2 ** 31;

/** Options for initBackends. */
export interface InitBackendsOptions {
  /**
   * For short-lived processes (the CLI): under auto, load onnxruntime only once the products have cost
   * ORT_DEFER_MACS multiply-adds, running them in WebAssembly on the calling thread until then, so a
   * command on a few thousand rows does not wait for onnxruntime to start.
   */
  deferOrt?: boolean;
}

/**
 * Registers the Node backends — js and wasm on `threads` worker threads, ort with `threads` intra-op
 * threads when onnxruntime-node is installed — and selects `preferred`, else GAPKIT_BACKEND, else auto
 * (ort, else wasm, else js), and starts its slow set-up in the background. Returns the selected name.
 */
export async function initBackends(
  preferred = process.env.GAPKIT_BACKEND || "auto",
  threads = availableParallelism(),
  options: InitBackendsOptions = {},
): Promise<string> {
  if (!(BACKEND_NAMES as readonly string[]).includes(preferred))
    throw new InputError("GAPKIT_BACKEND", `one of ${BACKEND_NAMES.join(", ")}`, JSON.stringify(preferred));
  const spawn = spawnNodeWorker;
  registerBackend(createJsBackend({ threads, spawn }));
  const unavailable: Record<string, string> = {};
  try {
    registerBackend(await createWasmBackend({ threads, spawn }));
  } catch (error) {
    unavailable.wasm = (error as Error).message;
  }
  const loadOrt = async () =>
    createOrtBackend((await import("onnxruntime-node")) as unknown as OrtModule, threads);
  try {
    if (options.deferOrt && preferred === "auto" && !unavailable.wasm) {
      import.meta.resolve("onnxruntime-node"); // installed? (loading it is what is deferred)
      const fallback = getBackend("wasm"); // should it then fail to load
      const small = await createWasmBackend();
      registerBackend(deferredBackend("ort", small, () => loadOrt().catch(() => fallback), ORT_DEFER_MACS));
    } else registerBackend(await loadOrt());
  } catch (error) {
    unavailable.ort = (error as Error).message.split("\n")[0];
  }
  const name = preferred === "auto" ? ["ort", "wasm", "js"].find((n) => !(n in unavailable))! : preferred;
  if (name in unavailable)
    throw new InputError(
      `backend ${name}`,
      name === "ort" ? "onnxruntime-node installed and loadable" : "WebAssembly SIMD",
      unavailable[name],
    );
  useBackend(name);
  const selected = getBackend();
  selected.prepare?.();
  return selected.name;
}

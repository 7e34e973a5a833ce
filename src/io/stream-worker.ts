/**
 * A worker thread of streamPairStats: decodes and reduces the chunks the main thread posts. It multiplies
 * no matrices (the second moments are the main thread's), so it never loads a native matmul library:
 * onnxruntime-node in worker threads that come and go crashes the process.
 */
import { parentPort, workerData } from "node:worker_threads";
import { InputError } from "../core/errors.js";
import { type ChunkSettings, reduceChunk, type WorkerReply } from "./stream.js";
import { openChunkDecoder, type RawChunk, type TableSpec } from "./tables.js";

const { spec, settings } = workerData as { spec: TableSpec; settings: ChunkSettings };
const port = parentPort;
if (!port) throw new Error("stream-worker: must run as a worker thread");
const decoder = await openChunkDecoder(spec);
port.on("message", async ({ id, chunk, cutoff }: { id: number; chunk: RawChunk; cutoff: number }) => {
  let reply: WorkerReply;
  try {
    const result = await reduceChunk(decoder, spec, chunk, settings, cutoff);
    reply = { id, result };
  } catch (e) {
    const error = e as Error;
    reply = {
      id,
      error:
        e instanceof InputError
          ? { input: true, where: e.where, expected: e.expected, actual: e.actual, message: e.message }
          : { input: false, where: "", expected: "", actual: "", message: error.stack ?? String(error) },
    };
  }
  port.postMessage(reply); // copied, not transferred: see startWorkers
});

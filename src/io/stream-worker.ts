/** A worker thread of streamPairStats: decodes and reduces the chunks the main thread posts. */
import { parentPort, workerData } from "node:worker_threads";
import { InputError } from "../core/errors.js";
import { initBackends } from "../node.js";
import { type ChunkSettings, reduceChunk, type WorkerReply } from "./stream.js";
import { openChunkDecoder, type RawChunk, type TableSpec } from "./tables.js";

const { spec, settings, backend, threads } = workerData as {
  spec: TableSpec;
  settings: ChunkSettings;
  backend?: string;
  threads: number;
};
const port = parentPort;
if (!port) throw new Error("stream-worker: must run as a worker thread");
await initBackends(backend, threads);
const decoder = await openChunkDecoder(spec);
port.on("message", async ({ id, chunk }: { id: number; chunk: RawChunk }) => {
  let reply: WorkerReply;
  try {
    const result = await reduceChunk(decoder, spec, chunk, settings);
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
  port.postMessage(reply);
});

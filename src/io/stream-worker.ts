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
// only the second moments multiply matrices; no background set-up, which must not outlive the worker
if (settings.moments) await initBackends(backend, threads, { prepare: false });
const decoder = await openChunkDecoder(spec);
port.on("message", async ({ id, chunk, cutoff }: { id: number; chunk: RawChunk; cutoff: number }) => {
  let reply: WorkerReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const result = await reduceChunk(decoder, spec, chunk, settings, cutoff);
    reply = { id, result };
    const arrays = [
      ...Object.values(result.stats.sums).flatMap((sum) => [sum.hi, sum.lo]),
      ...Object.values(result.candidates),
      ...result.spent,
    ];
    transfer = arrays.filter((x) => x.length > 0).map((x) => x.buffer as ArrayBuffer);
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
  port.postMessage(reply, transfer);
});

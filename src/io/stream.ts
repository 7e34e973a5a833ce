/**
 * Streaming statistics: a table is cut into row chunks on this thread, worker threads decode each chunk
 * and reduce it to mergeable statistics plus its candidates for a seeded uniform sample, and the results
 * are merged in chunk order — so the answer does not depend on the number of workers.
 */
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { basename } from "node:path";
import { Worker } from "node:worker_threads";
import { InputError } from "../core/errors.js";
import { type Matrix, matrix, selectRows, sliceRows } from "../core/matrix.js";
import { hashUniform } from "../core/rng.js";
import { kernelArena } from "../gap/first-order.js";
import { type GapStats, mergeStats, pairStats, type StatsSource, withMoments } from "../gap/stats.js";
import { type UnitRows, unitRows } from "../gap/unit-rows.js";
import { openRegularFile } from "./files.js";
import {
  type ChunkDecoder,
  openChunkDecoder,
  pairNames,
  type RawChunk,
  type TableReader,
  type TableSpec,
} from "./tables.js";

/** Options for streamPairStats. */
export interface StreamOptions {
  /** Worker threads decoding and reducing chunks (default: one per core but this thread's, none for a table of ≤ 2 chunks); 1 = all on this thread. */
  workers?: number;
  /** Rows per chunk (default 4096): memory is O(workers × chunkRows × d). */
  chunkRows?: number;
  /** Keep the d×d second moments (default true). */
  moments?: boolean;
  /** With the moments, also the cross moment (default true). */
  cross?: boolean;
  /** Only rows [start, end) of the table. */
  rows?: [number, number];
  /** Also keep a uniform sample of up to this many pairs (default 0: none). */
  sample?: number;
  /** Seed of the sample. */
  seed?: number;
  /** Matmul backend of the threads that compute second moments. */
  backend?: string;
  /** Called after each chunk with the rows done and, when known, the total. */
  onProgress?: (done: number, total: number | undefined) => void;
  /** The file(s) the table is read from: record them and the rows read as the statistics' provenance. */
  sourceFiles?: string[];
}

/** A uniform sample of pairs (rows as read, not normalised), in row order. */
export interface PairSample {
  a: Matrix;
  b: Matrix;
  /** Each sampled pair's row in the table, where known. */
  rows?: Float64Array;
}

/** What one chunk contributes, and the chunk's byte buffers handed back for reuse. */
export interface ChunkResult {
  stats: GapStats;
  candidates: SampleCandidates;
  spent: Uint8Array[];
  /** The chunk's rows normalised, when its second moments are still to be added (by the main thread). */
  unit?: { a: UnitRows; b: UnitRows };
  /** With `digest`: the SHA-256 of the chunk's rows read, as float32, A's then B's. */
  digest?: Uint8Array;
}

/** Rows of a chunk that may belong to the sample: those with the smallest keys. */
interface SampleCandidates {
  keys: Float64Array;
  rows: Float64Array;
  a: Float32Array;
  b: Float32Array;
}

/** Settings a worker needs besides the table. */
export interface ChunkSettings {
  moments: boolean;
  cross: boolean;
  /** Leave the moments to the caller: return the normalised rows instead (worker threads do). */
  deferMoments?: boolean;
  rows?: [number, number];
  sample: number;
  seed: number;
  /** Hash each chunk's rows (for the provenance's content hash). */
  digest?: boolean;
}

/**
 * Decodes a chunk, checks and normalises it, and reduces it to statistics and its candidates for the
 * sample: rows whose key is below `cutoff`.
 */
export async function reduceChunk(
  decoder: ChunkDecoder,
  spec: TableSpec,
  chunk: RawChunk,
  settings: ChunkSettings,
  cutoff = Number.POSITIVE_INFINITY,
): Promise<ChunkResult> {
  const [start, end] = settings.rows ?? [0, Number.POSITIVE_INFINITY];
  const lo = Math.max(start - chunk.first, 0);
  const hi = Math.min(end - chunk.first, chunk.rows);
  const [rawA, rawB] = (await decoder.decode(chunk)).map((m) =>
    lo > 0 || hi < chunk.rows ? sliceRows(m, lo, hi) : m,
  );
  const first = chunk.first + lo;
  const rows = hi - lo;
  const digest = settings.digest
    ? createHash("sha256").update(rawA.data).update(rawB.data).digest()
    : undefined;
  const names = pairNames(spec);
  const defer = settings.moments && settings.deferMoments;
  const stats = await pairStats(rawA, rawB, {
    moments: settings.moments && !defer,
    cross: settings.cross,
    names,
    firstRow: first,
  });
  const spent = chunk.bytes ?? [];
  const unit = defer ? { a: unitRows(rawA), b: unitRows(rawB) } : undefined;
  if (settings.sample === 0) return { stats, candidates: EMPTY, spent, unit, digest };
  // only rows under the cutoff (the k-th smallest key seen so far), and of those only the chunk's own k
  // smallest, can be among the table's k smallest
  const below: number[] = [];
  const keys = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    keys[i] = hashUniform(settings.seed, first + i);
    if (keys[i] <= cutoff) below.push(i);
  }
  const order = below.sort((i, j) => keys[i] - keys[j]).slice(0, settings.sample);
  const candidates: SampleCandidates = {
    keys: Float64Array.from(order, (i) => keys[i]),
    rows: Float64Array.from(order, (i) => first + i),
    a: selectRows(rawA, order).data,
    b: selectRows(rawB, order).data,
  };
  return { stats, candidates, spent, unit, digest };
}

const EMPTY: SampleCandidates = {
  keys: new Float64Array(0),
  rows: new Float64Array(0),
  a: new Float32Array(0),
  b: new Float32Array(0),
};

/** A candidate as [part, index within the part]. */
type CandidateRef = [number, number];

/**
 * The `k` candidates of `parts` with the smallest keys (ties: lower row), in key order — or, with
 * `byRow`, in row order. References only: `gather` copies the rows once, so the parts are never joined
 * (joining them chunk by chunk copied the whole sample each time: 100,000 × 512 pairs left gigabytes of
 * garbage behind).
 */
function smallest(parts: SampleCandidates[], k: number, byRow = false): CandidateRef[] {
  const refs: CandidateRef[] = parts.flatMap((p, part) =>
    Array.from(p.keys, (_, i): CandidateRef => [part, i]),
  );
  const key = ([part, i]: CandidateRef) => parts[part].keys[i];
  const row = ([part, i]: CandidateRef) => parts[part].rows[i];
  const kept = refs.sort((x, y) => key(x) - key(y) || row(x) - row(y)).slice(0, k);
  return byRow ? kept.sort((x, y) => row(x) - row(y)) : kept;
}

/** Copies candidates into the rows of `whole` they came from (table row − `start`). */
function placeRows(
  whole: { a: Float32Array; b: Float32Array },
  c: SampleCandidates,
  start: number,
  d: number,
): void {
  c.rows.forEach((row, i) => {
    whole.a.set(c.a.subarray(i * d, (i + 1) * d), (row - start) * d);
    whole.b.set(c.b.subarray(i * d, (i + 1) * d), (row - start) * d);
  });
}

/** The referenced candidates of `parts`, copied in order into one. */
function gather(parts: SampleCandidates[], refs: CandidateRef[], d: number): SampleCandidates {
  const out: SampleCandidates = {
    keys: Float64Array.from(refs, ([part, i]) => parts[part].keys[i]),
    rows: Float64Array.from(refs, ([part, i]) => parts[part].rows[i]),
    a: new Float32Array(refs.length * d),
    b: new Float32Array(refs.length * d),
  };
  refs.forEach(([part, i], k) => {
    out.a.set(parts[part].a.subarray(i * d, (i + 1) * d), k * d);
    out.b.set(parts[part].b.subarray(i * d, (i + 1) * d), k * d);
  });
  return out;
}

/**
 * Statistics (and optionally a seeded uniform sample of its pairs) of a paired table, read in
 * chunks in bounded memory; `reader` must have two columns [A, B] and is closed at the end.
 */
export async function streamPairStats(
  reader: TableReader,
  options: StreamOptions = {},
): Promise<{ stats: GapStats; sample?: PairSample }> {
  try {
    return await reduceTable(reader, options);
  } finally {
    await reader.close();
  }
}

async function reduceTable(
  reader: TableReader,
  options: StreamOptions,
): Promise<{ stats: GapStats; sample?: PairSample }> {
  const { spec } = reader;
  const settings: ChunkSettings = {
    moments: options.moments ?? true,
    cross: options.cross ?? true,
    sample: options.sample ?? 0,
    seed: options.seed ?? 0,
    rows: options.rows,
    digest: options.sourceFiles !== undefined,
  };
  const [start, end] = options.rows ?? [0, Number.POSITIVE_INFINITY];
  const chunkRows = options.chunkRows ?? 4096;
  // starting workers costs more than a table of two chunks takes on this thread
  const small = spec.rows !== undefined && spec.rows <= 2 * chunkRows;
  // this thread reads the table and merges: a worker pays off only with a core of its own besides it (two
  // workers on two cores took 1.16 s where this thread alone took 0.97 s for 1,000,000 × 512 pairs)
  const workers = Math.max(1, options.workers ?? (small ? 1 : availableParallelism() - 1));
  const pool =
    workers > 1 ? await startWorkers(spec, { ...settings, deferMoments: true }, workers) : undefined;
  const local = pool ? undefined : await openChunkDecoder(spec);
  const d = spec.dim;
  let total: GapStats | undefined;
  let sample: SampleCandidates[] = [];
  let candidates = 0;
  // a sample as large as a table of known size is the whole table: each chunk's rows go straight to their
  // place in one allocation, and no candidate outlives its chunk (100,000 pairs: 410 MB less at the peak)
  const rowCount = spec.rows === undefined ? undefined : Math.max(0, Math.min(spec.rows, end) - start);
  const whole =
    settings.sample > 0 && rowCount !== undefined && rowCount <= settings.sample
      ? { a: new Float32Array(rowCount * d), b: new Float32Array(rowCount * d) }
      : undefined;
  let cutoff = Number.POSITIVE_INFINITY;
  let done = 0;
  const pending = new Map<number, ChunkResult>();
  // the raw buffers of chunks already reduced, reused for the next ones: memory stays flat
  const free: Uint8Array[] = [];
  // shared memory for workers: a chunk reaches them without a transfer (see startWorkers); on this thread
  // the chunks are read into the summing kernel's own memory, which then sums them where they lie
  const arena = pool ? undefined : kernelArena();
  const allocate = (bytes: number) => {
    const index = free.findIndex((b) => b.length === bytes);
    if (index >= 0) return free.splice(index, 1)[0];
    return arena
      ? arena(bytes)
      : new Uint8Array(pool ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  };
  let nextToMerge = 0;
  const content = settings.digest ? createHash("sha256") : undefined;
  // merging strictly in chunk order makes the result independent of which worker finishes first
  const mergeReady = () => {
    for (let r = pending.get(nextToMerge); r; r = pending.get(nextToMerge)) {
      pending.delete(nextToMerge++);
      total = total ? mergeStats(total, r.stats) : r.stats;
      if (r.digest) content?.update(r.digest);
      done += r.stats.n;
      if (whole) placeRows(whole, r.candidates, start, d);
      else {
        sample.push(r.candidates);
        candidates += r.candidates.keys.length;
      }
      if (candidates > 2 * settings.sample) {
        const kept = gather(sample, smallest(sample, settings.sample), d);
        [sample, candidates, cutoff] = [[kept], kept.keys.length, kept.keys[kept.keys.length - 1]];
      }
      options.onProgress?.(done, rowCount);
    }
  };
  const inFlight = new Set<Promise<void>>();
  // the first failure, kept until every job in flight has settled (a rejection no one awaits yet would
  // otherwise escape as an unhandled one)
  let failure: { error: unknown } | undefined;
  try {
    let index = 0;
    for await (const chunk of reader.chunks(chunkRows, allocate)) {
      if (failure || chunk.first >= end) break;
      if (chunk.first + chunk.rows <= start) continue;
      const id = index++;
      const job = (
        pool ? pool.run(chunk, cutoff) : reduceChunk(local as ChunkDecoder, spec, chunk, settings, cutoff)
      )
        .then(async (r) => {
          // a worker leaves the moments to this thread's backend: no native matmul library in workers
          const stats = r.unit
            ? await withMoments(r.stats, r.unit.a, r.unit.b, {
                backend: options.backend,
                cross: settings.cross,
              })
            : r.stats;
          return { ...r, stats };
        })
        .then(
          (r) => {
            free.push(...r.spent);
            pending.set(id, r);
            mergeReady();
          },
          (error) => {
            failure ??= { error };
          },
        );
      const tracked: Promise<void> = job.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      // two chunks per worker in flight keep every worker busy; memory stays O(workers × chunkRows × d)
      if (inFlight.size >= 2 * workers) await Promise.race(inFlight);
    }
  } finally {
    await Promise.all(inFlight);
    await pool?.close();
    await local?.close();
  }
  if (failure) throw failure.error;
  if (!total) throw new InputError(spec.path, "at least one row in the rows read", "none");
  if (Number.isFinite(end) && total.n < end - start)
    throw new InputError("rows", `an end within the table's ${start + total.n} rows`, String(end));
  if (options.sourceFiles) {
    const source = await fileSource(options.sourceFiles);
    const rows: [number, number] = [start, start + total.n];
    total = { ...total, provenance: [{ source, rows, content: content?.digest("hex") }] };
  }
  if (settings.sample === 0) return { stats: total };
  if (whole && rowCount !== undefined) {
    if (total.n !== rowCount)
      throw new InputError(spec.path, `the ${rowCount} rows its header declares`, `${total.n} rows`);
    const rows = Float64Array.from({ length: rowCount }, (_, i) => start + i);
    return {
      stats: total,
      sample: { a: matrix(rowCount, d, whole.a), b: matrix(rowCount, d, whole.b), rows },
    };
  }
  const inOrder = gather(sample, smallest(sample, settings.sample, true), d);
  sample = [];
  const n = inOrder.keys.length;
  return {
    stats: total,
    sample: { a: matrix(n, d, inOrder.a), b: matrix(n, d, inOrder.b), rows: inOrder.rows },
  };
}

/** How much of a file's start its source's `head` hash covers: any format's header and its first rows. */
const HEAD_BYTES = 65536;

/** The source (see StatsSource) of a table read from `paths`. */
async function fileSource(paths: string[]): Promise<StatsSource> {
  const head = createHash("sha256");
  let bytes = 0;
  for (const path of paths) {
    const handle = await openRegularFile(path);
    try {
      bytes += (await handle.stat()).size;
      const { buffer, bytesRead } = await handle.read(new Uint8Array(HEAD_BYTES), 0, HEAD_BYTES, 0);
      head.update(buffer.subarray(0, bytesRead));
    } finally {
      await handle.close();
    }
  }
  return { file: paths.map((p) => basename(p)).join(" + "), bytes, head: head.digest("hex") };
}

/** Messages from a stream worker. */
export type WorkerReply =
  | { id: number; result: ChunkResult }
  | {
      id: number;
      error: { input: boolean; where: string; expected: string; actual?: string; message: string };
    };

interface WorkerPool {
  run(chunk: RawChunk, cutoff: number): Promise<ChunkResult>;
  close(): Promise<void>;
}

async function startWorkers(spec: TableSpec, settings: ChunkSettings, size: number): Promise<WorkerPool> {
  // from TypeScript source (the test runner), the worker registers tsx before importing its module
  const source = import.meta.url.endsWith(".ts");
  const url = new URL(source ? "./stream-worker.ts" : "./stream-worker.js", import.meta.url);
  const script = source
    ? `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`
    : url;
  const workers = Array.from(
    { length: size },
    () => new Worker(script, { eval: source, workerData: { spec, settings } }),
  );
  const waiting = new Map<number, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();
  let failure: Error | undefined;
  for (const w of workers) {
    w.on("message", (reply: WorkerReply) => {
      const entry = waiting.get(reply.id);
      waiting.delete(reply.id);
      if ("result" in reply) entry?.resolve(reply.result);
      else {
        const e = reply.error;
        entry?.reject(e.input ? new InputError(e.where, e.expected, e.actual) : new Error(e.message));
      }
    });
    w.on("error", (e) => {
      failure = e;
      for (const entry of waiting.values()) entry.reject(e);
      waiting.clear();
    });
  }
  let next = 0;
  return {
    run: (chunk, cutoff) =>
      new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        const id = next++;
        waiting.set(id, { resolve, reject });
        // no transfer lists, either way: detaching an ArrayBuffer invalidates V8's detaching protector, after
        // which every typed-array access in that thread pays a check (the reduce kernel ran ~40% slower)
        workers[id % size].postMessage({ id, chunk, cutoff });
      }),
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

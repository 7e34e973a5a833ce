/**
 * ClickHouse push-down: embeddings loaded into a (distributed) table, and the mergeable statistics computed
 * by SQL aggregates where the rows live — each shard sums its rows, the node asked merges a few KB of
 * partial sums. Speaks ClickHouse's HTTP interface through @clickhouse/client (from server 18.16).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { check, InputError } from "../core/errors.js";
import { type Matrix, matrix } from "../core/matrix.js";
import type { GapStats } from "../gap/stats.js";
import { CLICKHOUSE, realignCentroidQuery, statsFromQueryResults, statsQueries } from "../gap/stats-sql.js";
import type { PairSample } from "./stream.js";
import { openChunkDecoder, type TableReader } from "./tables.js";

type Row = Record<string, string | number | number[]>;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * Checks a table, column or cluster name before it goes into SQL: letters, digits and underscores only
 * (a table may be database.table), so no name can change a statement.
 */
export function checkIdentifier(name: string, flag: string, qualified = false): string {
  const parts = qualified ? name.split(".") : [name];
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p)))
    throw new InputError(
      flag,
      `a name of letters, digits and _${qualified ? " (or database.table)" : ""}`,
      JSON.stringify(name),
    );
  return name;
}

/** A connected ClickHouse: queries that throw InputErrors naming the server. */
interface Server {
  rows(query: string): Promise<Row[]>;
  command(query: string): Promise<void>;
  insert(query: string, body: Uint8Array): Promise<void>;
  /** The raw bytes of a query's result (for FORMAT RowBinary). */
  binary(query: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** How long to wait for a ClickHouse server, and whom to tell while waiting. */
export interface ClickhouseWait {
  /** The longest wait for an answer to a request, connecting included (default 30 s): ms of silence. */
  timeoutMs?: number;
  /** Called about once a second while a request waits for its answer. */
  onWait?: (waitedMs: number, timeoutMs: number, origin: string) => void;
}

/** The default of ClickhouseWait.timeoutMs. */
export const CLICKHOUSE_TIMEOUT_MS = 30_000;

/** The server's URL, parsed: http(s) with a host, and user and password that percent-decode. */
function parseServerUrl(url: string): { origin: string; username: string; password: string } {
  const expected = "the server's HTTP URL, e.g. http://127.0.0.1:8123";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError("--clickhouse", expected, JSON.stringify(url));
  }
  check(
    (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname !== "",
    "--clickhouse",
    expected,
    () =>
      parsed.protocol === "http:" || parsed.protocol === "https:"
        ? "a URL without a host"
        : `a ${parsed.protocol} URL`,
  );
  try {
    return {
      origin: parsed.origin,
      username: decodeURIComponent(parsed.username) || "default",
      password: decodeURIComponent(parsed.password),
    };
  } catch {
    throw new InputError("--clickhouse", "a user and password in valid percent-encoding", "a malformed %");
  }
}

async function connect(url: string, wait: ClickhouseWait = {}): Promise<Server> {
  const { origin, username, password } = parseServerUrl(url);
  const timeoutMs = wait.timeoutMs ?? CLICKHOUSE_TIMEOUT_MS;
  const { createClient, ClickHouseLogLevel } = await import("@clickhouse/client");
  const client: ClickHouseClient = createClient({
    url: origin,
    username,
    password,
    request_timeout: timeoutMs,
    log: { level: ClickHouseLogLevel.OFF }, // failures become InputErrors; nothing else to print
  });
  // the client's errors carry the server's message (its code is lost): keep the first line
  const fail = (error: unknown): never => {
    const message = firstLine(error);
    throw new InputError(
      `--clickhouse ${origin}`,
      "a reachable server that runs the query",
      /^Timeout error/.test(message) ? `no answer within ${timeoutMs / 1000} s (--timeout)` : message,
    );
  };
  // a request's promise, with onWait called each second until it settles
  const waiting = async <T>(request: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    const timer = wait.onWait
      ? setInterval(() => wait.onWait?.(Date.now() - start, timeoutMs, origin), 1000)
      : undefined;
    try {
      return await request();
    } catch (error) {
      return fail(error);
    } finally {
      clearInterval(timer);
    }
  };
  return {
    rows: (query) =>
      waiting(async () => (await (await client.query({ query, format: "JSONEachRow" })).json()) as Row[]),
    command: (query) =>
      waiting(async () => {
        await client.command({ query });
      }),
    insert: (query, body) =>
      waiting(async () => {
        const { Readable } = await import("node:stream");
        const { stream } = await client.exec({
          query,
          values: Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]),
          clickhouse_settings: { insert_distributed_sync: 1 },
        });
        stream.resume();
        await new Promise((resolve, reject) => stream.on("end", resolve).on("error", reject));
      }),
    binary: (query) =>
      waiting(async () => {
        const { stream } = await client.exec({ query });
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      }),
    close: () => client.close(),
  };
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .split("\n")[0]
    .replace(/, e\.what\(\) = DB::Exception$/, "");
}

/** An array length as RowBinary writes it: LEB128. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** RowBinary rows (id UInt64, a Array(Float32), b Array(Float32)) of paired matrices, ids from `first`. */
export function rowBinary(a: Matrix, b: Matrix, first: number): Uint8Array {
  const prefix = varint(a.cols);
  const rowBytes = 8 + 2 * (prefix.length + 4 * a.cols);
  const bytes = new Uint8Array(a.rows * rowBytes);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < a.rows; i++) {
    let at = i * rowBytes;
    view.setBigUint64(at, BigInt(first + i), true);
    at += 8;
    for (const m of [a, b]) {
      bytes.set(prefix, at);
      at += prefix.length;
      bytes.set(new Uint8Array(m.data.buffer, m.data.byteOffset + i * m.cols * 4, m.cols * 4), at);
      at += m.cols * 4;
    }
  }
  return bytes;
}

/** Decodes RowBinary rows of two Array(Float32) columns of length `dim` (rowBinary's layout without the id). */
export function fromRowBinary(bytes: Uint8Array, dim: number, where: string): [Matrix, Matrix] {
  const prefix = varint(dim);
  const rowBytes = 2 * (prefix.length + 4 * dim);
  check(
    bytes.length % rowBytes === 0,
    where,
    `rows of two arrays of ${dim} floats`,
    () => `${bytes.length} bytes`,
  );
  const rows = bytes.length / rowBytes;
  const [a, b] = [matrix(rows, dim), matrix(rows, dim)];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0, at = 0; i < rows; i++)
    for (const m of [a, b]) {
      check(
        prefix.every((byte, k) => bytes[at + k] === byte),
        where,
        `rows of ${dim} floats`,
        () => `another length in row ${i}`,
      );
      at += prefix.length;
      for (let k = 0; k < dim; k++, at += 4) m.data[i * dim + k] = view.getFloat32(at, true);
    }
  return [a, b];
}

/** Options for clickhouseLoad. */
export interface ClickhouseLoadOptions extends ClickhouseWait {
  table: string;
  /** Create the table first: on a cluster, a MergeTree `<table>_local` per shard and `<table>` over them. */
  create?: boolean;
  cluster?: string;
  chunkRows?: number;
  onProgress?: (done: number, total: number | undefined) => void;
}

/**
 * Creates every shard's local table: by distributed DDL where the cluster has it (ZooKeeper), else over
 * HTTP on each shard at the port its `http_port` macro names (scripts/clickhouse-cluster.sh sets it).
 */
async function createShardTables(
  server: Server,
  url: string,
  cluster: string,
  ddl: (table: string) => string,
  local: string,
  wait: ClickhouseWait,
) {
  try {
    await server.command(ddl(`${local} ON CLUSTER ${cluster}`));
    return;
  } catch (error) {
    if (!/DDL background thread|ZooKeeper|distributed_ddl/i.test((error as Error).message)) throw error;
  }
  const nodes = await server.rows(
    `SELECT host_address AS host, toString(port) AS tcp FROM system.clusters WHERE cluster = '${cluster}'`,
  );
  check(nodes.length > 0, "--cluster", "a cluster of the server's remote_servers", () =>
    JSON.stringify(cluster),
  );
  const shards: { host: string; port: string }[] = [];
  for (const { host, tcp } of nodes) {
    // host and port come from the server's own configuration, checked before they go into a string literal
    check(
      /^[\w.:-]+$/.test(`${host}${tcp}`),
      `--cluster ${cluster}`,
      "host names and ports",
      () => `${host}:${tcp}`,
    );
    const [macro] = await server.rows(
      `SELECT substitution AS port FROM remote('${host}:${tcp}', system.macros) WHERE macro = 'http_port'`,
    );
    check(
      macro !== undefined,
      `--cluster ${cluster}`,
      "distributed DDL (ZooKeeper) or an http_port macro on every node",
      () => `none on ${host}:${tcp}`,
    );
    shards.push({ host: String(host), port: String(macro.port) });
  }
  const base = new URL(url);
  for (const { host, port } of shards) {
    const shardUrl = new URL(base);
    shardUrl.hostname = host;
    shardUrl.port = port;
    const node = await connect(shardUrl.toString(), wait);
    try {
      await node.command(ddl(local));
    } finally {
      await node.close();
    }
  }
}

/**
 * Loads a paired table into ClickHouse as RowBinary, a chunk per INSERT; returns the rows loaded. Closes
 * `reader`, also when a bad name or the server stops it first.
 */
export async function clickhouseLoad(
  url: string,
  reader: TableReader,
  options: ClickhouseLoadOptions,
): Promise<number> {
  try {
    return await insertRows(url, reader, options);
  } finally {
    await reader.close();
  }
}

async function insertRows(url: string, reader: TableReader, options: ClickhouseLoadOptions): Promise<number> {
  const table = checkIdentifier(options.table, "--table");
  const cluster = options.cluster === undefined ? undefined : checkIdentifier(options.cluster, "--cluster");
  const server = await connect(url, options);
  const decoder = await openChunkDecoder(reader.spec);
  try {
    if (options.create) {
      const columns = "(id UInt64, a Array(Float32), b Array(Float32))";
      const mergeTree = (name: string) =>
        `CREATE TABLE IF NOT EXISTS ${name} ${columns} ENGINE = MergeTree ORDER BY id`;
      if (cluster) {
        await createShardTables(server, url, cluster, mergeTree, `${table}_local`, options);
        await server.command(
          `CREATE TABLE IF NOT EXISTS ${table} ${columns} ENGINE = Distributed(${cluster}, currentDatabase(), ${table}_local, id)`,
        );
      } else await server.command(mergeTree(table));
    }
    let rows = 0;
    for await (const chunk of reader.chunks(options.chunkRows ?? 16384)) {
      const [a, b] = await decoder.decode(chunk);
      await server.insert(`INSERT INTO ${table} (id, a, b) FORMAT RowBinary`, rowBinary(a, b, chunk.first));
      rows += chunk.rows;
      options.onProgress?.(rows, reader.spec.rows);
    }
    return rows;
  } finally {
    await decoder.close();
    await server.close();
  }
}

/** Options for clickhousePairStats. */
export interface ClickhouseStatsOptions extends ClickhouseWait {
  table: string;
  aCol?: string;
  bCol?: string;
  /** Compute the d×d second moments too (default true). */
  moments?: boolean;
  /** Also pull a sample of up to this many pairs (all of them, by id, when the table is no larger). */
  sample?: number;
  seed?: number;
}

/** Statistics (and optionally a seeded sample of pairs) of a ClickHouse table, summed by the server. */
export async function clickhousePairStats(
  url: string,
  options: ClickhouseStatsOptions,
): Promise<{ stats: GapStats; sample?: PairSample }> {
  const table = checkIdentifier(options.table, "--table", true);
  const [aCol, bCol] = [
    checkIdentifier(options.aCol ?? "a", "--a-col"),
    checkIdentifier(options.bCol ?? "b", "--b-col"),
  ];
  const server = await connect(url, options);
  try {
    const described = new Map(
      (await server.rows(`DESCRIBE TABLE ${table}`)).map((r) => [String(r.name), String(r.type)]),
    );
    for (const [column, flag] of [
      [aCol, "--a-col"],
      [bCol, "--b-col"],
    ])
      check(
        /^Array\((Float32|Float64)\)$/.test(described.get(column) ?? ""),
        `${table} ${flag}`,
        "a column of Array(Float32) or Array(Float64)",
        () =>
          described.has(column)
            ? `${column} of ${described.get(column)}`
            : `no column ${column} (${[...described.keys()].join(", ")})`,
      );
    const [first] = await server.rows(`SELECT length(${aCol}) AS d FROM ${table} LIMIT 1`);
    const dim = Number(first?.d ?? 0);
    check(dim > 0, `--clickhouse ${table}`, "at least one row with a non-empty vector", () => "none");
    const columns = { a: { list: aCol }, b: { list: bCol } };
    const queries = statsQueries(CLICKHOUSE, table, columns, dim, options.moments ?? true);
    const [scalars] = await server.rows(queries.scalars);
    const summed = statsFromQueryResults(
      {
        scalars: scalars as Record<string, string | number>,
        vectors: await server.rows(queries.vectors),
        moments: queries.moments ? await server.rows(queries.moments) : undefined,
      },
      dim,
      `--clickhouse ${table}`,
    );
    // the origin alone: the URL may carry a user and password
    const location = new URL(url).origin;
    const stats: GapStats = {
      ...summed,
      provenance: [{ source: { engine: "clickhouse", location, table }, rows: [0, summed.n] }],
    };
    if (!options.sample) return { stats };
    // all pairs by id, or a seeded uniform sample: the k smallest hashes of (id, seed)
    const order = described.has("id") ? "id" : `cityHash64(${aCol})`;
    const sampled = stats.n > options.sample;
    // pulled as RowBinary float32: a tenth of the bytes of JSON, and no parsing of text
    const float32 = (column: string) => `arrayMap(gk_x -> toFloat32(gk_x), ${column})`;
    const bytes = await server.binary(
      `SELECT ${float32(aCol)}, ${float32(bCol)} FROM ${table} ORDER BY ${sampled ? `cityHash64(${order}, ${(options.seed ?? 0) >>> 0})` : order} LIMIT ${options.sample} FORMAT RowBinary`,
    );
    const [a, b] = fromRowBinary(bytes, dim, `--clickhouse ${table}`);
    const sample: PairSample = {
      a,
      b,
      ...(sampled ? {} : { rows: Float64Array.from({ length: a.rows }, (_, i) => i) }),
    };
    return { stats, sample };
  } finally {
    await server.close();
  }
}

/** ReAlign's centroid over the table's B rows (n of them), summed by the server (see realignCentroidQuery). */
export async function clickhouseRealignCentroid(
  url: string,
  options: ClickhouseWait & { table: string; bCol?: string },
  anchors: { meanA: number[]; meanB: number[]; scale: number },
  n: number,
): Promise<number[]> {
  const table = checkIdentifier(options.table, "--table", true);
  const bCol = checkIdentifier(options.bCol ?? "b", "--b-col");
  const server = await connect(url, options);
  try {
    const dim = anchors.meanA.length;
    const rows = await server.rows(realignCentroidQuery(CLICKHOUSE, table, { list: bCol }, dim, anchors));
    const sums = rows.flatMap((r) => r.centroid as number[]).map(Number);
    check(
      sums.length === dim && sums.every(Number.isFinite),
      `--clickhouse ${table}`,
      `${dim} finite sums`,
      () => String(sums.length),
    );
    return sums.map((s) => s / n);
  } finally {
    await server.close();
  }
}

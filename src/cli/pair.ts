import type { Command } from "commander";
import { InputError } from "../core/errors.js";
import { type Matrix, sliceRows } from "../core/matrix.js";
import type { GapStats } from "../gap/stats.js";
import { clickhousePairStats } from "../io/clickhouse.js";
import { duckdbPairStats } from "../io/duckdb.js";
import { type PairSample, streamPairStats } from "../io/stream.js";
import { openPairTable, type PairTableFlags, pairNames, readAll } from "../io/tables.js";
import { type GroupFlags, readPairGroups } from "./groups.js";
import { clickhouseWait, parseRowRange, parseStreamFlags } from "./options.js";
import { stderrProgress } from "./progress.js";

/** The flags that name a paired embedding set. */
export interface PairFlags extends PairTableFlags {
  rows?: string;
}

/** Paired embeddings, the names errors should use for them, and their `--groups` where given. */
export interface LoadedPair {
  a: Matrix;
  b: Matrix;
  names: { a: string; b: string };
  groups?: Int32Array;
}

/** Adds `[file]`, `--a`, `--b`, `--a-col`, `--b-col` and `--rows` to a command that reads a paired set. */
export function pairOptions(command: Command): Command {
  return command
    .argument(
      "[file]",
      "paired embeddings: .npy/.npz of shape (2, N, d), or Parquet/Arrow/JSONL/CSV with columns a and b",
    )
    .option("--a <file>", "modality A alone: (N, d) .npy/.npz, or a table (with --b)")
    .option("--b <file>", "modality B alone (with --a); rows are paired by index")
    .option("--a-col <name>", "modality A's column: a list per row, or NAME_0…NAME_{d-1} (default a)")
    .option("--b-col <name>", "modality B's column (default b)")
    .option("--rows <start:end>", "use only rows START..END-1 of both modalities");
}

/** Loads the pair named by FILE or `--a A --b B` into memory, restricted to `--rows`, with its `--groups`. */
export async function loadPair(
  file: string | undefined,
  flags: PairFlags & GroupFlags,
  command: string,
): Promise<LoadedPair> {
  const {
    spec,
    columns: [a, b],
  } = await readAll(await openPairTable(file, flags, command));
  const [start, end] = flags.rows ? parseRowRange(flags.rows, a.rows) : [0, a.rows];
  const groups = await readPairGroups(
    flags,
    a.rows,
    Int32Array.from({ length: end - start }, (_, i) => start + i),
  );
  return {
    a: sliceRows(a, start, end),
    b: sliceRows(b, start, end),
    names: pairNames(spec),
    ...(groups ? { groups } : {}),
  };
}

/** The flags of a command that computes statistics by streaming a file or inside DuckDB. */
export interface StatisticsFlags extends PairFlags {
  backend?: string;
  workers?: string;
  chunkRows: string;
  duckdb?: string;
  clickhouse?: string;
  table?: string;
  timeout: string;
  duckdbExternalAccess?: boolean;
}

/**
 * Statistics of the pair the flags name — streamed from FILE/--a/--b in chunks on worker threads, or
 * computed by DuckDB (--duckdb) or a ClickHouse cluster (--clickhouse) — and, with `sample`, a seeded
 * sample of pairs. With `provenance`, streamed statistics also record the files and a hash of the rows
 * read (engines' statistics always record their table).
 */
export async function pairStatistics(
  file: string | undefined,
  flags: StatisticsFlags,
  command: string,
  options: { sample?: number; seed?: number; moments?: boolean; cross?: boolean; provenance?: boolean },
): Promise<{ stats: GapStats; sample?: PairSample }> {
  if (flags.duckdb || flags.clickhouse) {
    const engine = flags.duckdb ? "--duckdb" : "--clickhouse";
    const conflict =
      file ??
      flags.a ??
      flags.b ??
      (flags.rows && "--rows") ??
      (flags.duckdb && flags.clickhouse && "both engines");
    if (conflict) throw new InputError(command, `${engine} alone (no FILE, --a/--b or --rows)`, conflict);
  }
  if (flags.clickhouse) {
    if (!flags.table) throw new InputError("--clickhouse", "--table naming the table to read", "none");
    return clickhousePairStats(flags.clickhouse, {
      ...options,
      ...clickhouseWait(flags.timeout),
      table: flags.table,
      aCol: flags.aCol,
      bCol: flags.bCol,
    });
  }
  if (flags.duckdb) {
    return duckdbPairStats(flags.duckdb, {
      ...options,
      aCol: flags.aCol,
      bCol: flags.bCol,
      table: flags.table,
      externalAccess: flags.duckdbExternalAccess,
    });
  }
  const streamFlags = parseStreamFlags(flags);
  const reader = await openPairTable(file, flags, command);
  let rows: [number, number] | undefined;
  try {
    rows = flags.rows ? parseRowRange(flags.rows, reader.spec.rows ?? Number.POSITIVE_INFINITY) : undefined;
  } catch (e) {
    await reader.close(); // a bad --rows: the file is not read, and its handle is not left to the collector
    throw e;
  }
  const progress = stderrProgress(command);
  // openPairTable has checked that FILE or both --a and --b are given
  const files = file ? [file] : [flags.a as string, flags.b as string];
  return streamPairStats(reader, {
    ...streamFlags,
    ...options,
    // no backend name here: --backend is a preference (auto among them) that initCliBackends has applied
    rows,
    sourceFiles: options.provenance ? files : undefined,
    onProgress: (done, total) => progress(done, total ?? done, total ? undefined : `${done} rows`),
  });
}

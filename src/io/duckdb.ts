/**
 * DuckDB push-down: the mergeable statistics computed as SQL aggregates inside DuckDB (out of core, on
 * DuckDB's own threads), from a .duckdb database or a Parquet glob. @duckdb/node-api is an optional
 * dependency, loaded only here.
 */
import { resolve } from "node:path";
import { check, InputError } from "../core/errors.js";
import { matrix } from "../core/matrix.js";
import type { GapStats } from "../gap/stats.js";
import {
  columnExpression,
  DUCKDB,
  type SqlColumn,
  statsFromQueryResults,
  statsQueries,
} from "../gap/stats-sql.js";
import type { PairSample } from "./stream.js";
import { type ColumnLayout, resolveColumn } from "./tables.js";

/** Options for duckdbPairStats. */
export interface DuckdbOptions {
  aCol?: string;
  bCol?: string;
  /** The table of a .duckdb database (default: its only table). */
  table?: string;
  /** Compute the d×d second moments too (default true): N·d² work in SQL. */
  moments?: boolean;
  /** Also fetch a sample of up to this many pairs (all of them, in order, when the set is no larger). */
  sample?: number;
  seed?: number;
  /**
   * Let the source reach other files and URLs (default false: a database reads only itself — a view over
   * read_csv('…') fails — and a Parquet glob only the files under its folder).
   */
  externalAccess?: boolean;
}

type Connection = Awaited<
  ReturnType<Awaited<ReturnType<typeof import("@duckdb/node-api").DuckDBInstance.create>>["connect"]>
>;
type Rows = Record<string, number | bigint | number[] | string | null>[];

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Statistics (and optionally a sample of pairs) of a .duckdb table or Parquet glob, computed by DuckDB. */
export async function duckdbPairStats(
  source: string,
  options: DuckdbOptions = {},
): Promise<{ stats: GapStats; sample?: PairSample }> {
  let duckdb: typeof import("@duckdb/node-api");
  try {
    duckdb = await import("@duckdb/node-api");
  } catch (e) {
    throw new InputError(
      "--duckdb",
      "@duckdb/node-api installed (an optional dependency)",
      (e as Error).message,
    );
  }
  const isDatabase = /\.(duckdb|db)$/i.test(source);
  check(
    isDatabase || /\.parquet$/i.test(source),
    "--duckdb",
    "a .duckdb file or a Parquet file or glob (*.parquet)",
    () => JSON.stringify(source),
  );
  const external = options.externalAccess ?? false;
  let connection: Connection;
  try {
    const instance = await duckdb.DuckDBInstance.create(isDatabase ? source : ":memory:", {
      ...(isDatabase && { access_mode: "READ_ONLY" }),
      ...(!external && { autoinstall_known_extensions: "false", autoload_known_extensions: "false" }),
      ...(isDatabase && !external && { enable_external_access: "false" }),
    });
    connection = await instance.connect();
    // a glob needs file access: only to its folder, and set before external access goes off for good
    if (!isDatabase && !external)
      for (const statement of [
        `SET allowed_directories = [${literal(globFolder(source))}]`,
        "SET enable_external_access = false",
        "SET lock_configuration = true",
      ])
        await connection.run(statement);
  } catch (e) {
    throw new InputError(source, "a DuckDB database DuckDB can open", (e as Error).message);
  }
  const run = async (sql: string): Promise<Rows> => {
    try {
      return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Rows;
    } catch (e) {
      const message = (e as Error).message.split("\n")[0];
      throw new InputError(
        source,
        "data DuckDB can read and sum",
        /^Permission Error/.test(message) ? `${message} (--duckdb-external-access allows it)` : message,
      );
    }
  };
  try {
    const table = isDatabase ? await tableOf(run, source, options.table) : undefined;
    const from = table === undefined ? `read_parquet(${literal(source)})` : DUCKDB.identifier(table);
    const described = await run(`DESCRIBE SELECT * FROM ${from}`);
    const names = described.map((r) => String(r.column_name));
    const types = new Map(described.map((r) => [String(r.column_name), String(r.column_type)]));
    const isList = (name: string) => /\[\d*\]$/.test(types.get(name) ?? "");
    const layouts = [options.aCol ?? "a", options.bCol ?? "b"].map((c, i) =>
      resolveColumn(source, names, c, isList, ["--a-col", "--b-col"][i]),
    );
    const columns = layouts.map(sqlColumn);
    const dim = await dimension(run, from, columns[0]);
    const queries = statsQueries(
      DUCKDB,
      from,
      { a: columns[0], b: columns[1] },
      dim,
      options.moments ?? true,
    );
    const [scalars] = await run(queries.scalars);
    const summed = statsFromQueryResults(
      {
        scalars: scalars as Record<string, number | bigint>,
        vectors: (await run(queries.vectors)) as Record<string, number>[],
        moments: queries.moments ? ((await run(queries.moments)) as Record<string, number>[]) : undefined,
      },
      dim,
      source,
    );
    const stats: GapStats = {
      ...summed,
      provenance: [{ source: { engine: "duckdb", location: source, table }, rows: [0, summed.n] }],
    };
    if (!options.sample) return { stats };
    return {
      stats,
      sample: await samplePairs(run, from, columns, dim, stats.n, options.sample, options.seed ?? 0),
    };
  } finally {
    connection.closeSync();
  }
}

/** The folder of a glob's fixed part (before the first wildcard), absolute, with a trailing slash. */
function globFolder(glob: string): string {
  const fixed = glob.slice(0, glob.search(/[*?[{]|$/));
  return `${resolve(fixed.slice(0, fixed.lastIndexOf("/") + 1) || ".")}/`;
}

async function tableOf(
  run: (sql: string) => Promise<Rows>,
  source: string,
  table: string | undefined,
): Promise<string> {
  const tables = (
    await run("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")
  ).map((r) => String(r.table_name));
  if (table) {
    check(tables.includes(table), `${source} --table`, `one of its tables (${tables.join(", ")})`, () =>
      JSON.stringify(table),
    );
    return table;
  }
  check(
    tables.length === 1,
    source,
    "exactly one table, or --table naming one",
    () => `${tables.length} (${tables.join(", ")})`,
  );
  return tables[0];
}

function sqlColumn(layout: ColumnLayout): SqlColumn {
  if (layout.kind === "list") return { list: layout.name };
  if (layout.kind === "wide") return { wide: layout.names };
  throw new InputError("--duckdb", "a column of lists or one column per dimension", layout.kind);
}

async function dimension(
  run: (sql: string) => Promise<Rows>,
  from: string,
  column: SqlColumn,
): Promise<number> {
  if ("wide" in column) return column.wide.length;
  const [row] = await run(
    `SELECT len(${DUCKDB.identifier(column.list)}) AS d FROM ${from} WHERE ${DUCKDB.identifier(column.list)} IS NOT NULL LIMIT 1`,
  );
  const d = Number(row?.d ?? 0);
  check(d > 0, from, "at least one row with a non-empty vector", () => "none");
  return d;
}

/** All pairs in file order when n ≤ k, else DuckDB's seeded reservoir sample of k (rows unknown), as stored. */
async function samplePairs(
  run: (sql: string) => Promise<Rows>,
  from: string,
  columns: SqlColumn[],
  dim: number,
  n: number,
  k: number,
  seed: number,
): Promise<PairSample> {
  const select = `SELECT ${columnExpression(DUCKDB, columns[0])} AS a, ${columnExpression(DUCKDB, columns[1])} AS b`;
  const rows = await run(
    n <= k
      ? `${select} FROM ${from}`
      : `${select} FROM ${from} USING SAMPLE reservoir(${k} ROWS) REPEATABLE (${seed >>> 0})`,
  );
  const gather = (side: "a" | "b") => {
    const data = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => {
      data.set(r[side] as number[], i * dim);
    });
    return matrix(rows.length, dim, data);
  };
  const inOrder = n <= k ? { rows: Float64Array.from(rows, (_, i) => i) } : {};
  return { a: gather("a"), b: gather("b"), ...inOrder };
}

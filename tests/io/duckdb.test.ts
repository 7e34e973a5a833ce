import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import { fitAlign } from "../../src/align/index.js";
import type { RealignState } from "../../src/align/realign.js";
import { InputError } from "../../src/core/errors.js";
import { finalizeStats, GAP_SUMS, pairStats } from "../../src/gap/stats.js";
import { DUCKDB, realignCentroidQuery } from "../../src/gap/stats-sql.js";
import { duckdbPairStats } from "../../src/io/duckdb.js";
import { initBackends } from "../../src/node.js";
import { expectFields, fixture, fromFixture } from "../helpers.js";

const TABLES = new URL("../fixtures/tables/", import.meta.url).pathname;
const metrics = fixture("metrics");
const [a, b] = [fromFixture(metrics.a), fromFixture(metrics.b)];
const tmp = mkdtempSync(join(tmpdir(), "gapkit-duckdb-"));
const at = (name: string) => join(tmp, name);
const { uniformity: _u, retrieval: _r, ranks: _k, a: _a, b: _b, ...exact } = metrics;

/** Runs SQL statements in a fresh database at `path` (":memory:" for none). */
async function sql(path: string, ...statements: string[]): Promise<void> {
  const connection = await (await DuckDBInstance.create(path)).connect();
  for (const s of statements) await connection.run(s);
  connection.closeSync();
}

beforeAll(async () => {
  await initBackends();
  const parquet = join(TABLES, "pair.parquet");
  await sql(
    ":memory:",
    ...[0, 1, 2].map(
      (i) =>
        `COPY (SELECT * FROM read_parquet('${parquet}') LIMIT ${[7, 40, 13][i]} OFFSET ${[0, 7, 47][i]}) TO '${at(`shard${i}.parquet`)}' (FORMAT parquet)`,
    ),
  );
  await sql(
    at("emb.duckdb"),
    `CREATE TABLE emb AS SELECT a AS image, b AS text FROM read_parquet('${parquet}')`,
  );
  await sql(
    at("bad.duckdb"),
    "CREATE TABLE nulls (a FLOAT[], b FLOAT[])",
    "INSERT INTO nulls VALUES ([1, 2], [3, 4]), (NULL, [1, 1])",
    "CREATE TABLE ragged (a FLOAT[], b FLOAT[])",
    "INSERT INTO ragged VALUES ([1, 2], [3, 4]), ([1, 2, 3], [1, 1, 1])",
    "CREATE TABLE zero (a FLOAT[], b FLOAT[])",
    "INSERT INTO zero VALUES ([1, 2], [3, 4]), ([0, 0], [1, 1])",
  );
});

describe("DuckDB push-down", () => {
  it("describes every sum the in-process statistics keep", async () => {
    const names = Object.keys((await pairStats(a, b)).sums).sort();
    expect(GAP_SUMS.map((s) => s.name).sort()).toEqual(names);
  });

  it.each(["pair.parquet", "pair-wide.parquet"])(
    "%s: the in-process numbers, from SQL aggregates",
    async (name) => {
      const { stats, sample } = await duckdbPairStats(join(TABLES, name), { sample: 100 });
      expectFields(finalizeStats(stats), exact, 1e-6);
      const local = await pairStats(a, b);
      for (const key of ["a", "b", "aa", "ab"] as const) {
        const [x, y] = [stats.sums[key]?.hi ?? [], local.sums[key]?.hi ?? []];
        x.forEach((v, k) => {
          expect(Math.abs(v - y[k])).toBeLessThan(1e-6);
        });
      }
      // the whole set is smaller than the sample: every pair, in file order
      expect(sample?.rows?.length).toBe(60);
      expect(sample?.a.data).toEqual(a.data);
    },
  );

  it("reads a Parquet glob of shards, and a table of a .duckdb file with its own column names", async () => {
    const shards = await duckdbPairStats(at("shard*.parquet"), { moments: false });
    expectFields(finalizeStats(shards.stats), { n: 60, gap: exact.gap, cone: exact.cone }, 1e-6);
    const db = await duckdbPairStats(at("emb.duckdb"), { aCol: "image", bCol: "text" });
    expectFields(finalizeStats(db.stats), exact, 1e-6);
  });

  it("rejects nulls, ragged rows, zero rows, unknown tables and columns", async () => {
    const cases: [string, object, RegExp][] = [
      [at("bad.duckdb"), {}, /bad\.duckdb: expected exactly one table, or --table naming one; got 3/],
      [
        at("bad.duckdb"),
        { table: "nulls" },
        /bad\.duckdb: expected no null vectors; got 1 row\(s\) with one/,
      ],
      [
        at("bad.duckdb"),
        { table: "ragged" },
        /bad\.duckdb: expected every row's vectors of length 2; got 1 row\(s\) of another length/,
      ],
      [
        at("bad.duckdb"),
        { table: "zero" },
        /bad\.duckdb column a: expected rows with a finite, non-zero norm; got 1 row\(s\) without one/,
      ],
      [at("bad.duckdb"), { table: "other" }, /--table: expected one of its tables/],
      [at("emb.duckdb"), {}, /emb\.duckdb --a-col: expected a column named "a"/],
      [join(TABLES, "pair.jsonl"), {}, /--duckdb: expected a \.duckdb file or a Parquet file or glob/],
      [at("none*.parquet"), {}, /none\*\.parquet: expected data DuckDB can read and sum; got IO Error/],
    ];
    for (const [source, options, message] of cases) {
      const attempt = duckdbPairStats(source, options);
      await expect(attempt).rejects.toThrow(InputError);
      await expect(duckdbPairStats(source, options)).rejects.toThrow(message);
    }
  });
});

describe("ReAlign's centroid in SQL (realignCentroidQuery)", () => {
  it("sums what the in-process fit averages, in DuckDB's dialect too", async () => {
    const state = (await fitAlign("realign", a, b)) as RealignState;
    const query = realignCentroidQuery(
      DUCKDB,
      `read_parquet('${join(TABLES, "pair.parquet")}')`,
      { list: "b" },
      a.cols,
      state,
    );
    const connection = await (await DuckDBInstance.create(":memory:")).connect();
    const rows = (await connection.runAndReadAll(query)).getRowObjectsJS() as Record<string, number>[];
    connection.closeSync();
    expect(rows.map((r) => Number(r.i))).toEqual(Array.from({ length: a.cols }, (_, i) => i + 1));
    const centroid = rows.map((r) => r.centroid / a.rows);
    for (const [j, c] of centroid.entries()) expect(Math.abs(c - state.centroid[j])).toBeLessThan(1e-6);
  });
});

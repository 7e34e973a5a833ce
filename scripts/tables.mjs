// Writes one paired embedding set (A, B: N × d float32, row-major) in every table layout gapkit reads.
// Used by scripts/make_table_fixtures.mjs for the committed fixtures and by the tests on the shared
// Mind the Gap features. Parquet is written by DuckDB (no pyarrow here), Arrow by apache-arrow.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import {
  Field,
  FixedSizeList,
  Float32,
  Float64,
  List,
  makeData,
  makeVector,
  Table,
  tableToIPC,
} from "apache-arrow";
import { parquetWriteBuffer } from "hyparquet-writer";

const rowsOf = (m) =>
  Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));

/** Arrow table with A and B as FixedSizeList<float32> (or List<float64> when `list`), in batches. */
function arrowTable(a, b, batchRows, list) {
  const batches = [];
  for (let start = 0; start < a.rows; start += batchRows) {
    const rows = Math.min(batchRows, a.rows - start);
    const column = (m) => {
      const values = m.data.subarray(start * m.cols, (start + rows) * m.cols);
      if (!list) {
        const child = makeData({ type: new Float32(), length: values.length, data: values });
        return makeVector(
          makeData({
            type: new FixedSizeList(m.cols, new Field("item", new Float32(), false)),
            length: rows,
            nullCount: 0,
            child,
          }),
        );
      }
      const child = makeData({ type: new Float64(), length: values.length, data: Float64Array.from(values) });
      const valueOffsets = Int32Array.from({ length: rows + 1 }, (_, i) => i * m.cols);
      return makeVector(
        makeData({
          type: new List(new Field("item", new Float64(), false)),
          length: rows,
          nullCount: 0,
          valueOffsets,
          child,
        }),
      );
    };
    batches.push(...new Table({ a: column(a), b: column(b) }).batches);
  }
  return new Table(batches);
}

/** Writes pair.jsonl, pair.csv, pair-wide.csv, a.csv, b.csv, pair.feather, pair-list.arrows and four Parquet files. */
export async function writeTables(a, b, dir) {
  const [ra, rb] = [rowsOf(a), rowsOf(b)];
  const d = a.cols;
  const lines = (f) => `${ra.map((x, i) => f(x, rb[i])).join("\n")}\n`;
  writeFileSync(
    join(dir, "pair.jsonl"),
    lines((x, y) => JSON.stringify({ a: x, b: y })),
  );
  writeFileSync(
    join(dir, "pair.csv"),
    `a,b\n${lines((x, y) => `"${JSON.stringify(x)}","${JSON.stringify(y)}"`)}`,
  );
  const wideHeader = [
    ...Array.from({ length: d }, (_, j) => `a_${j}`),
    ...Array.from({ length: d }, (_, j) => `b_${j}`),
  ];
  writeFileSync(
    join(dir, "pair-wide.csv"),
    `${wideHeader.join(",")}\n${lines((x, y) => [...x, ...y].join(","))}`,
  );
  writeFileSync(join(dir, "a.csv"), ra.map((x) => x.join(",")).join("\n")); // no final newline: read all the same
  writeFileSync(join(dir, "b.csv"), `${rb.map((y) => y.join(",")).join("\n")}\n`);
  writeFileSync(join(dir, "pair.feather"), tableToIPC(arrowTable(a, b, 17, false), "file"));
  writeFileSync(join(dir, "pair-list.arrows"), tableToIPC(arrowTable(a, b, 23, true), "stream"));
  const db = await DuckDBInstance.create(":memory:");
  const sql = await db.connect();
  const json = join(dir, "pair.jsonl").replaceAll("'", "''");
  await sql.run(
    `CREATE TABLE t AS SELECT a::FLOAT[] AS a, b::FLOAT[] AS b FROM read_json('${json}', format = 'newline_delimited')`,
  );
  const out = (name) => join(dir, name).replaceAll("'", "''");
  await sql.run(`COPY t TO '${out("pair.parquet")}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16)`);
  await sql.run(`COPY t TO '${out("pair-gzip.parquet")}' (FORMAT parquet, COMPRESSION gzip)`);
  const wide = [
    ...Array.from({ length: d }, (_, j) => `a[${j + 1}] AS a_${j}`),
    ...Array.from({ length: d }, (_, j) => `b[${j + 1}] AS b_${j}`),
  ];
  await sql.run(
    `COPY (SELECT ${wide.join(", ")} FROM t) TO '${out("pair-wide.parquet")}' (FORMAT parquet, COMPRESSION snappy)`,
  );
  sql.closeSync();
  // one float column per dimension, in row groups of 16 rows (hyparquet-writer: DuckDB groups ≥ 2048 rows)
  const columnData = ["a", "b"].flatMap((name, m) =>
    Array.from({ length: d }, (_, j) => ({
      name: `${name}_${j}`,
      data: (m ? rb : ra).map((r) => r[j]),
      type: "FLOAT",
    })),
  );
  writeFileSync(
    join(dir, "pair-groups.parquet"),
    new Uint8Array(parquetWriteBuffer({ columnData, rowGroupSize: 16 })),
  );
}

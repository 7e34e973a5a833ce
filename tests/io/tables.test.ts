import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Field,
  Float64,
  List,
  makeData,
  makeVector,
  Table,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import { parquetWriteBuffer } from "hyparquet-writer";
import { beforeAll, describe, expect, it } from "vitest";
import { writeTables } from "../../scripts/tables.mjs";
import { InputError } from "../../src/core/errors.js";
import { type Matrix, sliceRows } from "../../src/core/matrix.js";
import { measure, withPairwiseMetrics } from "../../src/gap/measure.js";
import { finalizeStats, mergeStats, pairStats } from "../../src/gap/stats.js";
import { duckdbPairStats } from "../../src/io/duckdb.js";
import { readPairFile, writeNpyFile } from "../../src/io/files.js";
import { streamPairStats } from "../../src/io/stream.js";
import { openPairTable, openTable, readAll, readTable } from "../../src/io/tables.js";
import { initBackends } from "../../src/node.js";
import { expectFields, fixture, fromFixture } from "../helpers.js";

const TABLES = new URL("../fixtures/tables/", import.meta.url).pathname;
const metrics = fixture("metrics");
const [ma, mb] = [fromFixture(metrics.a), fromFixture(metrics.b)];
const PAIRED = [
  "pair.jsonl",
  "pair.csv",
  "pair-wide.csv",
  "pair.parquet",
  "pair-gzip.parquet",
  "pair-wide.parquet",
  "pair-groups.parquet",
  "pair.feather",
  "pair-list.arrows",
];
const SHARED = new URL("../../../shared/data/mind-the-gap/features_clip.npy", import.meta.url).pathname;
const hasShared = existsSync(SHARED);
if (!hasShared) console.warn(`skipping the table tests on features_clip: ${SHARED} is absent`);

const tmp = mkdtempSync(join(tmpdir(), "gapkit-tables-"));
const at = (name: string) => join(tmp, name);
const open = (file: string) => openPairTable(file, {}, "test");

/** Every number within rel · max(1, |expected|). */
function expectRelative(actual: unknown, expected: unknown, rel: number, path = ""): void {
  if (typeof expected === "number")
    expect(Math.abs((actual as number) - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
      rel * Math.max(1, Math.abs(expected)),
    );
  else if (expected && typeof expected === "object")
    for (const [k, v] of Object.entries(expected))
      expectRelative((actual as Record<string, unknown>)[k], v, rel, `${path}.${k}`);
}

beforeAll(async () => {
  await initBackends();
  const stats = fixture("stats");
  const [a, b] = [fromFixture(stats.a), fromFixture(stats.b)];
  await writeNpyFile(at("stats.npy"), {
    shape: [2, a.rows, a.cols],
    data: Float32Array.from([...a.data, ...b.data]),
  });
});

describe("table readers", () => {
  it.each(PAIRED)("%s reads to the exact float32 rows of the pair", async (name) => {
    const { columns } = await readAll(await open(join(TABLES, name)));
    expect(columns[0].data).toEqual(ma.data);
    expect(columns[1].data).toEqual(mb.data);
  });

  it("reads single-modality files: headerless CSV (with or without a final newline), npy", async () => {
    const { columns } = await readAll(
      await openPairTable(undefined, { a: join(TABLES, "a.csv"), b: join(TABLES, "b.csv") }, "test"),
    );
    expect(columns[0].data).toEqual(ma.data);
    expect(columns[1].data).toEqual(mb.data);
    const jsonl = await readTable(join(TABLES, "pair.jsonl"), ["b"]);
    expect(jsonl.columns[0].data).toEqual(mb.data);
  });

  it("--a-col/--b-col pick other columns, also one column per dimension", async () => {
    const swapped = await readAll(
      await openPairTable(join(TABLES, "pair-wide.parquet"), { aCol: "b", bCol: "a" }, "t"),
    );
    expect(swapped.columns[0].data).toEqual(mb.data);
    expect(swapped.spec.columns[0]).toMatchObject({ kind: "wide" });
  });

  it.each(PAIRED)("%s streams to the numbers numpy gives (chunks of 7 rows)", async (name) => {
    const { stats } = await streamPairStats(await open(join(TABLES, name)), { chunkRows: 7, workers: 1 });
    const { uniformity: _u, retrieval: _r, ranks: _k, a: _a, b: _b, ...exact } = metrics;
    expectFields(finalizeStats(stats), exact, 1e-6);
  });
});

describe("streaming statistics", () => {
  it("chunked and threaded give the single-pass numbers; the same chunks give the same bits", async () => {
    const { a, b } = await readPairFile(at("stats.npy"));
    const whole = finalizeStats(await pairStats(a, b));
    const one = await streamPairStats(await open(at("stats.npy")), { chunkRows: 13, workers: 1 });
    const two = await streamPairStats(await open(at("stats.npy")), { chunkRows: 13, workers: 2 });
    expect(two.stats).toEqual(one.stats);
    expectRelative(finalizeStats(one.stats), whole, 1e-12);
    const big = await streamPairStats(await open(at("stats.npy")), { chunkRows: 1000, workers: 2 });
    expectRelative(finalizeStats(big.stats), whole, 1e-12);
  });

  it("keeps the same seeded uniform sample whatever the chunks and workers", async () => {
    const runs = await Promise.all(
      [
        { chunkRows: 7, workers: 1 },
        { chunkRows: 64, workers: 2 },
      ].map(async (o) => streamPairStats(await open(at("stats.npy")), { ...o, sample: 50, seed: 3 })),
    );
    const [x, y] = runs.map((r) => r.sample);
    expect(x?.rows).toEqual(y?.rows);
    expect(x?.a.data).toEqual(y?.a.data);
    expect(x?.rows?.length).toBe(50);
    const rows = Array.from(x?.rows ?? []);
    expect(rows).toEqual([...rows].sort((p, q) => p - q));
    const other = await streamPairStats(await open(at("stats.npy")), { sample: 50, seed: 4, workers: 1 });
    expect(other.sample?.rows).not.toEqual(x?.rows);
    // the sampled rows are the file's rows
    const { a } = await readPairFile(at("stats.npy"));
    expect(x?.a.data.subarray(5 * 16, 6 * 16)).toEqual(sliceRows(a, rows[5], rows[5] + 1).data);
  });

  it("with a sample as large as the set, measure's pairwise numbers are exact", async () => {
    const { a, b } = await readPairFile(at("stats.npy"));
    const { stats, sample } = await streamPairStats(await open(at("stats.npy")), {
      sample: 500,
      chunkRows: 10,
    });
    expect(sample?.a.rows).toBe(203);
    const streamed = await withPairwiseMetrics(
      finalizeStats(stats),
      sample?.a as Matrix,
      sample?.b as Matrix,
    );
    expectRelative(streamed, await measure(a, b), 1e-12);
  });

  it("restricts to a row range, and rejects one past the end", async () => {
    const { a, b } = await readPairFile(at("stats.npy"));
    const { stats } = await streamPairStats(await open(at("stats.npy")), { rows: [20, 150], chunkRows: 16 });
    expectRelative(
      finalizeStats(stats),
      finalizeStats(await pairStats(sliceRows(a, 20, 150), sliceRows(b, 20, 150))),
      1e-12,
    );
    await expect(streamPairStats(await open(join(TABLES, "pair.jsonl")), { rows: [0, 99] })).rejects.toThrow(
      /rows: expected an end within the table's 60 rows; got 99/,
    );
  });

  it("records its files and the rows read when asked, whatever the workers; a copy is the same source", async () => {
    const sourceFiles = [at("stats.npy")];
    const one = await streamPairStats(await open(at("stats.npy")), {
      rows: [20, 150],
      chunkRows: 16,
      workers: 1,
      sourceFiles,
    });
    const two = await streamPairStats(await open(at("stats.npy")), {
      rows: [20, 150],
      chunkRows: 16,
      workers: 2,
      sourceFiles,
    });
    expect(two.stats).toEqual(one.stats);
    const bytes = readFileSync(at("stats.npy"));
    const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
    const [entry] = one.stats.provenance ?? [];
    expect(entry).toEqual({
      source: { file: "stats.npy", bytes: bytes.length, head: sha256(bytes.subarray(0, 65536)) },
      rows: [20, 150],
      content: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const rest = await streamPairStats(await open(at("stats.npy")), { rows: [150, 203], sourceFiles });
    expect(rest.stats.provenance?.[0]).toMatchObject({ source: entry.source, rows: [150, 203] });
    expect(rest.stats.provenance?.[0].content).not.toBe(entry.content);
    // the same name, size and head in another folder: the same source, so the rows overlap
    mkdirSync(at("copy"));
    copyFileSync(at("stats.npy"), at("copy/stats.npy"));
    const copy = await streamPairStats(await open(at("copy/stats.npy")), {
      sourceFiles: [at("copy/stats.npy")],
    });
    expect(() => mergeStats(one.stats, copy.stats)).toThrow(
      /got part 1 and part 2 both covering rows 20:150 of stats\.npy$/,
    );
    // the content hash is of the rows as float32, whatever the format
    const [jsonl, feather] = await Promise.all(
      ["pair.jsonl", "pair.feather"].map(async (name) => {
        const file = join(TABLES, name);
        const { stats } = await streamPairStats(await open(file), { chunkRows: 7, sourceFiles: [file] });
        return stats.provenance?.[0];
      }),
    );
    expect(jsonl?.content).toBe(feather?.content);
    expect(jsonl?.source).not.toEqual(feather?.source);
    const [a, b] = [join(TABLES, "a.csv"), join(TABLES, "b.csv")];
    const apart = await streamPairStats(await openPairTable(undefined, { a, b }, "test"), {
      sourceFiles: [a, b],
    });
    expect(apart.stats.provenance?.[0].source).toMatchObject({
      file: "a.csv + b.csv",
      bytes: statSync(a).size + statSync(b).size,
    });
    expect((await streamPairStats(await open(at("stats.npy")))).stats.provenance).toBeUndefined();
  });

  it.skipIf(!hasShared)(
    "features_clip gives the .npy numbers from every format",
    { timeout: 60_000 },
    async () => {
      const { a, b } = await readPairFile(SHARED);
      await writeTables(a, b, tmp);
      const reference = finalizeStats(await pairStats(a, b));
      for (const name of PAIRED) {
        const { stats } = await streamPairStats(await open(at(name)), { chunkRows: 97, workers: 1 });
        expectRelative(finalizeStats(stats), reference, 1e-9, name);
      }
      // in SQL the second moments cost N·d² rows (tested on the small fixtures): the first-order sums here
      const duck = await duckdbPairStats(at("pair.parquet"), { moments: false });
      const { spectrum: _, ...firstOrder } = reference;
      expectRelative(finalizeStats(duck.stats), firstOrder, 1e-9, "duckdb");
      const cuts = [0, 1, 40, 41, 260, 261, 499, 500]; // 7 uneven shards
      const shards = await Promise.all(
        cuts.slice(1).map((end, i) => pairStats(sliceRows(a, cuts[i], end), sliceRows(b, cuts[i], end))),
      );
      expectRelative(finalizeStats(mergeStats(...shards)), reference, 1e-12, "7 shards");
      const threaded = await streamPairStats(await open(SHARED), { chunkRows: 33, workers: 2 });
      expectRelative(finalizeStats(threaded.stats), reference, 1e-12, "threaded");
    },
  );
});

describe("malformed tables", () => {
  const bad = (name: string, content: string | Uint8Array) => {
    writeFileSync(at(name), content);
    return at(name);
  };
  const rejects = async (file: string, message: RegExp, flags = {}) => {
    const attempt = async () => readAll(await openPairTable(file, flags, "test"));
    await expect(attempt()).rejects.toThrow(InputError);
    await expect(attempt()).rejects.toThrow(message);
  };

  it("JSONL: broken JSON, ragged lists, non-numbers, missing columns", async () => {
    const row = (a: unknown, b: unknown) => JSON.stringify({ a, b });
    await rejects(
      bad("j1.jsonl", `${row([1, 2], [3, 4])}\n{"a": [1, 2],\n`),
      /j1\.jsonl row 1: expected a JSON value on each line/,
    );
    await rejects(
      bad("j2.jsonl", `${row([1, 2], [3, 4])}\n${row([1, 2, 3], [3, 4])}\n`),
      /j2\.jsonl row 1, column "a": expected a list of 2 numbers \(the first row's length\); got 3/,
    );
    await rejects(
      bad("j3.jsonl", `${row([1, 2], [3, 4])}\n${row([1, "x"], [3, 4])}\n`),
      /j3\.jsonl row 1, column "a" element 1: expected a finite number; got "x"/,
    );
    await rejects(
      bad("j4.jsonl", `${row([1, 2], [3, 4])}\n`),
      /j4\.jsonl --a-col: expected a column named "img"/,
      { aCol: "img" },
    );
    await rejects(
      bad("j5.jsonl", `${row([1, 2], [3, 4])}\n\n`),
      /j5\.jsonl row 1: expected a JSON value on each line; got an empty line/,
    );
    await rejects(bad("j6.jsonl", ""), /j6\.jsonl: expected at least one line; got an empty file/);
  });

  it("CSV: ragged records, non-numbers, unknown columns, a lone header", async () => {
    await rejects(
      bad("c1.csv", "a_0,a_1,b_0,b_1\n1,2,3,4\n1,2,3\n"),
      /c1\.csv row 1: expected 4 fields \(as the header has\); got 3/,
    );
    await rejects(
      bad("c2.csv", "a_0,a_1,b_0,b_1\n1,2,3,4\n1,abc,3,4\n"),
      /c2\.csv row 1, column "a_1": expected a finite decimal number like -1.5e-3; got "abc"/,
    );
    await rejects(
      bad("c3.csv", "x_0,x_1\n1,2\n"),
      /c3\.csv --a-col: expected a column named "a" .* the file has 2 column\(s\): "x_0", "x_1"/,
    );
    await rejects(
      bad("c4.csv", "a,b\n"),
      /c4\.csv: expected a data row after the CSV header; got only the header/,
    );
    await rejects(
      bad("c5.csv", 'a,b\n"[1,2]","[3,4]"\n"[1,2]","[3,4,5]"\n'),
      /c5\.csv row 1, column "b": expected a list of 2 numbers/,
    );
  });

  it("Parquet: not Parquet, truncated, wrong column, wrong type", async () => {
    const good = readFileSync(join(TABLES, "pair.parquet"));
    await rejects(
      bad("p1.parquet", "PAR1 this is not parquet PAR1"),
      /p1\.parquet: expected a Parquet file; got/,
    );
    await rejects(
      bad("p2.parquet", good.subarray(0, good.length >> 1)),
      /p2\.parquet: expected a Parquet file; got/,
    );
    await rejects(join(TABLES, "pair.parquet"), /pair\.parquet --b-col: expected a column named "text"/, {
      bCol: "text",
    });
    const strings = parquetWriteBuffer({
      columnData: [
        { name: "a", data: ["x", "y"], type: "STRING" },
        { name: "b", data: ["x", "y"], type: "STRING" },
      ],
    });
    await rejects(
      bad("p3.parquet", new Uint8Array(strings)),
      /p3\.parquet column "a": expected a list of numbers in each row; got a column of another kind/,
    );
  });

  it("Arrow: not Arrow, text columns, ragged lists", async () => {
    await rejects(bad("r1.arrow", "ARROW1 not really"), /r1\.arrow: expected an Arrow IPC file or stream/);
    const text = new Table({
      a: vectorFromArray(["x", "y"], new Utf8()),
      b: vectorFromArray(["x", "y"], new Utf8()),
    });
    await rejects(
      bad("r2.arrow", tableToIPC(text, "file")),
      /r2\.arrow column "a": expected a list of numbers in each row; got a column of another kind/,
    );
    const listType = new List(new Field("item", new Float64(), false));
    const ragged = (lengths: number[]) => {
      const valueOffsets = Int32Array.from([
        0,
        ...lengths.map((_, i) => lengths.slice(0, i + 1).reduce((s, x) => s + x)),
      ]);
      const total = valueOffsets[lengths.length];
      const child = makeData({
        type: new Float64(),
        length: total,
        data: Float64Array.from({ length: total }, (_, i) => i + 1),
      });
      return makeVector(
        makeData({ type: listType, length: lengths.length, nullCount: 0, valueOffsets, child }),
      );
    };
    const table = new Table({ a: ragged([2, 3]), b: ragged([2, 2]) });
    await rejects(
      bad("r3.arrows", tableToIPC(table, "stream")),
      /r3\.arrows row 1, column "a": expected a list of 2 numbers \(the first row's length\); got 3/,
    );
  });

  it("regressions found by fuzzing: endless Arrow reads, a schema-less Arrow file, a lone CR, a directory", {
    timeout: 10_000,
  }, async () => {
    const feather = readFileSync(join(TABLES, "pair.feather"));
    const damaged = (at: number, value: number) => {
      const bytes = Uint8Array.from(feather);
      bytes[at] = value;
      return bytes;
    };
    // apache-arrow re-read the same 4-byte prefix forever (byte 10), or looped over one batch (byte 16)
    await rejects(
      bad("loop1.feather", damaged(10, 253)),
      /loop1\.feather: expected an Arrow IPC file .*far more than the file holds/,
    );
    await rejects(bad("loop2.feather", damaged(16, 16)), /loop2\.feather: expected an Arrow IPC file/);
    await rejects(bad("short.feather", feather.subarray(0, 1)), /short\.feather: expected an Arrow IPC file/);
    await rejects(bad("cr.csv", "\r"), /cr\.csv: expected a CSV header or data row on the first line/);
    mkdirSync(at("folder.npy"), { recursive: true });
    await rejects(at("folder.npy"), /folder\.npy: expected a regular file; got a directory/);
  });

  it(".npy: the wrong shape for a pair, and a column flag", async () => {
    await writeNpyFile(at("flat.npy"), { shape: [4, 3], data: new Float32Array(12).fill(1) });
    await rejects(at("flat.npy"), /flat\.npy: expected shape \(2, N, d\)/);
    await rejects(
      at("stats.npy"),
      /stats\.npy: expected no --a-col\/--b-col for a \.npy\/\.npz file; got "x"/,
      { aCol: "x" },
    );
    await expect(openTable(at("x.txt"), [undefined])).rejects.toThrow(
      /x\.txt: expected a file ending in \.npy/,
    );
  });
});

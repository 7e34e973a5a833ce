import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeNpyFile } from "../../src/io/files.js";
import { expectFields, fixture } from "../helpers.js";
import { gapkit, isUserError, scratchDir } from "./run.js";

const path = scratchDir("gapkit-stats-");
const TABLES = new URL("../fixtures/tables/", import.meta.url).pathname;
const metrics = fixture("metrics");
const { uniformity: _u, retrieval: _r, ranks: _k, a: _a, b: _b, ...exact } = metrics;
const CUTS = [0, 5, 6, 20, 33, 41, 59, 60]; // 7 uneven shards, one of a single pair

beforeAll(async () => {
  const { a, b } = metrics;
  for (let i = 0; i + 1 < CUTS.length; i++) {
    const rows = (m: { data: number[]; cols: number }) =>
      m.data.slice(CUTS[i] * m.cols, CUTS[i + 1] * m.cols);
    await writeNpyFile(path(`shard${i}.npy`), {
      shape: [2, CUTS[i + 1] - CUTS[i], a.cols],
      data: Float32Array.from([...rows(a), ...rows(b)]),
    });
  }
});

describe("gapkit stats", () => {
  it("7 uneven shards, written with -o and merged, give the whole set's numbers", async () => {
    for (let i = 0; i + 1 < CUTS.length; i++) {
      const r = await gapkit("stats", path(`shard${i}.npy`), "-o", path(`part${i}.json`), "--workers", "1");
      expect(r.code, r.stderr).toBe(0);
    }
    const parts = Array.from({ length: CUTS.length - 1 }, (_, i) => path(`part${i}.json`));
    const merged = await gapkit("stats", "merge", ...parts.reverse(), "--json", "-o", path("all.json"));
    expect(merged.code, merged.stderr).toBe(0);
    const out = JSON.parse(merged.stdout);
    expectFields(out, exact, 1e-6);
    expect(JSON.parse(readFileSync(path("all.json"), "utf8")).n).toBe(60);
    // a one-pair shard has no summary of its own, only its size
    const single = await gapkit("stats", path("shard1.npy"), "--json");
    expect(JSON.parse(single.stdout)).toEqual({ n: 1, dim: 12 });
  });

  it("reads every table format, with worker threads, and --no-moments drops the spectrum", async () => {
    const r = await gapkit("stats", join(TABLES, "pair.parquet"), "--json", "--chunk-rows", "9");
    expect(r.code, r.stderr).toBe(0);
    expectFields(JSON.parse(r.stdout), exact, 1e-6);
    const jsonl = await gapkit("stats", join(TABLES, "pair.jsonl"), "--json", "--no-moments");
    const out = JSON.parse(jsonl.stdout);
    expect(out.spectrum).toBeUndefined();
    expectFields(out, { gap: exact.gap, pairedCos: exact.pairedCos }, 1e-6);
    const duck = await gapkit("stats", "--duckdb", join(TABLES, "pair.parquet"), "--json");
    expectFields(JSON.parse(duck.stdout), exact, 1e-6);
  });

  it("measure takes tables and --a-col/--b-col, and labels estimates from a sample", async () => {
    const swapped = await gapkit(
      "measure",
      join(TABLES, "pair.feather"),
      "--a-col",
      "b",
      "--b-col",
      "a",
      "--json",
    );
    expect(swapped.code, swapped.stderr).toBe(0);
    const out = JSON.parse(swapped.stdout);
    expect(out.retrieval.aToB).toEqual(
      JSON.parse((await gapkit("measure", join(TABLES, "pair.jsonl"), "--json")).stdout).retrieval.bToA,
    );
    expect(out.sample).toBeUndefined();
    const sampled = JSON.parse(
      (await gapkit("measure", join(TABLES, "pair.csv"), "--pairwise-max", "20", "--seed", "1", "--json"))
        .stdout,
    );
    expect(sampled.sample).toEqual({ pairs: 20, of: 60, seed: 1, estimated: ["uniformity", "retrieval"] });
    expect(sampled.retrieval.aToB.r1CI).toHaveLength(2);
    expectFields(sampled, { gap: exact.gap, cone: exact.cone, spectrum: exact.spectrum }, 1e-6);
  });

  it("align fit streams moment-based methods from any format, --stats or --duckdb", async () => {
    const fitState = async (...args: string[]) => {
      const out = path(`state-${args.join("-").replace(/[^\w]/g, "")}.json`);
      const r = await gapkit("align", "fit", ...args, "-o", out);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(readFileSync(out, "utf8"));
    };
    const fromJsonl = await fitState(join(TABLES, "pair.jsonl"), "--method", "procrustes");
    const fromDuckdb = await fitState("--duckdb", join(TABLES, "pair.parquet"), "--method", "procrustes");
    fromDuckdb.w.forEach((w: number, i: number) => {
      expect(w).toBeCloseTo(fromJsonl.w[i], 6);
    });
    await gapkit("stats", join(TABLES, "pair.feather"), "-o", path("feather.json"));
    const fromStats = await fitState("--stats", path("feather.json"), "--method", "center");
    expect(fromStats.meanA).toEqual((await fitState(join(TABLES, "pair.csv"), "--method", "center")).meanA);
    const realign = await gapkit(
      "align",
      "fit",
      "--stats",
      path("feather.json"),
      "--method",
      "realign",
      "-o",
      path("x"),
    );
    expect(isUserError(realign), realign.stderr).toBe(true);
    expect(realign.stderr).toMatch(
      /--method: expected a method that fits from statistics .*; got realign, which needs the rows/,
    );
  });

  it("a bad row found by a worker is a clean user error, whatever else the workers are doing", async () => {
    const { a, b } = fixture("stats");
    const data = Float32Array.from([...a.data, ...b.data]);
    data.fill(0, 150 * 16, 151 * 16); // row 150 of A: zero
    await writeNpyFile(path("zero-late.npy"), { shape: [2, 203, 16], data });
    for (const command of ["measure", "stats"]) {
      const r = await gapkit(command, path("zero-late.npy"), "--chunk-rows", "20");
      expect(isUserError(r), r.stderr).toBe(true);
      expect(r.stderr).toMatch(
        /zero-late\.npy\[0\]: expected rows with a finite, non-zero norm; got 1 row\(s\) without one, the first is row 150/,
      );
    }
  });

  it.each([
    ["a broken part", ["merge", "BROKEN"], /BROKEN: expected gapkit statistics as JSON; got invalid JSON/],
    ["a missing part", ["merge", "/nonexistent/part.json"], /part\.json: expected a readable file/],
    ["--duckdb with a FILE", ["x.npy", "--duckdb", "y.parquet"], /stats: expected --duckdb alone/],
    [
      "a bad --chunk-rows",
      [join(TABLES, "pair.jsonl"), "--chunk-rows", "0"],
      /--chunk-rows: expected an integer/,
    ],
    [
      "--rows past the end",
      [join(TABLES, "pair.jsonl"), "--rows", "0:61"],
      /rows: expected an end within the table's 60 rows; got 61/,
    ],
  ])("%s exits 2 with one line", async (_, args, message) => {
    writeFileSync(path("BROKEN"), "{");
    const r = await gapkit("stats", ...args.map((a) => (a === "BROKEN" ? path("BROKEN") : a)));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(message);
  });
});

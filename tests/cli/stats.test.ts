import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { SourceRows } from "../../src/gap/stats.js";
import { writeNpyFile } from "../../src/io/files.js";
import { expectFields, fixture } from "../helpers.js";
import { gapkit, isUserError, scratchDir, writeMetricsPair } from "./run.js";

const path = scratchDir("gapkit-stats-");
const TABLES = new URL("../fixtures/tables/", import.meta.url).pathname;
const metrics = fixture("metrics");
const { uniformity: _u, retrieval: _r, ranks: _k, a: _a, b: _b, ...exact } = metrics;
const CUTS = [0, 5, 6, 20, 33, 41, 59, 60]; // 7 uneven shards, one of a single pair
const SHARED = new URL("../../../shared/data/mind-the-gap/features_clip.npy", import.meta.url).pathname;
const hasShared = existsSync(SHARED);
if (!hasShared) console.warn(`skipping the stats merge test on features_clip: ${SHARED} is absent`);

beforeAll(async () => {
  const { a, b } = metrics;
  await writeMetricsPair(path("whole.npy"));
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
    const all = JSON.parse(readFileSync(path("all.json"), "utf8"));
    expect(all.n).toBe(60);
    // the merged statistics list where their rows came from: seven files, each read whole
    expect(all.provenance.map((p: SourceRows) => [p.source, p.rows])).toEqual(
      Array.from({ length: CUTS.length - 1 }, (_, i) => [
        { file: `shard${i}.npy`, bytes: expect.any(Number), head: expect.stringMatching(/^[0-9a-f]{64}$/) },
        [0, CUTS[i + 1] - CUTS[i]],
      ]).reverse(),
    );
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

  describe("merge refuses a row of a source twice", () => {
    /** Writes the statistics of whole.npy's --rows to `name` (all its rows without `rows`). */
    const part = async (name: string, rows?: string) => {
      const r = await gapkit("stats", path("whole.npy"), ...(rows ? ["--rows", rows] : []), "-o", path(name));
      expect(r.code, r.stderr).toBe(0);
      return path(name);
    };
    const refused = (r: { code: number; stderr: string }, found: string) => {
      expect(isUserError(r), r.stderr).toBe(true);
      expect(r.stderr).toBe(
        `gapkit: stats merge: expected parts covering distinct rows of each source; got ${found}\n`,
      );
    };

    it("the same part twice: exit 2, one line naming it twice", async () => {
      const p = await part("p.json");
      refused(await gapkit("stats", "merge", p, p), `${p} and ${p} both covering rows 0:60 of whole.npy`);
    });

    it("overlapping --rows of one file; disjoint ones merge to the whole file's numbers", async () => {
      const [head, tail, late] = [
        await part("head.json", "0:25"),
        await part("tail.json", "25:"),
        await part("late.json", "20:60"),
      ];
      refused(
        await gapkit("stats", "merge", late, head),
        `${late} and ${head} both covering rows 20:25 of whole.npy`,
      );
      const merged = await gapkit("stats", "merge", tail, head, "--json", "-o", path("halves.json"));
      expect(merged.code, merged.stderr).toBe(0);
      expect(merged.stderr).toBe(`wrote ${path("halves.json")}: statistics of 60 pairs of dimension 12\n`);
      expectFields(JSON.parse(merged.stdout), exact, 1e-6);
      const written = JSON.parse(readFileSync(path("halves.json"), "utf8"));
      expect(written.provenance.map((p: SourceRows) => p.rows)).toEqual([
        [25, 60],
        [0, 25],
      ]);
      // the merged file keeps its parts' rows: merging it with one of them is caught too
      refused(
        await gapkit("stats", "merge", path("halves.json"), head),
        `${path("halves.json")} and ${head} both covering rows 0:25 of whole.npy`,
      );
    });

    it("the same DuckDB table twice", async () => {
      const parquet = join(TABLES, "pair.parquet");
      const r = await gapkit("stats", "--duckdb", parquet, "-o", path("duck.json"));
      expect(r.code, r.stderr).toBe(0);
      refused(
        await gapkit("stats", "merge", path("duck.json"), path("duck.json")),
        `${path("duck.json")} and ${path("duck.json")} both covering rows 0:60 of duckdb ${parquet}`,
      );
    });

    it("but merges statistics written before gapkit recorded their source, with a warning", async () => {
      const old = JSON.parse(readFileSync(await part("new.json", "0:30"), "utf8"));
      delete old.provenance;
      writeFileSync(path("old.json"), JSON.stringify(old));
      const r = await gapkit("stats", "merge", path("old.json"), await part("rest.json", "30:60"), "--json");
      expect(r.code, r.stderr).toBe(0);
      expectFields(JSON.parse(r.stdout), exact, 1e-6);
      expect(r.stderr).toBe(
        `gapkit: warning: ${path("old.json")}: 30 of its 30 pairs have no recorded source (statistics written before gapkit recorded them), so they cannot be checked for overlap with the other parts\n`,
      );
    });

    it.skipIf(!hasShared)("features_clip's statistics merged with themselves (issue 22)", async () => {
      const r = await gapkit("stats", SHARED, "-o", path("clip.json"));
      expect(r.code, r.stderr).toBe(0);
      const p = path("clip.json");
      refused(
        await gapkit("stats", "merge", p, p),
        `${p} and ${p} both covering rows 0:500 of features_clip.npy`,
      );
    });
  });

  it.each([
    ["a broken part", ["merge", "BROKEN"], /BROKEN: expected gapkit statistics as JSON; got invalid JSON/],
    ["a missing part", ["merge", "/nonexistent/part.json"], /part\.json: no such file$/m],
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

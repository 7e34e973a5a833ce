import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeNpyFile } from "../../src/io/files.js";
import { fixture } from "../helpers.js";
import { gapkit, isUserError, scratchDir, writeMetricsPair } from "./run.js";

const path = scratchDir("gapkit-hostile-");
const TABLES = new URL("../fixtures/tables/", import.meta.url).pathname;
// a server that accepts connections and never answers (loopback only)
let silent: Server;
let silentUrl: string;

beforeAll(async () => {
  await writeMetricsPair(path("pair.npy"));
  const { a, b } = fixture("metrics");
  await writeNpyFile(path("a.npy"), { shape: [a.rows, a.cols], data: Float32Array.from(a.data) });
  await writeNpyFile(path("b.npy"), { shape: [b.rows, b.cols], data: Float32Array.from(b.data) });
  await writeNpyFile(path("six.npy"), {
    shape: [2, 6, a.cols],
    data: Float32Array.from([...a.data.slice(0, 6 * a.cols), ...b.data.slice(0, 6 * b.cols)]),
  });
  // zero-shot files: 60 images, 3 classes, one label 1.5
  await writeNpyFile(path("classes.npy"), {
    shape: [3, b.cols],
    data: Float32Array.from(b.data.slice(0, 3 * b.cols)),
  });
  const labels = Float32Array.from({ length: a.rows }, (_, i) => i % 3);
  labels[7] = 1.5;
  await writeNpyFile(path("labels.npy"), { shape: [a.rows], data: labels });
  silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
});

afterAll(() => {
  silent.close();
});

async function expectUserError(args: string[], message: RegExp): Promise<void> {
  const r = await gapkit(...args);
  expect(isUserError(r), `${r.code}: ${r.stderr}`).toBe(true);
  expect(r.stderr).toMatch(message);
}

describe("hostile inputs: silent wrong answers become user errors", () => {
  it("stats merge refuses a part whose sums contradict its count", async () => {
    expect((await gapkit("stats", path("pair.npy"), "-o", path("part.json"))).code).toBe(0);
    const { provenance: _, ...part } = JSON.parse(readFileSync(path("part.json"), "utf8"));
    writeFileSync(path("good.json"), JSON.stringify(part));
    writeFileSync(path("empty.json"), JSON.stringify({ ...part, n: 0 }));
    await expectUserError(
      ["stats", "merge", path("good.json"), path("empty.json")],
      /empty\.json sums\.squaresA: expected a sum of squared norms in \[0, n\]; got 60 with n = 0/,
    );
  });

  it("score apply refuses an isotonic calibration whose x is not increasing", async () => {
    const scorer = path("scorer.json");
    expect((await gapkit("score", "fit", path("pair.npy"), "--method", "raw", "-o", scorer)).code).toBe(0);
    const state = JSON.parse(readFileSync(scorer, "utf8"));
    state.calibration.x.reverse();
    writeFileSync(path("reversed.json"), JSON.stringify(state));
    await expectUserError(
      ["score", "apply", path("reversed.json"), "--a", path("a.npy"), "--b", path("b.npy")],
      /reversed\.json calibration: expected isotonic x and y both non-decreasing/,
    );
  });

  it.each([
    [["align", "fit", "--method", "shift", "--param", "__proto__=1"], /shift parameter: .*got "__proto__"/],
    [
      ["align", "fit", "--method", "shift", "--param", "constructor=1"],
      /shift parameter: .*got "constructor"/,
    ],
    [
      ["align", "fit", "--method", "shift", "--param", "lambda=1", "--param", "lambda=2"],
      /--param: expected each name once/,
    ],
    [
      ["score", "fit", "--method", "csls", "--param", "__proto__=1"],
      /score parameter: expected k or tau; got "__proto__"/,
    ],
  ])("%j names the unknown or repeated parameter", async (args, message) => {
    await expectUserError([...args, path("pair.npy"), "-o", path("never.json")], message);
    expect(existsSync(path("never.json"))).toBe(false);
  });

  it("shift refuses an empty --lambda, and align apply --side on a (2, N, d) file", async () => {
    await expectUserError(
      ["shift", path("pair.npy"), "--lambda", ""],
      /--lambda: expected at least one value/,
    );
    expect(
      (await gapkit("align", "fit", path("pair.npy"), "--method", "center", "-o", path("c.json"))).code,
    ).toBe(0);
    await expectUserError(
      ["align", "apply", path("c.json"), path("pair.npy"), "--side", "a", "-o", path("side.npy")],
      /--side: expected no --side for a \(2, N, d\) input \(both sides are transformed\); got a/,
    );
  });

  it("experiment shift-eval refuses fractional labels", async () => {
    await expectUserError(
      [
        "experiment",
        "shift-eval",
        "--images",
        path("a.npy"),
        "--labels",
        path("labels.npy"),
        "--classes",
        path("classes.npy"),
      ],
      /--labels: expected non-negative integer labels below 2³¹; got 1\.5 at 7/,
    );
  });

  it.each([
    [
      ["experiment", "landscape", "PAIR", "--temperatures", "0"],
      /--temperatures: expected numbers in \[0\.0001, 100\]; got 0/,
    ],
    [
      ["experiment", "fairness", "--harmful", "1.5"],
      /--harmful: expected integers in \[0, 10000\]; got 1\.5/,
    ],
    [["train", "PAIR", "--lr", "1e30"], /--lr: expected a number in \[1e-9, 1\]; got "1e30"/],
    [["train", "PAIR", "--temperature", "1e-300"], /--temperature: expected a number in/],
  ])("%j is out of range", async (args, message) => {
    await expectUserError(
      args.map((x) => (x === "PAIR" ? path("pair.npy") : x)),
      message,
    );
  });
});

describe("hostile inputs: sizes that would exhaust memory or time are refused before any allocation", () => {
  it.each([
    [
      ["train", "PAIR", "--widths", "1000000000"],
      /--widths: expected integers in \[1, 4096\]; got 1000000000/,
    ],
    [["train", "PAIR", "--widths", "8,8,8,8,8,8,8,8,8"], /--widths: expected at most 8 values; got 9/],
    [["train", "PAIR", "--batch", "1000000"], /--batch: expected an integer in \[2, 16384\]/],
    [
      ["experiment", "cone-mlp", "--n", "100000000"],
      /--n: expected an integer in \[2, 10000\]; got "100000000"/,
    ],
    [
      ["experiment", "cone-inits", "--pca-points", "100000"],
      /--pca-points: expected an integer in \[1, 1000\]/,
    ],
    [["experiment", "mismatch", "--points", "1000000000"], /--points: expected an integer in \[2, 100000\]/],
    [["experiment", "sphere", "--steps", "1000000000"], /--steps: expected an integer in \[0, 100000\]/],
    [
      ["experiment", "landscape", "PAIR", "--lambdas", "0:5000:1"],
      /--lambdas: expected at most 1000 values; got 5001/,
    ],
    [["shift", "PAIR", "--lambda", "0:2000:1"], /--lambda: expected at most 1000 values; got 2001/],
  ])("%j", async (args, message) => {
    await expectUserError(
      args.map((x) => (x === "PAIR" ? path("pair.npy") : x)),
      message,
    );
  });

  it("--help states the bounds", async () => {
    expect((await gapkit("experiment", "cone-mlp", "--help")).stdout).toMatch(
      /--n <integer>[\s\S]*?in \[2, 10000\]/,
    );
    expect((await gapkit("train", "--help")).stdout).toMatch(/--lr <x>[\s\S]*?in \[1e-9, 1\]/);
  });

  it("report works on 6 pairs (UMAP with fewer neighbours)", async () => {
    const r = await gapkit("report", path("six.npy"), "-o", path("six.html"));
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path("six.html"), "utf8")).toMatch(/nNeighbors 11/);
  });
});

describe("hostile inputs: engines", () => {
  it.each([
    [
      "file:///tmp/x",
      /--clickhouse: expected the server's HTTP URL, e\.g\. http:\/\/127\.0\.0\.1:8123; got a file: URL/,
    ],
    ["javascript:alert(1)", /--clickhouse: expected the server's HTTP URL.*; got a javascript: URL/],
    ["http://us%zzer:pw@127.0.0.1:9", /--clickhouse: expected a user and password in valid percent-encoding/],
  ])("a malformed ClickHouse URL %s is a user error", async (url, message) => {
    await expectUserError(["measure", "--clickhouse", url, "--table", "emb"], message);
  });

  it.each([[["measure", "--table", "emb"]], [["load", "PAIR", "--table", "emb"]]])(
    "a ClickHouse server that never answers times out: %j",
    async (args) => {
      const start = Date.now();
      const r = await gapkit(
        ...args.map((x) => (x === "PAIR" ? path("pair.npy") : x)),
        "--clickhouse",
        silentUrl,
        "--timeout",
        "2",
      );
      expect(isUserError(r), r.stderr).toBe(true);
      expect(r.stderr).toMatch(/^clickhouse 50% {2}waiting for http:\/\/127\.0\.0\.1:\d+: 1 of 2 s$/m);
      expect(r.stderr).toMatch(
        /expected a reachable server that runs the query; got no answer within 2 s \(--timeout\)/,
      );
      expect(Date.now() - start).toBeLessThan(20_000);
    },
  );

  it("a .duckdb view over a CSV file is refused unless --duckdb-external-access", async () => {
    const csv = path("pairs.csv");
    const db = path("view.duckdb");
    const instance = await DuckDBInstance.create(db);
    const connection = await instance.connect();
    await connection.run(`COPY (SELECT * FROM read_parquet('${join(TABLES, "pair.parquet")}')) TO '${csv}'`);
    await connection.run(
      `CREATE VIEW emb AS SELECT a::FLOAT[] AS a, b::FLOAT[] AS b FROM read_csv('${csv}')`,
    );
    connection.closeSync();
    instance.closeSync();
    await expectUserError(
      ["stats", "--duckdb", db],
      /view\.duckdb: .*Permission Error.*--duckdb-external-access allows it/,
    );
    expect((await gapkit("stats", "--duckdb", db, "--duckdb-external-access", "--json")).code).toBe(0);
    // a Parquet glob still reads the files under its folder
    expect((await gapkit("stats", "--duckdb", join(TABLES, "pair.parquet"), "--json")).code).toBe(0);
  });
});

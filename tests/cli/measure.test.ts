import { readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { writeNpyFile } from "../../src/io/files.js";
import { expectFields, fixture } from "../helpers.js";
import { gapkit, isUserError, scratchDir, writeMetricsPair } from "./run.js";

const path = scratchDir("gapkit-measure-");
const metrics = fixture("metrics");
const grouped = fixture("grouped");
const f32 = (values: number[]) => Float32Array.from(values);

beforeAll(async () => {
  const { a, b } = metrics;
  await writeMetricsPair(path("pair.npy"));
  await writeNpyFile(path("a.npy"), { shape: [a.rows, a.cols], data: f32(a.data) });
  await writeNpyFile(path("b.npy"), { shape: [b.rows, b.cols], data: f32(b.data) });
  await writeNpyFile(path("b_short.npy"), { shape: [b.rows - 1, b.cols], data: f32(b.data.slice(b.cols)) });
  await writeNpyFile(path("b_narrow.npy"), { shape: [b.rows, 1], data: f32(b.data.slice(0, b.rows)) });
  await writeNpyFile(path("nan.npy"), { shape: [2, 2, 2], data: f32([1, 0, 0, 1, Number.NaN, 1, 1, 0]) });
  await writeNpyFile(path("zero.npy"), { shape: [2, 2, 2], data: f32([1, 0, 0, 0, 0, 1, 1, 0]) });
  await writeNpyFile(path("flat.npy"), { shape: [4, 3], data: new Float32Array(12).fill(1) });
  writeFileSync(path("groups.json"), JSON.stringify(grouped.groups.map((g: number) => `g${g}`)));
  writeFileSync(path("groups.txt"), `${grouped.groups.join("\n")}\n`);
  writeFileSync(path("groups_short.json"), JSON.stringify(grouped.groups.slice(1)));
  writeFileSync(
    path("pairs.json"),
    JSON.stringify({
      pairs: grouped.groups.map((g: number, i: number) => ({ index: i, image: `${g}.jpg`, textId: i })),
    }),
  );
});

describe("gapkit measure", () => {
  it("--json has the contract's keys and matches numpy", async () => {
    const r = await gapkit("measure", path("pair.npy"), "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual([
      "n",
      "dim",
      "gap",
      "cone",
      "pairedCos",
      "alignment",
      "uniformity",
      "retrieval",
      "spectrum",
    ]);
    expect(Object.keys(out.retrieval.aToB)).toEqual(["r1", "r5", "r10", "meanRank"]);
    expect(out.gap.l2m).toBeCloseTo(metrics.gap.l2m, 6);
    expect(out.retrieval.bToA.r5).toBeCloseTo(metrics.retrieval.bToA.r5, 12);
  });

  it("--a/--b gives the same numbers, --rows restricts, --vectors adds the gap vector", async () => {
    const whole = JSON.parse((await gapkit("measure", path("pair.npy"), "--json")).stdout);
    const split = JSON.parse(
      (await gapkit("measure", "--a", path("a.npy"), "--b", path("b.npy"), "--json")).stdout,
    );
    expect(split).toEqual(whole);
    const part = JSON.parse(
      (await gapkit("measure", path("pair.npy"), "--rows", "10:40", "--json", "--vectors")).stdout,
    );
    expect(part.n).toBe(30);
    expect(part.gap.vector).toHaveLength(metrics.dim);
  });

  it("takes every --backend name, auto included, also when chunks stream through workers", async () => {
    const streamed = ["--json", "--chunk-rows", "8", "--workers", "2"];
    const auto = await gapkit("measure", path("pair.npy"), ...streamed, "--backend", "auto");
    expect(auto.stderr).not.toMatch(/expected one of/);
    const reference = JSON.parse(auto.stdout);
    for (const backend of ["js", "wasm", "ort"]) {
      const r = await gapkit("measure", path("pair.npy"), ...streamed, "--backend", backend);
      expectFields(JSON.parse(r.stdout), reference, 1e-5);
    }
  });

  it("--groups (a JSON array, one id per line, or embed's pairs.json): multi-positive retrieval as numpy's", async () => {
    for (const file of ["groups.json", "groups.txt", "pairs.json"]) {
      const out = JSON.parse(
        (await gapkit("measure", path("pair.npy"), "--groups", path(file), "--json")).stdout,
      );
      expect(out.groups).toBe(true);
      for (const dir of ["aToB", "bToA"] as const)
        for (const key of ["r1", "r5", "r10", "meanRank"] as const)
          expect(out.retrieval[dir][key]).toBeCloseTo(grouped.retrieval[dir][key], 12);
    }
    // --rows takes the groups of its rows; --group-by text groups embed's pairs by caption id (each its own)
    const rows = JSON.parse(
      (await gapkit("measure", path("pair.npy"), "--rows", "0:30", "--groups", path("groups.json"), "--json"))
        .stdout,
    );
    expect(rows.n).toBe(30);
    const byText = JSON.parse(
      (
        await gapkit(
          "measure",
          path("pair.npy"),
          "--groups",
          path("pairs.json"),
          "--group-by",
          "text",
          "--json",
        )
      ).stdout,
    );
    expect(byText.retrieval.aToB.r1).toBeCloseTo(metrics.retrieval.aToB.r1, 12);
  });

  it("prints a readable table by default", async () => {
    const r = await gapkit("measure", path("pair.npy"));
    expect(r.stdout).toMatch(/gap L2M .* 0\.\d{4}/);
    expect(r.stdout).toMatch(/A→B R@1 \/ R@5 \/ R@10/);
  });

  it.each([
    ["mismatched N", ["--a", "a.npy", "--b", "b_short.npy"], /the same number of rows N/],
    ["mismatched d", ["--a", "a.npy", "--b", "b_narrow.npy"], /the same dimension d/],
    ["N < 2", ["pair.npy", "--rows", "3:4"], /at least 2 pairs; got 1/],
    ["non-finite values", ["nan.npy"], /nan\.npy\[1\]: expected finite values; got NaN at row 0, column 0/],
    ["zero-norm rows", ["zero.npy"], /zero\.npy\[0\]: expected rows with a finite, non-zero norm/],
    ["a bad --rows", ["pair.npy", "--rows", "5-9"], /--rows: expected START:END/],
    ["--rows past the end", ["pair.npy", "--rows", "0:999"], /--rows: expected 0 ≤ START < END ≤ 60/],
    [
      "FILE and --a together",
      ["pair.npy", "--a", "a.npy", "--b", "b.npy"],
      /either FILE or --a\/--b, not both/,
    ],
    [
      "no input",
      [],
      /FILE.npy of shape \(2, N, d\) or a table with columns a and b, or both --a A and --b B; got neither/,
    ],
    [
      "a (N, d) file where a pair is expected",
      ["flat.npy"],
      /expected shape \(2, N, d\).*; got \(\d+, \d+\), one modality \(give it as --a \S*flat\.npy and its partner as --b FILE\)$/m,
    ],
    ["a missing file", ["missing.npy"], /^gapkit: \S*missing\.npy: no such file$/m],
    [
      "--groups of another length",
      ["pair.npy", "--groups", "groups_short.json"],
      /expected one group id per pair \(60\); got 59/,
    ],
    [
      "a bad --group-by",
      ["pair.npy", "--groups", "pairs.json", "--group-by", "x"],
      /--group-by: expected image or text/,
    ],
  ])("%s exits 2 with one line", async (_, args, message) => {
    const r = await gapkit("measure", ...args.map((x) => (/\.(npy|json)$/.test(x) ? path(x) : x)));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(message);
  });
});

describe("gapkit demo", () => {
  it("shows the gap at random init, trains, closes it and writes the report", async () => {
    const r = await gapkit("demo", "--json", "-o", path("demo.html"));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.dataset.pairs).toBe(2000);
    expect(out.untrained.cone.a).toBeGreaterThan(0.5); // the cone effect, before any training
    expect(out.untrained.gap.l2m).toBeGreaterThan(0.5);
    expect(out.training.at(-1).loss).toBeLessThan(out.training[0].loss);
    expect(out.zeroShot.accuracy).toBeGreaterThan(0.5); // chance is 0.1
    expect(out.aligned.methods.center.gap.l2m).toBeLessThan(out.aligned.baseline.gap.l2m);
    // 2,000 pairs share 50 captions: grouped by caption, each counted once, R@k rises with k
    expect([out.trained.groups, out.aligned.groups]).toEqual([true, true]);
    const { r1, r5, r10 } = out.trained.retrieval.aToB;
    expect(r1).toBeLessThan(r5);
    expect(r5).toBeLessThan(r10);
    expect(readFileSync(path("demo.html"), "utf8")).toContain("(any item of the query&#39;s group)");
    expect(out.reading).toHaveLength(2);
    expect(out.report).toBe(path("demo.html"));
    expect(readFileSync(path("demo.html"), "utf8")).toMatch(/^<!doctype html>/);
  });
});

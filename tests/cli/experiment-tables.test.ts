import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { listDefault } from "../../src/cli/commands/experiment.js";
import { EXPERIMENT_TABLES } from "../../src/cli/experiment-tables.js";
import { parseNumberList } from "../../src/cli/options.js";
import { writeNpyFile } from "../../src/io/files.js";
import { EXPERIMENTS } from "../../src/sim/index.js";
import { fixture } from "../helpers.js";
import { gapkit, scratchDir } from "./run.js";

const file = scratchDir("gapkit-experiment-tables-");

/** Small, fast settings of every experiment (file inputs are written in beforeAll). */
const RUNS: Record<string, string[]> = {
  "cone-mlp": ["--n", "50", "--dim", "16", "--layers", "4", "--models", "2"],
  "cone-inits": ["--n", "50", "--dim", "16", "--layers", "3", "--models", "3", "--pca-points", "4"],
  "init-gap": [file("trained.npy"), file("shuffled.npy")],
  landscape: [file("trained.npy"), "--lambdas", "-1:1:0.25", "--temperatures", "0.01,0.1,1"],
  sphere: ["--scales", "1,50", "--steps", "20"],
  mismatch: ["--scales", "10,100", "--points", "9"],
  "shift-eval": ["--lambdas", "-0.5:1:0.5"],
  fairness: ["--lambdas", "0,0.5,1"],
  "train-temperature": ["--data", "100", "--epochs", "2", "--temperatures", "0.01,0.1"],
  bind: ["--data", "100", "--epochs", "2"],
};

// biome-ignore lint/suspicious/noExplicitAny: experiment results are plain JSON
const out: Record<string, { table: string; result: any }> = {};

beforeAll(async () => {
  const { a, b } = fixture("metrics");
  const pair = (bRows: number[][]) => Float32Array.from([...a.data, ...bRows.flat()]);
  const rows = Array.from({ length: b.rows }, (_, i) => b.data.slice(i * b.cols, (i + 1) * b.cols));
  const shape = [2, a.rows, a.cols];
  await writeNpyFile(file("trained.npy"), { shape, data: pair(rows) });
  await writeNpyFile(file("shuffled.npy"), { shape, data: pair(rows.toReversed()) });
  // the CLI starts slowly: every experiment runs at once, the table on stdout and the JSON in a file
  await Promise.all(
    Object.entries(RUNS).map(async ([name, args]) => {
      const json = file(`${name}.json`);
      const r = await gapkit("experiment", name, ...args, "--backend", "js", "-o", json);
      expect(r.code, r.stderr).toBe(0);
      out[name] = { table: r.stdout, result: JSON.parse(readFileSync(json, "utf8")).result };
    }),
  );
}, 120_000);

/** The rows of each table in `text` (tables are separated by a blank line), split into cells. */
const bodies = (text: string) =>
  text.split("\n\n").map((block) =>
    block
      .split("\n")
      .slice(1)
      .filter((line) => /^\s*-?\d/.test(line))
      .map((line) => line.trim().split(/\s+/)),
  );

/** Indices of the rows whose cell `column` carries the marker. */
const markedRows = (rows: string[][], column: number) =>
  rows.flatMap((cells, i) => (cells[column].endsWith("*") ? [i] : []));

const argmin = (xs: number[]) => xs.indexOf(Math.min(...xs));

describe("gapkit experiment NAME prints a table", () => {
  it("every experiment has a table, and each registry key is its experiment's name", () => {
    expect(Object.keys(EXPERIMENT_TABLES).sort()).toEqual(Object.keys(EXPERIMENTS).sort());
    for (const [key, e] of Object.entries(EXPERIMENTS)) expect(e.name).toBe(key);
  });

  it.each(Object.keys(RUNS))("%s: the table, exact to its rounding, with no JSON and no percent", (name) => {
    const { table } = out[name];
    expect(table).not.toMatch(/[{}%]|items\]/);
    // init-gap's columns are as wide as the temporary paths in its header: there the padding is not compared
    const stable = name === "init-gap" ? table.replaceAll(file(""), "<dir>").replace(/ {2,}/g, "  ") : table;
    expect(stable).toMatchSnapshot();
  });

  it("landscape marks the argmin λ of each τ", () => {
    const { table, result } = out.landscape;
    const [rows] = bodies(table);
    expect(rows.map((cells) => Number(cells[0]))).toEqual(result.lambdas);
    for (const [j, lambda] of result.argminLambda.entries())
      expect(markedRows(rows, j + 1)).toEqual([result.lambdas.indexOf(lambda)]);
    expect(table).toContain("* least loss at each τ");
  });

  it("sphere marks the θ of least loss per scale; mismatch the z of least loss per run", () => {
    const sphere = out.sphere.result;
    const [curve] = bodies(out.sphere.table);
    expect(curve).toHaveLength(181);
    for (const [j, c] of sphere.curves.entries())
      expect(markedRows(curve, j + 2)).toEqual([argmin(c.points.map((q: { loss: number }) => q.loss))]);
    const [clean, swapped] = bodies(out.mismatch.table);
    for (const [k, run] of out.mismatch.result.runs.entries()) {
      const scales = out.mismatch.result.runs.length / 2;
      const rows = run.swapped ? swapped : clean;
      expect(markedRows(rows, 1 + (k % scales))).toEqual([run.z.indexOf(run.argminZ)]);
    }
  });

  it("shift-eval marks the λ chosen on validation and the best on test; fairness the least disparity", () => {
    const { result, table } = out["shift-eval"];
    const [rows] = bodies(table);
    const lambdas = result.sweep.map((s: { lambda: number }) => s.lambda);
    expect(markedRows(rows, 1)).toEqual([lambdas.indexOf(result.chosenOnValidation.lambda)]);
    expect(markedRows(rows, 2)).toEqual([lambdas.indexOf(result.bestOnTestAsInThePaper.lambda)]);
    const fair = out.fairness;
    const [fairRows] = bodies(fair.table);
    const disparity = fair.result.sweep.map((s: { disparity: number }) => s.disparity);
    expect(markedRows(fairRows, fairRows[0].length - 1)).toEqual([argmin(disparity)]);
  });

  it("init-gap puts measure's rows side by side, headed by the two files", () => {
    const [header, ...lines] = out["init-gap"].table.split("\n");
    expect(header.trim().split(/\s+/)).toEqual([file("trained.npy"), file("shuffled.npy")]);
    expect(lines[0]).toMatch(/^pairs \(N\) × dim +60 × 12 +60 × 12$/);
    const r1 = out["init-gap"].result.first.retrieval.aToB.r1.toFixed(3);
    expect(lines.find((l) => l.startsWith("A→B R@1"))).toContain(`${r1} / `);
  });
});

describe("experiment list and --help", () => {
  it("list aligns the summaries in one column", async () => {
    const lines = (await gapkit("experiment", "list")).stdout.trimEnd().split("\n");
    const names = Object.values(EXPERIMENTS);
    expect(lines).toHaveLength(names.length);
    const offsets = names.map((e, i) => lines[i].indexOf(e.summary));
    expect(new Set(offsets).size).toBe(1);
    expect(offsets[0]).toBe(Math.max(...names.map((e) => e.name.length)) + 2);
  });

  it("--help shows a progression as START:END:STEP", async () => {
    const r = await gapkit("experiment", "landscape", "--help");
    expect(r.stdout).toMatch(/--lambdas <list>[\s\S]*?\(default:\s+"-1:1:0\.05"\)/);
  });

  it("every numbers default, as shown, parses back to exactly the default", () => {
    const shown: string[] = [];
    for (const e of Object.values(EXPERIMENTS))
      for (const [name, spec] of Object.entries(e.params))
        if (spec.kind === "numbers") {
          const text = listDefault(spec);
          shown.push(`${e.name} --${name} ${text}`);
          expect(parseNumberList(text, name, spec), `${e.name} --${name}`).toEqual(spec.default);
        }
    expect(shown).toContain("shift-eval --lambdas -1:1:0.1");
    expect(shown).toContain("mismatch --scales 1,5,10,50,100,500,1000");
  });
});

import { beforeAll, describe, expect, it } from "vitest";
import { gapkit, scratchDir, writeMetricsPair } from "./run.js";

const path = scratchDir("gapkit-tables-");

beforeAll(() => writeMetricsPair(path("pair.npy")));

/** The columns of a table's lines (cells split at two or more spaces), each with the offset where it ends. */
const cellEnds = (line: string) => [...line.matchAll(/\S+(?: \S+)*/g)].map((m) => m.index + m[0].length);

describe("held-out tables print R@k as fractions, in columns under their headers", () => {
  it("align eval", async () => {
    const r = await gapkit("align", "eval", path("pair.npy"), "--method", "center,realign");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.replaceAll("95% CI", "")).not.toMatch(/%/);
    expect(r.stdout).toMatchInlineSnapshot(`
      "fit on 30 pairs, measured on the other 30
      method      gap  pairCos      A→B R@1 [95% CI]      B→A R@1 [95% CI]  A→B R@5
      baseline  0.672   -0.077  0.033 [0.000, 0.100]  0.000 [0.000, 0.000]    0.100
      center    0.384   -0.068  0.000 [0.000, 0.000]  0.000 [0.000, 0.000]    0.100
      realign   0.321    0.280  0.033 [0.000, 0.100]  0.000 [0.000, 0.000]    0.067
      Verdict: on the 30 held-out pairs nothing beats the untouched embeddings (A→B R@1 0.033, 95% CI 0.000–0.100); the best method, realign, reaches 0.033.
      "
    `);
  });

  it("score eval, with a legend for P@R.5 and hubness", async () => {
    const r = await gapkit("score", "eval", path("pair.npy"), "--methods", "raw,csls");
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    const [header, ...rows] = lines.slice(1, 4);
    // the method column is left-aligned, every other cell ends where its header ends
    for (const row of rows) expect(cellEnds(row).slice(1)).toEqual(cellEnds(header).slice(1));
    expect(r.stdout).toMatchInlineSnapshot(`
      "fit on 30 pairs, evaluated on 30 (isotonic calibration)
      method  a→b R@1    R@5   R@10  b→a R@1     AUC  P@R.5  P@R.9  hubness     ECE    Brier
      raw       0.033  0.100  0.167    0.000  0.4092  0.027  0.034     0.72  0.0312  0.03615
      csls      0.033  0.067  0.167    0.000  0.3941  0.029  0.033     0.62  0.0337  0.03921
      P@R.5, P@R.9: precision at the score threshold that keeps half (90%) of the true pairs
      hubness: skewness of how often each gallery item is among a query's 10 best (0: no hubs)
      best: raw (a→b R@1 0.033), its calibrated P(match) has ECE 0.0312
      Verdict: on the 30 held-out pairs nothing beats raw cosine (A→B R@1 0.033, 95% CI 0.000–0.100); the best method, csls, reaches 0.033.
      "
    `);
  });
});

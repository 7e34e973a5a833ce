import { beforeAll, describe, expect, it } from "vitest";
import { gapkit, scratchDir, writeMetricsPair } from "./run.js";

const path = scratchDir("gapkit-written-");

beforeAll(() => writeMetricsPair(path("pair.npy")));

describe("commands whose result is a file end with one line saying what they wrote", () => {
  it.each([
    [
      ["align", "fit", "PAIR", "--method", "center", "-o", "OUT.json"],
      /^wrote \S+\.json: center state, fitted on 60 pairs of dimension 12$/,
    ],
    [["stats", "PAIR", "-o", "OUT.json"], /^wrote \S+\.json: statistics of 60 pairs of dimension 12$/],
    [
      ["score", "fit", "PAIR", "--method", "raw", "-o", "OUT.json"],
      /^wrote \S+\.json: raw scorer, isotonic calibration, fitted on 60 pairs of dimension 12$/,
    ],
  ])("%j", async (args, line) => {
    const r = await gapkit(
      ...args.map((x) => (x === "PAIR" ? path("pair.npy") : x === "OUT.json" ? path(`${args[0]}.json`) : x)),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(line);
  });

  it("align apply names the rows, their dimension and the state", async () => {
    await gapkit("align", "fit", path("pair.npy"), "--method", "center", "-o", path("c.json"));
    const r = await gapkit("align", "apply", path("c.json"), path("pair.npy"), "-o", path("o.npy"));
    expect(r.stderr.trim()).toBe(`wrote ${path("o.npy")}: 60 pairs of dimension 12 through the center state`);
  });
});

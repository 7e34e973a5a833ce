import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { gapkit, isUserError, scratchDir, writeMetricsPair } from "../cli/run.js";

const path = scratchDir("gapkit-report-names-");

beforeAll(() => writeMetricsPair(path("pair.npy")));

describe("gapkit report --names", () => {
  it("names the modalities in every table, sentence and legend", async () => {
    const r = await gapkit(
      "report",
      path("pair.npy"),
      "-o",
      path("r.html"),
      "--names",
      "images,captions",
      "--align",
      "center,procrustes",
      "--score",
      "raw,csls",
    );
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(path("r.html"), "utf8");
    const text = html.replace(/<script[\s\S]*?<\/script>/g, "");
    expect(text).not.toMatch(/[AB]→[AB]|within [AB]\b|mean [AB] /);
    expect(text).toContain("<th>images→captions R@1</th>");
    expect(text).toContain("cone cosine images / captions");
    // chart legends: the modality colours of the projections, the directions of the recall bars
    const svgs = text.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs.some((svg) => svg.includes(">images<") && svg.includes(">captions<"))).toBe(true);
    expect(svgs.some((svg) => svg.includes("images→captions"))).toBe(true);
    // each evaluation section ends with its verdict; 30 fit pairs in 12 dimensions: no fit-set caveat
    expect(text.match(/Verdict: on the 30 held-out pairs/g)).toHaveLength(2);
    expect(text).not.toContain("smaller than the dimension");
  });

  it.each([["images"], ["a,a"], ["a,"], ["a,b,c"]])("--names %j exits 2", async (names) => {
    const r = await gapkit("report", path("pair.npy"), "-o", path("never.html"), "--names", names);
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/--names: expected two different names separated by a comma/);
  });
});

import { writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { writeNpyFile } from "../../src/io/files.js";
import { fixture } from "../helpers.js";
import { gapkit, scratchDir } from "./run.js";

const path = scratchDir("gapkit-shift-");
const small = fixture("landscape");

beforeAll(async () => {
  const { a, b } = small;
  const data = Float32Array.from([...a.data, ...b.data]);
  await writeNpyFile(path("pair.npy"), { shape: [2, a.rows, a.cols], data });
  writeFileSync(path("groups.json"), JSON.stringify(Array.from({ length: a.rows }, (_, i) => i >> 2)));
});

describe("gapkit shift in both units", () => {
  it("--lambda multiplies Δ; with --unit the values are distances δ along Δ/‖Δ‖: numpy's sweep", async () => {
    for (const unit of [false, true]) {
      const cases = small.sweep.filter((c: { unit: boolean }) => c.unit === unit);
      const values = cases.map((c: { value: number }) => c.value).join(",");
      const r = await gapkit(
        "shift",
        path("pair.npy"),
        "--lambda",
        values,
        ...(unit ? ["--unit"] : []),
        "--json",
      );
      expect(r.code, r.stderr).toBe(0);
      const { sweep } = JSON.parse(r.stdout);
      for (const [i, c] of cases.entries()) {
        expect(sweep[i].lambda).toBeCloseTo(c.lambda, 6);
        expect(sweep[i].delta).toBe(unit ? c.value : undefined);
        expect(sweep[i].gap.l2m).toBeCloseTo(c.gap, 6);
        expect(sweep[i].pairedCos).toBeCloseTo(c.pairedCos, 6);
        expect(sweep[i].retrieval.aToB.r1).toBeCloseTo(c.retrieval.aToB.r1, 12);
      }
    }
    const table = await gapkit("shift", path("pair.npy"), "--lambda", "0,1", "--unit");
    expect(table.stdout).toMatch(/^\s+δ\s+λ\s+gap/);
  });

  it("--groups makes each step's retrieval multi-positive", async () => {
    const r = await gapkit(
      "shift",
      path("pair.npy"),
      "--lambda",
      "0",
      "--groups",
      path("groups.json"),
      "--json",
    );
    const plain = await gapkit("shift", path("pair.npy"), "--lambda", "0", "--json");
    const [grouped, single] = [JSON.parse(r.stdout).sweep[0], JSON.parse(plain.stdout).sweep[0]];
    expect(grouped.groups).toBe(true);
    expect(grouped.retrieval.aToB.r1).toBeGreaterThan(single.retrieval.aToB.r1);
  });
});

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readPairFile } from "../../src/io/files.js";
import { lossLandscape } from "../../src/losses/landscape.js";
import { expectClose, fixture, fromFixture } from "../helpers.js";

const FILE = new URL("../../../shared/data/mind-the-gap/features_clip.npy", import.meta.url).pathname;
const REFERENCE = new URL("../../../shared/tools/contract/landscape.py", import.meta.url).pathname;
const hasShared = existsSync(FILE) && existsSync(REFERENCE);
if (!hasShared) console.warn(`skipping the loss-landscape tests: ${FILE} is absent`);

const small = fixture("landscape");
const shared = fixture("mind-the-gap");

describe("lossLandscape in the paper's units (unit: distances δ along Δ/‖Δ‖)", () => {
  it("equals the authors' float64 landscape: loss at each δ and τ, argmin δ per τ", async () => {
    const { deltas, temperatures, loss, argminDelta, gapNorm } = small.landscape;
    const r = await lossLandscape(fromFixture(small.a), fromFixture(small.b), {
      lambdas: deltas,
      temperatures,
      unit: true,
    });
    expect(r.deltas).toEqual(deltas);
    expect(r.argminDelta).toEqual(argminDelta);
    expectClose(r.loss.flat(), loss.flat(), 1e-6);
    expectClose(
      r.lambdas,
      deltas.map((d: number) => d / gapNorm),
      1e-6,
    );
  });
});

describe.skipIf(!hasShared)("lossLandscape on features_clip (Mind the Gap Fig. 3)", () => {
  it("with unit on the paper's grid (δ from −5 to 4.75 by 0.25), its argmin δ per τ is the authors' code's", async () => {
    const { a, b } = await readPairFile(FILE);
    const { deltas, temperatures, loss, argminDelta } = shared.landscape;
    const r = await lossLandscape(a, b, { lambdas: deltas, temperatures, unit: true });
    expect(r.argminDelta).toEqual(argminDelta);
    expectClose(r.loss.flat(), loss.flat(), 1e-6);
  });

  it("reproduces the paper: the minimum sits at λ ≈ 0 for τ = 0.01 and moves past 0.3 for τ = 0.1 and 1", async () => {
    const { a, b } = await readPairFile(FILE);
    const r = await lossLandscape(a, b);
    const [t001, , t01, t1] = r.argminLambda;
    expect(Math.abs(t001)).toBeLessThanOrEqual(0.05);
    expect(t01).toBeGreaterThan(0.3);
    expect(t1).toBeGreaterThan(0.3);
    // the values at λ = 0 and 1 equal the shared float64 numpy reference
    const reference = execFileSync("python3", [REFERENCE, FILE], { encoding: "utf8" })
      .trim()
      .split(" ")
      .map(Number);
    const ours = [...r.loss[r.lambdas.indexOf(0)], ...r.loss[r.lambdas.indexOf(1)]];
    for (const [i, v] of ours.entries()) expect(Math.abs(v - reference[i])).toBeLessThanOrEqual(1e-6);
  });
});

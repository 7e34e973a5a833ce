import { readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { augmentAlign, fitAlign } from "../../src/align/index.js";
import { matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { readNpyFile, writeNpyFile } from "../../src/io/files.js";
import { gapkit, isUserError, scratchDir, writeMetricsPair } from "./run.js";

const path = scratchDir("gapkit-augment-");

beforeAll(async () => {
  await writeMetricsPair(path("pair.npy"));
  for (const kind of ["c3", "center"])
    await gapkit("align", "fit", path("pair.npy"), "--method", kind, "-o", path(`${kind}.json`));
});

describe("gapkit align augment and the training-time augmentations", () => {
  it("apply is c3's inference transform (centring); augment adds the seeded noise", async () => {
    for (const [verb, out] of [
      ["apply", "applied.npy"],
      ["augment", "noisy.npy"],
      ["augment", "noisy-again.npy"],
    ]) {
      const r = await gapkit("align", verb, path("c3.json"), path("pair.npy"), "-o", path(out));
      expect(r.code, r.stderr).toBe(0);
    }
    await gapkit("align", "apply", path("center.json"), path("pair.npy"), "-o", path("centred.npy"));
    const read = async (name: string) => (await readNpyFile(path(name))).data;
    expect(await read("applied.npy")).toEqual(await read("centred.npy"));
    expect(await read("noisy.npy")).toEqual(await read("noisy-again.npy"));
    expect(await read("noisy.npy")).not.toEqual(await read("applied.npy"));
    await gapkit(
      "align",
      "augment",
      path("c3.json"),
      path("pair.npy"),
      "-o",
      path("seed7.npy"),
      "--seed",
      "7",
    );
    expect(await read("seed7.npy")).not.toEqual(await read("noisy.npy"));
  });

  it("streams a file of several chunks to the rows the library gives whole (noise indexed by file row)", async () => {
    const rng = createRng(5);
    const [n, d] = [9000, 4]; // more than one chunk of 8192 rows
    const data = Float32Array.from({ length: 2 * n * d }, () => rng.normal() + 0.5);
    await writeNpyFile(path("big.npy"), { shape: [2, n, d], data });
    const [a, b] = [matrix(n, d, data.subarray(0, n * d)), matrix(n, d, data.subarray(n * d))];
    const state = await fitAlign("c3", a, b, { sigma2: 0.01, seed: 3 });
    writeFileSync(path("big-c3.json"), JSON.stringify(state));
    const r = await gapkit(
      "align",
      "augment",
      path("big-c3.json"),
      path("big.npy"),
      "-o",
      path("big-out.npy"),
    );
    expect(r.code, r.stderr).toBe(0);
    const whole = [...(await augmentAlign(state, a, "a")).data, ...(await augmentAlign(state, b, "b")).data];
    expect(Array.from((await readNpyFile(path("big-out.npy"))).data as Float32Array)).toEqual(whole);
  });

  it("refuses a state without a training-time augmentation, and a version-1 state, with one line", async () => {
    const r = await gapkit("align", "augment", path("center.json"), path("pair.npy"), "-o", path("x.npy"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(
      /expected a state of a training-time augmentation \(c3, capdec-noise\); got a center state/,
    );
    const old = { ...JSON.parse(readFileSync(path("c3.json"), "utf8")), version: 1 };
    writeFileSync(path("c3-v1.json"), JSON.stringify(old));
    const v1 = await gapkit("align", "apply", path("c3-v1.json"), path("pair.npy"), "-o", path("y.npy"));
    expect(isUserError(v1), v1.stderr).toBe(true);
    expect(v1.stderr).toMatch(/expected version 2 of a c3 state; got version 1/);
  });

  it("align eval marks them and lists them under augmentations", async () => {
    const r = await gapkit("align", "eval", path("pair.npy"), "--method", "all", "--json");
    expect(JSON.parse(r.stdout).augmentations).toEqual(["c3", "capdec-noise"]);
    const table = await gapkit("align", "eval", path("pair.npy"), "--method", "c3");
    expect(table.stdout).toMatch(/^c3\* /m);
    expect(table.stdout).toMatch(/\* a training-time augmentation: measured here is its inference transform/);
  });
});

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FASHION_MNIST_DIR } from "../../src/io/idx.js";
import { gapkit, gapkitWithin, isUserError, scratchDir } from "./run.js";

const number = { mean: expect.any(Number), sd: 0 };
const methodShape = {
  accuracy: number,
  sourceProbeError: number,
  discrepancy: number,
  gap: number,
  gapBefore: number,
  seconds: number,
};
/** A run of every method that trains a few steps only. */
const SHORT = [
  "--seeds",
  "1",
  "--shots",
  "2",
  "--pretrain-steps",
  "5",
  "--stage1-steps",
  "2",
  "--stage2-steps",
  "2",
];

describe("gapkit experiment transfer", () => {
  it("a smoke run: every method's numbers as mean ± sd in the issue's --json keys, the source cached", async () => {
    const path = scratchDir("gapkit-transfer-");
    const args = ["experiment", "transfer", "--target", "signal", "--methods", "all", ...SHORT];
    const first = await gapkitWithin(180_000, ...args, "--cache", path("cache"), "-o", path("first.json"));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/^transfer: seed 0: source accuracy 0\.\d{3} on held-out digits$/m);
    expect(first.stderr).toMatch(
      /^transfer: signal seed 0: mona accuracy 0\.\d{3}, source probe error 0\.\d{3}/m,
    );
    const { result } = JSON.parse(readFileSync(path("first.json"), "utf8"));
    expect(Object.keys(result).slice(0, 3)).toEqual(["target", "shots", "methods"]);
    expect(result.target).toBe("signal");
    expect(result.shots).toBe(2);
    expect(Object.keys(result.methods)).toEqual(["scratch", "vanilla", "emb", "orca", "mona"]);
    for (const m of Object.values(result.methods)) expect(m).toEqual(methodShape);
    // no stage 1: the gap is the one fine-tuning starts from; the same initial embedder for every method
    const { scratch, vanilla, orca } = result.methods;
    expect(vanilla.gap).toEqual(vanilla.gapBefore);
    expect(orca.gapBefore.mean).toBe(vanilla.gapBefore.mean);
    expect(scratch.gapBefore.mean).toBe(vanilla.gapBefore.mean);
    expect(result.source).toEqual({ accuracy: number, probeError: number });
    expect(result).toMatchObject({ classes: 8, testRows: 2000 });
    // the table: a row per method, the chance level and the source's reference in the notes
    const rows = first.stdout.split("\n");
    expect(rows[0]).toMatch(/^method +target acc +source probe err +discrepancy +gap before +gap after +s$/);
    expect(rows[1]).toMatch(/^scratch +0\.\d{3} ± 0\.000 +0\.\d{3} ± 0\.000/);
    expect(first.stdout).toContain("chance 0.125");

    // the second run reads the pretrained source from the cache: same numbers, the file untouched
    const [cached] = readdirSync(path("cache"));
    expect(cached).toMatch(/^transfer-source-[0-9a-f]+-seed0\.npz$/);
    const written = statSync(path(`cache/${cached}`)).mtimeMs;
    const second = await gapkitWithin(180_000, ...args, "--cache", path("cache"), "--json");
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout).result;
    for (const [name, m] of Object.entries(result.methods) as [string, typeof methodShape][])
      expect({ ...again.methods[name], seconds: 0 }).toEqual({ ...m, seconds: 0 });
    expect(statSync(path(`cache/${cached}`)).mtimeMs).toBe(written);
  }, 400_000);

  it("refuses an unknown method or target, and more shots than it allows (exit 2)", async () => {
    const bad = await gapkit("experiment", "transfer", "--methods", "vanilla,moma");
    expect(isUserError(bad)).toBe(true);
    expect(bad.stderr).toMatch(
      /--methods: expected all, or a comma-separated list of scratch, vanilla, emb, orca, mona; got "moma"/,
    );
    const target = await gapkit("experiment", "transfer", "--target", "audio");
    expect(isUserError(target)).toBe(true);
    const shots = await gapkit("experiment", "transfer", "--shots", "61");
    expect(isUserError(shots)).toBe(true);
    expect(shots.stderr).toMatch(/--shots: expected an integer in \[1, 60\]; got "61"/);
  });

  it.skipIf(!existsSync(FASHION_MNIST_DIR))(
    "runs on Fashion-MNIST (Debian's dataset-fashion-mnist)",
    async () => {
      const r = await gapkitWithin(
        180_000,
        "experiment",
        "transfer",
        "--target",
        "fashion",
        "--methods",
        "vanilla",
        ...SHORT,
        "--json",
      );
      expect(r.code, r.stderr).toBe(0);
      const { result } = JSON.parse(r.stdout);
      expect(result).toMatchObject({ target: "fashion", classes: 10, testRows: 2000 });
      expect(result.methods.vanilla).toEqual(methodShape);
    },
    200_000,
  );
  if (!existsSync(FASHION_MNIST_DIR))
    console.warn(
      `skipped the Fashion-MNIST transfer run: ${FASHION_MNIST_DIR} is absent (apt-get install dataset-fashion-mnist)`,
    );
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseNpz } from "../../src/io/npz.js";
import { gapkit, gapkitWithin, isUserError, scratchDir } from "./run.js";

const number = { mean: expect.any(Number), sd: 0 };
const direction = { r1: number, r5: number };

describe("gapkit experiment albef", () => {
  it("a smoke run: each variant's held-out numbers as mean ± sd, in the issue's --json keys", async () => {
    const path = scratchDir("gapkit-albef-");
    const r = await gapkitWithin(
      180_000,
      "experiment",
      "albef",
      // batches of 512 of the 3,078 training images: the sixth step ends the first epoch
      ...["--steps", "6", "--batch", "512", "--seeds", "1", "--variants", "itc", "--save", path("model")],
      ...["-o", path("result.json")],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^albef: itc seed 0: epoch 1, mean loss \d+\.\d{3}$/m);
    const { result } = JSON.parse(readFileSync(path("result.json"), "utf8"));
    // the table: a row per variant, — where a variant has no ITM or MLM, and chance in the notes
    const rows = r.stdout.split("\n");
    expect(rows[0]).toMatch(/^variant +i→t R@1 +\+ITM +t→i R@1/);
    expect(rows[1]).toMatch(/^itc +0\.\d{3} ± 0\.000 .* — +— /);
    expect(r.stdout).toContain(`chance R@1: i→t ${result.chance.i2t.toFixed(4)}`);
    expect(r.stdout).not.toMatch(/[{}%]/);
    expect(result.chance).toEqual({ i2t: expect.any(Number), t2i: expect.any(Number) });
    expect(result.chance.i2t).toBeGreaterThan(0);
    expect(Object.keys(result.variants)).toEqual(["itc"]);
    const shape = (itm: boolean, mlm: boolean) => ({
      itc: { i2t: direction, t2i: direction },
      reranked: { i2t: direction, t2i: direction },
      itmAccuracy: itm ? number : null,
      mlmAccuracy: mlm ? number : null,
      gap: number,
      cones: { image: number, text: number },
      seconds: number,
    });
    expect(result.variants.itc).toEqual(shape(false, false));
    // without ITM the ranking stays ITC's
    expect(result.variants.itc.reranked).toEqual(result.variants.itc.itc);
    expect(result.heldOut).toEqual({ images: 708, captions: 2124 });
    expect(result.curves.itc).toEqual([1, 2, 3, 4, 5, 6].map((step) => ({ step, loss: expect.any(Number) })));
    // --save: the itc model (a CLIP-mini) by parameter name, with its shape and vocabulary
    const description = JSON.parse(readFileSync(path("model/albef-itc.json"), "utf8"));
    expect(description.config).toMatchObject({ dim: 128, imageDepth: 4, embedDim: 64 });
    expect(description.vocabulary.slice(0, 4)).toEqual(["[PAD]", "[CLS]", "[MASK]", "[UNK]"]);
    expect(description.vocabulary).toHaveLength(description.config.vocabulary);
    const arrays = parseNpz(readFileSync(path("model/albef-itc.npz")), "albef-itc.npz");
    expect(arrays.get("image.cls")?.shape).toEqual([1, 1, 128]);
    expect(arrays.get("text.tokens.weight")?.shape).toEqual([description.config.vocabulary, 128]);
  }, 240_000);

  it("is a user error for an unknown or repeated variant, or a batch that does not divide the queue", async () => {
    for (const args of [
      ["--variants", "itc,mlm"],
      ["--variants", "itc,itc"],
      ["--batch", "7"],
      ["--noisy", "1"],
    ]) {
      const r = await gapkit("experiment", "albef", "--steps", "1", "--seeds", "1", ...args);
      expect(isUserError(r), `${args.join(" ")}: ${r.stderr}`).toBe(true);
    }
  }, 120_000);
});

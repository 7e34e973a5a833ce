import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { readNpyFile, writeNpyFile } from "../../src/io/files.js";
import { parseNpz } from "../../src/io/npz.js";
import { restoreCheckpoint } from "../../src/train/checkpoint.js";
import { embed } from "../../src/train/trainer.js";
import { expectClose } from "../helpers.js";
import { gapkit, isUserError } from "./run.js";

const dir = mkdtempSync(join(tmpdir(), "gapkit-train-"));
const path = (name: string) => join(dir, name);

beforeAll(async () => {
  // 120 pairs of 12-d features: noisy copies of shared latents
  const rng = createRng(5);
  const latent = rng.normalMatrix(120, 12);
  const data = new Float32Array(2 * 120 * 12);
  for (let k = 0; k < latent.data.length; k++) {
    data[k] = latent.data[k] + 0.3 * rng.normal();
    data[latent.data.length + k] = -latent.data[k] + 0.3 * rng.normal();
  }
  await writeNpyFile(path("pairs.npy"), { shape: [2, 120, 12], data });
});

const base = ["train", "--widths", "16,8", "--batch", "32", "--lr", "0.01"];

describe("gapkit train", () => {
  it.each([
    [
      ["--batch", "32", "--epochs", "2"],
      "train: 120 pairs, 96 to fit and 24 held out; batch 32: 3 steps per epoch, 6 steps in 2 epochs\n" +
        "warning: an epoch is only 3 steps (under 10): the towers will barely learn; a smaller --batch or more pairs gives more steps",
    ],
    [
      ["--batch", "8", "--epochs", "1"],
      "train: 120 pairs, 96 to fit and 24 held out; batch 8: 12 steps per epoch, 12 steps in 1 epoch",
    ],
  ])("%j says its split and steps on stderr first", async (args, said) => {
    const r = await gapkit("train", "--widths", "8", path("pairs.npy"), ...args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.startsWith(`${said}\n`), r.stderr).toBe(true);
  });

  it("writes JSONL metrics and a checkpoint that resumes to the same result", async () => {
    const run = await gapkit(
      ...base,
      "--epochs",
      "12",
      path("pairs.npy"),
      "--json",
      "--metrics",
      path("m.jsonl"),
      "--checkpoint",
      path("ck"),
    );
    expect(run.code).toBe(0);
    const history = JSON.parse(run.stdout);
    expect(history).toHaveLength(12);
    expect(
      readFileSync(path("m.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual(history);
    expect(history.at(-1).r1).toBeGreaterThan(6 / 24); // 24 held-out pairs: chance is 1/24
    expect(existsSync(path("ck/state.json")) && existsSync(path("ck/weights.npz"))).toBe(true);
    // resuming with a larger --epochs continues from epoch 13
    const more = await gapkit("train", path("pairs.npy"), "--resume", path("ck"), "--epochs", "14", "--json");
    expect(JSON.parse(more.stdout).map((m: { epoch: number }) => m.epoch)).toEqual([13, 14]);
  });

  it("--export writes both towers as ONNX models that onnxruntime runs at any batch, as the trainer embeds", async () => {
    const run = await gapkit(
      ...base,
      "--epochs",
      "2",
      path("pairs.npy"),
      "--export",
      path("towers"),
      "--checkpoint",
      path("ck2"),
    );
    expect(run.code, run.stderr).toBe(0);
    const description = JSON.parse(readFileSync(path("towers/towers.json"), "utf8"));
    expect(description).toMatchObject({
      kind: "gapkit-towers",
      version: 1,
      towers: {
        a: {
          file: "tower_a.onnx",
          input: "features",
          output: "embedding",
          inputShape: ["batch", 12],
          outputShape: ["batch", 8],
        },
      },
    });
    const state = restoreCheckpoint(
      {
        meta: JSON.parse(readFileSync(path("ck2/state.json"), "utf8")),
        arrays: Object.fromEntries(parseNpz(readFileSync(path("ck2/weights.npz")), "weights.npz")),
      },
      "ck2",
    );
    const pairs = await readNpyFile(path("pairs.npy"));
    for (const side of ["a", "b"] as const) {
      const session = await ort.InferenceSession.create(path(`towers/tower_${side}.onnx`));
      for (const rows of [1, 5, 120]) {
        const start = side === "a" ? 0 : 120 * 12;
        const features = matrix(rows, 12, (pairs.data as Float32Array).slice(start, start + rows * 12));
        const out = await session.run({ features: new ort.Tensor("float32", features.data, [rows, 12]) });
        expect(out.embedding.dims).toEqual([rows, 8]);
        expectClose(out.embedding.data as Float32Array, embed(state, features, side).data, 1e-5);
      }
      await session.release();
    }
  });

  it.each([
    [["--loss", "triplet"], /--loss: expected clip, siglip, supcon or itc/],
    [["--widths", "16,0"], /--widths: expected integers in \[1, 4096\]; got 0/],
    [["--held-out", "1"], /--held-out: expected a fraction in \(0, 1\)/],
    [["--lr", "-1"], /--lr: expected a number in \[1e-9, 1\]; got "-1"/],
    [["--resume", "/nonexistent"], /state\.json: no such file/],
    [["--export", "PAIRS"], /pairs\.npy: expected a folder for the exported towers; got a file/],
  ])("%j exits 2", async (args, message) => {
    const r = await gapkit(
      ...base,
      path("pairs.npy"),
      ...args.map((a) => (a === "PAIRS" ? path("pairs.npy") : a)),
    );
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(message);
  });
});

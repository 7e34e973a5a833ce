import { beforeAll, describe, expect, it } from "vitest";
import { matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { initBackends } from "../../src/node.js";
import { type CaptionedImages, evaluateAlbef, trainAlbef } from "../../src/train/albef-training.js";
import { translateImage } from "../../src/train/autograd/classifier.js";

beforeAll(() => initBackends("ort"));

// 24 images of 3×8×8 in 12 groups of two; the last 4 groups held out; two captions per image
const rng = createRng(2);
const COLOURS = ["red", "green", "blue", "yellow", "black", "white"];
const SHAPES = ["circle", "square"];
const DATA: CaptionedImages = {
  pixels: matrix(
    24,
    192,
    Float32Array.from({ length: 24 * 192 }, () => rng.uniform()),
  ),
  groups: Int32Array.from({ length: 24 }, (_, i) => i >> 1),
  heldOut: Array.from({ length: 24 }, (_, i) => i >= 16),
  flippable: Array.from({ length: 24 }, (_, i) => i % 3 !== 0),
  captions: Array.from({ length: 48 }, (_, k) => {
    const group = k >> 2;
    return {
      text: k % 2 ? `a ${COLOURS[group % 6]} ${SHAPES[group % 2]}` : `${COLOURS[group % 6]} thing`,
      image: k >> 1,
    };
  }),
};
const SHAPE = {
  image: { channels: 3, height: 8, width: 8, patch: 4 },
  dim: 16,
  heads: 2,
  hidden: 32,
  imageDepth: 1,
  textDepth: 1,
  fusionDepth: 1,
  embedDim: 8,
};
const OPTIONS = {
  objective: { itm: true, mlm: true, alpha: 0.4 },
  steps: 6,
  batch: 4,
  lr: 1e-3,
  warmup: 2,
  weightDecay: 0.02,
  queueSize: 8,
  momentum: 0.995,
  noisy: 0.25,
  maxShift: 1,
  seed: 3,
};

describe("translateImage", () => {
  it("moves every channel plane, shifting the fill in, and mirrors first where asked", () => {
    // two channels of 2×3: 1 2 3 / 4 5 6 and their negatives
    const image = () => Float32Array.of(1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6);
    const down = image();
    translateImage(down, [2, 2, 3], 1, -1, { fill: 9 });
    expect(Array.from(down)).toEqual([9, 9, 9, 2, 3, 9, 9, 9, 9, -2, -3, 9]);
    const mirrored = image();
    translateImage(mirrored, [2, 2, 3], 0, 1, { fill: 0, flip: true });
    expect(Array.from(mirrored)).toEqual([0, 3, 2, 0, 6, 5, 0, -3, -2, 0, -6, -5]);
  });
});

describe("training and evaluating ALBEF-mini", () => {
  it("is deterministic for a seed, and its evaluation is in range with the exact chance", async () => {
    const [first, second] = [await trainAlbef(DATA, SHAPE, OPTIONS), await trainAlbef(DATA, SHAPE, OPTIONS)];
    expect(second.training.parameters()).toEqual(first.training.parameters());
    expect(first.config).toMatchObject({ textLength: 4, vocabulary: 4 + 10 });
    const other = await trainAlbef(DATA, SHAPE, { ...OPTIONS, seed: 4 });
    expect(other.training.parameters()["image.cls"]).not.toEqual(first.training.parameters()["image.cls"]);
    const evaluation = await evaluateAlbef(first, DATA, { rerank: 4 });
    expect(await evaluateAlbef(second, DATA, { rerank: 4 })).toEqual(evaluation);
    // 8 held-out images, 16 captions: each image's group has 2 images × 2 captions
    expect(evaluation.chance).toEqual({ i2t: 4 / 16, t2i: 4 / 16 });
    for (const side of [evaluation.itc, evaluation.reranked])
      for (const { r1, r5 } of [side.i2t, side.t2i]) {
        expect(r1).toBeGreaterThanOrEqual(0);
        expect(r5).toBeGreaterThanOrEqual(r1);
        expect(r5).toBeLessThanOrEqual(1);
      }
    for (const x of [evaluation.itmAccuracy, evaluation.mlmAccuracy])
      expect(x !== null && x >= 0 && x <= 1).toBe(true);
    expect(evaluation.gap).toBeGreaterThan(0);
    expect(evaluation.cones.image).toBeLessThanOrEqual(1);
  }, 60_000);

  it("reports each epoch's mean loss, and evaluates only the heads a model trained (no ITM: ITC's ranking)", async () => {
    const objective = { itm: false, mlm: false, alpha: 0.4 };
    const [losses, epochs]: [number[], [number, number][]] = [[], []];
    const trained = await trainAlbef(DATA, SHAPE, {
      ...OPTIONS,
      objective,
      onStep: (_, __, loss) => losses.push(loss),
      onEpoch: (epoch, meanLoss) => epochs.push([epoch, meanLoss]),
    });
    // 16 training images in batches of 4: an epoch is 4 steps, so 6 steps end one
    expect(epochs).toEqual([[1, (losses[0] + losses[1] + losses[2] + losses[3]) / 4]]);
    const evaluation = await evaluateAlbef(trained, DATA, { rerank: 4 });
    expect(evaluation).toMatchObject({ itmAccuracy: null, mlmAccuracy: null });
    expect(evaluation.reranked).toEqual(evaluation.itc);
  });

  it("makes text rows long enough for the most words of a caption, as the tokenizer splits them", async () => {
    // "x-ray, red-hot" is two pieces between spaces but four words
    const captions = DATA.captions.map((c, k) => (k === 0 ? { ...c, text: "x-ray, red-hot" } : c));
    const trained = await trainAlbef({ ...DATA, captions }, SHAPE, { ...OPTIONS, steps: 1, noisy: 0 });
    expect(trained.config.textLength).toBe(5);
  });

  it("refuses a queue that is not a multiple of the batch", async () => {
    await expect(trainAlbef(DATA, SHAPE, { ...OPTIONS, queueSize: 6 })).rejects.toThrow(
      /multiple of the batch 4/,
    );
  });
});

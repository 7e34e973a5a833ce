import { beforeAll, describe, expect, it } from "vitest";
import { matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { initBackends } from "../../src/node.js";
import type { AlbefConfig } from "../../src/train/albef.js";
import { compile } from "../../src/train/autograd/compile.js";
import { grad } from "../../src/train/autograd/grad.js";
import { constant, parameter, type Tensor } from "../../src/train/autograd/tensor.js";
import { causalMasks, cocaCaptions, cocaLoss, initCoca, lastWords, trainCoca } from "../../src/train/coca.js";
import { nextTokenTargets } from "../../src/train/decoder.js";
import { CLS, PAD } from "../../src/train/text-tokens.js";
import { expectNearEager } from "../helpers.js";

beforeAll(() => initBackends("ort"));

const CONFIG: AlbefConfig = {
  image: { channels: 1, height: 8, width: 8, patch: 4 },
  dim: 8,
  heads: 2,
  hidden: 16,
  imageDepth: 1,
  textDepth: 1,
  fusionDepth: 1,
  embedDim: 4,
  vocabulary: 9,
  textLength: 5,
};
const rng = createRng(31);
const ids = Int32Array.from([CLS, 5, 6, PAD, PAD, CLS, 4, 7, 8, 5, CLS, 8, PAD, PAD, PAD]);
const images = Float32Array.from({ length: 3 * 64 }, () => rng.uniform(0, 1));

describe("CoCa-mini's masks", () => {
  it("lets a position see itself and earlier words, never padding; picks each row's last word", () => {
    const masks = causalMasks(ids, 3, 5);
    const sees = (r: number, q: number) => [0, 1, 2, 3, 4].filter((k) => masks[(r * 5 + q) * 5 + k] === 0);
    expect(sees(0, 2)).toEqual([0, 1, 2]);
    expect(sees(0, 4)).toEqual([0, 1, 2]); // padding keys hidden
    expect(sees(1, 4)).toEqual([0, 1, 2, 3, 4]);
    expect(sees(2, 0)).toEqual([0]);
    expect(Array.from(lastWords(ids, 3, 5))).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0]);
  });
});

describe("CoCa-mini's loss", () => {
  const init = initCoca(CONFIG, 5);
  const names = Object.keys(init).sort();
  const batch = [
    { data: images, dims: [3, 64] },
    { data: Float32Array.from(ids), dims: [3, 5] },
    { data: causalMasks(ids, 3, 5), dims: [3, 1, 5, 5] },
    { data: lastWords(ids, 3, 5), dims: [3, 5] },
    { data: nextTokenTargets(ids, 3, { length: 5, vocabulary: 9 }), dims: [3, 4, 9] },
  ];
  const lossOf = (values: (n: string) => ArrayLike<number>) => {
    const p = Object.fromEntries(names.map((n) => [n, parameter(init[n].shape, values(n))]));
    return {
      p,
      loss: cocaLoss(
        p,
        batch.map((x) => constant(x.dims, x.data)),
        CONFIG,
      ),
    };
  };

  it("has no ITM head, and gradients equal to central differences (float64); compiled equals eager", async () => {
    expect(names.some((n) => n.startsWith("itm."))).toBe(false);
    const probes = [
      "image.embed.projection.weight",
      "text.projection.weight",
      "fusion.block0.cross.q.weight",
      "mlm.head.bias",
      "logScale",
    ];
    const { p, loss } = lossOf((n) => init[n].data);
    const analytic = grad(
      loss,
      probes.map((n) => p[n]),
    );
    const h = 1e-6;
    for (const [j, name] of probes.entries())
      for (const k of [0, init[name].data.length - 1]) {
        const at = (delta: number) =>
          (
            lossOf((n) => (n === name ? init[n].data.map((v, m) => (m === k ? v + delta : v)) : init[n].data))
              .loss.value as Float64Array
          )[0];
        expect((analytic[j].value as Float64Array)[k], `${name}[${k}]`).toBeCloseTo(
          (at(h) - at(-h)) / (2 * h),
          7,
        );
      }
    const step = (inputs: Tensor[]) => {
      const q = Object.fromEntries(names.map((n, i) => [n, inputs[batch.length + i]]));
      const value = cocaLoss(q, inputs.slice(0, batch.length), CONFIG);
      return [
        value,
        ...grad(
          value,
          probes.map((n) => q[n]),
        ),
      ];
    };
    const feeds = [
      ...batch,
      ...names.map((n) => ({ data: Float32Array.from(init[n].data), dims: init[n].shape })),
    ];
    const compiled = await compile(step, { requiresGrad: (slot) => slot >= batch.length })(feeds);
    const eager = [loss, ...analytic];
    expectNearEager(compiled, eager, 1e-4);
  });
});

describe("trainCoca and cocaCaptions", () => {
  // three images, each its own caption; one held out
  const data = {
    pixels: matrix(3, 64, images),
    groups: Int32Array.from([0, 1, 2]),
    heldOut: [false, false, true],
    flippable: [false, false, false],
    captions: [
      { text: "red heart", image: 0 },
      { text: "blue cat face", image: 1 },
      { text: "red cat", image: 2 },
    ],
  };
  const options = { steps: 80, batch: 4, lr: 0.01, warmup: 5, weightDecay: 0, maxShift: 0, seed: 2 };
  const { textLength: _, vocabulary: __, ...shape } = CONFIG;

  it("learns the training captions; the same seed gives the same weights and captions", async () => {
    const trained = await trainCoca(data, shape, options);
    const { captions, embeddings } = await cocaCaptions(trained, matrix(2, 64, images.slice(0, 128)));
    const said = captions.map((c) => c.ids.map((id) => trained.vocabulary.tokens[id]).join(" "));
    expect(said).toEqual(["red heart", "blue cat face"]);
    expect(embeddings.rows).toBe(2);
    const again = await trainCoca(data, shape, options);
    expect(again.training.parameters()).toEqual(trained.training.parameters());
    const beam = await cocaCaptions(trained, matrix(2, 64, images.slice(0, 128)), 3);
    expect(beam.captions.map((c) => c.ids.length)).toEqual(captions.map((c) => c.ids.length));
  });
});

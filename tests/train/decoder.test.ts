import { beforeAll, describe, expect, it } from "vitest";
import { matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { initBackends } from "../../src/node.js";
import { compile } from "../../src/train/autograd/compile.js";
import { grad } from "../../src/train/autograd/grad.js";
import { constant, parameter, type Tensor } from "../../src/train/autograd/tensor.js";
import { compiledTraining } from "../../src/train/autograd/training.js";
import {
  beamSearch,
  captionLoss,
  type DecoderConfig,
  decodeCaptions,
  greedyDecode,
  initDecoder,
  type NextTokenScorer,
  nextTokenLogProbs,
  nextTokenTargets,
  trainDecoder,
} from "../../src/train/decoder.js";
import { CLS, PAD } from "../../src/train/text-tokens.js";
import { expectNearEager } from "../helpers.js";

beforeAll(() => initBackends("ort"));

const CONFIG: DecoderConfig = {
  vocabulary: 9,
  length: 5,
  prefix: 2,
  embedDim: 3,
  dim: 4,
  heads: 2,
  depth: 1,
  hidden: 6,
};
const init = initDecoder(CONFIG, 7);
const names = Object.keys(init).sort();
const rng = createRng(29);
const embeddings = Float32Array.from({ length: 2 * 3 }, () => rng.uniform(-1, 1));
// [CLS] w w [PAD] [PAD] and [CLS] w w w w (no end within the row)
const ids = Int32Array.from([CLS, 5, 6, PAD, PAD, CLS, 4, 7, 8, 5]);
const params = (values = (n: string) => init[n].data) =>
  Object.fromEntries(names.map((n) => [n, parameter(init[n].shape, values(n))]));
const logProbsOf = (p: Record<string, Tensor>, rows = ids) =>
  nextTokenLogProbs(p, constant([2, 3], embeddings), constant([2, 5], rows), CONFIG);

describe("the caption decoder (a prefix-conditioned causal language model)", () => {
  it("is causal: a later token changes no earlier position's prediction", () => {
    const before = logProbsOf(params()).value as Float64Array;
    const changed = ids.slice();
    changed[3] = 8; // the first row's token 3 (read by positions ≥ 3)
    const after = logProbsOf(params(), changed).value as Float64Array;
    const perPosition = CONFIG.vocabulary;
    // row 0, positions 0–2 (predicting tokens 1–3) see tokens 0–2 only
    expect(after.subarray(0, 3 * perPosition)).toEqual(before.subarray(0, 3 * perPosition));
    expect(after.subarray(3 * perPosition, 4 * perPosition)).not.toEqual(
      before.subarray(3 * perPosition, 4 * perPosition),
    );
    // row 1 untouched
    expect(after.subarray(4 * perPosition)).toEqual(before.subarray(4 * perPosition));
  });

  it("predicts the words and the first [PAD] (the end), nothing after it", () => {
    const targets = nextTokenTargets(ids, 2, CONFIG);
    const picked = (r: number, t: number) => {
      const at = (r * 4 + t) * CONFIG.vocabulary;
      const row = Array.from(targets.subarray(at, at + CONFIG.vocabulary));
      return row.some((v) => v) ? row.indexOf(1) : -1;
    };
    expect([0, 1, 2, 3].map((t) => picked(0, t))).toEqual([5, 6, PAD, -1]);
    expect([0, 1, 2, 3].map((t) => picked(1, t))).toEqual([4, 7, 8, 5]);
    // the loss is the mean −log p over those seven targets
    const logProbs = logProbsOf(params()).value as Float64Array;
    let total = 0;
    targets.forEach((v, k) => {
      total -= v * logProbs[k];
    });
    const loss = captionLoss(logProbsOf(params()), constant([2, 4, CONFIG.vocabulary], targets));
    expect((loss.value as Float64Array)[0]).toBeCloseTo(total / 7, 12);
  });

  it("has gradients equal to central differences (float64) and compiles to the same loss and gradients", async () => {
    const targets = constant([2, 4, CONFIG.vocabulary], nextTokenTargets(ids, 2, CONFIG));
    const lossAt = (p: Record<string, Tensor>) => captionLoss(logProbsOf(p), targets);
    const p = params();
    const probes = [
      "prefix.mlp1.weight",
      "tokens.weight",
      "positions",
      "block0.attention.q.weight",
      "head.bias",
    ];
    const analytic = grad(
      lossAt(p),
      probes.map((n) => p[n]),
    );
    const h = 1e-6;
    for (const [j, name] of probes.entries())
      for (const k of [0, 3]) {
        const at = (delta: number) =>
          (
            lossAt(
              params((n) =>
                n === name ? init[n].data.map((v, m) => (m === k ? v + delta : v)) : init[n].data,
              ),
            ).value as Float64Array
          )[0];
        const numeric = (at(h) - at(-h)) / (2 * h);
        expect((analytic[j].value as Float64Array)[k], `${name}[${k}]`).toBeCloseTo(numeric, 7);
      }
    const step = (inputs: Tensor[]) => {
      const q = Object.fromEntries(names.map((n, i) => [n, inputs[3 + i]]));
      const loss = captionLoss(nextTokenLogProbs(q, inputs[0], inputs[1], CONFIG), inputs[2]);
      return [
        loss,
        ...grad(
          loss,
          probes.map((n) => q[n]),
        ),
      ];
    };
    const feeds = [
      { data: embeddings, dims: [2, 3] },
      { data: Float32Array.from(ids), dims: [2, 5] },
      { data: nextTokenTargets(ids, 2, CONFIG), dims: [2, 4, CONFIG.vocabulary] },
      ...names.map((n) => ({ data: Float32Array.from(init[n].data), dims: init[n].shape })),
    ];
    const compiled = await compile(step, { requiresGrad: (slot) => slot >= 3 })(feeds);
    const eager = [lossAt(p), ...analytic];
    expectNearEager(compiled, eager, 1e-5);
  });
});

describe("decoding", () => {
  /** A model's scorer: the compiled log-probabilities of rows given the two embeddings, repeated per beam. */
  const scorerOf = async (steps: number): Promise<NextTokenScorer> => {
    const training = compiledTraining({
      init,
      loss: (p, [e, x, y]) => captionLoss(nextTokenLogProbs(p, e, x, CONFIG), y),
    });
    // a few steps towards the two rows, so that the model prefers some captions
    for (let s = 0; s < steps; s++)
      await training.step(
        [
          { data: embeddings, dims: [2, 3] },
          { data: Float32Array.from(ids), dims: [2, 5] },
          { data: nextTokenTargets(ids, 2, CONFIG), dims: [2, 4, CONFIG.vocabulary] },
        ],
        0.05,
      );
    const outputs = (p: Record<string, Tensor>, [e, x]: readonly Tensor[]) => [
      nextTokenLogProbs(p, e, x, CONFIG),
    ];
    return async (rows, n) => {
      const perItem = n / 2;
      const e = Float32Array.from(
        { length: n * 3 },
        (_, k) => embeddings[Math.floor(Math.floor(k / 3) / perItem) * 3 + (k % 3)],
      );
      const [out] = await training.run(outputs, [
        { data: e, dims: [n, 3] },
        { data: Float32Array.from(rows), dims: [n, 5] },
      ]);
      return out;
    };
  };

  it("beam search at width 1 is greedy decoding, and both are deterministic", async () => {
    for (const steps of [0, 40]) {
      const score = await scorerOf(steps);
      const greedy = await greedyDecode(score, 2, CONFIG);
      expect(await beamSearch(score, 2, CONFIG, 1)).toEqual(greedy);
      expect(await greedyDecode(score, 2, CONFIG)).toEqual(greedy);
      if (steps > 0)
        expect(greedy.map((d) => d.ids)).toEqual([
          [5, 6],
          [4, 7, 8, 5],
        ]);
    }
  });

  it("beam search keeps a start that greedy drops when it leads to a likelier caption", async () => {
    // tokens [PAD] = 0, [CLS] = 1, a = 2, b = 3, rows of 3. After [CLS]: a 0.6, b 0.35, [PAD] 0.05; after a:
    // a or b, 0.5 each; after b: [PAD] (the end) surely. Greedy takes a, then a: 0.3; b [PAD] has 0.35.
    const config = { ...CONFIG, vocabulary: 4, length: 3 };
    const following = (token: number) =>
      (token === CLS ? [0.05, 0, 0.6, 0.35] : token === 2 ? [0, 0, 0.5, 0.5] : [1, 0, 0, 0]).map(Math.log);
    const score: NextTokenScorer = async (rows, n) => {
      const out = new Float32Array(n * 2 * 4);
      for (let r = 0; r < n; r++) {
        out.set(following(CLS), r * 8);
        out.set(following(rows[r * 3 + 1]), r * 8 + 4);
      }
      return out;
    };
    const [greedy] = await greedyDecode(score, 1, config);
    expect(greedy.ids).toEqual([2, 2]);
    expect(greedy.logProb).toBeCloseTo(Math.log(0.3), 6);
    const [beam] = await beamSearch(score, 1, config, 2);
    expect(beam.ids).toEqual([3]);
    expect(beam.logProb).toBeCloseTo(Math.log(0.35), 6);
    expect(await beamSearch(score, 1, config, 1)).toEqual([greedy]);
  });
});

describe("trainDecoder and decodeCaptions", () => {
  // three embeddings, each with its caption: [CLS] words [PAD]…
  const captions = Int32Array.from([CLS, 4, 5, PAD, PAD, CLS, 6, 7, 8, PAD, CLS, 5, 4, 4, PAD]);
  const points = matrix(3, 3, Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]));
  const options = { steps: 150, batch: 6, lr: 0.02, warmup: 10, weightDecay: 0, seed: 3 };

  it("learns to say each embedding's caption, greedily and by beam search; the same seed, the same weights", async () => {
    const training = await trainDecoder(points, captions, CONFIG, options);
    const expected = [
      [4, 5],
      [6, 7, 8],
      [5, 4, 4],
    ];
    expect((await decodeCaptions(training, points, CONFIG)).map((d) => d.ids)).toEqual(expected);
    expect((await decodeCaptions(training, points, CONFIG, 3)).map((d) => d.ids)).toEqual(expected);
    const again = await trainDecoder(points, captions, CONFIG, options);
    expect(again.parameters()).toEqual(training.parameters());
    const other = await trainDecoder(points, captions, CONFIG, { ...options, seed: 4, steps: 2 });
    expect(other.parameters()["head.bias"]).not.toEqual(training.parameters()["head.bias"]);
  });

  it("refuses embeddings of another dimension or a missing caption row", async () => {
    await expect(trainDecoder(matrix(3, 2), captions, CONFIG, options)).rejects.toThrow(
      /trainDecoder: expected 3-d embeddings and a row of 5 token ids for each; got 2-d, 15 ids for 3 rows/,
    );
  });
});

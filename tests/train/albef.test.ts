import { beforeAll, describe, expect, it } from "vitest";
import { matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { itcLoss, itmLoss } from "../../src/losses/albef.js";
import { initBackends } from "../../src/node.js";
import {
  type AlbefConfig,
  type AlbefObjective,
  albefLoss,
  albefTeacher,
  fuse,
  imageTokens,
  initAlbef,
  matchLogits,
  mlmLogits,
  textTokens,
  unitFeatures,
} from "../../src/train/albef.js";
import { compile } from "../../src/train/autograd/compile.js";
import { grad } from "../../src/train/autograd/grad.js";
import { size } from "../../src/train/autograd/nd.js";
import { type Params, patchEmbedding } from "../../src/train/autograd/nn.js";
import { add, argmax, logSoftmax } from "../../src/train/autograd/ops.js";
import { constant, parameter, type Shape, type Tensor } from "../../src/train/autograd/tensor.js";

const CONFIG: AlbefConfig = {
  // 2×2 patches, one stem stage of 4 features on the 4×4 grid, its 2×2 neighbourhoods the 4 tokens
  image: { channels: 3, height: 8, width: 8, patch: 2, stem: [4] },
  dim: 8,
  heads: 2,
  hidden: 16,
  imageDepth: 1,
  textDepth: 1,
  fusionDepth: 1,
  embedDim: 4,
  vocabulary: 12,
  textLength: 5,
};
const [B, Q, L, V] = [3, 4, CONFIG.textLength, CONFIG.vocabulary];
const ALL: AlbefObjective = { itm: true, mlm: true, alpha: 0.4 };

const rng = createRng(5);
const uniform = (shape: Shape, lo = -1, hi = 1) =>
  Float64Array.from({ length: size(shape) }, () => rng.uniform(lo, hi));
const unitRows = (rows: number) => {
  const x = uniform([rows, CONFIG.embedDim]);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * CONFIG.embedDim, (r + 1) * CONFIG.embedDim);
    const norm = Math.hypot(...row);
    row.forEach((v, k) => {
      row[k] = v / norm;
    });
  }
  return x;
};

// token rows: [CLS] (1), words 4…11, padding (0) at the end of the second row
const ids = Float64Array.from([1, 4, 5, 6, 7, 1, 8, 9, 0, 0, 1, 10, 11, 4, 5]);
const mask = Float64Array.from(ids, (id) => (id === 0 ? -1e9 : 0));
const masked = Float64Array.from(ids, (id, k) => (k === 2 || k === 13 ? 2 : id));
const maskedAt = [2, 13];
const weights = Float64Array.from({ length: B * L }, (_, k) => (maskedAt.includes(k) ? 0.5 : 0));
const targets = Float64Array.from({ length: B * L }, (_, k) => k * V + (maskedAt.includes(k) ? ids[k] : 0));
const soft = (() => {
  const s = uniform([B * L, V], 0, 1);
  for (let r = 0; r < B * L; r++) {
    const row = s.subarray(r * V, (r + 1) * V);
    const total = row.reduce((x, y) => x + y, 0);
    row.forEach((v, k) => {
      row[k] = v / total;
    });
  }
  return s;
})();

/** The batch's values, in the order batchTensors reads them. */
const BATCH_VALUES: [Shape, Float64Array][] = [
  [[B, 3 * 8 * 8], uniform([B, 3 * 8 * 8], 0, 1)],
  [[B, L], ids],
  [[B, 1, 1, L], mask],
  [[B, CONFIG.embedDim], unitRows(B)],
  [[B, CONFIG.embedDim], unitRows(B)],
  [[Q, CONFIG.embedDim], unitRows(Q)],
  [[Q, CONFIG.embedDim], unitRows(Q)],
  [[B, B], uniform([B, B], -2, 2)],
  [[B, B], uniform([B, B], -2, 2)],
  [[B, L], masked],
  [[B * L], weights],
  [[B * L], targets],
  [[B * L, V], soft],
];

function batchOf(t: readonly Tensor[]) {
  return {
    images: t[0],
    ids: t[1],
    mask: t[2],
    imageMomentum: t[3],
    textMomentum: t[4],
    imageQueue: t[5],
    textQueue: t[6],
    gumbel: [t[7], t[8]] as const,
    mlm: { maskedIds: t[9], weights: t[10], targets: t[11], teacher: t[12] },
  };
}

const init = initAlbef(CONFIG, 3);
const names = Object.keys(init).sort();
const batchConstants = () => batchOf(BATCH_VALUES.map(([shape, values]) => constant(shape, values)));
const paramsOf = (tensors: readonly Tensor[]): Params =>
  Object.fromEntries(names.map((n, k) => [n, tensors[k]]));
const eagerParams = () => names.map((n) => parameter(init[n].shape, init[n].data));
const value = (t: Tensor) => t.value as Float64Array;
const asMatrix = (x: Float64Array, rows: number) => matrix(rows, x.length / rows, Float32Array.from(x));

beforeAll(() => initBackends("ort"));

describe("ALBEF-mini", () => {
  it("its ITC is ALBEF's itcLoss (losses/albef.ts) on the encoders' unit features", () => {
    const p = paramsOf(eagerParams());
    const batch = batchConstants();
    const got = value(albefLoss(p, batch, { itm: false, mlm: false, alpha: 0.4 }, CONFIG))[0];
    const image = value(unitFeatures(p, imageTokens(p, batch.images, CONFIG), "image"));
    const text = value(unitFeatures(p, textTokens(p, batch.ids, batch.mask, CONFIG), "text"));
    const want = itcLoss(asMatrix(image, B), asMatrix(text, B), {
      imageMomentum: asMatrix(BATCH_VALUES[3][1], B),
      textMomentum: asMatrix(BATCH_VALUES[4][1], B),
      imageQueue: asMatrix(BATCH_VALUES[5][1], Q),
      textQueue: asMatrix(BATCH_VALUES[6][1], Q),
      temperature: 0.07,
      alpha: 0.4,
    }).value;
    // the reference reads float32 features: equal to float32 rounding
    expect(Math.abs(got - want) / want).toBeLessThan(1e-6);
  });

  it("adds ITM on hard negatives drawn by Gumbel-argmax and MLM over the masked positions, as written out", () => {
    const p = paramsOf(eagerParams());
    const batch = batchConstants();
    const itc = value(albefLoss(p, batch, { itm: false, mlm: false, alpha: 0.4 }, CONFIG))[0];
    const withItm = value(albefLoss(p, batch, { itm: true, mlm: false, alpha: 0.4 }, CONFIG))[0];
    const all = value(albefLoss(p, batch, ALL, CONFIG))[0];
    // ITM written out: the negatives by hand, the fusion per pair, itmLoss on the logits
    const image = imageTokens(p, batch.images, CONFIG);
    const text = textTokens(p, batch.ids, batch.mask, CONFIG);
    const iu = value(unitFeatures(p, image, "image"));
    const tu = value(unitFeatures(p, text, "text"));
    const scale = Math.exp(init.logScale.data[0]);
    const sim = (i: number, j: number) =>
      scale * iu.subarray(i * 4, i * 4 + 4).reduce((s, v, k) => s + v * tu[j * 4 + k], 0);
    const pick = (k: 0 | 1, i: number) => {
      let best = -1;
      let top = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < B; j++) {
        if (j === i) continue;
        const score = (k === 0 ? sim(i, j) : sim(j, i)) + BATCH_VALUES[7 + k][1][i * B + j];
        if (score > top) [best, top] = [j, score];
      }
      return best;
    };
    const row = (t: Tensor, r: number) => {
      const width = size(t.shape.slice(1));
      return constant([1, ...t.shape.slice(1)], value(t).slice(r * width, (r + 1) * width));
    };
    const logits: number[] = [];
    const pairs = [
      ...Array.from({ length: B }, (_, i) => [i, i]),
      ...Array.from({ length: B }, (_, i) => [i, pick(0, i)]),
      ...Array.from({ length: B }, (_, j) => [pick(1, j), j]),
    ];
    for (const [i, j] of pairs)
      logits.push(...value(matchLogits(p, fuse(p, row(text, j), row(image, i), row(batch.mask, j), CONFIG))));
    const itm = itmLoss(asMatrix(Float64Array.from(logits), 3 * B), [1, 1, 1, 0, 0, 0, 0, 0, 0]).value;
    expect(Math.abs(withItm - itc - itm) / itm).toBeLessThan(1e-6);
    // MLM written out: −(1 − α)·mean log p(target) − α·mean Σ soft·log p over the masked positions
    const logp = value(logSoftmax(mlmLogits(p, batch.mlm.maskedIds, batch.mask, image, CONFIG)));
    let mlm = 0;
    for (const k of maskedAt) {
      mlm -= (0.6 * logp[k * V + ids[k]]) / 2;
      for (let v = 0; v < V; v++) mlm -= (0.4 * soft[k * V + v] * logp[k * V + v]) / 2;
    }
    expect(Math.abs(all - withItm - mlm) / mlm).toBeLessThan(1e-12);
  });

  it("Gumbel-argmax over the other columns draws ALBEF's hard negatives: softmax of the similarities", () => {
    const sims = [0.5, 2, -1, 1];
    const draws = new Float64Array(4);
    const noise = createRng(9);
    const n = 20_000;
    const gumbel = () => -Math.log(-Math.log(1 - noise.uniform()));
    for (let t = 0; t < n; t++) {
      const row = constant(
        [1, 4],
        Float64Array.from(sims, (s, j) => (j === 0 ? -1e9 : s + gumbel())),
      );
      draws[value(argmax(add(row, 0)))[0]]++;
    }
    const others = sims.slice(1).map(Math.exp);
    const total = others.reduce((x, y) => x + y, 0);
    expect(draws[0]).toBe(0);
    for (const [j, w] of others.entries()) expect(Math.abs(draws[j + 1] / n - w / total)).toBeLessThan(0.015);
  });

  // (not the logit scale: ALBEF's ITC targets use it without a gradient, so the loss's derivative in it is
  // not its gradient by design — tests/train/dual-encoder.test.ts checks that one against losses/albef.ts)
  it("embeds images through the patch-merging stem: strided convolutions, LayerNorm + GELU, written out", () => {
    const p = paramsOf(eagerParams());
    const [images] = BATCH_VALUES[0];
    const pixels = BATCH_VALUES[0][1];
    const got = value(patchEmbedding(constant(images, pixels), p, "image.embed", CONFIG.image));
    const at = (name: string) => value(p[name]);
    const [w0, b0, g0, beta0] = ["weight", "bias", "norm.weight", "norm.bias"].map((k) =>
      at(`image.embed.stem0.${k}`),
    );
    const [w1, b1] = [at("image.embed.projection.weight"), at("image.embed.projection.bias")];
    const [g1, beta1, positions] = ["norm.weight", "norm.bias", "positions"].map((k) =>
      at(`image.embed.${k}`),
    );
    const normed = (x: number[], gamma: Float64Array, beta: Float64Array) => {
      const mu = x.reduce((a, b) => a + b, 0) / x.length;
      const variance = x.reduce((a, b) => a + (b - mu) ** 2, 0) / x.length;
      return x.map((v, k) => ((v - mu) / Math.sqrt(variance + 1e-5)) * gamma[k] + beta[k]);
    };
    const geluOf = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    for (let b = 0; b < B; b++) {
      const pixel = (c: number, y: number, x: number) => pixels[b * 192 + c * 64 + y * 8 + x];
      // stage 0: a 2×2 stride-2 convolution (3 → 4 channels) on the 8×8 image, then LayerNorm, GELU
      const cell = (y: number, x: number) => {
        const out = Array.from({ length: 4 }, (_, o) => {
          let total = b0[o];
          for (let c = 0; c < 3; c++)
            for (let dy = 0; dy < 2; dy++)
              for (let dx = 0; dx < 2; dx++)
                total += pixel(c, 2 * y + dy, 2 * x + dx) * w0[(c * 4 + dy * 2 + dx) * 4 + o];
          return total;
        });
        return normed(out, g0, beta0).map(geluOf);
      };
      // tokens: 2×2 neighbourhoods of cells (row-major), projected to 8, LayerNorm, plus positions
      for (let t = 0; t < 4; t++) {
        const [ty, tx] = [t >> 1, t & 1];
        const features = [0, 1, 2, 3].flatMap((n) => cell(2 * ty + (n >> 1), 2 * tx + (n & 1)));
        const projected = Array.from({ length: 8 }, (_, o) =>
          features.reduce((total, f, k) => total + f * w1[k * 8 + o], b1[o]),
        );
        const want = normed(projected, g1, beta1).map((v, o) => v + positions[t * 8 + o]);
        for (let o = 0; o < 8; o++) expect(got[(b * 4 + t) * 8 + o]).toBeCloseTo(want[o], 12);
      }
    }
  });

  it("has the gradients of central finite differences (float64, eager)", () => {
    const params = eagerParams();
    const loss = albefLoss(paramsOf(params), batchConstants(), ALL, CONFIG);
    const grads = grad(loss, params).map((g) => g.value as Float64Array);
    const probes = [
      "image.embed.stem0.weight",
      "image.embed.stem0.norm.bias",
      "image.embed.projection.weight",
      "text.tokens.weight",
      "fusion.block0.cross.k.weight",
      "itm.head.bias",
      "mlm.head.weight",

      "image.block0.mlp1.weight",
    ];
    for (const name of probes) {
      const k = names.indexOf(name);
      for (const at of [0, Math.floor(init[name].data.length / 2)]) {
        const shifted = (h: number) => {
          const values = params.map((t, j) => {
            const data = (t.value as Float64Array).slice();
            if (j === k) data[at] += h;
            return parameter(t.shape, data);
          });
          return value(albefLoss(paramsOf(values), batchConstants(), ALL, CONFIG))[0];
        };
        const h = 1e-5;
        const numeric = (shifted(h) - shifted(-h)) / (2 * h);
        expect(Math.abs(grads[k][at] - numeric), `${name}[${at}]`).toBeLessThan(
          1e-6 * Math.max(1, Math.abs(numeric)),
        );
      }
    }
  });

  it("compiled, gives the eager loss and gradients to float32 rounding, and the teacher's outputs", async () => {
    const inputs = [
      ...BATCH_VALUES.map(([dims, values]) => ({ data: Float32Array.from(values), dims })),
      ...names.map((n) => ({ data: Float32Array.from(init[n].data), dims: init[n].shape })),
    ];
    const first = BATCH_VALUES.length;
    const step = compile(
      (xs) => {
        const loss = albefLoss(paramsOf(xs.slice(first)), batchOf(xs.slice(0, first)), ALL, CONFIG);
        return [loss, ...grad(loss, xs.slice(first))];
      },
      { requiresGrad: (slot) => slot >= first },
    );
    const got = await step(inputs);
    const params = names.map((n, k) => parameter(init[n].shape, inputs[first + k].data));
    const loss = albefLoss(
      paramsOf(params),
      batchOf(inputs.slice(0, first).map((x) => constant(x.dims, x.data))),
      ALL,
      CONFIG,
    );
    const want = [value(loss), ...grad(loss, params).map(value)];
    want.forEach((w, k) => {
      const scale = Math.max(1e-3, ...Array.from(w, Math.abs));
      const worst = Math.max(...Array.from(got[k], (g, j) => Math.abs(g - w[j])));
      expect(worst / scale, k === 0 ? "loss" : names[k - 1]).toBeLessThan(2e-4);
    });
    const teacher = compile((xs) => albefTeacher(paramsOf(xs.slice(4)), xs[0], xs[1], xs[2], CONFIG, xs[3]), {
      requiresGrad: () => false,
    });
    const [imageFeatures, textFeatures, predictions] = await teacher([
      inputs[0],
      inputs[1],
      inputs[2],
      inputs[9],
      ...inputs.slice(first),
    ]);
    expect(imageFeatures).toHaveLength(B * CONFIG.embedDim);
    expect(textFeatures).toHaveLength(B * CONFIG.embedDim);
    for (let r = 0; r < B * L; r++)
      expect(predictions.subarray(r * V, (r + 1) * V).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
  });
});

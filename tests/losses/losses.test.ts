import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { type Matrix, matrix, normalizeRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import {
  createFeatureQueue,
  itcLoss,
  itmHardNegatives,
  itmLoss,
  momentumUpdate,
} from "../../src/losses/albef.js";
import { clipLoss } from "../../src/losses/clip.js";
import { nceLoss } from "../../src/losses/nce.js";
import { contrastivePairLoss } from "../../src/losses/pair.js";
import {
  bilinearScore,
  cosineScore,
  dotScore,
  negativeL1Score,
  negativeSquaredL2Score,
  type ScoreFunction,
} from "../../src/losses/scores.js";
import { siglipLoss } from "../../src/losses/siglip.js";
import { supconLoss } from "../../src/losses/supcon.js";
import { tripletLoss } from "../../src/losses/triplet.js";
import { expectClose, fixture, fromFixture } from "../helpers.js";
import { expectGradient, gridMatrix, numericDerivative } from "./finite-diff.js";

const L = fixture("losses");
const [a, b] = [fromFixture(L.a), fromFixture(L.b)];
const close = (got: number, want: number) =>
  expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));

describe("losses against float64 numpy (the papers' formulas)", () => {
  it("clip: both directions, each one, soft targets", () => {
    for (const direction of ["both", "aToB", "bToA"] as const)
      close(clipLoss(a, b, { direction }).value, L.clip[direction]);
    close(clipLoss(a, b, { targets: Float64Array.from(L.clipSoft.targets) }).value, L.clipSoft.value);
  });

  it("siglip, supcon (L_out, L_in), nce, contrastive pairs, triplets, ALBEF itc and itm", () => {
    close(siglipLoss(a, b).value, L.siglip);
    const z = fromFixture(L.supcon.z);
    close(supconLoss(z, L.supcon.labels, { temperature: 0.1 }).value, L.supcon.out);
    close(supconLoss(z, L.supcon.labels, { temperature: 0.1, form: "in" }).value, L.supcon.in);
    close(supconLoss(z, L.supcon.labels3, { temperature: 0.1 }).value, L.supcon.out3);
    close(supconLoss(z, L.supcon.labels3, { temperature: 0.1, form: "in" }).value, L.supcon.in3);
    const n = L.nce;
    close(nceLoss(n.positive, n.noise, n.logQPositive, n.logQNoise).value, n.value);
    close(contrastivePairLoss(a, b, L.pair.labels, L.pair.margin).value, L.pair.value);
    for (const miner of ["all", "batch-hard", "semi-hard"] as const)
      close(tripletLoss(z, L.triplet.labels, { margin: L.triplet.margin, miner }).value, L.triplet[miner]);
    const itc = L.itc;
    const options = {
      imageMomentum: fromFixture(itc.imageMomentum),
      textMomentum: fromFixture(itc.textMomentum),
      imageQueue: fromFixture(itc.imageQueue),
      textQueue: fromFixture(itc.textQueue),
    };
    close(itcLoss(a, b, options).value, itc.value);
    close(itmLoss(fromFixture(L.itm.logits), L.itm.labels).value, L.itm.value);
  });

  it("score functions", () => {
    const w = Float64Array.from(L.scores.w);
    const cases: [ScoreFunction, number[]][] = [
      [dotScore, L.scores.dot],
      [cosineScore, L.scores.cosine],
      [negativeL1Score, L.scores.negativeL1],
      [negativeSquaredL2Score, L.scores.negativeSquaredL2],
      [bilinearScore(w, a.cols, b.cols), L.scores.bilinear],
    ];
    for (const [score, want] of cases) expectClose(score.scores(a, b), want, 1e-12);
  });
});

/** Sums ∂L/∂S · S for a fixed random weighting dS, so a score's backward can be checked by finite differences. */
function weightedScore(score: ScoreFunction, dS: Float64Array) {
  return (x: Matrix, y: Matrix) => score.scores(x, y).reduce((s, v, k) => s + v * dS[k], 0);
}

describe("gradients against central finite differences (float64, relative error ≤ 1e-6)", () => {
  const x = gridMatrix(5, 4, 21);
  const y = gridMatrix(5, 4, 22);

  it("score functions, including ∂/∂W of the bilinear score", () => {
    const rng = createRng(3);
    const dS = Float64Array.from({ length: 25 }, () => rng.normal());
    const w = Float64Array.from({ length: 16 }, () => rng.int(256) / 128 - 1);
    for (const score of [dotScore, cosineScore, negativeSquaredL2Score, bilinearScore(w, 4, 4)]) {
      const f = weightedScore(score, dS);
      const g = score.backward(x, y, dS);
      expectGradient((m) => f(m, y), x, g.gradX);
      expectGradient((m) => f(x, m), y, g.gradY);
    }
    // ∂/∂W of xᵀWy, on W itself
    const g = bilinearScore(w, 4, 4).backward(x, y, dS).gradW!;
    const wm = matrix(4, 4, Float32Array.from(w));
    expectGradient((m) => weightedScore(bilinearScore(Float64Array.from(m.data), 4, 4), dS)(x, y), wm, g);
    // −L1: away from ties (grid values differ), its subgradient is the gradient
    const l1 = weightedScore(negativeL1Score, dS);
    expectGradient((m) => l1(m, y), x, negativeL1Score.backward(x, y, dS).gradX);
  });

  it("clip with a non-dot score (cosine) and its log scale", () => {
    const options = { score: cosineScore, logScale: 1.2 };
    const r = clipLoss(x, y, options);
    expectGradient((m) => clipLoss(m, y, options).value, x, r.gradA.data);
    expectGradient((m) => clipLoss(x, m, options).value, y, r.gradB.data);
  });

  it("siglip: embeddings, log scale and bias", () => {
    const options = { logScale: 0.7, bias: -1.5 };
    const r = siglipLoss(x, y, options);
    expectGradient((m) => siglipLoss(m, y, options).value, x, r.gradA.data);
    expectGradient((m) => siglipLoss(x, m, options).value, y, r.gradB.data);
    expect(r.gradLogScale).toBeCloseTo(
      numericDerivative((t) => siglipLoss(x, y, { ...options, logScale: t }).value, 0.7),
      8,
    );
    expect(r.gradBias).toBeCloseTo(
      numericDerivative((c) => siglipLoss(x, y, { ...options, bias: c }).value, -1.5),
      8,
    );
  });

  it("supcon L_out and L_in", () => {
    const z = gridMatrix(8, 4, 23);
    const labels = [0, 1, 2, 0, 1, 2, 0, 1];
    for (const form of ["out", "in"] as const) {
      const options = { temperature: 0.5, form };
      expectGradient(
        (m) => supconLoss(m, labels, options).value,
        z,
        supconLoss(z, labels, options).grad.data,
      );
    }
  });

  it("nce with respect to the scores", () => {
    const pos = [0.3, -1.2, 0.8];
    const noise = [0.1, -0.4, 1.1, 0.5, -2, 0.2];
    const lqp = [-1, -2, -0.5];
    const lqn = [-1.5, -1, -2.5, -0.7, -1.1, -3];
    const r = nceLoss(pos, noise, lqp, lqn);
    for (const i of pos.keys())
      expect(r.gradPositive[i]).toBeCloseTo(
        numericDerivative((v) => nceLoss(pos.with(i, v), noise, lqp, lqn).value, pos[i]),
        8,
      );
    for (const j of noise.keys())
      expect(r.gradNoise[j]).toBeCloseTo(
        numericDerivative((v) => nceLoss(pos, noise.with(j, v), lqp, lqn).value, noise[j]),
        8,
      );
  });

  it("contrastive pairs and triplets (away from the hinge's kink)", () => {
    const labels = [1, 0, 1, 0, 0];
    const r = contrastivePairLoss(x, y, labels, 2);
    expectGradient((m) => contrastivePairLoss(m, y, labels, 2).value, x, r.gradX.data);
    expectGradient((m) => contrastivePairLoss(x, m, labels, 2).value, y, r.gradY.data);
    const z = gridMatrix(8, 4, 24);
    const classes = [0, 0, 1, 1, 2, 2, 0, 1];
    for (const miner of ["all", "batch-hard"] as const) {
      const t = tripletLoss(z, classes, { margin: 0.5, miner });
      // hold the mined triplets fixed: the miner's choice is piecewise constant
      expectGradient((m) => tripletLoss(m, classes, { margin: 0.5, miner }).value, z, t.grad.data, 1e-5);
    }
  });

  it("ALBEF itc: online features and temperature", () => {
    const [im, tm, qa, qb] = [
      gridMatrix(5, 4, 25),
      gridMatrix(5, 4, 26),
      gridMatrix(2, 4, 27),
      gridMatrix(2, 4, 28),
    ];
    const options = { imageMomentum: im, textMomentum: tm, imageQueue: qa, textQueue: qb, temperature: 0.5 };
    const r = itcLoss(x, y, options);
    expectGradient((m) => itcLoss(m, y, options).value, x, r.gradImage.data);
    expectGradient((m) => itcLoss(x, m, options).value, y, r.gradText.data);
    // the distillation targets are a fixed teacher (no gradient through them, as in ALBEF): check ∂/∂τ without them
    const plain = { ...options, alpha: 0 };
    expect(itcLoss(x, y, plain).gradTemperature).toBeCloseTo(
      numericDerivative((t) => itcLoss(x, y, { ...plain, temperature: t }).value, 0.5),
      7,
    );
    const logits = gridMatrix(4, 2, 29);
    expectGradient((m) => itmLoss(m, [1, 0, 0, 1]).value, logits, itmLoss(logits, [1, 0, 0, 1]).grad.data);
  });
});

describe("loss properties", () => {
  it("losses are ≥ 0 and finite at τ = 0.001 in float32 inputs (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 10 }), fc.integer({ min: 1, max: 6 }), fc.nat(), (n, d, seed) => {
        const rng = createRng(seed);
        const [p, q] = [normalizeRows(rng.normalMatrix(n, d)), normalizeRows(rng.normalMatrix(n, d))];
        const labels = Array.from({ length: n }, (_, i) => i % 2);
        const values = [
          clipLoss(p, q, { logScale: Math.log(1000), maxScale: Number.POSITIVE_INFINITY }).value,
          siglipLoss(p, q, { logScale: Math.log(1000) }).value,
          supconLoss(p, labels, { temperature: 0.001 }).value,
          tripletLoss(p, labels).value,
          contrastivePairLoss(p, q, labels).value,
          itcLoss(p, q, { imageMomentum: p, textMomentum: q, temperature: 0.001 }).value,
        ];
        for (const v of values) {
          expect(Number.isFinite(v)).toBe(true);
          expect(v).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it("SupCon with two views per sample and identity labels is the InfoNCE (NT-Xent) loss", () => {
    const rng = createRng(5);
    const n = 6;
    const [p, q] = [normalizeRows(rng.normalMatrix(n, 4)), normalizeRows(rng.normalMatrix(n, 4))];
    const z = matrix(2 * n, 4);
    z.data.set(p.data);
    z.data.set(q.data, p.data.length);
    const labels = [...Array(n).keys(), ...Array(n).keys()];
    // NT-Xent: each view against its partner, the other 2N − 2 views as negatives
    const tau = 0.2;
    let ntXent = 0;
    for (let i = 0; i < 2 * n; i++) {
      const partner = (i + n) % (2 * n);
      const sim = (j: number) =>
        Array.from({ length: 4 }, (_, k) => z.data[i * 4 + k] * z.data[j * 4 + k]).reduce((s, v) => s + v) /
        tau;
      let denom = 0;
      for (let j = 0; j < 2 * n; j++) if (j !== i) denom += Math.exp(sim(j));
      ntXent -= sim(partner) - Math.log(denom);
    }
    expect(supconLoss(z, labels, { temperature: tau }).value).toBeCloseTo(ntXent / (2 * n), 10);
    expect(supconLoss(z, labels, { temperature: tau, form: "in" }).value).toBeCloseTo(ntXent / (2 * n), 10);
  });

  it("ALBEF pieces: the queue keeps the newest rows, momentum updates, seeded hard negatives never pick the positive", () => {
    const queue = createFeatureQueue(3, 2);
    queue.enqueue(matrix(2, 2, Float32Array.from([1, 1, 2, 2])));
    queue.enqueue(matrix(2, 2, Float32Array.from([3, 3, 4, 4])));
    expect(Array.from(queue.contents().data)).toEqual([2, 2, 3, 3, 4, 4]);
    expect(Array.from(queue.dequeue(1).data)).toEqual([2, 2]);
    expect(queue.rows).toBe(2);
    const theta = [Float32Array.from([1, 2])];
    const thetaM = [Float32Array.from([0, 0])];
    momentumUpdate(theta, thetaM, 0.5);
    expect(Array.from(thetaM[0])).toEqual([0.5, 1]);
    const sims = Float64Array.from({ length: 16 }, (_, k) => Math.sin(k));
    const negatives = itmHardNegatives(sims, 4, 7);
    expect(Array.from(negatives)).toEqual(Array.from(itmHardNegatives(sims, 4, 7)));
    for (const [i, j] of negatives.entries()) expect(j).not.toBe(i);
    expect(() => itmHardNegatives(sims, 3, 0)).toThrow(InputError);
  });

  it("ITM hard negatives follow ALBEF's renormalised softmax by default and BLIP's softmax + 1e-4 on request", () => {
    // row 0 is the issue's (the positive dominates); row 1's softmax underflows to 0 off the positive
    const sims = Float64Array.from([10, 0, -8, -8, 0, 900, 3, 0, 1, 2, 3, 4, 0.5, -1, 2, 0]);
    const n = 4;
    const softmax = (row: number[]) => {
      const max = Math.max(...row);
      const e = row.map((v) => Math.exp(v - max));
      const total = e.reduce((x, y) => x + y);
      return e.map((v) => v / total);
    };
    const normalised = (w: number[]) => w.map((v) => v / w.reduce((x, y) => x + y));
    const rows = Array.from({ length: n }, (_, i) => Array.from(sims.subarray(i * n, (i + 1) * n)));
    // ALBEF: softmax(sim_i) with the positive zeroed, renormalised (torch.multinomial): a softmax of the others
    const albef = rows.map((row, i) => {
      const others = softmax(row.filter((_, j) => j !== i));
      return row.map((_, j) => (j === i ? 0 : others[j < i ? j : j - 1]));
    });
    const blip = rows.map((row, i) => normalised(softmax(row).map((p, j) => (j === i ? 0 : p + 1e-4))));
    expect(albef[0][1]).toBeCloseTo(0.9993, 4);
    expect(blip[0][1]).toBeCloseTo(0.42, 2);
    const draws = 40_000;
    for (const [sampler, want] of [
      [undefined, albef],
      ["blip", blip],
    ] as const) {
      const counts = rows.map(() => new Float64Array(n));
      for (let seed = 0; seed < draws; seed++)
        for (const [i, j] of itmHardNegatives(sims, n, seed, sampler ? { sampler } : {}).entries())
          counts[i][j]++;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const p = want[i][j];
          const standardError = Math.sqrt((p * (1 - p)) / draws);
          expect(
            Math.abs(counts[i][j] / draws - p),
            `${sampler ?? "albef"} row ${i} column ${j}`,
          ).toBeLessThanOrEqual(5 * standardError);
        }
    }
    expect(() => itmHardNegatives(sims, n, 0, { sampler: "nope" as "blip" })).toThrow(InputError);
    expect(() => itmHardNegatives(Float64Array.from([0, Number.NaN, 1, 0]), 2, 0)).toThrow(InputError);
  });
});

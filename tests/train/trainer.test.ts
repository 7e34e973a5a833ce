import { describe, expect, it } from "vitest";
import { type Matrix, matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { parseNpz, serializeNpz } from "../../src/io/npz.js";
import { checkpointOf, restoreCheckpoint } from "../../src/train/checkpoint.js";
import { clipStepOnBackend } from "../../src/train/fast-clip.js";
import { clipLossVar, linear } from "../../src/train/layers.js";
import { exp, grad, normalizeRowsVar, relu, variable } from "../../src/train/tape.js";
import {
  DEFAULT_TRAIN_CONFIG,
  type EpochMetrics,
  initTraining,
  parameters,
  train,
} from "../../src/train/trainer.js";
import { expectClose } from "../helpers.js";

/** Paired features: two noisy linear views of shared latents (so pairs are learnable). */
function pairedFeatures(n: number, d: number, seed: number): { a: Matrix; b: Matrix } {
  const rng = createRng(seed);
  const latent = rng.normalMatrix(n, 8);
  const [pa, pb] = [rng.normalMatrix(8, d), rng.normalMatrix(8, d)];
  const view = (p: Matrix) => {
    const out = matrix(n, d);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < 8; k++) s += latent.data[i * 8 + k] * p.data[k * d + j];
        out.data[i * d + j] = s + 0.5 * rng.normal();
      }
    return out;
  };
  return { a: view(pa), b: view(pb) };
}

const config = {
  ...DEFAULT_TRAIN_CONFIG,
  widths: [32, 16],
  epochs: 6,
  batch: 32,
  lr: 3e-3,
  warmup: 5,
  heldOut: 0.25,
};

describe("dual-encoder training", () => {
  const { a, b } = pairedFeatures(200, 24, 1);

  it("learns: held-out R@1 far above chance (1/50), loss falls; deterministic to the last bit", async () => {
    const history = await train(a, b, initTraining(config, 24));
    expect(history.at(-1)!.r1).toBeGreaterThan(10 * (1 / 50));
    expect(history.at(-1)!.loss).toBeLessThan(history[0].loss);
    expect(await train(a, b, initTraining(config, 24))).toEqual(history);
  });

  it("siglip (with its learnable bias) and supcon train too", async () => {
    const siglip = await train(a, b, initTraining({ ...config, loss: "siglip", temperature: 0.1 }, 24));
    expect(siglip.at(-1)!.r1).toBeGreaterThan(5 * (1 / 50));
    const supcon = await train(a, b, initTraining({ ...config, loss: "supcon", temperature: 0.1 }, 24));
    expect(supcon.at(-1)!.r1).toBeGreaterThan(5 * (1 / 50));
  });

  it("resumes exactly from a checkpoint written through .npz and JSON", async () => {
    let saved: { meta: string; npz: Uint8Array } | undefined;
    const straight = await train(a, b, initTraining(config, 24), {
      onEpoch: (m, state) => {
        if (m.epoch !== 3) return;
        const c = checkpointOf(state);
        saved = { meta: JSON.stringify(c.meta), npz: serializeNpz(c.arrays) };
      },
    });
    const arrays = Object.fromEntries(parseNpz(saved!.npz, "ckpt.npz"));
    const rest: EpochMetrics[] = await train(
      a,
      b,
      restoreCheckpoint({ meta: JSON.parse(saved!.meta), arrays }, "ckpt"),
    );
    expect(rest).toEqual(straight.slice(3));
    expect(() => restoreCheckpoint({ meta: JSON.parse(saved!.meta), arrays: {} }, "ckpt")).toThrow(
      /ckpt: expected an array named a\.0\.w/,
    );
  });

  it("itc (ALBEF): momentum towers trail the online ones, the queue fills, it learns and resumes exactly", async () => {
    const itc = { ...config, loss: "itc" as const, queueSize: 64, temperature: 0.1 };
    let saved: { meta: string; npz: Uint8Array } | undefined;
    const state = initTraining(itc, 24);
    const history = await train(a, b, state, {
      onEpoch: (m, s) => {
        if (m.epoch === 2)
          saved = { meta: JSON.stringify(checkpointOf(s).meta), npz: serializeNpz(checkpointOf(s).arrays) };
      },
    });
    expect(history.at(-1)!.r1).toBeGreaterThan(5 * (1 / 50));
    expect(state.queues!.a.length).toBe(64 * 16);
    expect(state.momentumTowers!.a[0].w.value).not.toEqual(state.towers.a[0].w.value);
    const arrays = Object.fromEntries(parseNpz(saved!.npz, "ckpt.npz"));
    expect(await train(a, b, restoreCheckpoint({ meta: JSON.parse(saved!.meta), arrays }, "ckpt"))).toEqual(
      history.slice(2),
    );
  });

  it("a fixed temperature stays fixed", async () => {
    const history = await train(
      a,
      b,
      initTraining({ ...config, epochs: 2, fixedTemperature: true, temperature: 0.05 }, 24),
    );
    for (const m of history) expect(m.temperature).toBeCloseTo(0.05, 12);
  });
});

describe("clipStepOnBackend", () => {
  it("gives the float64 tape's loss and gradients to float32 rounding", async () => {
    const { a, b } = pairedFeatures(40, 10, 9);
    const state = initTraining({ ...config, widths: [12, 6] }, 10);
    const params = parameters(state);
    const toVar = (m: Matrix) => variable(m.rows, m.cols, m.data);
    const exact = clipLossVar(
      normalizeRowsVar(linear(relu(linear(toVar(a), state.towers.a[0])), state.towers.a[1])),
      normalizeRowsVar(linear(relu(linear(toVar(b), state.towers.b[0])), state.towers.b[1])),
      exp(state.logScale),
    );
    const exactGrads = grad(exact, params);
    const fast = await clipStepOnBackend(state, a, b);
    expect(fast.loss).toBeCloseTo(exact.value[0], 5);
    expect(fast.grads).toHaveLength(exactGrads.length);
    for (const [i, g] of exactGrads.entries()) expectClose(fast.grads[i].value, g.value, 1e-5);
  });
});

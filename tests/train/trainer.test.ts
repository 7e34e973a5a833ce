import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { getBackend, registerBackend, useBackend } from "../../src/core/gemm/index.js";
import { createOrtBackend, type OrtModule } from "../../src/core/gemm/ort.js";
import { type Matrix, matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { parseNpz, serializeNpz } from "../../src/io/npz.js";
import { checkpointOf, restoreCheckpoint } from "../../src/train/checkpoint.js";
import { clipStepOnBackend } from "../../src/train/fast-clip.js";
import { fusedClipTraining } from "../../src/train/fused-clip.js";
import { clipLossVar, linear } from "../../src/train/layers.js";
import { adam } from "../../src/train/optim.js";
import { exp, grad, normalizeRowsVar, relu, type Var, variable } from "../../src/train/tape.js";
import {
  DEFAULT_TRAIN_CONFIG,
  type EpochMetrics,
  embed,
  initTraining,
  parameters,
  type TrainState,
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

  it.each([
    ["clip", 0.005, 0.01],
    ["supcon", 0.005, 0.01],
    ["itc", 0.0002, 0.001],
  ] as const)(
    "%s: a temperature below the clamp's bound moves after the first epoch (clamped after each step, not in the loss)",
    async (loss, temperature, bound) => {
      const history = await train(
        a,
        b,
        initTraining({ ...config, loss, temperature, epochs: 3, lr: 0.01, queueSize: 64 }, 24),
      );
      for (const m of history) expect(m.temperature).toBeGreaterThanOrEqual(bound * (1 - 1e-6));
      expect(history[1].temperature).not.toBe(history[0].temperature);
      expect(history[2].temperature).not.toBe(history[1].temperature);
    },
  );

  it("a fixed temperature stays fixed", async () => {
    const history = await train(
      a,
      b,
      initTraining({ ...config, epochs: 2, fixedTemperature: true, temperature: 0.05 }, 24),
    );
    for (const m of history) expect(m.temperature).toBeCloseTo(0.05, 12);
  });
});

/** The float64 tape's CLIP loss and gradients of `state`'s towers (up to three layers) on (a, b). */
function tapeStep(state: TrainState, a: Matrix, b: Matrix) {
  const toVar = (m: Matrix) => variable(m.rows, m.cols, m.data);
  const tower = (x: Matrix, layers: TrainState["towers"]["a"]) =>
    normalizeRowsVar(
      layers.reduce((h: Var, layer, i) => (i === 0 ? linear(h, layer) : linear(relu(h), layer)), toVar(x)),
    );
  const loss = clipLossVar(tower(a, state.towers.a), tower(b, state.towers.b), exp(state.logScale));
  return { loss: loss.value[0], grads: grad(loss, parameters(state)) };
}

describe("clipStepOnBackend", () => {
  it("gives the float64 tape's loss and gradients to float32 rounding", async () => {
    const { a, b } = pairedFeatures(40, 10, 9);
    const state = initTraining({ ...config, widths: [12, 6] }, 10);
    const exact = tapeStep(state, a, b);
    const fast = await clipStepOnBackend(state, a, b);
    expect(fast.loss).toBeCloseTo(exact.loss, 5);
    expect(fast.grads).toHaveLength(exact.grads.length);
    for (const [i, g] of exact.grads.entries()) expectClose(fast.grads[i].value, g.value, 1e-5);
  });
});

describe("fusedClipTraining", () => {
  const ortBackend = createOrtBackend(ort as unknown as OrtModule, 2);
  afterAll(() => ortBackend.dispose?.());

  it.each([
    ["two layers", { widths: [12, 6] }],
    ["one layer, tower B frozen", { widths: [7], freezeB: true }],
    ["three layers, fixed temperature", { widths: [16, 12, 6], fixedTemperature: true }],
    ["a scale above open_clip's bound of 100 (t has its gradient)", { widths: [12, 6], temperature: 0.005 }],
  ])(
    "its graph gives the float64 tape's loss and gradients to float32 rounding: %s",
    async (_, overrides) => {
      const { a, b } = pairedFeatures(40, 10, 9);
      const state = initTraining({ ...config, ...overrides }, 10);
      const params = parameters(state);
      const before = params.map((p) => Float64Array.from(Float32Array.from(p.value))); // trained in float32
      const exact = tapeStep(state, a, b);
      const fused = fusedClipTraining(state, params, 0, ortBackend);
      // at lr 0 nothing moves, and Adam's first moment after one step from zero is (1 − β1)·gradient
      expectClose([(await fused?.step(a, b, 0)) ?? Number.NaN], [exact.loss], 1e-6);
      fused?.sync();
      expect(state.optimizer.step).toBe(1);
      for (const [i, g] of exact.grads.entries()) {
        // t alone moves at lr 0: back into open_clip's [0, ln 100] after the step
        if (params[i] === state.logScale)
          expect(params[i].value[0]).toBe(Math.fround(Math.min(before[i][0], Math.log(100))));
        else expect(params[i].value).toEqual(before[i]);
        expectClose(
          state.optimizer.buffers[i][0].map((m) => m / 0.1),
          g.value,
          1e-5,
        );
      }
    },
  );

  it("embeds through a tower as the float64 tape does, to float32 rounding", async () => {
    const { a, b } = pairedFeatures(40, 10, 9);
    const state = initTraining({ ...config, widths: [12, 6] }, 10);
    const fused = fusedClipTraining(state, parameters(state), 0, ortBackend);
    await fused?.step(a, b, 0.01); // the towers move off their initial weights
    fused?.sync();
    for (const [side, rows] of [
      ["a", a],
      ["b", b],
    ] as const) {
      const viaGraph = await fused?.embed(rows, side);
      expect(viaGraph?.rows).toBe(40);
      expectClose(viaGraph!.data, embed(state, rows, side).data, 1e-5);
    }
  });

  it("takes the AdamW step optim.ts takes, to float32 rounding", async () => {
    const { a, b } = pairedFeatures(40, 10, 9);
    const [viaGraph, viaJs] = [0, 1].map(() =>
      initTraining({ ...config, widths: [12, 6], weightDecay: 0.1 }, 10),
    );
    const fused = fusedClipTraining(viaGraph, parameters(viaGraph), 0.1, ortBackend);
    for (let k = 0; k < 3; k++) {
      await fused?.step(a, b, 0.01);
      const params = parameters(viaJs);
      adam({ weightDecay: 0.1, decoupledWeightDecay: true }, viaJs.optimizer).step(
        params,
        tapeStep(viaJs, a, b).grads,
        0.01,
      );
    }
    fused?.sync();
    for (const [i, p] of parameters(viaJs).entries())
      expectClose(parameters(viaGraph)[i].value, p.value, 1e-4);
  });

  it("trains on onnxruntime: held-out R@1 far above chance, deterministic to the last bit", async () => {
    const { a, b } = pairedFeatures(200, 24, 1);
    registerBackend(ortBackend);
    useBackend("ort");
    try {
      const history = await train(a, b, initTraining(config, 24));
      expect(history.at(-1)!.r1).toBeGreaterThan(10 * (1 / 50));
      expect(history.at(-1)!.loss).toBeLessThan(history[0].loss);
      expect(await train(a, b, initTraining(config, 24))).toEqual(history);
    } finally {
      useBackend("js");
    }
  });

  it("is unavailable where the backend runs no ONNX graphs", () => {
    const state = initTraining({ ...config, widths: [6] }, 10);
    expect(fusedClipTraining(state, parameters(state), 0, getBackend("js"))).toBeUndefined();
  });
});

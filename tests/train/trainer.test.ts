import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { registerBackend, useBackend } from "../../src/core/gemm/index.js";
import { createOrtBackend, type OrtModule } from "../../src/core/gemm/ort.js";
import { type Matrix, matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { parseNpz, serializeNpz } from "../../src/io/npz.js";
import { checkpointOf, restoreCheckpoint } from "../../src/train/checkpoint.js";
import {
  DEFAULT_TRAIN_CONFIG,
  type EpochMetrics,
  initTraining,
  train,
  trainedParameters,
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
    expect(state.momentum!["a.0.weight"]).not.toEqual(state.params["a.0.weight"]);
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

/** Runs `f` with onnxruntime as the gemm backend (train compiles its steps there), then js again. */
async function onOrt<T>(f: () => Promise<T>): Promise<T> {
  registerBackend(ortBackend);
  useBackend("ort");
  try {
    return await f();
  } finally {
    useBackend("js");
  }
}

const ortBackend = createOrtBackend(ort as unknown as OrtModule, 2);
afterAll(() => ortBackend.dispose?.());

describe("training compiled on onnxruntime", () => {
  it.each([
    ["clip, two layers", { widths: [12, 6] }],
    ["clip, one layer, tower B frozen", { widths: [7], freezeB: true }],
    ["clip, three layers, fixed temperature", { widths: [16, 12, 6], fixedTemperature: true }],
    [
      "clip, a scale above open_clip's bound of 100 (t has its gradient)",
      { widths: [12, 6], temperature: 0.005 },
    ],
    ["siglip", { widths: [12, 6], loss: "siglip" as const }],
    ["supcon", { widths: [12, 6], loss: "supcon" as const }],
    ["itc", { widths: [12, 6], loss: "itc" as const, queueSize: 64 }],
  ])("follows the float64 eager path to float32 rounding: %s", async (_, overrides) => {
    const { a, b } = pairedFeatures(80, 10, 9);
    const c = { ...config, ...overrides, batch: 16, epochs: 2, heldOut: 0.2 };
    const eager = initTraining(c, 10);
    const eagerHistory = await train(a, b, eager);
    const compiled = initTraining(c, 10);
    const compiledHistory = await onOrt(() => train(a, b, compiled));
    for (const [k, m] of compiledHistory.entries())
      expectClose(
        [m.loss, m.temperature, m.gap],
        [eagerHistory[k].loss, eagerHistory[k].temperature, eagerHistory[k].gap],
        1e-4,
      );
    for (const [name, value] of Object.entries(eager.params)) expectClose(compiled.params[name], value, 1e-3);
    expect(Object.keys(compiled.optimizer.moments).sort()).toEqual(trainedParameters(compiled).sort());
  });

  it("learns: held-out R@1 far above chance, deterministic to the last bit", async () => {
    const { a, b } = pairedFeatures(200, 24, 1);
    const history = await onOrt(() => train(a, b, initTraining(config, 24)));
    expect(history.at(-1)!.r1).toBeGreaterThan(10 * (1 / 50));
    expect(history.at(-1)!.loss).toBeLessThan(history[0].loss);
    expect(await onOrt(() => train(a, b, initTraining(config, 24)))).toEqual(history);
  });

  it("resumes exactly from a checkpoint (itc: momentum towers and queues too)", async () => {
    const { a, b } = pairedFeatures(200, 24, 1);
    for (const c of [config, { ...config, loss: "itc" as const, queueSize: 64, temperature: 0.1 }]) {
      let saved: { meta: string; npz: Uint8Array } | undefined;
      const straight = await onOrt(() =>
        train(a, b, initTraining(c, 24), {
          onEpoch: (m, state) => {
            if (m.epoch === 3)
              saved = {
                meta: JSON.stringify(checkpointOf(state).meta),
                npz: serializeNpz(checkpointOf(state).arrays),
              };
          },
        }),
      );
      const arrays = Object.fromEntries(parseNpz(saved!.npz, "ckpt.npz"));
      const state = restoreCheckpoint({ meta: JSON.parse(saved!.meta), arrays }, "ckpt");
      expect(await onOrt(() => train(a, b, state))).toEqual(straight.slice(3));
    }
  });
});

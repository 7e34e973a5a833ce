import { beforeAll, describe, expect, it } from "vitest";
import { createRng } from "../../src/core/rng.js";
import { initBackends } from "../../src/node.js";
import { grad } from "../../src/train/autograd/grad.js";
import {
  crossEntropy,
  initLinear,
  linear,
  type ParamInit,
  type Params,
} from "../../src/train/autograd/nn.js";
import { tanh } from "../../src/train/autograd/ops.js";
import { constant, parameter, type Tensor } from "../../src/train/autograd/tensor.js";
import {
  compiledTraining,
  dropoutMasks,
  maskNoise,
  parametersFromNpz,
  parametersToNpz,
  type TrainableModel,
} from "../../src/train/autograd/training.js";
import { ADAM_DEFAULTS } from "../../src/train/optim.js";

beforeAll(() => initBackends("ort"));

const [batch, inputs, hidden, classes] = [16, 6, 8, 3];
const model: TrainableModel = {
  init: { ...initLinear("hidden", inputs, hidden, 1), ...initLinear("out", hidden, classes, 2) },
  loss: (p: Params, [x, y]: readonly Tensor[]) =>
    crossEntropy(linear(tanh(linear(x, p, "hidden")), p, "out"), y),
};
const rng = createRng(5);
const batches = Array.from({ length: 4 }, () => {
  const x = Float32Array.from({ length: batch * inputs }, () => rng.uniform(-1, 1));
  const y = Float32Array.from({ length: batch * classes }, (_, k) =>
    k % classes === rng.int(classes) ? 1 : 0,
  );
  return [
    { data: x, dims: [batch, inputs] },
    { data: y, dims: [batch, classes] },
  ];
});

/** AdamW in float64 on eager gradients, optionally clipped to a global norm: the parameters after the batches. */
function eagerAdamW(lr: number, weightDecay: number, clipNorm?: number): Record<string, Float64Array> {
  const names = Object.keys(model.init).sort();
  const values = names.map((name) => Float64Array.from(model.init[name].data, (v) => Math.fround(v)));
  const [m, v] = [
    values.map((p) => new Float64Array(p.length)),
    values.map((p) => new Float64Array(p.length)),
  ];
  const { beta1, beta2, eps } = ADAM_DEFAULTS;
  batches.forEach(([x, y], t) => {
    const params = names.map((name, i) => parameter(model.init[name].shape, values[i]));
    const p = Object.fromEntries(names.map((name, i) => [name, params[i]]));
    const grads = grad(model.loss(p, [constant(x.dims, x.data), constant(y.dims, y.data)]), params).map(
      (g) => g.value as Float64Array,
    );
    const norm = Math.sqrt(grads.reduce((s, g) => s + g.reduce((a, b) => a + b * b, 0), 0));
    const factor = clipNorm !== undefined && norm > clipNorm ? clipNorm / norm : 1;
    const [c1, c2] = [1 - beta1 ** (t + 1), 1 - beta2 ** (t + 1)];
    for (const [i, value] of values.entries())
      for (let k = 0; k < value.length; k++) {
        const g = grads[i][k] * factor;
        m[i][k] = beta1 * m[i][k] + (1 - beta1) * g;
        v[i][k] = beta2 * v[i][k] + (1 - beta2) * g * g;
        value[k] = value[k] * (1 - lr * weightDecay) - (lr * m[i][k]) / c1 / (Math.sqrt(v[i][k] / c2) + eps);
      }
  });
  return Object.fromEntries(names.map((name, i) => [name, values[i]]));
}

async function trained(clipNorm?: number): Promise<Record<string, Float32Array>> {
  const training = compiledTraining(model, { weightDecay: 0.1, clipNorm });
  for (const b of batches) await training.step(b, 0.01);
  return training.parameters();
}

describe("compiledTraining", () => {
  it.each([undefined, 0.05])("is AdamW on the eager float64 gradients (clip norm %s)", async (clipNorm) => {
    const got = await trained(clipNorm);
    const want = eagerAdamW(0.01, 0.1, clipNorm);
    for (const [name, values] of Object.entries(want)) {
      const worst = Math.max(...Array.from(values, (w, k) => Math.abs(w - got[name][k])));
      expect(worst, name).toBeLessThan(2e-5);
    }
    // clipping made a difference: the check above could tell them apart
    if (clipNorm !== undefined) {
      const unclipped = eagerAdamW(0.01, 0.1);
      expect(
        Math.max(...Array.from(unclipped["out.weight"], (w, k) => Math.abs(w - got["out.weight"][k]))),
      ).toBeGreaterThan(1e-4);
    }
  });

  it("gives the same parameters bit for bit from the same start and batches", async () => {
    const [a, b] = [await trained(), await trained()];
    for (const name of Object.keys(a)) expect(Array.from(b[name])).toEqual(Array.from(a[name]));
  });

  it("runs other outputs, compiled, on the current parameters", async () => {
    const training = compiledTraining(model);
    const logits = (p: Params, [x]: readonly Tensor[]) => [linear(tanh(linear(x, p, "hidden")), p, "out")];
    const [out] = await training.run(logits, [batches[0][0]]);
    const init = model.init as Record<string, ParamInit>;
    const p = Object.fromEntries(
      Object.entries(init).map(([name, { shape, data }]) => [name, constant(shape, data.map(Math.fround))]),
    );
    const [want] = logits(p, [constant(batches[0][0].dims, batches[0][0].data)]);
    for (const [k, w] of (want.value as Float64Array).entries())
      expect(Math.abs(w - out[k])).toBeLessThan(1e-5);
  });
});

describe("parameters saved as .npz", () => {
  it("round-trip by name into a model's initial values, and a wrong shape is named", async () => {
    const training = compiledTraining(model);
    await training.step(batches[0], 0.01);
    const bytes = parametersToNpz(training, model);
    const restored = parametersFromNpz(bytes, model.init, "saved.npz");
    const saved = training.parameters();
    for (const [name, { data }] of Object.entries(restored))
      expect(Array.from(data)).toEqual(Array.from(saved[name]));
    const resumed = compiledTraining({ ...model, init: restored });
    expect(resumed.parameters()).toEqual(saved);
    const other = { ...model.init, "out.bias": { shape: [4], data: new Float64Array(4) } };
    expect(() => parametersFromNpz(bytes, other, "saved.npz")).toThrow(
      /saved.npz\/out.bias: expected a float array of shape 4/,
    );
  });
});

describe("compiledTraining with SGD", () => {
  it("is heavy-ball SGD (optim.ts's rule) on the eager float64 gradients", async () => {
    const [lr, momentum, weightDecay] = [0.1, 0.9, 0.01];
    const training = compiledTraining(model, { optimizer: "sgd", momentum, weightDecay });
    for (const b of batches) await training.step(b, lr);
    const got = training.parameters();
    const names = Object.keys(model.init).sort();
    const values = names.map((name) => Float64Array.from(model.init[name].data, (v) => Math.fround(v)));
    const velocity = values.map((p) => new Float64Array(p.length));
    for (const [x, y] of batches) {
      const params = names.map((name, i) => parameter(model.init[name].shape, values[i]));
      const p = Object.fromEntries(names.map((name, i) => [name, params[i]]));
      const grads = grad(model.loss(p, [constant(x.dims, x.data), constant(y.dims, y.data)]), params);
      for (const [i, value] of values.entries())
        for (let k = 0; k < value.length; k++) {
          velocity[i][k] =
            momentum * velocity[i][k] + (grads[i].value as Float64Array)[k] + weightDecay * value[k];
          value[k] -= lr * velocity[i][k];
        }
    }
    for (const [i, name] of names.entries()) {
      const worst = Math.max(...Array.from(values[i], (w, k) => Math.abs(w - got[name][k])));
      expect(worst, name).toBeLessThan(2e-5);
    }
  });
});

describe("dropout", () => {
  const dropped: TrainableModel = {
    init: model.init,
    loss: (p, [x, y], noise) => {
      const hidden = tanh(linear(x, p, "hidden"));
      return crossEntropy(linear(noise ? noise.dropout(hidden, 0.3) : hidden, p, "out"), y);
    },
  };

  it("masks the compiled step as the eager one does with dropoutMasks' masks for that step", async () => {
    const training = compiledTraining(dropped, { optimizer: "sgd", seed: 7 });
    await training.step(batches[0], 0.5);
    const got = training.parameters();
    // step 1 of seed 7 draws from seed 7·2²⁰ + 0; the single site is the hidden layer, batch × hidden
    const [mask] = dropoutMasks([{ shape: [batch, hidden], rate: 0.3 }], 7 * 2 ** 20);
    expect(mask.filter((m) => m === 0).length / mask.length).toBeGreaterThan(0.2);
    const names = Object.keys(model.init).sort();
    const params = names.map((name) =>
      parameter(model.init[name].shape, model.init[name].data.map(Math.fround)),
    );
    const p = Object.fromEntries(names.map((name, i) => [name, params[i]]));
    const [x, y] = batches[0];
    const noise = maskNoise([constant([batch, hidden], mask)]);
    const grads = grad(dropped.loss(p, [constant(x.dims, x.data), constant(y.dims, y.data)], noise), params);
    for (const [i, name] of names.entries()) {
      const want = (params[i].value as Float64Array).map(
        (v, k) => v - 0.5 * (grads[i].value as Float64Array)[k],
      );
      expect(Math.max(...Array.from(want, (w, k) => Math.abs(w - got[name][k]))), name).toBeLessThan(2e-6);
    }
  });

  it("repeats for a seed and changes with it", async () => {
    const run = async (seed: number) => {
      const training = compiledTraining(dropped, { seed });
      for (const b of batches) await training.step(b, 0.01);
      return training.parameters()["hidden.weight"];
    };
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });
});

import { beforeAll, describe, expect, it } from "vitest";
import { createRng } from "../../src/core/rng.js";
import { initBackends } from "../../src/node.js";
import { compile } from "../../src/train/autograd/compile.js";
import { grad } from "../../src/train/autograd/grad.js";
import { size } from "../../src/train/autograd/nd.js";
import type { ParamInit } from "../../src/train/autograd/nn.js";
import { normalize } from "../../src/train/autograd/ops.js";
import { constant, parameter, type Shape, type Tensor } from "../../src/train/autograd/tensor.js";
import { compiledTraining, eagerTraining, type TrainableModel } from "../../src/train/autograd/training.js";
import {
  alignUniformLoss,
  type Embedder,
  type EncoderShape,
  initEmbedder,
  initEncoder,
  initHead,
  isEmbedderParam,
  monaLoss,
  otddLoss,
  taskLoss,
} from "../../src/train/transfer.js";
import { expectNearEager, fixture } from "../helpers.js";

beforeAll(() => initBackends("ort"));

const rng = createRng(28);
const draw = (shape: Shape, scale = 1) =>
  Float32Array.from({ length: size(shape) }, () => scale * rng.uniform(-1, 1));
const oneHot = (labels: readonly number[], classes: number) =>
  Float32Array.from({ length: labels.length * classes }, (_, k) =>
    labels[Math.floor(k / classes)] === k % classes ? 1 : 0,
  );

// a tiny target model: 1-D rows of 8 values in 4 chunks, one block of 4 features and 2 heads, 3 classes
const EMBEDDER: Embedder = { kind: "chunk", length: 8, chunk: 2 };
const SHAPE: EncoderShape = { dim: 4, heads: 2, depth: 1, hidden: 6 };
const init: Record<string, ParamInit> = {
  ...initEmbedder(EMBEDDER, 4, 1),
  ...initEncoder(SHAPE, 2),
  ...initHead(4, 3, 3),
};
const names = Object.keys(init).sort();
const batch = [
  { data: draw([6, 8]), dims: [6, 8] },
  { data: oneHot([0, 1, 2, 0, 1, 2], 3), dims: [6, 3] },
  { data: draw([6, 4, 4]), dims: [6, 4, 4] }, // source tokens
  { data: oneHot([0, 0, 1, 1, 2, 3], 4), dims: [6, 4] },
];
const settings = { innerRate: 0.5, lambda: 0.7 };
const constants = batch.map((x) => constant(x.dims, x.data));
const _named = (values: (name: string) => Tensor) => Object.fromEntries(names.map((n) => [n, values(n)]));

/** Parameters holding these values (float64 leaves), by name. */
const paramsOf = (values: (name: string) => ArrayLike<number>) =>
  Object.fromEntries(names.map((n) => [n, parameter(init[n].shape, values(n))]));
const embedderNames = names.filter(isEmbedderParam);
const flat0 = Float64Array.from(embedderNames.flatMap((n) => Array.from(init[n].data)));

/** init's values with the embedder's flat values replaced by `flat`. */
function withEmbedder(flat: Float64Array): (name: string) => ArrayLike<number> {
  const offsets = new Map<string, number>();
  let offset = 0;
  for (const n of embedderNames) {
    offsets.set(n, offset);
    offset += size(init[n].shape);
  }
  return (n) => {
    const at = offsets.get(n);
    return at === undefined ? init[n].data : flat.subarray(at, at + size(init[n].shape));
  };
}

const flatGrad = (loss: Tensor, p: Record<string, Tensor>) =>
  grad(
    loss,
    embedderNames.map((n) => p[n]),
  ).flatMap((g) => Array.from(g.value as Float64Array));

describe("MoNA's meta-objective", () => {
  const mona = (p: Record<string, Tensor>) => monaLoss(p, constants, EMBEDDER, SHAPE, settings);

  it("has the embedder's gradient through the inner SGD step equal to central differences (float64, rel. ≤ 1e-5)", () => {
    const p = paramsOf(withEmbedder(flat0));
    const analytic = flatGrad(mona(p), p);
    const h = 1e-6;
    const numeric = Array.from(flat0, (_, k) => {
      const at = (delta: number) => {
        const moved = flat0.slice();
        moved[k] += delta;
        return (mona(paramsOf(withEmbedder(moved))).value as Float64Array)[0];
      };
      return (at(h) - at(-h)) / (2 * h);
    });
    const norm = Math.hypot(...numeric);
    expect(Math.hypot(...numeric.map((v, k) => v - analytic[k])) / norm).toBeLessThan(1e-5);
    // the source terms reach the embedder only through the inner step: without that second-order path the
    // gradient would be the task loss's alone, and measurably different
    const task = flatGrad(taskLoss(p, constants[0], constants[1], EMBEDDER, SHAPE), p);
    expect(Math.hypot(...task.map((v, k) => v - analytic[k])) / norm).toBeGreaterThan(1e-2);
  });

  it("compiles to one graph whose loss and embedder gradients equal the float64 eager ones", async () => {
    const step = (inputs: Tensor[]) => {
      const p = Object.fromEntries(names.map((n, i) => [n, inputs[batch.length + i]]));
      const loss = mona(p);
      return [
        loss,
        ...grad(
          loss,
          embedderNames.map((n) => p[n]),
        ),
      ];
    };
    const feeds = [
      ...batch,
      ...names.map((n) => ({ data: Float32Array.from(init[n].data), dims: init[n].shape })),
    ];
    const compiled = await compile(step, { requiresGrad: (slot) => slot >= batch.length })(feeds);
    const eager = step(
      feeds.map((x, slot) => (slot < batch.length ? constant(x.dims, x.data) : parameter(x.dims, x.data))),
    );
    expectNearEager(compiled, eager, 2e-5);
  });
});

describe("training with frozen parameters", () => {
  const model: TrainableModel = {
    init,
    loss: (p, [x, y, tokens, labels]) => monaLoss(p, [x, y, tokens, labels], EMBEDDER, SHAPE, settings),
  };
  const frozen = names.filter((n) => !isEmbedderParam(n));

  it("steps only the others — weight decay included — compiled and eager alike", async () => {
    const options = { frozen, weightDecay: 0.1 };
    const [compiled, eager] = [compiledTraining(model, options), eagerTraining(model, options)];
    for (let step = 0; step < 3; step++) {
      const [a, b] = [await compiled.step(batch, 0.01), await eager.step(batch, 0.01)];
      expect(Math.abs(a - b) / Math.abs(b)).toBeLessThan(1e-5);
    }
    const [c, e] = [compiled.parameters(), eager.parameters()];
    for (const n of frozen) {
      expect(c[n], n).toEqual(Float32Array.from(init[n].data));
      expect(e[n], n).toEqual(Float32Array.from(init[n].data));
    }
    for (const n of embedderNames) {
      const moved = c[n].some((v, k) => v !== Math.fround(init[n].data[k]));
      expect(moved, n).toBe(true);
      const worst = Math.max(...Array.from(c[n], (v, k) => Math.abs(v - e[n][k])));
      expect(worst, n).toBeLessThan(1e-5);
    }
  });

  it("refuses a frozen name the model does not have", () => {
    expect(() => compiledTraining(model, { frozen: ["encoder.nope"] })).toThrow(
      /frozen: expected a parameter of the model/,
    );
  });
});

describe("the source terms and ORCA's distance", () => {
  it("alignUniformLoss is the mean same-class squared distance plus log mean exp(−2 d²) over other classes", () => {
    const f = draw([5, 3]);
    const labels = [0, 1, 0, 2, 1];
    const rows = Array.from({ length: 5 }, (_, i) => {
      const row = Array.from(f.subarray(3 * i, 3 * i + 3));
      const norm = Math.hypot(...row);
      return row.map((v) => v / norm);
    });
    let [same, sameCount, other, otherCount] = [0, 0, 0, 0];
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 5; j++) {
        const d2 = rows[i].reduce((s, v, k) => s + (v - rows[j][k]) ** 2, 0);
        if (labels[i] !== labels[j]) {
          other += Math.exp(-2 * d2);
          otherCount++;
        } else if (i !== j) {
          same += d2;
          sameCount++;
        }
      }
    const got = alignUniformLoss(normalize(constant([5, 3], f)), constant([5, 3], oneHot(labels, 3)));
    expect((got.value as Float64Array)[0]).toBeCloseTo(same / sameCount + Math.log(other / otherCount), 12);
  });

  it("otddLoss equals numpy's class-aware Sinkhorn distance (an absent class included)", () => {
    const r = fixture("transfer").otdd;
    const tensor = (m: { rows: number; cols: number; data: number[] }) => constant([m.rows, m.cols], m.data);
    const got = otddLoss(
      tensor(r.target),
      constant([r.targetLabels.length, r.classes], oneHot(r.targetLabels, r.classes)),
      tensor(r.source),
      constant([r.sourceLabels.length, r.classes], oneHot(r.sourceLabels, r.classes)),
      { epsilon: r.epsilon, iterations: r.iterations },
    );
    expect((got.value as Float64Array)[0]).toBeCloseTo(r.value, 10);
  });
});

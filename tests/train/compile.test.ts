import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import { createRng } from "../../src/core/rng.js";
import { initBackends } from "../../src/node.js";
import { compile, exportModel } from "../../src/train/autograd/compile.js";
import { grad } from "../../src/train/autograd/grad.js";
import { size } from "../../src/train/autograd/nd.js";
import {
  chunkEmbedding,
  crossEntropy,
  embedding,
  initEmbedding,
  initLinear,
  initTokenEmbedding,
  initTransformerBlock,
  linear,
  type Params,
  transformerBlock,
} from "../../src/train/autograd/nn.js";
import {
  add,
  concat,
  logSoftmax,
  logSumExp,
  matmul,
  mean,
  mul,
  normalize,
  relu,
  sum,
  tanh,
} from "../../src/train/autograd/ops.js";
import { constant, parameter, type Shape, type Tensor } from "../../src/train/autograd/tensor.js";
import { compiledTraining } from "../../src/train/autograd/training.js";

const rng = createRng(11);
const draw = (shape: Shape) => Float32Array.from({ length: size(shape) }, () => rng.uniform(-1, 1));

beforeAll(() => initBackends("ort"));

/** The step run eagerly in float64 on parameters holding the same values. */
function eager(step: (xs: Tensor[]) => readonly Tensor[], inputs: { data: Float32Array; dims: Shape }[]) {
  return step(inputs.map((x) => parameter(x.dims, x.data))).map((t) => t.value as Float64Array);
}

function expectNear(got: Float32Array, want: Float64Array, rel: number, what: string) {
  const scale = Math.max(1e-3, ...Array.from(want, Math.abs));
  const worst = Math.max(...Array.from(got, (g, k) => Math.abs(g - want[k])));
  expect(worst / scale, what).toBeLessThan(rel);
}

describe("compile", () => {
  it("runs an MLP's loss and gradients as one graph, equal to the float64 eager step to float32 rounding", async () => {
    const step = ([x, w1, w2]: Tensor[]) => {
      const loss = sum(logSoftmax(matmul(relu(matmul(x, w1)), w2)));
      return [loss, ...grad(loss, [w1, w2], { createGraph: true })];
    };
    const inputs = [
      { data: draw([8, 5]), dims: [8, 5] },
      { data: draw([5, 6]), dims: [5, 6] },
      { data: draw([6, 3]), dims: [6, 3] },
    ];
    const compiled = await compile(step)(inputs);
    const reference = eager(step, inputs);
    expect(compiled.length).toBe(3);
    for (const [i, c] of compiled.entries()) expectNear(c, reference[i], 1e-5, `output ${i}`);
  });

  it("differentiates twice inside the graph (a Hessian-vector product)", async () => {
    const step = ([x, v]: Tensor[]) => {
      const loss = sum(tanh(matmul(x, mul(x, x))));
      const [g] = grad(loss, [x], { createGraph: true });
      return grad(sum(mul(g, v)), [x]);
    };
    const inputs = [
      { data: draw([4, 4]), dims: [4, 4] },
      { data: draw([4, 4]), dims: [4, 4] },
    ];
    const [hv] = await compile(step)(inputs);
    expectNear(hv, eager(step, inputs)[0], 1e-5, "H·v");
  });

  it("lowers normalize, logSumExp, relu's gradient and a bias's summed gradient, twice differentiated, as eagerly", async () => {
    // a bias over [2, 4, 6] rows: its gradient sums the two leading axes (lowered as a product with ones)
    const step = ([x, w, b, v]: Tensor[]) => {
      // logits up to ±100: exp of them overflows float32 unless the maximum is shifted out
      const logits = mul(normalize(relu(add(matmul(x, w), b))), 100);
      const loss = add(sum(logSumExp(logits, [-1])), sum(logSumExp(logits, [0, 1], true)));
      const [gw, gb] = grad(loss, [w, b], { createGraph: true });
      return [loss, gw, gb, ...grad(sum(mul(gw, v)), [w, b])];
    };
    const inputs = [
      { data: draw([2, 4, 5]), dims: [2, 4, 5] },
      { data: draw([5, 6]), dims: [5, 6] },
      { data: draw([6]), dims: [6] },
      { data: draw([5, 6]), dims: [5, 6] },
    ];
    const compiled = await compile(step)(inputs);
    const reference = eager(step, inputs);
    // second derivatives at logit scale 100 carry float32 rounding times that scale
    for (const [i, what] of ["loss", "∂/∂W", "∂/∂b", "H·v (W)", "H·v (b)"].entries())
      expectNear(compiled[i], reference[i], i < 3 ? 1e-5 : 1e-4, what);
  });

  it("compiles again for a new shape and gives the same bits for the same inputs", async () => {
    const run = compile(([x, w]) => [sum(mul(matmul(x, w), matmul(x, w)))]);
    const w = { data: draw([3, 2]), dims: [3, 2] };
    const small = { data: draw([2, 3]), dims: [2, 3] };
    const large = { data: draw([5, 3]), dims: [5, 3] };
    const [a] = await run([small, w]);
    const [b] = await run([large, w]);
    const [c] = await run([small, w]);
    expectNear(a, eager(([x, y]) => [sum(mul(matmul(x, y), matmul(x, y)))], [small, w])[0], 1e-6, "small");
    expectNear(b, eager(([x, y]) => [sum(mul(matmul(x, y), matmul(x, y)))], [large, w])[0], 1e-6, "large");
    expect(Array.from(c)).toEqual(Array.from(a));
  });
});

describe("a pre-LN transformer block, compiled against eager float64", () => {
  const [batch, length, dim, heads, hidden, classes] = [2, 5, 8, 2, 16, 3];
  const init = {
    ...initTransformerBlock("block", dim, hidden, 3),
    ...initLinear("head", dim, classes, 9),
  };
  const names = Object.keys(init).sort();
  // a causal mask: position t sees positions ≤ t
  const causal = Float32Array.from({ length: length * length }, (_, k) =>
    k % length > Math.floor(k / length) ? -1e9 : 0,
  );
  /** Inputs: x, the mask, one-hot targets, a direction v, then the parameters in `names` order. */
  const step = ([x, mask, targets, v, ...flat]: Tensor[]) => {
    const p = Object.fromEntries(names.map((name, i) => [name, flat[i]]));
    const pooled = mean(transformerBlock(x, p, "block", heads, mask), [1]);
    const loss = crossEntropy(linear(pooled, p, "head"), targets);
    const grads = grad(loss, flat, { createGraph: true });
    // H·v for the first attention projection's weight
    const at = names.indexOf("block.attention.q.weight");
    const [hv] = grad(sum(mul(grads[at], v)), [flat[at]]);
    return [loss, ...grads, hv];
  };
  const targets = Float32Array.from({ length: batch * classes }, (_, k) =>
    k % classes === (Math.floor(k / classes) + 1) % classes ? 1 : 0,
  );
  const inputs = [
    { data: draw([batch, length, dim]), dims: [batch, length, dim] },
    { data: causal, dims: [length, length] },
    { data: targets, dims: [batch, classes] },
    { data: draw([dim, dim]), dims: [dim, dim] },
    ...names.map((name) => ({ data: Float32Array.from(init[name].data), dims: init[name].shape })),
  ];

  it("gives the loss, every gradient and a Hessian-vector product of the eager step", async () => {
    const compiled = await compile(step, { requiresGrad: (slot) => slot >= 4 })(inputs);
    const reference = eager(step, inputs);
    expect(compiled.length).toBe(names.length + 2);
    for (const [i, c] of compiled.entries())
      expectNear(c, reference[i], 1e-5, i === 0 ? "loss" : i <= names.length ? names[i - 1] : "H·v");
  });
});

describe("embeddings, compiled against eager float64", () => {
  it("a token embedding and a chunk embedding: outputs and the tables' gradients", async () => {
    const init = { ...initEmbedding("tokens", 7, 4, 1), ...initTokenEmbedding("chunks", 3, 2, 4, 2) };
    const names = Object.keys(init).sort();
    const step = ([ids, signal, ...flat]: Tensor[]) => {
      const p = Object.fromEntries(names.map((name, i) => [name, flat[i]]));
      // [2, 3] token ids and [2, 6] signals cut into 2 chunks of 3: 3 + 2 tokens of 4 features per row
      const tokens = concat([embedding(ids, p, "tokens"), chunkEmbedding(signal, p, "chunks", 3)], 1);
      const loss = sum(mul(tokens, tokens));
      return [loss, ...grad(loss, flat)];
    };
    const inputs = [
      { data: Float32Array.of(6, 0, 6, 3, 1, 6), dims: [2, 3] },
      { data: draw([2, 6]), dims: [2, 6] },
      ...names.map((name) => ({ data: Float32Array.from(init[name].data), dims: init[name].shape })),
    ];
    const compiled = await compile(step, { requiresGrad: (slot) => slot >= 2 })(inputs);
    const reference = eager(step, inputs);
    for (const [i, c] of compiled.entries())
      expectNear(c, reference[i], 1e-5, i === 0 ? "loss" : names[i - 1]);
  });
});

describe("exported models", () => {
  it("run in a plain onnxruntime session as they run compiled", async () => {
    const model = {
      init: initLinear("layer", 5, 3, 4),
      loss: (p: Params, [x]: readonly Tensor[]) => sum(linear(x, p, "layer")),
    };
    const training = compiledTraining(model);
    const outputs = (p: Params, [x]: readonly Tensor[]) => [tanh(linear(x, p, "layer"))];
    const x = { data: draw([4, 5]), dims: [4, 5] };
    const [want] = await training.run(outputs, [x]);
    const ort = createRequire(import.meta.url)("onnxruntime-node");
    const session = await ort.InferenceSession.create(training.export(outputs, [x.dims]));
    const { y0 } = await session.run({ x0: new ort.Tensor("float32", x.data, x.dims) });
    expect(Array.from(y0.data as Float32Array)).toEqual(Array.from(want));
  });

  it("with a dynamic batch: any batch length where the graph does not depend on it, refused where it does", async () => {
    const p = Object.fromEntries(
      Object.entries(initLinear("layer", 5, 3, 4)).map(([name, { shape, data }]) => [
        name,
        constant(shape, data),
      ]),
    );
    const ort = createRequire(import.meta.url)("onnxruntime-node");
    const perRow = exportModel(([x]) => [tanh(linear(x, p, "layer")), sum(x)], [[1, 5]], {
      dynamicBatch: true,
    });
    const session = await ort.InferenceSession.create(perRow);
    for (const rows of [1, 7]) {
      const x = draw([rows, 5]);
      const out = await session.run({ x0: new ort.Tensor("float32", x, [rows, 5]) });
      expect(out.y0.dims).toEqual([rows, 3]);
      expect(out.y1.dims).toEqual([]);
    }
    // a mean over the rows divides by their count: a constant of the graph
    expect(() => exportModel(([x]) => [mean(x, [0])], [[1, 5]], { dynamicBatch: true })).toThrow(
      /exportModel: expected a graph that does not depend on the batch length/,
    );
  });
});

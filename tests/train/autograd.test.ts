import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { createRng } from "../../src/core/rng.js";
import { grad } from "../../src/train/autograd/grad.js";
import { size } from "../../src/train/autograd/nd.js";
import {
  add,
  concat,
  detach,
  div,
  exp,
  expand,
  gather,
  geluGate,
  gemm,
  layerNormalization,
  log,
  logSoftmax,
  logSumExp,
  matmul,
  max,
  mean,
  mul,
  neg,
  normalize,
  relu,
  reshape,
  slice,
  softmax,
  sqrt,
  sub,
  sum,
  sumTo,
  tanh,
  transpose,
} from "../../src/train/autograd/ops.js";
import { constant, parameter, type Shape, type Tensor } from "../../src/train/autograd/tensor.js";

const rng = createRng(2027);
const draw = (shape: Shape, lo = -1, hi = 1) =>
  Array.from({ length: size(shape) }, () => rng.uniform(lo, hi));
/** Values away from 0 by at least 0.2 (relu's kink), either sign. */
const awayFromZero = (shape: Shape) => draw(shape).map((v) => (v < 0 ? v - 0.2 : v + 0.2));

/**
 * Checks ∂/∂inputs of Σ f(inputs)·R (R a fixed random weighting) against central differences, in float64.
 */
function expectGradients(
  f: (xs: Tensor[]) => Tensor,
  values: number[][],
  shapes: Shape[],
  what: string,
): void {
  const weightsShape = f(values.map((v, i) => constant(shapes[i], v))).shape;
  const weights = constant(weightsShape, draw(weightsShape));
  const loss = (xs: Tensor[]) => sum(mul(f(xs), weights));
  const xs = values.map((v, i) => parameter(shapes[i], v));
  const analytic = grad(loss(xs), xs);
  const h = 1e-5;
  values.forEach((v, i) => {
    const numeric = v.map((_, k) => {
      const at = (delta: number) =>
        loss(
          values.map((w, j) => constant(shapes[j], j === i ? w.map((x, m) => (m === k ? x + delta : x)) : w)),
        ).value?.[0] as number;
      return (at(h) - at(-h)) / (2 * h);
    });
    const got = analytic[i].value as Float64Array;
    const scale = Math.max(1, ...numeric.map(Math.abs));
    const worst = Math.max(...numeric.map((n, k) => Math.abs(n - got[k])));
    expect(worst / scale, `${what}, input ${i}`).toBeLessThan(1e-8);
  });
}

describe("autograd ops: float64 gradients against central differences", () => {
  type Case = [string, (xs: Tensor[]) => Tensor, Shape[], ((s: Shape) => number[])?];
  const cases: Case[] = [
    ["add, broadcast", ([a, b]) => add(a, b), [[2, 3], [3]]],
    [
      "sub, both broadcast",
      ([a, b]) => sub(a, b),
      [
        [2, 1, 3],
        [4, 1],
      ],
    ],
    ["mul, broadcast", ([a, b]) => mul(a, b), [[3], [2, 3]]],
    [
      "div",
      ([a, b]) => div(a, b),
      [
        [2, 3],
        [2, 3],
      ],
      (s) => draw(s, 0.5, 2),
    ],
    ["neg, exp, tanh", ([a]) => tanh(exp(neg(a))), [[2, 3]]],
    ["log, sqrt", ([a]) => log(sqrt(a)), [[4]], (s) => draw(s, 0.5, 2)],
    ["relu", ([a]) => relu(a), [[3, 4]], awayFromZero],
    ["geluGate (gelu = x·geluGate(x))", ([a]) => mul(a, geluGate(a)), [[3, 4]], (s) => draw(s, -3, 3)],
    [
      "matmul",
      ([a, b]) => matmul(a, b),
      [
        [3, 4],
        [4, 2],
      ],
    ],
    [
      "matmul, batched with a broadcast operand",
      ([a, b]) => matmul(a, b),
      [
        [2, 3, 4],
        [4, 5],
      ],
    ],
    [
      "matmul, broadcast batch axes",
      ([a, b]) => matmul(a, b),
      [
        [2, 1, 3, 4],
        [3, 4, 2],
      ],
    ],
    ...(
      [
        [false, false, [3, 4], [4, 2]],
        [true, false, [4, 3], [4, 2]],
        [false, true, [3, 4], [2, 4]],
        [true, true, [4, 3], [2, 4]],
      ] as const
    ).map(
      ([transA, transB, sa, sb]): Case => [
        `gemm, transA ${transA}, transB ${transB}`,
        ([a, b]) => gemm(a, b, transA, transB),
        [sa, sb],
      ],
    ),
    [
      "matmul of a transpose (a gemm)",
      ([a, b]) => matmul(transpose(a), b),
      [
        [4, 3],
        [4, 2],
      ],
    ],
    ["transpose", ([a]) => transpose(a, [2, 0, 1]), [[2, 3, 4]]],
    ["reshape", ([a]) => mul(reshape(a, [3, 4]), reshape(a, [3, 4])), [[2, 6]]],
    ["sum over axes", ([a]) => sum(a, [0, 2]), [[2, 3, 4]]],
    ["mean, keepdims", ([a]) => mul(mean(a, [-1], true), a), [[2, 3]]],
    ["expand", ([a]) => expand(a, [2, 3, 4]), [[3, 1]]],
    ["sumTo", ([a]) => sumTo(a, [3, 1]), [[2, 3, 4]]],
    ["softmax", ([a]) => softmax(a), [[2, 5]]],
    ["normalize", ([a]) => normalize(a), [[2, 3, 5]]],
    ["logSumExp", ([a]) => logSumExp(mul(a, 30), [0, 2]), [[2, 3, 4]]],
    ["logSumExp, keepdims", ([a]) => mul(logSumExp(a, [-1], true), a), [[2, 3]]],
    ["logSoftmax", ([a]) => logSoftmax(mul(a, 3)), [[2, 3, 5]]],
    [
      "concat",
      ([a, b]) => mul(concat([a, b], 1), concat([b, a], 1)),
      [
        [2, 3],
        [2, 3],
      ],
    ],
    ["slice", ([a]) => slice(a, -1, 1, 3), [[2, 4]]],
    ["layerNormalization", ([x, g, b]) => layerNormalization(x, g, b), [[2, 3, 5], [5], [5]]],
    ["gather, an index repeated", ([t]) => gather(t, constant([2, 3], [4, 0, 4, 2, 4, 1])), [[5, 3]]],
    [
      "a softmax composed with its maximum detached (the result does not depend on the shift)",
      ([a]) => {
        const shifted = exp(sub(a, detach(max(a, [1], true))));
        return div(shifted, sum(shifted, [1], true));
      },
      [[3, 4]],
    ],
  ];
  it.each(cases)("%s", (what, f, shapes, values = (s) => draw(s)) => {
    expectGradients(f, shapes.map(values), shapes, what);
  });

  it.each([
    ["tanh, logSoftmax", (x: Tensor, w: Tensor) => sum(logSoftmax(tanh(matmul(mul(x, x), w))))],
    ["relu, normalize", (x: Tensor, w: Tensor) => sum(logSoftmax(mul(normalize(relu(matmul(x, w))), 3)))],
    ["gelu", (x: Tensor, w: Tensor) => sum(logSoftmax(matmul(mul(x, geluGate(x)), w)))],
  ])(
    "differentiates gradients (%s): a Hessian-vector product against differences of gradients",
    (_, loss) => {
      const shape = [3, 4];
      const w = constant([4, 4], draw([4, 4]));
      const f = (x: Tensor) => loss(x, w);
      const x0 = draw(shape);
      const v = constant(shape, draw(shape));
      const x = parameter(shape, x0);
      const [g] = grad(f(x), [x], { createGraph: true });
      const [hv] = grad(sum(mul(g, v)), [x]);
      const h = 1e-5;
      const gradientAt = (delta: number) => {
        const xd = parameter(
          shape,
          x0.map((a, k) => a + delta * (v.value as Float64Array)[k]),
        );
        return grad(f(xd), [xd])[0].value as Float64Array;
      };
      const [plus, minus] = [gradientAt(h), gradientAt(-h)];
      const numeric = plus.map((p, k) => (p - minus[k]) / (2 * h));
      const got = hv.value as Float64Array;
      for (const [k, n] of numeric.entries())
        expect(Math.abs(n - got[k])).toBeLessThan(1e-8 * Math.max(1, Math.abs(n)));
    },
  );

  it("geluGate: x·geluGate(x) is PyTorch's tanh GELU, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))", () => {
    const xs = [-6, -2.5, -1, -0.1, 0, 0.3, 1, 2, 7];
    const gelu = mul(constant([xs.length], xs), geluGate(constant([xs.length], xs))).value as Float64Array;
    const reference = xs.map(
      (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
    );
    for (const [k, want] of reference.entries()) expect(gelu[k]).toBeCloseTo(want, 14);
  });

  it("gives zeros for inputs the output does not depend on, and nothing through detach", () => {
    const [a, b] = [parameter([2], [1, 2]), parameter([2], [3, 4])];
    const [ga, gb] = grad(sum(mul(a, detach(b))), [a, b]);
    expect(Array.from(ga.value as Float64Array)).toEqual([3, 4]);
    expect(Array.from(gb.value as Float64Array)).toEqual([0, 0]);
  });

  it("rejects shapes that do not fit, naming the op", () => {
    expect(() => add(constant([2, 3], draw([2, 3])), constant([4], draw([4])))).toThrow(InputError);
    expect(() => matmul(constant([2, 3], draw([2, 3])), constant([2, 3], draw([2, 3])))).toThrow(/matmul/);
    expect(() => reshape(constant([2, 3], draw([2, 3])), [4, 2])).toThrow(/6 elements/);
    expect(() => grad(constant([2], [1, 2]), [])).toThrow(/one-element/);
    expect(() => gather(constant([3, 2], draw([3, 2])), constant([2], [0, 3]))).toThrow(
      /row indices in \[0, 3\)/,
    );
  });
});

describe("a MoNA-style meta-gradient (one inner SGD step, the outer loss on the updated weights)", () => {
  const [n, inDim, dim, classes] = [6, 5, 4, 3];
  const oneHot = (labels: number[]) =>
    constant(
      [labels.length, classes],
      labels.flatMap((l) => Array.from({ length: classes }, (_, c) => (c === l ? 1 : 0))),
    );
  const [xInner, xOuter] = [constant([n, inDim], draw([n, inDim])), constant([n, inDim], draw([n, inDim]))];
  const [yInner, yOuter] = [oneHot([0, 1, 2, 0, 1, 2]), oneHot([2, 1, 0, 0, 2, 1])];
  const theta0 = draw([dim, classes]);
  const loss = (x: Tensor, y: Tensor, phi: Tensor, theta: Tensor) =>
    mul(sum(mul(y, logSoftmax(matmul(tanh(matmul(x, phi)), theta)))), -1 / n);
  /** The outer loss after θ' = θ − α·∇θ L_inner(θ, φ), as a function of the embedder φ. */
  const outer = (phi: Tensor, createGraph: boolean) => {
    const theta = parameter([dim, classes], theta0);
    const [g] = grad(loss(xInner, yInner, phi, theta), [theta], { createGraph });
    return loss(xOuter, yOuter, phi, sub(theta, mul(g, 0.5)));
  };

  it("∂/∂φ through the inner update equals central differences (float64, rel. error ≤ 1e-5)", () => {
    const phi0 = draw([inDim, dim]);
    const phi = parameter([inDim, dim], phi0);
    const [meta] = grad(outer(phi, true), [phi]);
    const h = 1e-5;
    const numeric = phi0.map((_, k) => {
      const at = (delta: number) =>
        outer(
          constant(
            [inDim, dim],
            phi0.map((v, m) => (m === k ? v + delta : v)),
          ),
          false,
        ).value?.[0] as number;
      return (at(h) - at(-h)) / (2 * h);
    });
    const got = meta.value as Float64Array;
    const norm = Math.hypot(...numeric);
    expect(Math.hypot(...numeric.map((v, k) => v - got[k])) / norm).toBeLessThan(1e-5);
    // without the second-order term (a first-order approximation) the answer is measurably different
    const firstPhi = parameter([inDim, dim], phi0);
    const [firstOrder] = grad(outer(firstPhi, false), [firstPhi]);
    const firstOrderError =
      Math.hypot(...numeric.map((v, k) => v - (firstOrder.value as Float64Array)[k])) / norm;
    expect(firstOrderError).toBeGreaterThan(1e-3);
  });
});

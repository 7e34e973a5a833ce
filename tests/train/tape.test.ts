import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { createRng } from "../../src/core/rng.js";
import {
  add,
  constant,
  conv2d,
  exp,
  gatherRows,
  grad,
  log,
  logSumExpRows,
  matmul,
  mean,
  meanPool2,
  mul,
  neg,
  normalizeRowsVar,
  reciprocal,
  relu,
  scale,
  sigmoid,
  sqrt,
  sub,
  sum,
  sumRows,
  tanh,
  transpose,
  type Var,
  variable,
} from "../../src/train/tape.js";

const rng = createRng(2026);
const randomVar = (rows: number, cols: number, lo = -1, hi = 1) =>
  variable(
    rows,
    cols,
    Array.from({ length: rows * cols }, () => rng.uniform(lo, hi)),
  );

/** Central finite differences (float64, step 1e-6) of f at x, against the tape's gradient: max relative error. */
function finiteDiffError(f: (x: Var) => Var, x: Var): number {
  const [g] = grad(f(x), [x]);
  const h = 1e-6;
  let worst = 0;
  let scaleMax = 0;
  for (let k = 0; k < x.value.length; k++) {
    const at = (delta: number) => {
      const data = Float64Array.from(x.value);
      data[k] += delta;
      return f(variable(x.rows, x.cols, data)).value[0];
    };
    const numeric = (at(h) - at(-h)) / (2 * h);
    worst = Math.max(worst, Math.abs(numeric - g.value[k]));
    scaleMax = Math.max(scaleMax, Math.abs(numeric));
  }
  expect(scaleMax, "the gradient must not vanish, or the check proves nothing").toBeGreaterThan(1e-3);
  return worst / scaleMax;
}

/** Weighted sum with fixed random weights, so every output entry matters to the scalar. */
function weighted(y: Var): Var {
  const w = constant(
    y.rows,
    y.cols,
    Array.from({ length: y.rows * y.cols }, (_, k) => Math.sin(k + 1)),
  );
  return sum(mul(y, w));
}

describe("tape: first derivatives against central finite differences (relative error ≤ 1e-6)", () => {
  const b = randomVar(3, 4);
  const row = randomVar(1, 4);
  const col = randomVar(3, 1);
  const cases: [string, (x: Var) => Var, Var][] = [
    [
      "add (full, row, column, scalar broadcast)",
      (x) => weighted(add(add(add(add(x, b), row), col), constant(1, 1, [0.3]))),
      randomVar(3, 4),
    ],
    ["sub", (x) => weighted(sub(x, b)), randomVar(3, 4)],
    ["mul with a row and with itself", (x) => weighted(mul(mul(x, row), x)), randomVar(3, 4)],
    ["mul: gradient into the broadcast operand", (x) => weighted(mul(b, x)), randomVar(1, 4)],
    ["neg, scale", (x) => weighted(scale(neg(x), 2.5)), randomVar(3, 4)],
    ["exp", (x) => weighted(exp(x)), randomVar(3, 4)],
    ["log", (x) => weighted(log(x)), randomVar(3, 4, 0.5, 2)],
    ["reciprocal", (x) => weighted(reciprocal(x)), randomVar(3, 4, 0.5, 2)],
    ["sqrt", (x) => weighted(sqrt(x)), randomVar(3, 4, 0.5, 2)],
    ["tanh", (x) => weighted(tanh(x)), randomVar(3, 4)],
    ["sigmoid", (x) => weighted(sigmoid(x)), randomVar(3, 4)],
    ["relu (away from 0)", (x) => weighted(relu(x)), variable(2, 3, [0.5, -0.4, 0.9, -1.2, 0.3, 0.7])],
    ["matmul (left)", (x) => weighted(matmul(x, transpose(b))), randomVar(2, 4)],
    ["matmul (right)", (x) => weighted(matmul(b, x)), randomVar(4, 2)],
    ["transpose", (x) => weighted(transpose(x)), randomVar(3, 4)],
    ["sumRows, mean", (x) => add(weighted(sumRows(x)), mean(mul(x, x))), randomVar(3, 4)],
    ["logSumExpRows (large logits)", (x) => weighted(logSumExpRows(scale(x, 50))), randomVar(3, 4)],
    ["normalizeRowsVar", (x) => weighted(normalizeRowsVar(x)), randomVar(3, 4)],
  ];
  it.each(cases)("%s", (_, f, x) => {
    expect(finiteDiffError(f, x)).toBeLessThanOrEqual(1e-6);
  });

  it("gives zeros for an input the output does not use, and demands a scalar output", () => {
    const x = randomVar(2, 2);
    const unused = randomVar(2, 3);
    expect(Array.from(grad(sum(x), [unused])[0].value)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(() => grad(x, [x])).toThrow(InputError);
    expect(() => add(x, randomVar(3, 2))).toThrow(/add: expected shapes that broadcast onto 2×2/);
  });
});

/** f(θ) = a weighted output of a 2-layer MLP with activation `act`, θ = W1 (flattened first-layer weights). */
function mlp(act: (v: Var) => Var, input: Var, w2: Var) {
  return (w1: Var) => weighted(matmul(act(matmul(input, w1)), w2));
}

describe("tape: second derivatives (Hessian-vector products) against finite differences of the gradient", () => {
  const input = randomVar(5, 3);
  const w2 = randomVar(4, 2);
  for (const [name, act] of [
    ["tanh", tanh],
    ["sigmoid", sigmoid],
    ["relu", relu],
    ["softplus via log(1 + exp)", (v: Var) => log(add(exp(v), constant(1, 1, [1])))],
  ] as const) {
    it(`${name} MLP: grad(grad(f)·v) equals (∇f(θ + εv) − ∇f(θ − εv)) / 2ε`, () => {
      const f = mlp(act, input, w2);
      const theta = randomVar(3, 4);
      const v = constant(
        3,
        4,
        Array.from({ length: 12 }, () => rng.normal()),
      );
      const [g] = grad(f(theta), [theta], { createGraph: true });
      const [hv] = grad(sum(mul(g, v)), [theta]);
      const eps = 1e-5;
      const numeric = (k: number) => {
        const shifted = (sign: number) => {
          const th = variable(
            3,
            4,
            theta.value.map((t, i) => t + sign * eps * v.value[i]),
          );
          return grad(f(th), [th])[0].value[k];
        };
        return (shifted(1) - shifted(-1)) / (2 * eps);
      };
      let worst = 0;
      let size = 0;
      for (let k = 0; k < 12; k++) {
        worst = Math.max(worst, Math.abs(numeric(k) - hv.value[k]));
        size = Math.max(size, Math.abs(hv.value[k]));
      }
      if (name === "relu")
        expect(size).toBe(0); // piecewise linear in W1: the Hessian is exactly zero
      else {
        expect(size).toBeGreaterThan(1e-3);
        expect(worst / size).toBeLessThanOrEqual(1e-6);
      }
      expect(worst).toBeLessThanOrEqual(1e-6 * Math.max(1, size));
    });
  }
});

describe("tape: embedding lookup, convolution and pooling", () => {
  const image = { channels: 2, height: 4, width: 4 };

  it("gatherRows (repeated indices add up) and mean-pooled bags of tokens", () => {
    const table = randomVar(5, 3);
    expect(finiteDiffError((t) => weighted(gatherRows(t, [4, 0, 4, 2])), table)).toBeLessThanOrEqual(1e-6);
    // a bag-of-tokens text encoder: mean of each sentence's token embeddings
    const bags = [
      [0, 1, 1],
      [3, 4, 2],
    ];
    const encode = (t: Var) =>
      scale(
        add(
          add(
            gatherRows(
              t,
              bags.map((b) => b[0]),
            ),
            gatherRows(
              t,
              bags.map((b) => b[1]),
            ),
          ),
          gatherRows(
            t,
            bags.map((b) => b[2]),
          ),
        ),
        1 / 3,
      );
    expect(finiteDiffError((t) => weighted(tanh(encode(t))), table)).toBeLessThanOrEqual(1e-6);
    expect(() => gatherRows(table, [5])).toThrow(/gatherRows: expected indices in \[0, 5\); got 5 at 0/);
  });

  it("conv2d equals a direct convolution and has exact first and second derivatives", () => {
    const x = randomVar(2, 2 * 4 * 4);
    const w = randomVar(3, 2 * 3 * 3);
    const y = conv2d(x, w, image, 3);
    expect([y.rows, y.cols]).toEqual([2, 3 * 2 * 2]);
    // direct reference for image 1, filter 2, output (1, 0)
    let direct = 0;
    for (let c = 0; c < 2; c++)
      for (let dy = 0; dy < 3; dy++)
        for (let dx = 0; dx < 3; dx++)
          direct += x.value[32 + c * 16 + (1 + dy) * 4 + dx] * w.value[2 * 18 + c * 9 + dy * 3 + dx];
    expect(y.value[12 + 2 * 4 + 1 * 2 + 0]).toBeCloseTo(direct, 12);
    expect(finiteDiffError((v) => weighted(tanh(conv2d(v, w, image, 3))), x)).toBeLessThanOrEqual(1e-6);
    expect(finiteDiffError((v) => weighted(tanh(conv2d(x, v, image, 3))), w)).toBeLessThanOrEqual(1e-6);
    // second order through the convolution: Hessian-vector product against finite differences
    const f = (v: Var) => weighted(tanh(conv2d(x, v, image, 3)));
    const dir = constant(
      3,
      18,
      Array.from({ length: 54 }, () => rng.normal()),
    );
    const [g] = grad(f(w), [w], { createGraph: true });
    const [hv] = grad(sum(mul(g, dir)), [w]);
    const eps = 1e-5;
    const shifted = (s: number) => {
      const ws = variable(
        3,
        18,
        w.value.map((v, i) => v + s * eps * dir.value[i]),
      );
      return grad(f(ws), [ws])[0].value;
    };
    const [plus, minus] = [shifted(1), shifted(-1)];
    const numeric = plus.map((p, i) => (p - minus[i]) / (2 * eps));
    const size = Math.max(...numeric.map(Math.abs));
    expect(size).toBeGreaterThan(1e-3);
    for (let i = 0; i < numeric.length; i++)
      expect(Math.abs(numeric[i] - hv.value[i]) / size).toBeLessThanOrEqual(1e-6);
  });

  it("meanPool2 averages 2×2 blocks per channel", () => {
    const x = variable(
      1,
      2 * 4 * 4,
      Array.from({ length: 32 }, (_, i) => i),
    );
    const p = meanPool2(x, image);
    expect(Array.from(p.value)).toEqual([2.5, 4.5, 10.5, 12.5, 18.5, 20.5, 26.5, 28.5]);
    expect(finiteDiffError((v) => weighted(tanh(meanPool2(v, image))), randomVar(1, 32))).toBeLessThanOrEqual(
      1e-6,
    );
  });
});

import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { createRng } from "../../src/core/rng.js";
import {
  add,
  constant,
  exp,
  grad,
  log,
  logSumExpRows,
  matmul,
  mean,
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

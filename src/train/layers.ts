import { check } from "../core/errors.js";
import { createRng } from "../core/rng.js";
import {
  add,
  matmul,
  mean,
  mul,
  reciprocal,
  scalar,
  scale,
  sqrt,
  sub,
  sumRows,
  tanh,
  type Var,
  variable,
} from "./tape.js";

/** Weights of a fully connected layer: y = x·W + b. */
export interface LinearParams {
  w: Var;
  b: Var;
}

/** A Linear layer initialised like PyTorch's: W, b ~ U(−1/√in, 1/√in), seeded. */
export function initLinear(inputs: number, outputs: number, seed: number): LinearParams {
  const rng = createRng(seed);
  const bound = 1 / Math.sqrt(inputs);
  const draw = (n: number) => Array.from({ length: n }, () => rng.uniform(-bound, bound));
  return { w: variable(inputs, outputs, draw(inputs * outputs)), b: variable(1, outputs, draw(outputs)) };
}

/** y = x·W + b. */
export function linear(x: Var, p: LinearParams): Var {
  return add(matmul(x, p.w), p.b);
}

/** GELU, tanh form: ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function gelu(x: Var): Var {
  const inner = scale(add(x, scale(mul(x, mul(x, x)), 0.044715)), Math.sqrt(2 / Math.PI));
  return scale(mul(x, add(tanh(inner), scalar(1))), 0.5);
}

/** Layer normalisation over each row, then γ·x̂ + β (γ, β: 1×cols). */
export function layerNorm(x: Var, gamma: Var, beta: Var, eps = 1e-5): Var {
  check(
    gamma.cols === x.cols && beta.cols === x.cols,
    "layerNorm",
    `γ and β of 1×${x.cols}`,
    () => `${gamma.rows}×${gamma.cols}`,
  );
  const n = 1 / x.cols;
  const centred = sub(x, scale(sumRows(x), n));
  const variance = scale(sumRows(mul(centred, centred)), n);
  const normalised = mul(centred, reciprocal(sqrt(add(variance, scalar(eps)))));
  return add(mul(normalised, gamma), beta);
}

/** Mean of the squared entries: a small regulariser and a handy test loss. */
export function meanSquare(x: Var): Var {
  return mean(mul(x, x));
}

import { check } from "../core/errors.js";
import { createRng } from "../core/rng.js";
import {
  add,
  concatRows,
  constant,
  logSumExpRows,
  matmul,
  mean,
  mul,
  reciprocal,
  scalar,
  scale,
  sqrt,
  sub,
  sum,
  sumRows,
  tanh,
  transpose,
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

/**
 * Symmetric CLIP loss on the tape: logits = s·A·Bᵀ (rows of A and B already normalised), labels the
 * diagonal; (CE(rows) + CE(columns)) / 2. `scaleVar` is s (1×1), e.g. exp of a learnable log scale.
 */
export function clipLossVar(a: Var, b: Var, scaleVar: Var): Var {
  const logits = mul(matmul(a, transpose(b)), scaleVar);
  const n = a.rows;
  const eye = constant(
    n,
    n,
    Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : 0)),
  );
  const diagonal = sum(mul(logits, eye));
  const rows = sum(logSumExpRows(logits));
  const columns = sum(logSumExpRows(transpose(logits)));
  return scale(sub(add(rows, columns), scale(diagonal, 2)), 1 / (2 * n));
}

/** Mean of the squared entries: a small regulariser and a handy test loss. */
export function meanSquare(x: Var): Var {
  return mean(mul(x, x));
}

/**
 * SupCon / NT-Xent across modalities on the tape: the 2N rows [A; B] are views, row i's only positive is
 * its partner (i ± N), every other row is a negative; loss = mean over rows of lse_{j≠i}(s·z_i·z_j) − s·z_i·z_partner.
 */
export function supconPairLossVar(a: Var, b: Var, scaleVar: Var): Var {
  const n = a.rows;
  const z = concatRows(a, b);
  const logits = mul(matmul(z, transpose(z)), scaleVar);
  const size = 2 * n;
  // the anchor itself leaves the denominator: a large negative constant on the diagonal (exp underflows to 0)
  const self = constant(
    size,
    size,
    Array.from({ length: size * size }, (_, k) => (Math.floor(k / size) === k % size ? -1e9 : 0)),
  );
  const partner = constant(
    size,
    size,
    Array.from({ length: size * size }, (_, k) => (k % size === (Math.floor(k / size) + n) % size ? 1 : 0)),
  );
  return scale(sub(sum(logSumExpRows(add(logits, self))), sum(mul(logits, partner))), 1 / size);
}

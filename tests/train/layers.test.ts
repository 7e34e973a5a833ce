import { describe, expect, it } from "vitest";
import { createRng } from "../../src/core/rng.js";
import { gelu, initLinear, layerNorm, linear, meanSquare } from "../../src/train/layers.js";
import { adam, clipGradNorm, cosineSchedule, sgd } from "../../src/train/optim.js";
import { add, exp, grad, mul, normalizeRowsVar, sub, sum, type Var, variable } from "../../src/train/tape.js";

const rng = createRng(7);
const randomVar = (rows: number, cols: number) =>
  variable(
    rows,
    cols,
    Array.from({ length: rows * cols }, () => rng.uniform(-1, 1)),
  );

/** max |finite difference − tape gradient| relative to the largest gradient entry. */
function relativeError(f: (x: Var) => Var, x: Var): number {
  const [g] = grad(f(x), [x]);
  const h = 1e-6;
  let worst = 0;
  let size = 0;
  for (let k = 0; k < x.value.length; k++) {
    const at = (d: number) =>
      f(
        variable(
          x.rows,
          x.cols,
          x.value.map((v, i) => (i === k ? v + d : v)),
        ),
      ).value[0];
    const numeric = (at(h) - at(-h)) / (2 * h);
    worst = Math.max(worst, Math.abs(numeric - g.value[k]));
    size = Math.max(size, Math.abs(numeric));
  }
  expect(size).toBeGreaterThan(1e-3);
  return worst / size;
}

const weights = (y: Var) =>
  variable(
    y.rows,
    y.cols,
    Array.from({ length: y.rows * y.cols }, (_, k) => Math.cos(k)),
  );

describe("layers against finite differences", () => {
  it("linear (input, weights and bias), gelu, layerNorm", () => {
    const p = initLinear(4, 3, 1);
    const x = randomVar(5, 4);
    const w = weights(linear(x, p));
    expect(relativeError((v) => sum(mul(linear(v, p), w)), x)).toBeLessThanOrEqual(1e-6);
    expect(relativeError((v) => sum(mul(linear(x, { ...p, w: v }), w)), p.w)).toBeLessThanOrEqual(1e-6);
    expect(relativeError((v) => sum(mul(linear(x, { ...p, b: v }), w)), p.b)).toBeLessThanOrEqual(1e-6);
    expect(relativeError((v) => sum(mul(gelu(v), weights(v))), randomVar(3, 4))).toBeLessThanOrEqual(1e-6);
    const [gamma, beta] = [randomVar(1, 4), randomVar(1, 4)];
    expect(
      relativeError((v) => sum(mul(layerNorm(v, gamma, beta), weights(v))), randomVar(3, 4)),
    ).toBeLessThanOrEqual(1e-6);
  });
});

describe("optimisers and schedules", () => {
  it("Adam's first step moves each weight by lr·sign(g); AdamW decays the weights directly", () => {
    const p = variable(1, 3, [1, -2, 3]);
    adam().step([p], [variable(1, 3, [0.5, -0.1, 0])], 0.01);
    expect(Array.from(p.value).map((v) => Number(v.toFixed(8)))).toEqual([0.99, -1.99, 3]);
    const q = variable(1, 1, [2]);
    adam({ weightDecay: 0.1, decoupledWeightDecay: true }).step([q], [variable(1, 1, [0])], 0.5);
    expect(q.value[0]).toBeCloseTo(2 - 0.5 * 0.1 * 2, 12);
  });

  it("SGD with momentum accumulates velocity; schedule and clipping behave", () => {
    const p = variable(1, 1, [0]);
    const opt = sgd({ momentum: 0.9 });
    opt.step([p], [variable(1, 1, [1])], 0.1);
    opt.step([p], [variable(1, 1, [1])], 0.1);
    expect(p.value[0]).toBeCloseTo(-0.1 - 0.19, 12);
    expect(cosineSchedule(0, 100, { lr: 1, warmup: 10 })).toBeCloseTo(0.1, 12);
    expect(cosineSchedule(10, 100, { lr: 1, warmup: 10 })).toBeCloseTo(1, 12);
    expect(cosineSchedule(100, 100, { lr: 1, warmup: 10, minLr: 0.1 })).toBeCloseTo(0.1, 12);
    const g = variable(1, 2, [3, 4]);
    expect(clipGradNorm([g], 1)).toBe(5);
    expect(g.value[0]).toBeCloseTo(0.6, 15);
    expect(g.value[1]).toBeCloseTo(0.8, 15);
  });
});

describe("a dual encoder trained with the CLIP loss on the tape", () => {
  /** Two linear towers on noisy views of shared latents; returns the loss per step. */
  function train(seed: number, steps: number): number[] {
    const data = createRng(seed);
    const n = 32;
    const latent = data.normalMatrix(n, 8);
    const view = (noise: number) =>
      variable(
        n,
        8,
        latent.data.map((v) => v + noise * data.normal()),
      );
    const [xa, xb] = [view(0.3), view(0.3)];
    const [ta, tb] = [initLinear(8, 6, seed + 1), initLinear(8, 6, seed + 2)];
    const logScale = variable(1, 1, [Math.log(10)]);
    const params = [ta.w, ta.b, tb.w, tb.b, logScale];
    const opt = adam();
    const losses: number[] = [];
    for (let step = 0; step < steps; step++) {
      // pull each pair's unit outputs together: the squared distance, at a learnable scale
      const loss = mul(
        meanSquare(sub(normalizeRowsVar(linear(xa, ta)), normalizeRowsVar(linear(xb, tb)))),
        exp(logScale),
      );
      losses.push(loss.value[0]);
      opt.step(params, grad(loss, params), cosineSchedule(step, steps, { lr: 0.05, warmup: 5 }));
    }
    return losses;
  }

  it("lowers the loss and is deterministic to the last bit for a seed", () => {
    const losses = train(3, 60);
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]);
    expect(train(3, 60)).toEqual(losses);
  });
});

describe("gradient storage", () => {
  it("inputs sharing one gradient node get separate arrays (clipping scales each once)", () => {
    const [x, y] = [variable(1, 2, [1, 2]), variable(1, 2, [3, 4])];
    const grads = grad(sum(add(x, y)), [x, y]);
    expect(grads[0].value).not.toBe(grads[1].value);
    clipGradNorm(grads, 1);
    expect(grads[0].value[0]).toBeCloseTo(0.5, 15);
    expect(grads[1].value[0]).toBeCloseTo(0.5, 15);
  });
});

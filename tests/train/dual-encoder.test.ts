import { describe, expect, it } from "vitest";
import { type Matrix, matrix, normalizeRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { itcLoss as itcReference } from "../../src/losses/albef.js";
import { clipLoss as clipReference } from "../../src/losses/clip.js";
import { siglipLoss as siglipReference } from "../../src/losses/siglip.js";
import { supconLoss as supconReference } from "../../src/losses/supcon.js";
import { grad } from "../../src/train/autograd/grad.js";
import { exp } from "../../src/train/autograd/ops.js";
import { constant, parameter, type Tensor } from "../../src/train/autograd/tensor.js";
import { clipLoss, itcLoss, siglipLoss, supconLoss } from "../../src/train/dual-encoder.js";
import { expectClose } from "../helpers.js";

/** n unit rows of dimension d, seeded. */
const unitRows = (n: number, d: number, seed: number) => normalizeRows(createRng(seed).normalMatrix(n, d));
const leaf = (m: Matrix) => parameter([m.rows, m.cols], m.data);
const value = (t: Tensor) => (t.value as Float64Array)[0];
const values = (t: Tensor) => t.value as Float64Array;

// the autograd's losses, eager in float64, against the losses module's exact ones: values and gradients
describe("the dual encoder's losses equal the losses module's", () => {
  const [a, b] = [unitRows(7, 5, 1), unitRows(7, 5, 2)];
  const [va, vb] = [leaf(a), leaf(b)];

  it("CLIP: value, ∂/∂A, ∂/∂B and ∂/∂t", () => {
    const t = parameter([], [Math.log(1 / 0.07)]);
    const loss = clipLoss(va, vb, exp(t));
    const reference = clipReference(a, b, { logScale: Math.log(1 / 0.07) });
    expect(value(loss)).toBeCloseTo(reference.value, 12);
    const [ga, gb, gt] = grad(loss, [va, vb, t]);
    expectClose(values(ga), reference.gradA.data, 1e-6);
    expectClose(values(gb), reference.gradB.data, 1e-6);
    expect(value(gt)).toBeCloseTo(reference.gradLogScale, 10);
  });

  it("SigLIP, at a scale and bias where the logits reach ±110 (the softplus stays finite): value and every gradient", () => {
    for (const [logScale, bias] of [
      [Math.log(10), -10],
      [Math.log(100), 10],
    ]) {
      const [t, bb] = [parameter([], [logScale]), parameter([], [bias])];
      const loss = siglipLoss(va, vb, exp(t), bb);
      const reference = siglipReference(a, b, { logScale, bias });
      expect(value(loss)).toBeCloseTo(reference.value, 10);
      const [ga, gb, gt, gbias] = grad(loss, [va, vb, t, bb]);
      expectClose(values(ga), reference.gradA.data, 1e-6);
      expectClose(values(gb), reference.gradB.data, 1e-6);
      expect(value(gt)).toBeCloseTo(reference.gradLogScale, 10);
      expect(value(gbias)).toBeCloseTo(reference.gradBias, 10);
    }
  });

  it("SupCon across modalities: supconLoss on [A; B] labelled by pair", () => {
    const stacked = matrix(14, 5);
    stacked.data.set(a.data);
    stacked.data.set(b.data, 35);
    const labels = [...Array(7).keys(), ...Array(7).keys()];
    const reference = supconReference(stacked, labels, { temperature: 0.2 });
    const loss = supconLoss(va, vb, constant([], [5]));
    expect(value(loss)).toBeCloseTo(reference.value, 10);
    const [ga, gb] = grad(loss, [va, vb]);
    expectClose(values(ga), reference.grad.data.subarray(0, 35), 1e-6);
    expectClose(values(gb), reference.grad.data.subarray(35), 1e-6);
  });

  it("ITC with a queue: value and the online features' and temperature's gradients", () => {
    const [ma, mb, qa, qb] = [unitRows(7, 5, 3), unitRows(7, 5, 4), unitRows(4, 5, 5), unitRows(4, 5, 6)];
    const t = parameter([], [Math.log(1 / 0.1)]);
    const c = (m: Matrix) => constant([m.rows, m.cols], m.data);
    const teacher = { momentum: { a: c(ma), b: c(mb) }, queues: { a: c(qa), b: c(qb) } };
    const loss = itcLoss(va, vb, exp(t), teacher, 0.4);
    const reference = itcReference(a, b, {
      imageMomentum: ma,
      textMomentum: mb,
      imageQueue: qa,
      textQueue: qb,
      temperature: 0.1,
      alpha: 0.4,
    });
    expect(value(loss)).toBeCloseTo(reference.value, 10);
    const [ga, gb, gt] = grad(loss, [va, vb, t]);
    expectClose(values(ga), reference.gradImage.data, 1e-6);
    expectClose(values(gb), reference.gradText.data, 1e-6);
    // τ = e^−t: ∂/∂t = −τ·∂/∂τ
    expect(value(gt)).toBeCloseTo(-0.1 * reference.gradTemperature, 10);
  });
});

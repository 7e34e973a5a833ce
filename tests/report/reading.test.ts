import { describe, expect, it } from "vitest";
import { type Matrix, matrix } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { type MeasureResult, measure } from "../../src/gap/measure.js";
import {
  NARROW_CONE,
  readCosines,
  readCurves,
  readMeasure,
  readProjection,
  readTraining,
} from "../../src/report/reading.js";

const NAMES = { a: "images", b: "captions" };

/**
 * Paired rows a_i = c·e₀ + z_i + noise, b_i = c·e₀ (same) or c·e₁ (apart) + z_i + noise, |z_i| ≈ 1:
 * the offset c sets the cones (mean cosine ≈ c² / (c² + 1)), the directions set the gap.
 */
async function synthetic(offset: number, apart: boolean): Promise<MeasureResult> {
  const [n, dim] = [200, 32];
  const rng = createRng(7);
  const [a, b]: Matrix[] = [matrix(n, dim), matrix(n, dim)];
  for (let i = 0; i < n; i++)
    for (let k = 0; k < dim; k++) {
      const z = rng.normal() / Math.sqrt(dim);
      a.data[i * dim + k] = (k === 0 ? offset : 0) + z + rng.normal(0, 0.3 / Math.sqrt(dim));
      b.data[i * dim + k] = (k === (apart ? 1 : 0) ? offset : 0) + z + rng.normal(0, 0.3 / Math.sqrt(dim));
    }
  return measure(a, b);
}

describe("the report's reading follows the numbers", () => {
  it("narrow cones and a large gap: cones named, the gap called large", async () => {
    const m = await synthetic(2, true);
    expect(Math.min(m.cone.a, m.cone.b)).toBeGreaterThan(NARROW_CONE);
    expect(m.gap.l2m).toBeGreaterThan(0.5);
    const text = readMeasure(m, "Synthetic", NAMES).join(" ");
    expect(text).toContain("images and captions each sit in their own narrow cone (mean cosine");
    expect(text).toContain("a large modality gap");
    expect(text).toContain("true pairs reach only");
    expect(readProjection(m)).toMatch(/^The clouds sit apart/);
    expect(readCosines(m, NAMES)).toMatch(/even true pairs score lower .* — the cone effect\.$/);
    expect(readCosines(m, NAMES)).not.toContain("no narrow cones");
  });

  it("wide cones and a small gap: no cone claimed anywhere, the gap called small", async () => {
    const m = await synthetic(0, false);
    expect(Math.max(m.cone.a, m.cone.b)).toBeLessThan(0.1);
    expect(m.gap.l2m).toBeLessThan(0.2);
    const text = readMeasure(m, "Synthetic", NAMES).join(" ");
    expect(text).toContain("neither images nor captions is confined to a narrow cone");
    expect(text).toContain("a small gap");
    expect(text).toContain("true pairs score higher");
    expect(text).toContain("R@1 images→captions is ");
    expect(text).toContain("chance 1/200");
    expect(readProjection(m)).toMatch(/^The clouds overlap: the gap is small/);
    expect(readCosines(m, NAMES)).toMatch(/no narrow cones here\.$/);
  });

  it("a cosine of 0.2-odd is not a narrow cone, even with a large gap", async () => {
    const m = await synthetic(0.6, true);
    expect(Math.max(m.cone.a, m.cone.b)).toBeGreaterThan(0.1);
    expect(Math.max(m.cone.a, m.cone.b)).toBeLessThan(NARROW_CONE);
    expect(m.gap.l2m).toBeGreaterThan(0.5);
    const text = readMeasure(m, "Synthetic", NAMES).join(" ");
    expect(text).not.toMatch(/each sit in their own narrow cone/);
    expect(text).toContain("a large modality gap");
    expect(readProjection(m)).toMatch(/^The clouds sit apart/);
  });

  it("one narrow, one wide: says which", async () => {
    const m = await synthetic(2, true);
    const mixed = { ...m, cone: { a: 0.7, b: 0.05 } };
    expect(readMeasure(mixed, "Synthetic", NAMES)[0]).toContain(
      "rows of images sit in a narrow cone while rows of captions spread wide",
    );
  });

  it("a training run: before and after, and the curves' direction", async () => {
    const [untrained, trained] = [await synthetic(2, true), await synthetic(0, false)];
    const epoch = (e: number, loss: number, gap: number, zeroShot: number) => ({
      epoch: e,
      step: 10 * e,
      loss,
      lr: 1e-3,
      temperature: 0.07,
      gap,
      r1: 0.1,
      r1BToA: 0.1,
      zeroShot,
    });
    const run = {
      untrained,
      trained,
      zeroShot: { untrained: 0.1, trained: 0.9, chance: 0.1 },
      epochs: [epoch(1, 5, 1.1, 0.5), epoch(2, 3, 0.3, 0.9)],
    };
    const text = readTraining(run, NAMES);
    expect(text).toMatch(/^Before training, images and captions each sit in their own narrow cone/);
    expect(text).toContain("after 2 epochs, neither images nor captions is confined to a narrow cone");
    expect(text).toContain("(large gap)");
    expect(text).toContain("(small gap)");
    expect(text).toContain("zero-shot accuracy rises from 0.100 to 0.900 (chance 0.100)");
    expect(readCurves(run.epochs)).toBe(
      "Over 2 epochs the training loss falls from 5.00 to 3.00 and τ stays at 0.070; on the held-out pairs the gap falls from 1.10 to 0.30 and zero-shot accuracy rises from 0.500 to 0.900.",
    );
  });
});

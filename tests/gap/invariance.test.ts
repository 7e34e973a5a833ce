import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { matmulSync } from "../../src/core/gemm/index.js";
import { symmetricEigen } from "../../src/core/linalg.js";
import { type Matrix, matrix, selectRows, transpose } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { type MeasureResult, measure } from "../../src/gap/measure.js";
import { coneCosine, relativeModalityGap, uniformity } from "../../src/gap/metrics.js";

/** A random orthogonal d×d matrix: eigenvectors of a random symmetric matrix. */
function rotation(d: number, seed: number): Matrix {
  const g = createRng(seed).normalMatrix(d, d);
  return symmetricEigen(matmulSync(g, g, { transB: true })).vectors;
}

function numbers(r: MeasureResult): number[] {
  const { n, dim, ...rest } = r;
  return JSON.stringify(rest)
    .match(/-?\d+(\.\d+)?(e[-+]?\d+)?/g)!
    .map(Number);
}

describe("measure invariants (properties)", () => {
  it("a rotation applied to both modalities, or a joint reordering of the pairs, changes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 3, max: 40 }),
        fc.integer({ min: 2, max: 12 }),
        fc.nat(),
        async (n, d, seed) => {
          const rng = createRng(seed);
          const a = rng.normalMatrix(n, d);
          const b = rng.normalMatrix(n, d);
          for (let k = 0; k < a.data.length; k++) a.data[k] += 1; // a cone, so the gap is not zero
          const base = numbers(await measure(a, b, { backend: "js" }));
          const q = rotation(d, seed + 1);
          const rotated = numbers(await measure(matmulSync(a, q), matmulSync(b, q), { backend: "js" }));
          for (const [i, v] of rotated.entries()) expect(v).toBeCloseTo(base[i], 4);
          const order = rng.permutation(n);
          const shuffled = numbers(
            await measure(selectRows(a, order), selectRows(b, order), { backend: "js" }),
          );
          for (const [i, v] of shuffled.entries()) expect(v).toBeCloseTo(base[i], 9);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("metrics stay in their ranges", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.nat(),
        async (n, d, seed) => {
          const rng = createRng(seed);
          const u = rng.normalMatrix(n, d);
          const r = await measure(u, rng.normalMatrix(n, d), { backend: "js" });
          expect(r.cone.a).toBeGreaterThanOrEqual(-1 / (n - 1) - 1e-9);
          expect(r.cone.a).toBeLessThanOrEqual(1 + 1e-9);
          expect(r.uniformity.a).toBeLessThanOrEqual(1e-12);
          expect(r.uniformity.a).toBeGreaterThanOrEqual(-8 - 1e-9);
          expect(r.gap.rmg).toBeGreaterThan(0);
          expect(r.gap.rmg).toBeLessThan(1);
          expect(r.alignment).toBeCloseTo(2 - 2 * r.pairedCos, 5);
          expect(r.spectrum.effectiveRank.a).toBeGreaterThanOrEqual(1 - 1e-9);
          expect(r.spectrum.effectiveRank.a).toBeLessThanOrEqual(Math.min(n, d) + 1e-9);
          expect(r.spectrum.gapVarianceFraction).toBeGreaterThanOrEqual(0);
          expect(r.spectrum.gapVarianceFraction).toBeLessThanOrEqual(1 + 1e-9);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("extreme cases have closed forms", async () => {
    // identical rows: cone 1, uniformity 0; the distance floor 1e-3 keeps RMG finite
    const same = matrix(4, 2, Float32Array.from([1, 0, 1, 0, 1, 0, 1, 0]));
    expect(coneCosine(same)).toBeCloseTo(1, 12);
    expect(await uniformity(same)).toBeCloseTo(0, 12);
    expect(relativeModalityGap(1, 1, 1)).toBeCloseTo(0.5, 12);
    expect(relativeModalityGap(-1, 1, 1)).toBeCloseTo(1 / (1 + 1e-3), 12);
    expect(() => coneCosine(matrix(1, 2, Float32Array.from([1, 0])))).toThrow(/at least 2 rows/);
    expect(transpose(same).rows).toBe(2);
  });
});

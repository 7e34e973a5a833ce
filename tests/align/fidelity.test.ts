import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { evaluateHeldOut } from "../../src/align/evaluate.js";
import { type AlignState, applyAlign, fitAlign, fitAlignFromStats } from "../../src/align/index.js";
import { momentsFromStats } from "../../src/align/moments.js";
import { formatHeldOut } from "../../src/cli/commands/align.js";
import { type Matrix, selectRows, sliceRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { symmetricEigenvaluesOf } from "../../src/core/tridiagonal.js";
import { measure } from "../../src/gap/measure.js";
import { mergeStats, pairStats } from "../../src/gap/stats.js";
import { readPairFile } from "../../src/io/files.js";
import { initBackends } from "../../src/node.js";
import { expectClose, fixture, fromFixture } from "../helpers.js";

// 5 pairs in 8 dimensions: every pair-fitted map is underdetermined, every covariance singular
const fx = fixture("align-fidelity");
const [a, b] = [fromFixture(fx.a), fromFixture(fx.b)];
const SHARED = new URL("../../../shared/data/mind-the-gap/features_clip.npy", import.meta.url).pathname;
const hasShared = existsSync(SHARED);
if (!hasShared) console.warn(`skipping the features_clip fidelity tests: ${SHARED} is absent`);

beforeAll(() => initBackends());

const mapOf = (state: AlignState, field: "w" | "t") => (state as unknown as Record<string, number[]>)[field];

/** max |x − y| / max |y|: a map's difference relative to its largest entry. */
function relativeDifference(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let k = 0; k < y.length; k++) {
    diff = Math.max(diff, Math.abs(x[k] - y[k]));
    scale = Math.max(scale, Math.abs(y[k]));
  }
  return diff / scale;
}

/** The rows of m in reverse order (the same pairs, summed in another order). */
const reversed = (m: Matrix) =>
  selectRows(
    m,
    Int32Array.from({ length: m.rows }, (_, i) => m.rows - 1 - i),
  );

describe("procrustes with fewer pairs than dimensions", () => {
  it("is numpy's canonical map: U_r·V_rᵀ, and nearest the identity outside the fitted spans", async () => {
    expectClose(mapOf(await fitAlign("procrustes", a, b), "w"), fx.procrustes, 1e-9);
  });

  it("does not depend on the rounding of BᵀA: the pairs in another order fit the same orthogonal W", async () => {
    const rng = createRng(7);
    const [pa, pb] = [rng.normalMatrix(12, 24), rng.normalMatrix(12, 24)];
    const w = mapOf(await fitAlign("procrustes", pa, pb), "w");
    expectClose(mapOf(await fitAlign("procrustes", reversed(pa), reversed(pb)), "w"), w, 1e-12);
    const d = pa.cols;
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += w[i * d + k] * w[j * d + k];
        expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-12);
      }
  });

  it("is the identity on vectors orthogonal to both fitted spans", async () => {
    const rng = createRng(5);
    const [n, d] = [3, 10];
    const [pa, pb] = [rng.normalMatrix(n, d), rng.normalMatrix(n, d)];
    const w = mapOf(await fitAlign("procrustes", pa, pb), "w");
    // x: a random vector with its components along the 6 fitted rows removed (Gram–Schmidt)
    const basis: Float64Array[] = [];
    for (const m of [pa, pb])
      for (let i = 0; i < n; i++) {
        const v = Float64Array.from(m.data.subarray(i * d, (i + 1) * d));
        for (const u of basis) {
          const c = u.reduce((s, x, k) => s + x * v[k], 0);
          for (let k = 0; k < d; k++) v[k] -= c * u[k];
        }
        const norm = Math.hypot(...v);
        basis.push(v.map((x) => x / norm));
      }
    const x = Float64Array.from(rng.normalMatrix(1, d).data);
    for (const u of basis) {
      const c = u.reduce((s, y, k) => s + y * x[k], 0);
      for (let k = 0; k < d; k++) x[k] -= c * u[k];
    }
    const xw = Array.from({ length: d }, (_, j) => x.reduce((s, v, k) => s + v * w[k * d + j], 0));
    expectClose(xw, x, 1e-12);
  });
});

describe("held-out notes where the fit pairs do not determine a map", () => {
  const rng = createRng(3);
  const [pa, pb] = [rng.normalMatrix(24, 16), rng.normalMatrix(24, 16)];
  const methods = ["center", "procrustes", "ridge", "coral", "realign-aniso"];

  it("names each underdetermined method, in the result and under the table", async () => {
    const r = await evaluateHeldOut(pa, pb, { methods, bootstrap: { samples: 10 } });
    expect(r.notes).toEqual([
      "procrustes: 16 dimensions > 12 fit pairs — nearest the identity outside the fitted spans",
      "ridge: 16 dimensions > 12 fit pairs — λ maps what lies outside the fitted span to 0",
      "coral: 16 dimensions ≥ 12 fit pairs — ε alone sets the whitening outside the fitted span",
      "realign-aniso: 16 dimensions ≥ 12 fit pairs — shrinkage sets the map outside the fitted span (0: zero there)",
    ]);
    expect(formatHeldOut(r).split("\n").slice(-4)).toEqual(r.notes.map((n) => `note: ${n}`));
  });

  it("has none where there are more fit pairs than dimensions", async () => {
    const r = await evaluateHeldOut(pa, pb, { methods, fit: 0.75, bootstrap: { samples: 10 } });
    expect(r.fitRows).toBe(18);
    expect(r.notes).toEqual([]);
  });
});

describe("held-out evaluation shares work across methods", () => {
  const rng = createRng(5);
  const [pa, pb] = [rng.normalMatrix(40, 16), rng.normalMatrix(40, 16)];
  const methods = ["center", "procrustes", "coral", "realign-aniso", "ridge"];

  it.each([0.25, 0.75])(
    "fit %s: each method's row is its own fitAlign and measure, R@1 intervals included",
    async (fit) => {
      const bootstrap = { samples: 50, seed: 4 };
      const r = await evaluateHeldOut(pa, pb, { methods, fit, bootstrap });
      const [fitA, fitB] = [sliceRows(pa, 0, r.fitRows), sliceRows(pb, 0, r.fitRows)];
      const [evalA, evalB] = [sliceRows(pa, r.fitRows, 40), sliceRows(pb, r.fitRows, 40)];
      expect(r.baseline).toEqual(await measure(evalA, evalB, { bootstrap }));
      for (const kind of methods) {
        const state = await fitAlign(kind, fitA, fitB);
        const [x, y] = [await applyAlign(state, evalA, "a"), await applyAlign(state, evalB, "b")];
        expect(r.methods[kind], kind).toEqual(await measure(x, y, { bootstrap }));
      }
    },
  );
});

describe("covariance maps from statistics", () => {
  it("statistics give covariances that are positive semi-definite to rounding", async () => {
    const stats = await pairStats(a, b);
    for (const side of ["a", "b"] as const) {
      const c = momentsFromStats(stats, side).covariance as Float64Array;
      const values = symmetricEigenvaluesOf(c, a.cols); // ascending, float64
      expect(values[0]).toBeGreaterThanOrEqual(-values[a.cols - 1] * a.cols * Number.EPSILON);
    }
  });

  it.each(fx.coral as { eps: number; t: number[] }[])(
    "coral (eps $eps) from statistics, whole or merged, is the in-memory fit and numpy's to 1e-9",
    async ({ eps, t: want }) => {
      const t = mapOf(await fitAlign("coral", a, b, { eps }), "t");
      expect(relativeDifference(t, want)).toBeLessThan(1e-9);
      const whole = await pairStats(a, b);
      const parts = await Promise.all(
        [0, 2].map((s) => pairStats(sliceRows(a, s, s + 2), sliceRows(b, s, s + 2))),
      );
      const merged = mergeStats(...parts, await pairStats(sliceRows(a, 4, 5), sliceRows(b, 4, 5)));
      for (const stats of [whole, merged])
        expect(
          relativeDifference(mapOf(await fitAlignFromStats("coral", stats, { eps }), "t"), t),
        ).toBeLessThan(1e-9);
    },
  );
});

describe("realign-aniso without shrinkage", () => {
  it("takes the pseudo-inverse of a singular covariance (numpy's twin, same cutoff)", async () => {
    const t = mapOf(await fitAlign("realign-aniso", a, b, { shrinkage: 0 }), "t");
    expect(relativeDifference(t, fx.realignAniso)).toBeLessThan(1e-9);
  });
});

describe.skipIf(!hasShared)("fidelity on features_clip (../shared/data)", () => {
  let pair: { a: Matrix; b: Matrix };
  beforeAll(async () => {
    pair = await readPairFile(SHARED);
  });

  it.each([1e-8, 1e-12])(
    "coral (eps %s) from streamed-like merged statistics is the in-memory fit to 1e-9",
    { timeout: 120_000 },
    async (eps) => {
      const cuts = [0, 128, 300, pair.a.rows];
      const parts = await Promise.all(
        cuts
          .slice(1)
          .map((end, i) => pairStats(sliceRows(pair.a, cuts[i], end), sliceRows(pair.b, cuts[i], end))),
      );
      const fromStats = mapOf(await fitAlignFromStats("coral", mergeStats(...parts), { eps }), "t");
      const inMemory = mapOf(await fitAlign("coral", pair.a, pair.b, { eps }), "t");
      expect(relativeDifference(fromStats, inMemory)).toBeLessThan(1e-9);
    },
  );
});

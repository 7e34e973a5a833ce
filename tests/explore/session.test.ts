import { describe, expect, it } from "vitest";
import { applyAlign, fitAlign } from "../../src/align/index.js";
import { type ShiftState, shiftBy } from "../../src/align/shift.js";
import { matrix, row, sliceRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import {
  exploreView,
  measureSelection,
  neighbourLists,
  openSession,
  placeQuery,
  querySides,
  withCosines,
} from "../../src/explore/session.js";
import { measure } from "../../src/gap/measure.js";
import { applyScorer, fitScorer } from "../../src/score/scorer.js";
import { pca2 } from "../../src/sim/pca.js";
import { expectClose, expectFields } from "../helpers.js";

const [N, D] = [120, 16];

/** Pairs with a gap and a shared signal: every number non-trivial. */
function pairs(seed = 3) {
  const rng = createRng(seed);
  const a = rng.normalMatrix(N, D);
  const noise = rng.normalMatrix(N, D);
  const b = matrix(
    N,
    D,
    a.data.map((x, i) => 0.8 * x + 0.7 * noise.data[i] + (i % D < 3 ? 2 : 0)),
  );
  return { a, b };
}

describe("the explorer's session", () => {
  it("with no alignment and no shift shows measure's numbers: all pairs, and the held-out ones", async () => {
    const { a, b } = pairs();
    const session = await openSession(a, b);
    const view = await exploreView(session, { method: "none", fit: 0.25, lambda: 0, scoring: "raw" });
    expect(view.fitRows).toBe(30);
    expect(view.all).toEqual(await measure(a, b));
    expect(view.heldOut).toEqual(await measure(sliceRows(a, 30, N), sliceRows(b, 30, N)));
  });

  it("λ gives `gapkit shift`'s numbers; an alignment is fitted on the fit rows only", async () => {
    const { a, b } = pairs();
    const session = await openSession(a, b);
    const shifted = await exploreView(session, { method: "none", fit: 0.5, lambda: 0.5, scoring: "raw" });
    const state = shiftBy((await fitAlign("shift", a, b)) as ShiftState, 0.5);
    expectFields(
      shifted.all,
      await measure(await applyAlign(state, a, "a"), await applyAlign(state, b, "b")),
      1e-12,
    );

    const aligned = await exploreView(session, { method: "realign", fit: 0.5, lambda: 0, scoring: "raw" });
    const fitted = await fitAlign("realign", sliceRows(a, 0, 60), sliceRows(b, 0, 60));
    const [ma, mb] = [await applyAlign(fitted, a, "a"), await applyAlign(fitted, b, "b")];
    expect(aligned.heldOut).toEqual(await measure(sliceRows(ma, 60, N), sliceRows(mb, 60, N)));
    // the held-out rows changed the fit: a different fit gives different numbers
    const leaky = await fitAlign("realign", a, b);
    const leakyHeld = await measure(
      sliceRows(await applyAlign(leaky, a, "a"), 60, N),
      sliceRows(await applyAlign(leaky, b, "b"), 60, N),
    );
    expect(aligned.heldOut.gap.l2m).not.toBe(leakyHeld.gap.l2m);
  });

  it("a view built on the previous one equals one built afresh (λ and scoring changes reuse the alignment)", async () => {
    const { a, b } = pairs();
    const session = await openSession(a, b);
    const first = await exploreView(session, { method: "realign", fit: 0.5, lambda: 0, scoring: "raw" });
    for (const settings of [
      { method: "realign", fit: 0.5, lambda: 0.4, scoring: "raw" },
      { method: "realign", fit: 0.5, lambda: 0, scoring: "csls" },
      { method: "center", fit: 0.5, lambda: 0, scoring: "raw" },
      { method: "realign", fit: 0.3, lambda: 0, scoring: "raw" },
    ] as const) {
      const reused = await exploreView(session, settings, first);
      const fresh = await exploreView(session, settings);
      expect(reused.all).toEqual(fresh.all);
      expect(reused.heldOut).toEqual(fresh.heldOut);
      expect(reused.points).toEqual(fresh.points);
      expect(reused.settings).toEqual(settings);
      expect(reused.aligned === first.aligned).toBe(settings.method === "realign" && settings.fit === 0.5);
    }
  });

  it("points stay in the frame of the unaligned pairs: with nothing moved they are its PCA", async () => {
    const { a, b } = pairs();
    const session = await openSession(a, b);
    const view = await exploreView(session, { method: "none", fit: 0.5, lambda: 0, scoring: "raw" });
    expectClose(view.points, await pca2(stackUnit(a, b)), 1e-5);
    const moved = await exploreView(session, { method: "none", fit: 0.5, lambda: 1, scoring: "raw" });
    // λ = 1 closes the gap along Δ, which dominates the first axis: the modalities' x means meet
    const meanX = (p: Float64Array, from: number) => {
      let s = 0;
      for (let i = from; i < from + N; i++) s += p[2 * i];
      return s / N;
    };
    expect(Math.abs(meanX(moved.points, 0) - meanX(moved.points, N))).toBeLessThan(
      0.2 * Math.abs(meanX(view.points, 0) - meanX(view.points, N)),
    );
  });

  it("lists each query's neighbours as `score fit` on the fit rows and `score apply` on all rows do", async () => {
    const { a, b } = pairs();
    const session = await openSession(a, b);
    for (const scoring of ["raw", "csls", "qb-norm"] as const) {
      const view = await exploreView(session, { method: "none", fit: 0.5, lambda: 0, scoring });
      const state = await fitScorer(sliceRows(b, 0, 60), sliceRows(a, 0, 60), scoring);
      expect(await neighbourLists(view, "b", 10)).toEqual(await applyScorer(state, b, a, { top: 10 }));
    }
  });

  it("gives each neighbour its plain cosine", async () => {
    const { a, b } = pairs();
    const view = await exploreView(await openSession(a, b), {
      method: "none",
      fit: 0.5,
      lambda: 0,
      scoring: "zscore",
    });
    const [queries, gallery] = querySides(view, "a");
    const found = withCosines(row(queries, 7), gallery, (await neighbourLists(view, "a", 3))[7]);
    const cos = (j: number) => {
      const [x, y] = [row(a, 7), row(b, j)];
      let [xy, xx, yy] = [0, 0, 0];
      for (let k = 0; k < D; k++) [xy, xx, yy] = [xy + x[k] * y[k], xx + x[k] ** 2, yy + y[k] ** 2];
      return xy / Math.sqrt(xx * yy);
    };
    for (const m of found) expect(m.cosine).toBeCloseTo(cos(m.index), 12);
  });

  it("places a typed query as the view moved its modality: an existing row lands on itself", async () => {
    const { a, b } = pairs();
    const session = await openSession(a, b);
    const view = await exploreView(session, { method: "realign", fit: 0.5, lambda: 0.3, scoring: "raw" });
    const placed = await placeQuery(session, view, "b", row(b, 11).slice(), 5);
    expect(placed.point[0]).toBeCloseTo(view.points[2 * (N + 11)], 5);
    expect(placed.point[1]).toBeCloseTo(view.points[2 * (N + 11) + 1], 5);
    expect(placed.matches.map((m) => m.index)).toEqual(
      (await neighbourLists(view, "b", 5))[11].map((m) => m.index),
    );
    await expect(placeQuery(session, view, "b", new Float32Array(3), 5)).rejects.toThrow(
      /explore query: expected an embedding of dimension 16; got 3/,
    );
  });

  it("measures a selection of pairs, and refuses one of fewer than 2", async () => {
    const { a, b } = pairs();
    const session = await openSession(a, b);
    const view = await exploreView(session, { method: "none", fit: 0.5, lambda: 0, scoring: "raw" });
    const picked = [3, 9, 40, 77];
    const expected = await measure(
      matrix(4, D, Float32Array.from(picked.flatMap((i) => [...row(a, i)]))),
      matrix(4, D, Float32Array.from(picked.flatMap((i) => [...row(b, i)]))),
    );
    expect(await measureSelection(session, view, picked)).toEqual(expected);
    await expect(measureSelection(session, view, [3])).rejects.toThrow(/at least 2 pairs/);
  });
});

function stackUnit(a: ReturnType<typeof pairs>["a"], b: ReturnType<typeof pairs>["b"]) {
  const unit = (m: typeof a) => {
    const out = matrix(m.rows, m.cols);
    for (let i = 0; i < m.rows; i++) {
      const r = row(m, i);
      const norm = Math.hypot(...r);
      for (let k = 0; k < m.cols; k++) out.data[i * m.cols + k] = r[k] / norm;
    }
    return out;
  };
  const [ua, ub] = [unit(a), unit(b)];
  const out = matrix(2 * N, D);
  out.data.set(ua.data);
  out.data.set(ub.data, ua.data.length);
  return out;
}

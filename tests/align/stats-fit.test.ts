import { beforeAll, describe, expect, it } from "vitest";
import { ALIGN_METHODS, fitAlign, fitAlignFromStats, statsMethods } from "../../src/align/index.js";
import { sliceRows } from "../../src/core/matrix.js";
import { mergeStats, pairStats } from "../../src/gap/stats.js";
import { initBackends } from "../../src/node.js";
import { fixture, fromFixture } from "../helpers.js";

const ref = fixture("stats");
const [a, b] = [fromFixture(ref.a), fromFixture(ref.b)];

/** Largest |x − y| over the numeric arrays and numbers of two states, relative to max(1, |y|). */
function worstDifference(x: object, y: object): number {
  let worst = 0;
  for (const [key, value] of Object.entries(y)) {
    const other = (x as Record<string, unknown>)[key];
    const pairs: [number, number][] = Array.isArray(value)
      ? value.map((v, i) => [(other as number[])[i], v])
      : typeof value === "number"
        ? [[other as number, value]]
        : [];
    for (const [p, q] of pairs) worst = Math.max(worst, Math.abs(p - q) / Math.max(1, Math.abs(q)));
  }
  return worst;
}

beforeAll(() => initBackends());

describe("fitting transforms from mergeable statistics", () => {
  it("covers the moment-based methods", () => {
    expect(statsMethods().sort()).toEqual([
      "c3",
      "capdec-noise",
      "center",
      "coral",
      "procrustes",
      "ridge",
      "shift",
    ]);
  });

  it.each(statsMethods())("%s: the state the rows give", async (kind) => {
    const fromRows = await fitAlign(kind, a, b);
    const fromStats = await fitAlignFromStats(kind, await pairStats(a, b));
    expect(Object.keys(fromStats).sort()).toEqual(Object.keys(fromRows).sort());
    // the moment-based fits take the rows normalised in float64 both ways (unitRows); the others take means
    // of rows rounded to float32 in memory, of float64 ones in the statistics
    expect(worstDifference(fromStats, fromRows)).toBeLessThan(
      ALIGN_METHODS[kind].fitStats?.moments ? 1e-12 : 1e-6,
    );
  });

  it.each(["procrustes", "ridge", "coral"])(
    "%s: with fewer pairs than dimensions, the rows' k×k route fits what the d×d moments fit",
    async (kind) => {
      const [few, dims] = [6, a.cols];
      expect(few).toBeLessThan(dims);
      const [fa, fb] = [sliceRows(a, 0, few), sliceRows(b, 0, few)];
      const fromMoments = await fitAlignFromStats(kind, await pairStats(fa, fb));
      expect(worstDifference(await fitAlign(kind, fa, fb), fromMoments)).toBeLessThan(1e-11);
    },
  );

  it.each(statsMethods())("%s: merged shards fit what the whole set fits", async (kind) => {
    const cuts = [0, 9, 10, 77, 150, 203];
    const parts = await Promise.all(
      cuts.slice(1).map((end, i) => pairStats(sliceRows(a, cuts[i], end), sliceRows(b, cuts[i], end))),
    );
    const whole = await fitAlignFromStats(kind, await pairStats(a, b));
    expect(worstDifference(await fitAlignFromStats(kind, mergeStats(...parts)), whole)).toBeLessThan(1e-10);
  });

  it("rejects a method that needs the rows, and statistics without the moments a method needs", async () => {
    const stats = await pairStats(a, b, { moments: false });
    await expect(fitAlignFromStats("realign", stats)).rejects.toThrow(
      /realign fit: expected a method that fits from statistics/,
    );
    await expect(fitAlignFromStats("coral", stats)).rejects.toThrow(
      /coral fit: expected statistics with second moments/,
    );
    expect((await fitAlignFromStats("center", stats)).kind).toBe("center");
  });
});

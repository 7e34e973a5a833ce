import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { crossBA } from "../../src/align/procrustes.js";
import { addCompensated, compensated, compensatedValue } from "../../src/core/compensated.js";
import { InputError } from "../../src/core/errors.js";
import { type Matrix, matrix, sliceRows } from "../../src/core/matrix.js";
import { measure } from "../../src/gap/measure.js";
import {
  finalizeStats,
  type GapStats,
  mergeStats,
  pairStats,
  type StatsSummary,
} from "../../src/gap/stats.js";
import { parseStats, statsToJson } from "../../src/gap/stats-json.js";
import { initBackends } from "../../src/node.js";
import { expectFields, fixture, fromFixture } from "../helpers.js";

const ref = fixture("stats");
const a = fromFixture(ref.a);
const b = fromFixture(ref.b);
const { a: _a, b: _b, uniformity: _u, retrieval: _r, ...exactReference } = ref;

/** Every number of `x` equals the one at the same path of `y` within `rel` (relative to max(1, |y|)). */
function expectSameNumbers(x: unknown, y: unknown, rel: number, path = ""): void {
  if (typeof y === "number") {
    expect(Math.abs((x as number) - y), `${path}: ${x} vs ${y}`).toBeLessThanOrEqual(
      rel * Math.max(1, Math.abs(y)),
    );
  } else if (y && typeof y === "object")
    for (const [k, v] of Object.entries(y))
      expectSameNumbers((x as Record<string, unknown>)[k], v, rel, `${path}.${k}`);
}

async function shardStats(cuts: number[], x: Matrix = a, y: Matrix = b): Promise<GapStats[]> {
  const parts: GapStats[] = [];
  for (let i = 0; i + 1 < cuts.length; i++)
    parts.push(
      await pairStats(sliceRows(x, cuts[i], cuts[i + 1]), sliceRows(y, cuts[i], cuts[i + 1]), {
        firstRow: cuts[i],
      }),
    );
  return parts;
}

beforeAll(() => initBackends());

describe("mergeable statistics", () => {
  it("finalize gives every exact measure number, as numpy does in float64", async () => {
    const summary = finalizeStats(await pairStats(a, b));
    expectFields(summary, exactReference, 1e-6);
    expect(Object.keys(summary)).toEqual(["n", "dim", "gap", "cone", "pairedCos", "alignment", "spectrum"]);
  });

  it("are what measure reports for its non-pairwise numbers", async () => {
    const whole = await measure(a, b);
    const summary = finalizeStats(await pairStats(a, b));
    for (const key of Object.keys(summary) as (keyof StatsSummary)[])
      expect(whole[key]).toEqual(summary[key]);
  });

  it("7 uneven shards merge to the whole set's numbers, in any order and grouping", async () => {
    const whole = finalizeStats(await pairStats(a, b));
    const parts = await shardStats([0, 1, 30, 31, 100, 101, 150, 203]);
    const inOrder = finalizeStats(mergeStats(...parts));
    const reversed = finalizeStats(mergeStats(...[...parts].reverse()));
    const grouped = finalizeStats(
      mergeStats(mergeStats(parts[0], parts[5]), mergeStats(...parts.slice(1, 5), parts[6])),
    );
    for (const merged of [inOrder, reversed, grouped]) expectSameNumbers(merged, whole, 1e-12);
    expect(inOrder.n).toBe(203);
  });

  it("merging is associative and commutative for random splits (property)", async () => {
    const whole = finalizeStats(await pairStats(a, b));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: 202 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 1000 }),
        async (inner, seed) => {
          const cuts = [0, ...inner.sort((x, y) => x - y), 203];
          const parts = await shardStats(cuts);
          const shuffled = parts.map((p, i) => ({ p, k: (i * 7919 + seed) % 101 })).sort((x, y) => x.k - y.k);
          expectSameNumbers(finalizeStats(mergeStats(...shuffled.map((s) => s.p))), whole, 1e-12);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("round-trip through JSON bit for bit", async () => {
    const stats = await pairStats(a, b);
    const back = parseStats(JSON.stringify(statsToJson(stats)), "part.json");
    expect(back).toEqual(stats);
    const noMoments = await pairStats(a, b, { moments: false });
    expect(parseStats(JSON.parse(JSON.stringify(statsToJson(noMoments))), "p")).toEqual(noMoments);
  });

  it("without second moments have no spectrum, and merging with them drops the moments", async () => {
    const first = await pairStats(sliceRows(a, 0, 100), sliceRows(b, 0, 100), { moments: false });
    const second = await pairStats(sliceRows(a, 100, 203), sliceRows(b, 100, 203));
    const merged = mergeStats(first, second);
    expect(merged.moments).toBe(false);
    expect(merged.sums.aa).toBeUndefined();
    const summary = finalizeStats(merged);
    expect(summary.spectrum).toBeUndefined();
    expectFields(
      summary,
      { gap: exactReference.gap, cone: exactReference.cone, pairedCos: ref.pairedCos },
      1e-6,
    );
  });

  it("without the cross moment keep the spectrum; merging with it drops Σâb̂ᵀ; procrustes then refuses", async () => {
    const full = await pairStats(a, b);
    const noCross = await pairStats(sliceRows(a, 0, 100), sliceRows(b, 0, 100), { cross: false });
    expect(noCross.moments).toBe(true);
    expect([noCross.sums.aa, noCross.sums.ab]).toEqual([expect.anything(), undefined]);
    const merged = mergeStats(noCross, await pairStats(sliceRows(a, 100, a.rows), sliceRows(b, 100, b.rows)));
    expect(merged.sums.ab).toBeUndefined();
    expectSameNumbers(finalizeStats(merged), finalizeStats(full), 1e-12);
    const back = parseStats(JSON.stringify(statsToJson(merged)), "part.json");
    expect(back).toEqual(merged);
    expect(() => crossBA(back)).toThrow(
      /statistics: expected the cross moment Σ â b̂ᵀ \(sums.ab, as gapkit stats writes it\); got none/,
    );
  });
  it("reject malformed JSON with the field that is wrong", async () => {
    const good = statsToJson(await pairStats(sliceRows(a, 0, 5), sliceRows(b, 0, 5))) as Record<
      string,
      never
    >;
    const sums = good.sums as Record<string, { hi: string; lo: string }>;
    const cases: [unknown, RegExp][] = [
      ["{", /part\.json: expected gapkit statistics as JSON; got invalid JSON/],
      [{ ...good, kind: "other" }, /part\.json at kind: expected gapkit statistics/],
      [{ ...good, n: -1 }, /part\.json at n/],
      [
        { ...good, sums: { ...sums, a: { hi: "AAAA", lo: sums.a.lo } } },
        /sums\.a\.hi: expected base64 of 16 little-endian float64 values; got 3 bytes/,
      ],
      [{ ...good, sums: { ...sums, aa: undefined } }, /sums: expected a sum named aa; got none/],
      [{ ...good, sums: { ...sums, extra: sums.a } }, /sums: expected only .*; got extra/],
      [
        { ...good, moments: false },
        /sums: expected only pairedCos, squaresA, squaresB, a, b; got aa, bb, ab/,
      ],
    ];
    for (const [input, message] of cases) {
      const text = typeof input === "string" ? input : JSON.stringify(input);
      expect(() => parseStats(text, "part.json")).toThrow(InputError);
      expect(() => parseStats(text, "part.json")).toThrow(message);
    }
  });

  it("merge rejects parts of different dimension", async () => {
    const x = await pairStats(sliceRows(a, 0, 5), sliceRows(b, 0, 5));
    const y = await pairStats(
      sliceRows(fromFixture(fixture("metrics").a), 0, 5),
      sliceRows(fromFixture(fixture("metrics").b), 0, 5),
    );
    expect(() => mergeStats(x, y)).toThrow(/mergeStats part 2: expected dimension 16 like part 1; got 12/);
  });

  it("refuse d×d moments beyond 4,096 dimensions (a small file must not allocate gigabytes)", async () => {
    const wide = matrix(2, 5000, new Float32Array(10_000).fill(1));
    await expect(pairStats(wide, wide)).rejects.toThrow(
      /second moments: expected a dimension of at most 4096/,
    );
    expect((await pairStats(wide, wide, { moments: false })).n).toBe(2);
  });

  it("name the file row of a zero row in a shard", async () => {
    const zero = sliceRows(a, 40, 50);
    zero.data.fill(0, 3 * 16, 4 * 16);
    await expect(
      pairStats(zero, sliceRows(b, 40, 50), {
        firstRow: 40,
        names: { a: "f.jsonl column a", b: "f.jsonl column b" },
      }),
    ).rejects.toThrow(/f\.jsonl column a: .* the first is row 43/);
  });
});

describe("compensated sums", () => {
  it("keep what plain float64 addition loses, whatever the order", () => {
    const terms = [1e16, 1, -1e16, 1, 3.5, -(2 ** -30)];
    const exact = 5.5 - 2 ** -30;
    const sums = terms.map((t) => compensated(Float64Array.of(t)));
    const forward = sums.reduce((x, y) => addCompensated(x, y));
    const backward = [...sums].reverse().reduce((x, y) => addCompensated(x, y));
    expect(compensatedValue(forward)[0]).toBe(exact);
    expect(compensatedValue(backward)[0]).toBe(exact);
    expect(terms.reduce((x, y) => x + y)).not.toBe(exact); // what the compensation is for
  });
});

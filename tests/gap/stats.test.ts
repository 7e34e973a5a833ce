import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { crossBA } from "../../src/align/procrustes.js";
import { addCompensated, compensated, compensatedValue } from "../../src/core/compensated.js";
import { InputError } from "../../src/core/errors.js";
import { WASM_KERNELS } from "../../src/core/gemm/wasm-binary.js";
import { type Matrix, matrix, sliceRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { type FirstOrderSums, firstOrderSums, kernelArena } from "../../src/gap/first-order.js";
import { measure } from "../../src/gap/measure.js";
import {
  finalizeStats,
  type GapStats,
  mergeNamedStats,
  mergeStats,
  pairStats,
  type SourceRows,
  type StatsSource,
  type StatsSummary,
  spectrumOfRows,
  statsToJson,
} from "../../src/gap/stats.js";
import { parseStats } from "../../src/gap/stats-json.js";
import { unitRows } from "../../src/gap/unit-rows.js";
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

  it("takes the second moments a block of 2²² values at a time: the merged blocks' sums", async () => {
    // 64 columns: blocks of 65,536 rows, so 65,636 rows are two blocks
    const rng = createRng(41);
    const [x, y] = [rng.normalMatrix(65_636, 64), rng.normalMatrix(65_636, 64)];
    const whole = await pairStats(x, y);
    const blocks = mergeStats(
      await pairStats(sliceRows(x, 0, 65_536), sliceRows(y, 0, 65_536)),
      await pairStats(sliceRows(x, 65_536, 65_636), sliceRows(y, 65_536, 65_636)),
    );
    for (const key of ["aa", "bb", "ab"] as const) expect(whole.sums[key]).toEqual(blocks.sums[key]);
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

  describe("provenance", () => {
    const file = { file: "emb.npy", bytes: 13_120, head: "ab".repeat(32) };
    /** Statistics of rows [start, end) recorded as coming from `source`. */
    const part = async (start: number, end: number, source: StatsSource = file): Promise<GapStats> => ({
      ...(await pairStats(sliceRows(a, start, end), sliceRows(b, start, end))),
      provenance: [{ source, rows: [start, end], content: "cd".repeat(32) }],
    });
    const distinct = "stats merge: expected parts covering distinct rows of each source; got";

    it("refuse the same part twice, naming both", async () => {
      const p = await part(0, 203);
      expect(() => mergeNamedStats([p, p], ["p.json", "p.json"], "stats merge")).toThrow(InputError);
      expect(() => mergeNamedStats([p, p], ["p.json", "p.json"], "stats merge")).toThrow(
        `${distinct} p.json and p.json both covering rows 0:203 of emb.npy`,
      );
      expect(() => mergeStats(p, p)).toThrow(/got part 1 and part 2 both covering rows 0:203 of emb\.npy$/);
    });

    it("refuse overlapping rows of one source, whatever the order of the parts", async () => {
      const [x, y, z] = [await part(0, 120), await part(150, 203), await part(100, 160)];
      expect(() => mergeNamedStats([x, y, z], ["x", "y", "z"], "stats merge")).toThrow(
        `${distinct} x and z both covering rows 100:120 of emb.npy`,
      );
      expect(() => mergeNamedStats([y, z], ["y", "z"], "stats merge")).toThrow(
        `${distinct} y and z both covering rows 150:160 of emb.npy`,
      );
    });

    it("merge disjoint rows of one source into the whole set's statistics, listing each range", async () => {
      const merged = mergeStats(await part(120, 203), await part(0, 50), await part(50, 120));
      expectSameNumbers(finalizeStats(merged), finalizeStats(await pairStats(a, b)), 1e-12);
      expect(merged.provenance?.map((p) => p.rows)).toEqual([
        [120, 203],
        [0, 50],
        [50, 120],
      ]);
      // a merged part keeps its provenance through JSON, so merging it with one of its parts is caught
      const back = parseStats(JSON.stringify(statsToJson(merged)), "all.json");
      expect(back).toEqual(merged);
      const first = await part(0, 50);
      expect(() => mergeNamedStats([back, first], ["all.json", "p0.json"], "stats merge")).toThrow(
        `${distinct} all.json and p0.json both covering rows 0:50 of emb.npy`,
      );
    });

    it("merge the same rows of different sources: another name, size or head, or a database", async () => {
      const others: StatsSource[] = [
        { ...file, file: "other.npy" },
        { ...file, bytes: 13_121 },
        { ...file, head: "ef".repeat(32) },
        { engine: "duckdb", location: "emb.duckdb", table: "pairs" },
      ];
      const parts = [await part(0, 203), ...(await Promise.all(others.map((o) => part(0, 203, o))))];
      const merged = mergeStats(...parts);
      expect(merged.n).toBe(5 * 203);
      expect(merged.provenance?.map((p) => p.source)).toEqual([file, ...others]);
      const table = await part(0, 203, others[3]);
      expect(() => mergeStats(table, table)).toThrow(
        /both covering rows 0:203 of duckdb emb\.duckdb table pairs$/,
      );
    });

    it("are optional: statistics without them (as gapkit wrote before) read back and merge", async () => {
      const old = statsToJson(await pairStats(sliceRows(a, 0, 100), sliceRows(b, 0, 100))) as object;
      expect(JSON.stringify(old)).not.toContain("provenance");
      const back = parseStats(JSON.stringify(old), "old.json");
      expect(back.provenance).toBeUndefined();
      const merged = mergeStats(back, back, await part(100, 203));
      expect([merged.n, merged.provenance?.length]).toEqual([303, 1]);
    });

    it("are validated when read back", async () => {
      const good = statsToJson(await part(0, 5)) as { provenance: SourceRows[] };
      const [entry] = good.provenance;
      const cases: [unknown, RegExp][] = [
        [
          [{ ...entry, rows: [5, 5] }],
          /at provenance\.0\.rows: .*got a range \[start, end\) with start ≥ end/,
        ],
        [
          [{ ...entry, rows: [0, 6] }],
          /p\.json provenance: expected source rows of at most its 5 pairs; got 6/,
        ],
        [[{ ...entry, content: "x" }], /at provenance\.0\.content: .*got not a SHA-256 \(64 hex digits\)/],
        [[{ ...entry, source: { file: "f.npy" } }], /at provenance\.0\.source/],
      ];
      for (const [provenance, message] of cases)
        expect(() => parseStats(JSON.stringify({ ...good, provenance }), "p.json")).toThrow(message);
    });
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

/** n random pairs of d float32 elements, A around +0.5 and B around −0.5 (no sum cancels to ~0). */
function randomPairs(n: number, d: number, seed: number): [Matrix, Matrix] {
  const rng = createRng(seed);
  const a = Float32Array.from({ length: n * d }, () => rng.normal(0.5, 1));
  const b = Float32Array.from({ length: n * d }, (_, k) => 0.5 * a[k] + rng.normal(-0.5, 1));
  return [matrix(n, d, a), matrix(n, d, b)];
}

/** The sums as one list of numbers: paired, squaresA, squaresB, then Σ â and Σ b̂. */
function flatSums(s: FirstOrderSums | number): number[] {
  if (typeof s === "number") throw new Error(`row ${s} rejected`);
  return [s.paired, s.squaresA, s.squaresB, ...s.sumA, ...s.sumB];
}

// The slice of the WebAssembly JS API these tests use (the project compiles without the DOM library).
const { WebAssembly: Wasm } = globalThis as unknown as {
  WebAssembly: {
    validate(bytes: Uint8Array): boolean;
    Module: new (bytes: Uint8Array) => object;
    Instance: new (
      module: object,
      imports: object,
    ) => { exports: Record<string, (...args: number[]) => number> };
    Memory: new (descriptor: {
      initial: number;
      maximum: number;
      shared: boolean;
    }) => { buffer: ArrayBufferLike };
  };
};

/**
 * Runs the gapSums kernel of one build variant over all rows, `perCall` rows per call, from offset 0 of
 * a fresh memory; the sums as flatSums lists them, or the kernel's return value where it is not −1.
 */
function kernelSums(
  base64: string,
  shared: boolean,
  a: Matrix,
  b: Matrix,
  perCall: number,
): number[] | number {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const { rows, cols: d } = a;
  const pa = 65536;
  const pb = pa + 4 * a.data.length;
  const sumA = pb + 4 * b.data.length;
  const sumB = sumA + 8 * d;
  const at = sumB + 8 * d; // the three scalar sums
  const memory = new Wasm.Memory({ initial: Math.ceil((at + 64) / 65536), maximum: 65536, shared });
  const { exports } = new Wasm.Instance(new Wasm.Module(bytes), { env: { memory } });
  new Float32Array(memory.buffer, pa, a.data.length).set(a.data);
  new Float32Array(memory.buffer, pb, b.data.length).set(b.data);
  for (let r0 = 0; r0 < rows; r0 += perCall) {
    const r1 = Math.min(rows, r0 + perCall);
    const bad = exports.gapSums(pa + 4 * r0 * d, pb + 4 * r0 * d, r1 - r0, d, sumA, sumB, at);
    if (bad !== -1) return r0 + bad;
  }
  const out = new Float64Array(memory.buffer);
  return [...out.subarray(at / 8, at / 8 + 3), ...out.subarray(sumA / 8, sumA / 8 + 2 * d)];
}

describe("the first-order sums' WebAssembly kernel", () => {
  it("agrees with the reference loop to 1e-12 for odd dimensions and row counts", () => {
    for (const d of [1, 3, 5, 17, 512, 768])
      for (const n of [1, 2, 3, 5, 8, 131, Math.ceil(300_000 / d)]) {
        const [x, y] = randomPairs(n, d, 1000 * d + n);
        const kernel = flatSums(firstOrderSums(x, y));
        const reference = flatSums(firstOrderSums(x, y, "js"));
        expect(kernel.length).toBe(3 + 2 * d);
        kernel.forEach((v, k) => {
          expect(Math.abs(v - reference[k]), `d ${d}, ${n} rows, sum ${k}`).toBeLessThanOrEqual(
            1e-12 * Math.max(1, Math.abs(reference[k])),
          );
        });
        // one product per row: nothing is summed in another order
        if (d === 1) expect(kernel).toEqual(reference);
      }
  });

  it("continues its sums bit for bit from call to call, in every build variant", () => {
    const variants = [
      [WASM_KERNELS.simd, false],
      [WASM_KERNELS.simdShared, true],
      [WASM_KERNELS.relaxed, false],
      [WASM_KERNELS.relaxedShared, true],
    ] as const;
    for (const d of [5, 17, 768]) {
      const [x, y] = randomPairs(23, d, d);
      const blocked = flatSums(firstOrderSums(x, y));
      let ran = 0;
      for (const [base64, shared] of variants) {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        if (!Wasm.validate(bytes) || (shared && typeof SharedArrayBuffer === "undefined")) continue;
        ran++;
        for (const perCall of [1, 3, 4, 23])
          expect(kernelSums(base64, shared, x, y, perCall)).toEqual(blocked);
      }
      expect(ran).toBeGreaterThanOrEqual(2); // SIMD128, unshared and shared, at least
    }
  });

  it("sums rows read into its arena where they lie, to the bits of rows it copies in", () => {
    const allocate = kernelArena();
    expect(allocate).toBeDefined();
    const place = (m: Matrix) => {
      const bytes = allocate!(m.data.byteLength);
      const data = new Float32Array(bytes.buffer, bytes.byteOffset, m.data.length);
      data.set(m.data);
      return matrix(m.rows, m.cols, data);
    };
    for (const d of [3, 512]) {
      const [x, y] = randomPairs(301, d, d);
      const [inX, inY] = [place(x), place(y)];
      allocate!(8 << 20); // the memory grows after: the rows' buffers stay valid
      expect(flatSums(firstOrderSums(inX, inY))).toEqual(flatSums(firstOrderSums(x, y)));
      inY.data.fill(0, 200 * d, 201 * d);
      expect(firstOrderSums(inX, inY)).toBe(200);
    }
  });

  it("rejects a zero, NaN or infinite row in the middle by its file row, in A or in B", async () => {
    // row 150: among four rows at a time (d = 512: in the third block of 64 rows the kernel is given); row
    // 201: one of the two rows after the last whole group of four
    const badRows = [150, 201];
    for (const d of [3, 512])
      for (const [side, value] of [
        ["a", 0],
        ["b", 0],
        ["a", Number.NaN],
        ["b", Number.POSITIVE_INFINITY],
        ["a", Number.NEGATIVE_INFINITY],
      ] as const)
        for (const bad of badRows) {
          const [x, y] = randomPairs(202, d, 7);
          const m = side === "a" ? x : y;
          if (value === 0) m.data.fill(0, bad * d, (bad + 1) * d);
          else m.data[bad * d + d - 1] = value;
          expect(firstOrderSums(x, y)).toBe(bad);
          expect(firstOrderSums(x, y, "js")).toBe(bad);
          const names = { a: "f.npy A", b: "f.npy B" };
          const rejected = pairStats(x, y, { firstRow: 1000, names, moments: false });
          await expect(rejected).rejects.toBeInstanceOf(InputError);
          await expect(rejected).rejects.toThrow(
            new RegExp(`f\\.npy ${side.toUpperCase()}: .*row ${1000 + bad}\\b`),
          );
        }
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

describe("spectrumOfRows", () => {
  it("is the d×d moments' spectrum from the row Grams (2n ≤ d, and n < d < 2n), to 1e-10", async () => {
    for (const [n, d] of [
      [12, 40],
      [30, 40],
      [7, 8],
    ]) {
      const rng = createRng(n * d);
      // a low-rank part, so that the spectrum has small eigenvalues as well as large ones
      const [x, y] = [rng.normalMatrix(n, d), rng.normalMatrix(n, d)];
      for (let k = 0; k < x.data.length; k++) y.data[k] = 0.3 * y.data[k] + x.data[k];
      const fromMoments = finalizeStats(await pairStats(x, y, { cross: false })).spectrum!;
      const fromRows = await spectrumOfRows(unitRows(x), unitRows(y));
      for (const key of ["a", "b", "joint"] as const)
        expect(Math.abs(fromRows.effectiveRank[key] - fromMoments.effectiveRank[key])).toBeLessThan(1e-10);
      expect(Math.abs(fromRows.gapVarianceFraction - fromMoments.gapVarianceFraction)).toBeLessThan(1e-10);
    }
  });
});

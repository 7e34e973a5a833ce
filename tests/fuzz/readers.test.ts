/**
 * Fuzzing every reader: damaged and random versions of valid files must end in a result or an InputError
 * — never another exception, a hang or a NaN in the statistics. `npm run fuzz` runs 10,000 cases each.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, it } from "vitest";
import { finalizeStats, mergeStats, pairStats, statsToJson } from "../../src/gap/stats.js";
import { parseStats } from "../../src/gap/stats-json.js";
import { parseNpy, serializeNpy, toPair } from "../../src/io/npy.js";
import { parseNpz, serializeNpz } from "../../src/io/npz.js";
import { streamPairStats } from "../../src/io/stream.js";
import { openPairTable } from "../../src/io/tables.js";
import { initBackends } from "../../src/node.js";
import { fixture, fromFixture } from "../helpers.js";
import { cleanOutcome, FUZZ, type Mutation, mutate, mutation, RUNS, readerOutcome } from "./harness.js";

const TABLES = new URL("../fixtures/tables/", import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), "gapkit-fuzz-"));
const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 });
const hex = (b: Uint8Array) => Buffer.from(b.subarray(0, 64)).toString("hex");
const TIMEOUT = Math.max(30_000, RUNS * 20);

beforeAll(() => initBackends("js", 1));

/** The statistics of a paired file in any format: the whole read → check → reduce path. */
async function statsOfFile(path: string) {
  const { stats } = await streamPairStats(await openPairTable(path, {}, "fuzz"), {
    workers: 1,
    chunkRows: 16,
  });
  return stats.n >= 2 ? finalizeStats(stats) : stats.n;
}

describe("fuzzing the readers", () => {
  const metrics = fixture("metrics");
  const small = (rows: number) => ({
    a: sliceData(metrics.a.data, rows, metrics.a.cols),
    b: sliceData(metrics.b.data, rows, metrics.b.cols),
  });
  const sliceData = (data: number[], rows: number, cols: number) =>
    Float32Array.from(data.slice(0, rows * cols));

  it(".npy: a mutated file parses or is an InputError; a parsed pair gives finite statistics", {
    timeout: TIMEOUT,
  }, async () => {
    const { a, b } = small(6);
    const seeds = [
      serializeNpy({ shape: [2, 6, 12], data: Float32Array.from([...a, ...b]) }),
      serializeNpy({ shape: [2, 6, 12], data: Float64Array.from([...a, ...b]) }),
      serializeNpy({ shape: [2, 1, 1], data: Float32Array.of(1, 2) }),
    ];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: seeds.length - 1 }), mutations, async (seed, ms) => {
        const bytes = mutate(seeds[seed], ms);
        await cleanOutcome(
          async () => {
            const arr = parseNpy(bytes, "f.npy");
            const { a: pa, b: pb } = toPair(arr, "f.npy");
            return pa.rows >= 2 ? finalizeStats(await pairStats(pa, pb, { moments: false })) : pa.rows;
          },
          () => hex(bytes),
        );
      }),
      FUZZ,
    );
  });

  it(".npz: a mutated archive parses or is an InputError", { timeout: TIMEOUT }, async () => {
    const { a } = small(4);
    const seeds = [false, true].map((compress) =>
      serializeNpz({ x: { shape: [4, 12], data: a } }, { compress }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1 }), mutations, async (seed, ms) => {
        const bytes = mutate(seeds[seed], ms);
        await readerOutcome(
          () => parseNpz(bytes, "f.npz"),
          () => hex(bytes),
        );
      }),
      FUZZ,
    );
  });

  const TABLE_FILES = [
    "pair.jsonl",
    "pair.csv",
    "pair-wide.csv",
    "pair.parquet",
    "pair-wide.parquet",
    "pair-gzip.parquet",
    "pair-groups.parquet",
    "pair.feather",
    "pair-list.arrows",
  ];
  it.each(TABLE_FILES)(
    "%s: a mutated table streams to finite statistics or is an InputError",
    { timeout: TIMEOUT },
    async (name) => {
      const seed = new Uint8Array(readFileSync(join(TABLES, name)));
      const path = join(tmp, name.replace(/^pair/, `fuzz-${name.length}`));
      await fc.assert(
        fc.asyncProperty(mutations, async (ms: Mutation[]) => {
          const bytes = mutate(seed, ms);
          writeFileSync(path, bytes);
          await cleanOutcome(
            () => statsOfFile(path),
            () => `${name} mutated by ${JSON.stringify(ms).slice(0, 300)}`,
          );
        }),
        FUZZ,
      );
    },
  );

  it("well-formed files of hostile values (NaN, ±Inf, zero rows, N ≤ 3, d ≤ 3, ragged rows, a list for a number)", {
    timeout: TIMEOUT,
  }, async () => {
    const cell = fc.oneof(
      { weight: 6, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          0,
          Number.NaN,
          Number.POSITIVE_INFINITY,
          Number.NEGATIVE_INFINITY,
          1e-45,
          3e38,
        ),
      },
    );
    const table = fc.integer({ min: 1, max: 3 }).chain((d) =>
      fc.array(
        fc.record({
          a: fc.oneof(fc.array(cell, { minLength: d, maxLength: d }), fc.array(cell, { maxLength: 4 })),
          b: fc.array(cell, { minLength: d, maxLength: d }),
        }),
        { maxLength: 4 },
      ),
    );
    const name = (format: string) => join(tmp, `semantic.${format}`);
    await fc.assert(
      fc.asyncProperty(table, fc.constantFrom("jsonl", "csv", "npy"), async (rows, format) => {
        if (format === "jsonl")
          writeFileSync(
            name(format),
            rows.map((r) => JSON.stringify(r).replaceAll("null", "NaN")).join("\n"),
          );
        else if (format === "csv")
          writeFileSync(
            name(format),
            `a,b\n${rows.map((r) => `"${r.a.join(" ")}","${r.b.join(" ")}"`).join("\n")}\n`,
          );
        else {
          const d = rows[0]?.b.length ?? 1;
          const flat = rows.flatMap((r) =>
            [...r.a, ...Array(Math.max(0, d - r.a.length)).fill(0)].slice(0, d),
          );
          writeFileSync(
            name(format),
            serializeNpy({
              shape: [2, rows.length, d],
              data: Float32Array.from([...flat, ...rows.flatMap((r) => r.b)]),
            }),
          );
        }
        await cleanOutcome(
          () => statsOfFile(name(format)),
          () => `${format} ${JSON.stringify(rows)}`,
        );
      }),
      FUZZ,
    );
  });

  it("stats parts: a mutated JSON text is parsed and merged, or is an InputError", {
    timeout: TIMEOUT,
  }, async () => {
    const a = fromFixture(metrics.a);
    const b = fromFixture(metrics.b);
    const seeds = [true, false].map(async (moments) =>
      new TextEncoder().encode(JSON.stringify(statsToJson(await pairStats(a, b, { moments })))),
    );
    const texts = await Promise.all(seeds);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1 }), mutations, async (seed, ms) => {
        const text = new TextDecoder().decode(mutate(texts[seed], ms));
        await cleanOutcome(
          () => {
            const stats = parseStats(text, "part.json");
            return stats.n >= 2 ? finalizeStats(mergeStats(stats, stats)) : stats.n;
          },
          () => text.slice(0, 200),
        );
      }),
      FUZZ,
    );
  });
});

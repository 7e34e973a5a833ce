/**
 * Fuzzing every reader: damaged and random versions of valid files must end in a result or an InputError
 * — never another exception, a hang or a NaN in the statistics. `npm run fuzz` runs 10,000 cases each.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { finalizeStats, mergeStats, pairStats, statsToJson } from "../../src/gap/stats.js";
import { parseStats } from "../../src/gap/stats-json.js";
import { parseNpy, serializeNpy, toPair } from "../../src/io/npy.js";
import { parseNpz, serializeNpz } from "../../src/io/npz.js";
import { streamPairStats } from "../../src/io/stream.js";
import { openPairTable, readAll, readTable } from "../../src/io/tables.js";
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

  /** What reading `path` as one modality gives: its values, or the InputError's message. */
  const readOne = async (path: string): Promise<number[] | string> => {
    try {
      return Array.from((await readTable(path, [undefined])).columns[0].data);
    } catch (error) {
      if (error instanceof InputError) return error.message;
      throw error;
    }
  };

  it("CSV cells: a cell reads as a number exactly when it is a finite JSON number, nothing around it", {
    timeout: TIMEOUT,
  }, async () => {
    const cell = fc.oneof(
      fc.double().map(String),
      fc.integer().map((n) => `0x${n.toString(16)}`),
      fc.constantFrom("1e", " 1", "1 ", "+1", ".5", "1.", "01", "-", "", "1e999", "NaN", "-0", "1E+2", "١"),
      fc.string({ maxLength: 6 }),
    );
    const file = join(tmp, "cell.csv");
    await fc.assert(
      fc.asyncProperty(cell, async (text) => {
        writeFileSync(file, `1,2\n2,"${text.replaceAll('"', '""')}"\n`);
        const read = await readOne(file);
        let expected: number | undefined;
        try {
          const value = JSON.parse(text);
          if (typeof value === "number" && Number.isFinite(value) && !/\s/.test(text)) expected = value;
        } catch {}
        if (expected === undefined) expect(typeof read, `${JSON.stringify(text)} → ${read}`).toBe("string");
        else expect(read).toEqual([1, 2, 2, Math.fround(expected)]);
      }),
      FUZZ,
    );
  });

  it("JSONL values: an element reads only when it is a JSON number", { timeout: TIMEOUT }, async () => {
    const file = join(tmp, "value.jsonl");
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.double().map(String), fc.constantFrom("1", " 2", "0x10")),
        async (value) => {
          const text = JSON.stringify(value);
          writeFileSync(file, `[1, 2]\n[2, ${text}]\n`);
          const read = await readOne(file);
          const parsed = JSON.parse(text); // -0 is written as 0
          if (typeof parsed === "number") expect(read).toEqual([1, 2, 2, Math.fround(parsed)]);
          else expect(typeof read, `${JSON.stringify(value)} → ${read}`).toBe("string");
        },
      ),
      FUZZ,
    );
  });

  it("JSON nested deeper than any parser's stack: an InputError from the JSONL and stats readers", {
    timeout: 60_000,
  }, async () => {
    // a few depths, not RUNS of them: each case is megabytes of brackets
    const file = join(tmp, "deep.jsonl");
    const row = '{"a": [1, 2], "b": [3, 4]}';
    for (const depth of [100, 10_000, 200_000])
      for (const [open, close] of [
        ["[", "]"],
        ['{"a":', "}"],
        ['{"a": [', "]}"],
      ])
        for (const first of [true, false]) {
          const deep = `${open.repeat(depth)}1${close.repeat(depth)}`;
          writeFileSync(file, `${(first ? [deep, row] : [row, deep]).join("\n")}\n`);
          const name = () => `depth ${depth} of ${open}, ${first ? "first" : "second"} row`;
          await readerOutcome(() => statsOfFile(file), name);
          await readerOutcome(() => readTable(file, [undefined]), name);
          await readerOutcome(() => parseStats(deep, "part.json"), name);
        }
  });

  it("text tables with CRLF line ends and a UTF-8 byte-order mark read as the plain file", {
    timeout: Math.max(30_000, RUNS * 60),
  }, async () => {
    const value = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
    // d ≥ 2: a list cell of one number reads as a plain number column
    const table = fc.integer({ min: 2, max: 3 }).chain((d) =>
      fc.array(
        fc.record({
          a: fc.array(value, { minLength: d, maxLength: d }),
          b: fc.array(value, { minLength: d, maxLength: d }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    );
    const layouts = {
      jsonl: (rows: { a: number[]; b: number[] }[]) => rows.map((r) => JSON.stringify(r)),
      csv: (rows: { a: number[]; b: number[] }[]) => [
        "a,b",
        ...rows.map((r) => `"${r.a.join(" ")}","${r.b.join(" ")}"`),
      ],
      "wide.csv": (rows: { a: number[]; b: number[] }[]) => [
        [...rows[0].a.map((_, j) => `a_${j}`), ...rows[0].b.map((_, j) => `b_${j}`)].join(","),
        ...rows.map((r) => [...r.a, ...r.b].join(",")),
      ],
    };
    await fc.assert(
      fc.asyncProperty(
        table,
        fc.constantFrom(...(Object.keys(layouts) as (keyof typeof layouts)[])),
        fc.boolean(),
        fc.constantFrom(["", "\r\n"], ["\ufeff", "\n"], ["\ufeff", "\r\n"]),
        async (rows, layout, finalEol, [bom, eol]) => {
          const lines = layouts[layout](rows);
          const ext = layout === "jsonl" ? "jsonl" : "csv";
          const read = async (bom: string, eol: string) => {
            const file = join(tmp, `eol.${ext}`);
            writeFileSync(file, `${bom}${lines.join(eol)}${finalEol ? eol : ""}`);
            const { columns } = await readAll(await openPairTable(file, {}, "fuzz"));
            return columns.map((m) => Array.from(m.data));
          };
          const plain = await read("", "\n");
          expect(await read(bom, eol), `${layout} ${JSON.stringify({ bom, eol })}`).toEqual(plain);
        },
      ),
      FUZZ,
    );
  });

  it(".npz: a stored member with any bit flipped fails its CRC; a deflated one fails or inflates unchanged", {
    timeout: TIMEOUT,
  }, async () => {
    const { a } = small(4);
    const x = { shape: [4, 12], data: a };
    const archives = [false, true].map((compress) => serializeNpz({ x }, { compress }));
    const memberStart = 30 + "x.npy".length; // the first local header, then the member's bytes
    const centralStart = (zip: Uint8Array) => zip.length - 22 - (46 + "x.npy".length);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        fc.integer({ min: 0, max: 7 }),
        async (compressed, where, bit) => {
          const zip = Uint8Array.from(archives[compressed]);
          const at = memberStart + Math.floor(where * (centralStart(zip) - memberStart));
          zip[at] ^= 1 << bit;
          let data: ArrayLike<number> | undefined;
          try {
            data = parseNpz(zip, "f.npz").get("x")?.data as ArrayLike<number>;
          } catch (error) {
            if (!(error instanceof InputError)) throw error;
          }
          if (!compressed || data)
            expect(data && Array.from(data), `byte ${at} bit ${bit}`).toEqual(
              compressed ? Array.from(a) : undefined,
            );
        },
      ),
      FUZZ,
    );
  });
});

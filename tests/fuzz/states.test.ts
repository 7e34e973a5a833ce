/**
 * Fuzzing the JSON state readers (alignment states, training checkpoints) and the CLI's argument parsing:
 * each input ends in a valid result or an InputError (exit 2), never another exception or exit 1.
 */
import { appendFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ALIGN_METHODS, alignParams, applyAlign, fitAlign, parseAlignState } from "../../src/align/index.js";
import { parseInteger, parseNumberList, parseRowRange } from "../../src/cli/options.js";
import { main } from "../../src/cli/program.js";
import { InputError } from "../../src/core/errors.js";
import { matrix } from "../../src/core/matrix.js";
import { checkpointOf, restoreCheckpoint } from "../../src/train/checkpoint.js";
import { DEFAULT_TRAIN_CONFIG, initTraining } from "../../src/train/trainer.js";
import { scratchDir, writeMetricsPair } from "../cli/run.js";
import { fixture, fromFixture } from "../helpers.js";
import { cleanOutcome, FUZZ, mutate, mutation, RUNS } from "./harness.js";

const metrics = fixture("metrics");
const [a, b] = [fromFixture(metrics.a), fromFixture(metrics.b)];
const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 });
const TIMEOUT = Math.max(30_000, RUNS * 20);
const encode = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** A JSON value with one leaf (or subtree) replaced at a random path. */
function replaceAt(value: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0 || value === null || typeof value !== "object") return replacement;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return replacement;
  const [key, child] = entries[path[0] % entries.length];
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...value };
  (copy as Record<string, unknown>)[key] = replaceAt(child, path.slice(1), replacement);
  return copy;
}

const structural = fc.record({
  path: fc.array(fc.nat(), { maxLength: 4 }),
  replacement: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -1, 0, 1e308, 2 ** 53, "", null, []),
  ),
});

describe("fuzzing the state readers", () => {
  it("alignment states: a damaged state is read and applied to finite unit rows, or is an InputError", {
    timeout: TIMEOUT,
  }, async () => {
    const states = await Promise.all(Object.keys(ALIGN_METHODS).map((kind) => fitAlign(kind, a, b)));
    const rows = matrix(
      3,
      12,
      Float32Array.from({ length: 36 }, (_, i) => Math.sin(i) + 0.2),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: states.length - 1 }),
        fc.oneof(
          mutations.map((ms) => ({ bytes: ms })),
          structural.map((s) => ({ tree: s })),
        ),
        fc.constantFrom("a" as const, "b" as const),
        async (which, change, side) => {
          const json = JSON.stringify(states[which]);
          const text =
            "bytes" in change
              ? decode(mutate(encode(json), change.bytes))
              : JSON.stringify(replaceAt(JSON.parse(json), change.tree.path, change.tree.replacement));
          await cleanOutcome(
            async () => (await applyAlign(parseAlignState(text, "state.json"), rows, side)).data,
            () => text.slice(0, 300),
          );
        },
      ),
      FUZZ,
    );
  });

  it("training checkpoints: damaged metadata or arrays restore to finite parameters, or are an InputError", {
    timeout: TIMEOUT,
  }, async () => {
    const seeds = (["clip", "itc"] as const).map((loss) =>
      checkpointOf(initTraining({ ...DEFAULT_TRAIN_CONFIG, loss, widths: [4, 3], queueSize: 4 }, 5, 6)),
    );
    const arrayChange = fc.record({
      pick: fc.nat(),
      how: fc.constantFrom("drop", "shorten", "nan", "int", "rename"),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: seeds.length - 1 }),
        fc.oneof(
          mutations.map((ms) => ({ bytes: ms })),
          structural.map((s) => ({ tree: s })),
          arrayChange.map((c) => ({ array: c })),
        ),
        async (which, change) => {
          const seed = seeds[which];
          const arrays = { ...seed.arrays };
          let meta: unknown = seed.meta;
          if ("bytes" in change) {
            const text = decode(mutate(encode(JSON.stringify(seed.meta)), change.bytes));
            try {
              meta = JSON.parse(text);
            } catch {
              return; // a syntax error is parseJson's, tested elsewhere
            }
          } else if ("tree" in change) meta = replaceAt(seed.meta, change.tree.path, change.tree.replacement);
          else {
            const names = Object.keys(arrays);
            const name = names[change.array.pick % names.length];
            const arr = arrays[name];
            if (change.array.how === "drop") delete arrays[name];
            else if (change.array.how === "shorten")
              arrays[name] = { ...arr, data: arr.data.slice(1) as Float64Array };
            else if (change.array.how === "nan")
              arrays[name] = { ...arr, data: Float64Array.from(arr.data as Float64Array, () => Number.NaN) };
            else if (change.array.how === "int")
              arrays[name] = { ...arr, dtype: "i8", data: new BigInt64Array(arr.data.length) };
            else arrays[`opt.${change.array.pick}.${change.array.pick % 3}`] = arr;
          }
          await cleanOutcome(
            () => Object.values(restoreCheckpoint({ meta, arrays }, "ckpt").params),
            () => JSON.stringify(change).slice(0, 300),
          );
        },
      ),
      FUZZ,
    );
  });
});

describe("fuzzing the CLI's arguments", () => {
  it("the option parsers return valid values or throw an InputError", () => {
    const text = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        "1e3",
        "-0",
        "0x10",
        " 5",
        "1:",
        ":",
        "9007199254740993",
        "NaN",
        "Infinity",
        "1,,2",
        "0:1:0",
      ),
    );
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 1000 }), (value, rows) => {
        const checks: (() => unknown)[] = [
          () => {
            const [s, e] = parseRowRange(value, rows);
            expect(0 <= s && s < e && e <= rows).toBe(true);
          },
          () => expect(Number.isSafeInteger(parseInteger(value, "--n", 1, 100))).toBe(true),
          () => expect(parseNumberList(value, "--list").every(Number.isFinite)).toBe(true),
          () => alignParams(ALIGN_METHODS.coral, { eps: value }),
        ];
        for (const attempt of checks) {
          try {
            attempt();
          } catch (error) {
            if (!(error instanceof InputError)) throw error;
          }
        }
      }),
      { ...FUZZ, numRuns: RUNS * 4 },
    );
  });

  describe("whole commands in this process, with random flags", () => {
    const path = scratchDir("gapkit-fuzz-cli-");
    const output = vi.fn();
    let restore: () => void;
    beforeAll(async () => {
      await writeMetricsPair(path("pair.npy"));
      process.env.GAPKIT_BACKEND = "js";
      const [out, err] = [process.stdout.write, process.stderr.write];
      process.stdout.write = output as never;
      process.stderr.write = output as never;
      restore = () => {
        process.stdout.write = out;
        process.stderr.write = err;
        delete process.env.GAPKIT_BACKEND;
      };
    });
    afterAll(() => restore());

    const value = fc.oneof(
      fc.constantFrom(
        "0",
        "1",
        "-1",
        "2",
        "0.5",
        "1e9",
        "",
        "x",
        "0:10",
        "5:2",
        ":",
        "nan",
        "a",
        "b",
        "all",
        "center",
        "coral",
        "3",
      ),
      fc.string({ maxLength: 6 }),
    );
    const flag = fc.constantFrom(
      "--rows",
      "--a-col",
      "--b-col",
      "--workers",
      "--chunk-rows",
      "--pairwise-max",
      "--seed",
      "--method",
      "--param",
      "--fit",
      "--lambda",
      "--side",
      "--backend",
      "--json",
      "--vectors",
      "--no-moments",
      "--shuffle",
      "--a",
      "--b",
    );
    const command = fc.constantFrom(
      ["measure"],
      ["stats"],
      ["align", "fit"],
      ["align", "eval"],
      ["shift"],
      ["info"],
    );

    it("exit 0 or 2, never 1", { timeout: TIMEOUT * 2 }, async () => {
      await fc.assert(
        fc.asyncProperty(
          command,
          fc.array(fc.tuple(flag, value), { maxLength: 4 }),
          fc.boolean(),
          async (cmd, flags, withFile) => {
            const args = [...cmd, ...(withFile ? [path("pair.npy")] : []), ...flags.flat()];
            if (cmd[0] === "align" && cmd[1] === "fit") args.push("-o", path("state.json"));
            if (process.env.GAPKIT_FUZZ_TRACE)
              appendFileSync(process.env.GAPKIT_FUZZ_TRACE, `${args.join(" ")}\n`);
            const code = await main(["node", "gapkit", ...args]);
            expect(code, `gapkit ${args.join(" ")}: ${output.mock.calls.at(-1)?.[0]}`).not.toBe(1);
          },
        ),
        { ...FUZZ, numRuns: Math.min(RUNS, 1500) },
      );
    });
  });
});

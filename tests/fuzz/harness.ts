import fc from "fast-check";
import { afterAll, expect } from "vitest";
import { InputError } from "../../src/core/errors.js";

/**
 * Cases per property: modest in `npm test`, ≥ 10,000 with `npm run fuzz` (GAPKIT_FUZZ_RUNS). GAPKIT_FUZZ_SEED
 * replays another sequence; GAPKIT_FUZZ_TRACE=FILE logs every in-process CLI case, for a crash that kills the
 * test process before fast-check can report it.
 */
export const RUNS = Number(process.env.GAPKIT_FUZZ_RUNS ?? 150);

/** The fast-check settings every fuzz property uses: seeded, so a failure replays. */
export const FUZZ = {
  numRuns: RUNS,
  seed: Number(process.env.GAPKIT_FUZZ_SEED ?? 20261123),
  endOnFailure: true,
};

/** A mutation of a byte string: what a damaged or hostile file looks like. */
export const mutation = fc.oneof(
  fc.record({ op: fc.constant("truncate" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({
    op: fc.constant("flip" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    op: fc.constant("overwrite" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({ op: fc.constant("random" as const), bytes: fc.uint8Array({ maxLength: 256 }) }),
);

export type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

/** Applies up to a few mutations to a copy of `bytes`. */
export function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = Uint8Array.from(bytes);
  for (const m of mutations) {
    if (m.op === "random") return Uint8Array.from(m.bytes);
    const at = Math.floor(m.at * out.length);
    if (m.op === "truncate") out = out.slice(0, at);
    else if (m.op === "flip" && out.length) out[Math.min(at, out.length - 1)] ^= 1 << m.bit;
    else if (m.op === "overwrite") out.set(m.bytes.subarray(0, Math.max(0, out.length - at)), at);
    else if (m.op === "insert") {
      const grown = new Uint8Array(out.length + m.bytes.length);
      grown.set(out.subarray(0, at));
      grown.set(m.bytes, at);
      grown.set(out.subarray(at), at + m.bytes.length);
      out = grown;
    }
  }
  return out;
}

/** Every number reachable in a result (typed arrays included). */
function* numbers(value: unknown, depth = 0): Generator<number> {
  if (depth > 8) return;
  if (typeof value === "number") yield value;
  else if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    for (const v of value as unknown as Iterable<number | bigint>) {
      if (typeof v === "number") yield v;
    }
  else if (Array.isArray(value)) for (const v of value) yield* numbers(v, depth + 1);
  else if (value && typeof value === "object")
    for (const v of Object.values(value)) yield* numbers(v, depth + 1);
}

/**
 * Runs `attempt` on one fuzz input: it must return a result without NaN or ±Inf, or throw an InputError.
 * Anything else (another exception, a non-finite number) fails the property, naming the input.
 */
export async function cleanOutcome(attempt: () => unknown, describeInput: () => string): Promise<void> {
  await outcome(attempt, describeInput, true);
}

/** Like cleanOutcome, for readers whose results may hold the file's own NaNs (rejected later, by measure). */
export async function readerOutcome(attempt: () => unknown, describeInput: () => string): Promise<void> {
  await outcome(attempt, describeInput, false);
}

// inputs tried per test, printed when the test file ends (`npm run fuzz` reports them)
const tried = new Map<string, number>();
afterAll(() => {
  for (const [test, inputs] of tried) console.log(`fuzz: ${test}: ${inputs} inputs`);
});

async function outcome(attempt: () => unknown, describeInput: () => string, finite: boolean): Promise<void> {
  const test = expect.getState().currentTestName ?? "outside a test";
  tried.set(test, (tried.get(test) ?? 0) + 1);
  let result: unknown;
  try {
    result = await attempt();
  } catch (error) {
    if (error instanceof InputError) return;
    throw new Error(`not an InputError for ${describeInput()}: ${(error as Error)?.stack ?? error}`);
  }
  if (finite)
    for (const v of numbers(result))
      expect(Number.isFinite(v), `a non-finite number in the result for ${describeInput()}`).toBe(true);
}

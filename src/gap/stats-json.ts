/**
 * Gap statistics read back from JSON (`stats merge`, `align fit --stats`; stats.ts's statsToJson writes
 * them). Apart from stats.ts so that what only computes or writes statistics does not load zod (≈ 100 ms
 * of start-up: 95 modules).
 */
import { z } from "zod";
import { base64ToFloat64, compensatedValue } from "../core/compensated.js";
import { check, parseJson, validated } from "../core/errors.js";
import { type GapStats, type GapSums, keptSums, MAX_MOMENT_DIM, sumLength } from "./stats.js";

const sumJson = z.object({ hi: z.string(), lo: z.string() });
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "not a SHA-256 (64 hex digits)");
const row = z.number().int().nonnegative();
const sourceRowsJson = z.object({
  source: z.union([
    z.object({ file: z.string().min(1), bytes: z.number().int().nonnegative(), head: sha256 }),
    z.object({
      engine: z.enum(["duckdb", "clickhouse"]),
      location: z.string().min(1),
      table: z.string().optional(),
    }),
  ]),
  rows: z.tuple([row, row]).refine(([start, end]) => start < end, "a range [start, end) with start ≥ end"),
  content: sha256.optional(),
});
const statsJson = z.object({
  kind: z.literal("gapkit.stats"),
  version: z.literal(1),
  n: z.number().int().nonnegative(),
  dim: z.number().int().positive(),
  moments: z.boolean(),
  encoding: z.literal("float64-le-base64"),
  // absent from statistics written before gapkit recorded where they came from
  provenance: z.array(sourceRowsJson).optional(),
  sums: z.record(z.string(), sumJson),
});

/** Reads statistics written by statsToJson (a JSON text or parsed value), validating every field. */
export function parseStats(input: string | unknown, where: string): GapStats {
  const value = typeof input === "string" ? parseJson(input, where, "gapkit statistics as JSON") : input;
  const { n, dim, moments, sums, provenance } = validated(
    statsJson,
    value,
    where,
    "gapkit statistics (kind gapkit.stats, version 1)",
  );
  check(
    !moments || dim <= MAX_MOMENT_DIM,
    `${where} dim`,
    `at most ${MAX_MOMENT_DIM} with second moments`,
    () => String(dim),
  );
  const recorded = (provenance ?? []).reduce((total, { rows: [start, end] }) => total + end - start, 0);
  check(recorded <= n, `${where} provenance`, `source rows of at most its ${n} pairs`, () =>
    String(recorded),
  );
  const kept = keptSums(moments, "ab" in sums); // the cross moment is optional (measure leaves it out)
  const keys: string[] = kept.map((s) => s.name);
  const extra = Object.keys(sums).filter((k) => !keys.includes(k));
  check(extra.length === 0, `${where} sums`, `only ${keys.join(", ")}`, () => extra.join(", "));
  const decoded = Object.fromEntries(
    kept.map((spec) => {
      const k = spec.name;
      const s = sums[k];
      check(s !== undefined, `${where} sums`, `a sum named ${k}`, () => "none");
      const length = sumLength(spec, dim);
      const hi = base64ToFloat64(s.hi, length, `${where} sums.${k}.hi`);
      const lo = base64ToFloat64(s.lo, length, `${where} sums.${k}.lo`);
      const bad = [...hi, ...lo].findIndex((v) => !Number.isFinite(v));
      check(bad < 0, `${where} sums.${k}`, "finite values", () => `a non-finite value at ${bad}`);
      return [k, { hi, lo }];
    }),
  ) as unknown as GapSums;
  checkConsistent(decoded, n, dim, where);
  return {
    kind: "gapkit.stats",
    version: 1,
    n,
    dim,
    moments,
    sums: decoded,
    ...(provenance && { provenance }),
  };
}

/**
 * Refuses sums that no n unit rows could give (a hand-edited or corrupt part would be merged silently):
 * Σ‖x̂‖² in [0, n], |Σ â·b̂| ≤ n, ‖Σ x̂‖ ≤ n, and a second moment's diagonal ≥ 0 with trace Σ‖x̂‖².
 */
function checkConsistent(sums: GapSums, n: number, dim: number, where: string): void {
  const slack = 1e-6 * Math.max(n, 1); // rounding of n float32 rows
  const within = (name: string, value: number, low: number, high: number, what: string) =>
    check(
      value >= low - slack && value <= high + slack,
      `${where} sums.${name}`,
      what,
      () => `${value} with n = ${n}`,
    );
  const scalar = (name: "pairedCos" | "squaresA" | "squaresB") => compensatedValue(sums[name])[0];
  within("squaresA", scalar("squaresA"), 0, n, "a sum of squared norms in [0, n]");
  within("squaresB", scalar("squaresB"), 0, n, "a sum of squared norms in [0, n]");
  within("pairedCos", scalar("pairedCos"), -n, n, "a sum of cosines in [−n, n]");
  for (const side of ["a", "b"] as const) {
    const norm = Math.hypot(...compensatedValue(sums[side]));
    within(side, norm, 0, n, "a sum of unit rows, of norm at most n");
    const moment = sums[side === "a" ? "aa" : "bb"];
    if (!moment) continue;
    const m = compensatedValue(moment);
    const diagonal = Array.from({ length: dim }, (_, j) => m[j * dim + j]);
    const negative = diagonal.findIndex((v) => v < -slack);
    check(negative < 0, `${where} sums.${side}${side}`, "a second moment with a diagonal ≥ 0", () =>
      String(diagonal[negative]),
    );
    const squares = scalar(side === "a" ? "squaresA" : "squaresB");
    const trace = diagonal.reduce((t, v) => t + v, 0);
    check(
      Math.abs(trace - squares) <= slack + 1e-9 * Math.abs(squares),
      `${where} sums.${side}${side}`,
      `a second moment whose trace is sums.squares${side.toUpperCase()} (${squares})`,
      () => String(trace),
    );
  }
}

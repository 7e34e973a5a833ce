/**
 * Gap statistics as JSON (`gapkit stats -o`, `stats merge`, `align fit --stats`). Apart from stats.ts so
 * that what only computes statistics (measure) does not load zod (≈ 100 ms of start-up).
 */
import { z } from "zod";
import { base64ToFloat64, type CompensatedSum, float64ToBase64 } from "../core/compensated.js";
import { check, parseJson, validated } from "../core/errors.js";
import { type GapStats, type GapSums, keptSums, MAX_MOMENT_DIM, sumLength } from "./stats.js";

const sumJson = z.object({ hi: z.string(), lo: z.string() });
const statsJson = z.object({
  kind: z.literal("gapkit.stats"),
  version: z.literal(1),
  n: z.number().int().nonnegative(),
  dim: z.number().int().positive(),
  moments: z.boolean(),
  encoding: z.literal("float64-le-base64"),
  sums: z.record(z.string(), sumJson),
});

/** The statistics as a JSON-serialisable value (sums as exact base64 float64, so a round trip loses nothing). */
export function statsToJson(stats: GapStats): unknown {
  const sums = Object.fromEntries(
    Object.entries(stats.sums).map(([k, s]) => [
      k,
      { hi: float64ToBase64((s as CompensatedSum).hi), lo: float64ToBase64((s as CompensatedSum).lo) },
    ]),
  );
  const { kind, version, n, dim, moments } = stats;
  return { kind, version, n, dim, moments, encoding: "float64-le-base64", sums };
}

/** Reads statistics written by statsToJson (a JSON text or parsed value), validating every field. */
export function parseStats(input: string | unknown, where: string): GapStats {
  const value = typeof input === "string" ? parseJson(input, where, "gapkit statistics as JSON") : input;
  const { n, dim, moments, sums } = validated(
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
  return { kind: "gapkit.stats", version: 1, n, dim, moments, sums: decoded };
}

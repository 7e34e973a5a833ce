import {
  addCompensated,
  type CompensatedSum,
  compensated,
  compensatedValue,
  float64ToBase64,
} from "../core/compensated.js";
import { transposed } from "../core/dense64.js";
import { check } from "../core/errors.js";
import { type GemmBackend, mulF64 } from "../core/gemm/index.js";
import { type Matrix, rowsF64, sliceRows, vectorNorm } from "../core/matrix.js";
import { firstOrderSums } from "./first-order.js";
import { checkPair, coneFromSums, relativeModalityGap } from "./metrics.js";
import { effectiveRankFromGram, type Spectrum } from "./spectrum.js";
import { type UnitRows, unitMoment, unitRows } from "./unit-rows.js";

/** The sums behind every non-pairwise `measure` number, over L2-normalised rows â_i, b̂_i. */
export interface GapSums {
  /** Σ â_i·b̂_i (length 1). */
  pairedCos: CompensatedSum;
  /** Σ ‖â_i‖² and Σ ‖b̂_i‖² (length 1 each; N up to rounding). */
  squaresA: CompensatedSum;
  squaresB: CompensatedSum;
  /** Σ â_i and Σ b̂_i (length d). */
  a: CompensatedSum;
  b: CompensatedSum;
  /** Second moments Σ â_i â_iᵀ, Σ b̂_i b̂_iᵀ, Σ â_i b̂_iᵀ (d×d row-major), when `moments`. */
  aa?: CompensatedSum;
  bb?: CompensatedSum;
  ab?: CompensatedSum;
}

/**
 * Where statistics' rows came from. Two parts share a source when every field is equal: a file by its
 * name (without its folder, so that parts computed on different machines compare), its size and the hash
 * of its first bytes — not by the hash of the rows read, which differs from one row range to another; a
 * table summed by a database engine by the engine, its location and the table.
 */
export type StatsSource =
  /**
   * A file (or the two of `--a A --b B`: their names joined by " + ", sizes summed, heads hashed one after
   * the other); `head` is the SHA-256 (hex) of its first 64 KiB: its format's header and first rows.
   */
  | { file: string; bytes: number; head: string }
  /**
   * A table summed by DuckDB (`location`: the database file, or a Parquet glob with no table, as given) or
   * by a ClickHouse server (`location`: its origin, without user or password).
   */
  | { engine: "duckdb" | "clickhouse"; location: string; table?: string };

/** Rows [start, end) of a source that statistics cover. */
export interface SourceRows {
  source: StatsSource;
  rows: [number, number];
  /**
   * SHA-256 (hex) of the rows read, as float32 (A's rows, then B's), hashed chunk by chunk: the SHA-256 of
   * the chunks' SHA-256s, so equal for the same rows read with the same --chunk-rows.
   */
  content?: string;
}

/**
 * Mergeable statistics of a paired embedding set: what one shard, chunk or worker contributes. Merging is
 * associative and commutative up to double-double rounding, so any split of the rows gives the same result.
 */
export interface GapStats {
  readonly kind: "gapkit.stats";
  readonly version: 1;
  /** Number of pairs. */
  readonly n: number;
  readonly dim: number;
  /** Whether the d×d second moments are kept (needed for the spectrum and moment-based transforms). */
  readonly moments: boolean;
  readonly sums: GapSums;
  /**
   * The source rows the pairs came from, where recorded (pairStats does not, nor did gapkit before it
   * recorded them; merged statistics may cover some rows only): merging refuses a row of a source twice.
   */
  readonly provenance?: readonly SourceRows[];
}

/** The `measure` numbers that the statistics determine exactly. */
export interface StatsSummary {
  n: number;
  dim: number;
  gap: { l2m: number; rmg: number; vector?: number[] };
  cone: { a: number; b: number };
  pairedCos: number;
  alignment: number;
  /** Present when the statistics carry second moments. */
  spectrum?: Spectrum;
}

/** Options for pairStats. */
export interface PairStatsOptions {
  /** Keep the d×d second moments (default true). */
  moments?: boolean;
  /** With the moments, also the cross moment Σ â b̂ᵀ (default true; the spectrum needs only the other two). */
  cross?: boolean;
  /** How errors name the two modalities. */
  names?: { a: string; b: string };
  /** The first row's number in its file, for error messages. */
  firstRow?: number;
  backend?: string | GemmBackend;
}

/** One sum over the rows of L2-normalised vectors a and b. */
export type SumSpec =
  /** Σ x_i·y_i: a scalar. */
  | { name: keyof GapSums; kind: "dot"; x: "a" | "b"; y: "a" | "b" }
  /** Σ x_i: a d-vector. */
  | { name: keyof GapSums; kind: "sum"; x: "a" | "b" }
  /** Σ x_i y_iᵀ: a d×d matrix (a second moment). */
  | { name: keyof GapSums; kind: "outer"; x: "a" | "b"; y: "a" | "b" };

/** Every sum in GapStats, described once for every engine. */
export const GAP_SUMS: readonly SumSpec[] = [
  { name: "pairedCos", kind: "dot", x: "a", y: "b" },
  { name: "squaresA", kind: "dot", x: "a", y: "a" },
  { name: "squaresB", kind: "dot", x: "b", y: "b" },
  { name: "a", kind: "sum", x: "a" },
  { name: "b", kind: "sum", x: "b" },
  { name: "aa", kind: "outer", x: "a", y: "a" },
  { name: "bb", kind: "outer", x: "b", y: "b" },
  { name: "ab", kind: "outer", x: "a", y: "b" },
];

/** How many numbers a sum holds for dimension d: 1, d or d². */
export function sumLength(sum: SumSpec, d: number): number {
  return sum.kind === "dot" ? 1 : sum.kind === "sum" ? d : d * d;
}

/** The sums kept with or without the second moments (the outer products) and the cross moment among them. */
export function keptSums(moments: boolean, cross = moments): SumSpec[] {
  return GAP_SUMS.filter((s) => s.kind !== "outer" || (moments && (cross || s.x === s.y)));
}

/**
 * Statistics of raw paired rows, in one fused pass (a WebAssembly SIMD kernel, see first-order.ts): each
 * row's norm, its normalised contribution to every sum, all in float64 (rows are normalised in float64,
 * not rounded to float32 first). A zero, NaN or infinite row, or mismatched shapes, is an InputError
 * naming the row.
 */
export async function pairStats(a: Matrix, b: Matrix, options: PairStatsOptions = {}): Promise<GapStats> {
  const names = options.names ?? { a: "A", b: "B" };
  const firstRow = options.firstRow ?? 0;
  const fail = (): never => {
    checkPair(a, b, names, { minRows: 0, firstRow }); // throws the precise error
    throw new Error("pairStats: a row failed a check that checkPair passed");
  };
  if (a.rows !== b.rows || a.cols !== b.cols || a.cols < 1) fail();
  const first = firstOrderSums(a, b);
  if (typeof first === "number") return fail();
  const { sumA, sumB, paired, squaresA, squaresB } = first;
  const one = (v: number) => compensated(Float64Array.of(v));
  const sums: GapSums = {
    pairedCos: one(paired),
    squaresA: one(squaresA),
    squaresB: one(squaresB),
    a: compensated(sumA),
    b: compensated(sumB),
  };
  const stats: GapStats = { kind: "gapkit.stats", version: 1, n: a.rows, dim: a.cols, moments: false, sums };
  if (!(options.moments ?? true)) return stats;
  // the moments are of the rows normalised in float64, as the sums are: from the same rows, a covariance
  // Σxxᵀ/n − μμᵀ stays positive semi-definite to rounding (with float32-rounded rows it did not). A block
  // of rows at a time: those rows (data + lo) of a whole large set would hold twice the input again.
  const step = Math.max(1, Math.floor(MOMENT_BLOCK_ELEMENTS / a.cols));
  const block = (start: number) => {
    const end = Math.min(a.rows, start + step);
    return withMoments(
      stats,
      unitRows(sliceRows(a, start, end)),
      unitRows(sliceRows(b, start, end)),
      options,
    );
  };
  let withSums = await block(0);
  for (let start = step; start < a.rows; start += step)
    withSums = { ...withSums, sums: addMoments(withSums.sums, (await block(start)).sums) };
  return withSums;
}

// Rows whose float64 values pairStats holds at once for the second moments: 16 MB per part at 512 columns,
// the blocks onnxruntime's float64 Gram takes anyway.
const MOMENT_BLOCK_ELEMENTS = 2 ** 22;

/** The sums `x` with the second moments of `y` added to theirs (compensated). */
function addMoments(x: GapSums, y: GapSums): GapSums {
  const sums = { ...x };
  for (const key of ["aa", "bb", "ab"] as const) {
    const [p, q] = [x[key], y[key]];
    if (p && q) sums[key] = addCompensated(p, q);
  }
  return sums;
}

/** The statistics as a JSON-serialisable value (sums as exact base64 float64, so a round trip loses nothing). */
export function statsToJson(stats: GapStats): unknown {
  const sums = Object.fromEntries(
    Object.entries(stats.sums).map(([k, s]) => [
      k,
      { hi: float64ToBase64((s as CompensatedSum).hi), lo: float64ToBase64((s as CompensatedSum).lo) },
    ]),
  );
  const { kind, version, n, dim, moments, provenance } = stats;
  return { kind, version, n, dim, moments, encoding: "float64-le-base64", provenance, sums };
}

/** The largest dimension whose d×d second moments gapkit keeps (six d² float64 arrays: 768 MB at 4,096). */
export const MAX_MOMENT_DIM = 4096;

/** Rejects a dimension above MAX_MOMENT_DIM for the d×d moments or the spectrum. */
function checkMomentDim(dim: number): void {
  check(
    dim <= MAX_MOMENT_DIM,
    "second moments",
    `a dimension of at most ${MAX_MOMENT_DIM} for the d×d moments (the spectrum, moment-based transforms); use --no-moments`,
    () => String(dim),
  );
}

/** `stats` with the second moments of its rows added, given those rows normalised in float64 (unitRows). */
export async function withMoments(
  stats: GapStats,
  ua: UnitRows,
  ub: UnitRows,
  options: Pick<PairStatsOptions, "backend" | "cross"> = {},
): Promise<GapStats> {
  checkMomentDim(stats.dim);
  const backend = { backend: options.backend };
  const sums: GapSums = {
    ...stats.sums,
    aa: compensated(await unitMoment(ua, ua, backend)),
    bb: compensated(await unitMoment(ub, ub, backend)),
    ...(options.cross === false ? {} : { ab: compensated(await unitMoment(ua, ub, backend)) }),
  };
  return { ...stats, moments: true, sums };
}

/** The statistics of the union of the parts' rows; a sum (a second moment) is kept only if every part has it. */
export function mergeStats(...parts: GapStats[]): GapStats {
  return mergeNamedStats(
    parts,
    parts.map((_, i) => `part ${i + 1}`),
    "mergeStats",
  );
}

/**
 * mergeStats, with errors naming each part (`names`: its file, say) and the caller (`where`). Two parts
 * whose provenance covers a row of one source twice (the same part twice, overlapping --rows of one file,
 * a merged part and one of its own parts) are an InputError naming both; the merged provenance lists the
 * parts' source rows.
 */
export function mergeNamedStats(
  parts: readonly GapStats[],
  names: readonly string[],
  where: string,
): GapStats {
  check(parts.length > 0, where, "at least one part", () => "none");
  const dim = parts[0].dim;
  parts.forEach((p, i) => {
    check(p.dim === dim, `${where} ${names[i]}`, `dimension ${dim} like ${names[0]}`, () => String(p.dim));
  });
  checkDistinctRows(parts, names, where);
  const moments = parts.every((p) => p.moments);
  const sums = Object.fromEntries(
    keptSums(
      moments,
      parts.every((p) => p.sums.ab),
    ).map(({ name: k }) => [
      k,
      parts
        .slice(1)
        .reduce(
          (acc, p) => addCompensated(acc, p.sums[k] as CompensatedSum),
          parts[0].sums[k] as CompensatedSum,
        ),
    ]),
  ) as unknown as GapSums;
  const n = parts.reduce((total, p) => total + p.n, 0);
  const provenance = parts.flatMap((p) => p.provenance ?? []);
  return {
    kind: "gapkit.stats",
    version: 1,
    n,
    dim,
    moments,
    sums,
    ...(provenance.length ? { provenance } : {}),
  };
}

/** How messages name a source. */
function sourceName(source: StatsSource): string {
  return "file" in source
    ? source.file
    : `${source.engine} ${source.location}${source.table === undefined ? "" : ` table ${source.table}`}`;
}

/** Throws unless the parts' provenance covers each row of each source at most once. */
function checkDistinctRows(parts: readonly GapStats[], names: readonly string[], where: string): void {
  const key = (s: StatsSource) =>
    JSON.stringify("file" in s ? [s.file, s.bytes, s.head] : [s.engine, s.location, s.table ?? null]);
  const covered = parts
    .flatMap((p, part) => (p.provenance ?? []).map((e) => ({ part, key: key(e.source), e })))
    .sort((x, y) => (x.key === y.key ? x.e.rows[0] - y.e.rows[0] : x.key < y.key ? -1 : 1));
  // by source, then first row: the earlier ranges of a source being disjoint, the last one ends furthest
  covered.forEach((next, i) => {
    const last = covered[i - 1];
    if (last?.key !== next.key) return;
    const [start, end] = next.e.rows;
    check(
      start >= last.e.rows[1],
      where,
      "parts covering distinct rows of each source",
      () =>
        `${names[Math.min(last.part, next.part)]} and ${names[Math.max(last.part, next.part)]} both covering rows ${start}:${Math.min(end, last.e.rows[1])} of ${sourceName(next.e.source)}`,
    );
  });
}

/** The `measure` numbers the statistics determine; `vectors` adds the gap vector mean(A) − mean(B). */
export function finalizeStats(stats: GapStats, options: { vectors?: boolean } = {}): StatsSummary {
  const { n, dim } = stats;
  check(n >= 2, "statistics", "at least 2 pairs", () => String(n));
  const value = (s: CompensatedSum) => compensatedValue(s);
  const [paired] = value(stats.sums.pairedCos);
  const [squaresA] = value(stats.sums.squaresA);
  const [squaresB] = value(stats.sums.squaresB);
  const sumA = value(stats.sums.a);
  const sumB = value(stats.sums.b);
  const gap = sumA.map((s, j) => s / n - sumB[j] / n);
  const coneA = coneFromSums(sumA, squaresA, n);
  const coneB = coneFromSums(sumB, squaresB, n);
  const pairedCos = paired / n;
  const summary: StatsSummary = {
    n,
    dim,
    gap: {
      l2m: vectorNorm(gap),
      rmg: relativeModalityGap(pairedCos, coneA, coneB),
      ...(options.vectors ? { vector: Array.from(gap) } : {}),
    },
    cone: { a: coneA, b: coneB },
    pairedCos,
    alignment: (squaresA + squaresB - 2 * paired) / n,
  };
  if (stats.sums.aa && stats.sums.bb) {
    const aa = value(stats.sums.aa);
    const bb = value(stats.sums.bb);
    const joint = new Float64Array(aa.length);
    for (let k = 0; k < joint.length; k++) joint[k] = aa[k] + bb[k];
    summary.spectrum = {
      effectiveRank: {
        a: effectiveRankFromGram(aa, dim),
        b: effectiveRankFromGram(bb, dim),
        joint: effectiveRankFromGram(joint, dim),
      },
      gapVarianceFraction: gapVarianceFraction(
        gap,
        sumA.map((s, j) => s + sumB[j]),
        squaresA + squaresB,
        (unit) => quadraticForm(joint, unit),
        2 * n,
      ),
    };
  }
  return summary;
}

/**
 * Variance of the stacked rows [A; B] along the unit gap direction ĝ over their total variance:
 * (ĝᵀMĝ/m − (ĝ·s/m)²) / (Σ‖u‖²/m − ‖s/m‖²) from the sum s, Σ‖u‖², ĝᵀMĝ (`along`, M the rows' second
 * moment) and count m of the stacked rows.
 */
function gapVarianceFraction(
  gap: Float64Array,
  sum: Float64Array,
  squares: number,
  along: (unit: Float64Array) => number,
  m: number,
): number {
  const norm = vectorNorm(gap);
  if (norm === 0) return 0;
  const unit = gap.map((g) => g / norm);
  let projSum = 0;
  let meanSquares = 0;
  for (let i = 0; i < gap.length; i++) {
    projSum += unit[i] * sum[i];
    meanSquares += (sum[i] / m) ** 2;
  }
  return (along(unit) / m - (projSum / m) ** 2) / (squares / m - meanSquares);
}

/** vᵀMv for a d×d row-major M. */
function quadraticForm(moment: Float64Array, v: Float64Array): number {
  const d = v.length;
  let total = 0;
  for (let i = 0; i < d; i++) {
    let row = 0;
    for (let j = 0; j < d; j++) row += moment[i * d + j] * v[j];
    total += v[i] * row;
  }
  return total;
}

/**
 * The spectrum of paired unit rows (n < d) from the rows themselves, as finalizeStats gives it from their
 * d×d second moments: effective ranks from the n×n Grams A·Aᵀ, B·Bᵀ (where 2n ≤ d, the diagonal blocks
 * of the stacked rows' 2n×2n Gram, the joint one's), whose eigenvalues are the moments' non-zero ones —
 * smaller eigenproblems, and no d×d sums to accumulate; ĝᵀMĝ as ‖X·ĝ‖².
 */
export async function spectrumOfRows(
  a: UnitRows,
  b: UnitRows,
  options: Pick<PairStatsOptions, "backend"> = {},
): Promise<Spectrum> {
  const { rows: n, cols: d } = a;
  check(
    n < d && b.rows === n && b.cols === d,
    "spectrumOfRows",
    `paired n×d rows with n < d`,
    () => `${n}×${d} and ${b.rows}×${b.cols}`,
  );
  checkMomentDim(d); // the moments' limit: where 2n > d this takes the same d×d eigenproblem
  const x = new Float64Array(2 * n * d);
  x.set(rowsF64(a, 0, n));
  x.set(rowsF64(b, 0, n), n * d);
  const backend = { backend: options.backend };
  const gramOfRows = (start: number, rows: number) => {
    const part = x.subarray(start * d, (start + rows) * d);
    return mulF64(part, part, rows, d, rows, { ...backend, transB: true });
  };
  let effectiveRank: Spectrum["effectiveRank"];
  if (2 * n <= d) {
    // the stacked rows' Gram holds A·Aᵀ and B·Bᵀ as its diagonal blocks
    const joint = await gramOfRows(0, 2 * n);
    const block = (first: number) => {
      const out = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        out.set(joint.subarray((first + i) * 2 * n + first, (first + i) * 2 * n + first + n), i * n);
      return out;
    };
    effectiveRank = {
      a: effectiveRankFromGram(block(0), n),
      b: effectiveRankFromGram(block(n), n),
      joint: effectiveRankFromGram(joint, 2 * n),
    };
  } else {
    const joint = effectiveRankFromGram(await mulF64(transposed(x, 2 * n, d), x, d, 2 * n, d, backend), d);
    effectiveRank = {
      a: effectiveRankFromGram(await gramOfRows(0, n), n),
      b: effectiveRankFromGram(await gramOfRows(n, n), n),
      joint,
    };
  }
  const [sumA, sumB] = [new Float64Array(d), new Float64Array(d)];
  let squares = 0;
  for (const [sum, first] of [
    [sumA, 0],
    [sumB, n * d],
  ] as const)
    for (let k = first, end = first + n * d; k < end; k += d)
      for (let j = 0; j < d; j++) {
        const v = x[k + j];
        sum[j] += v;
        squares += v * v;
      }
  const along = (unit: Float64Array) => {
    let total = 0;
    for (let i = 0; i < 2 * n; i++) {
      let p = 0;
      for (let j = 0; j < d; j++) p += x[i * d + j] * unit[j];
      total += p * p;
    }
    return total;
  };
  return {
    effectiveRank,
    gapVarianceFraction: gapVarianceFraction(
      sumA.map((s, j) => (s - sumB[j]) / n),
      sumA.map((s, j) => s + sumB[j]),
      squares,
      along,
      2 * n,
    ),
  };
}

import { z } from "zod";
import { check, InputError } from "../core/errors.js";
import { mulF64 } from "../core/gemm/index.js";
import { type Matrix, matrix, normalizeRows } from "../core/matrix.js";
import type { GapStats } from "../gap/stats.js";
import type { FitRows } from "./moments.js";

/** Which modality a matrix holds: "a" (e.g. images) or "b" (e.g. texts). */
export type Side = "a" | "b";

/** Fitted state of a transform: plain JSON with its kind, format version and embedding dimension. */
export interface AlignState {
  readonly kind: string;
  readonly version: number;
  readonly dim: number;
}

/** A numeric parameter of a transform, with its default and the range it must lie in. */
export interface ParamSpec {
  readonly default: number;
  readonly doc: string;
  /** What a valid value is, e.g. "a finite number" or "≥ 0". */
  readonly expected: string;
  readonly valid: (v: number) => boolean;
}

/** A training-free alignment transform: fit on embeddings, apply to new ones, state as JSON. */
export interface AlignMethod<S extends AlignState = AlignState> {
  readonly kind: string;
  readonly version: number;
  /** One line for help texts. */
  readonly summary: string;
  /** Whether fit uses the pairing of rows (procrustes, ridge) or only each modality's statistics. */
  readonly needsPairs: boolean;
  readonly params: Readonly<Record<string, ParamSpec>>;
  /**
   * Fits on L2-normalised rows of a and b (paired by index where needsPairs; float64 ones for moments:
   * unitMoment), whose moments are shared by every fit on the same rows.
   */
  fit(a: FitRows, b: FitRows, params: Readonly<Record<string, number>>): Promise<S>;
  /**
   * Where `rows` fit pairs of dimension `dim` leave part of the map to a rule rather than to the data
   * (see rankLimited): a line saying so; undefined where they determine it.
   */
  readonly underdetermined?: (rows: number, dim: number) => string | undefined;
  /**
   * Fits from mergeable statistics alone (a streamed file, shards, DuckDB), where the method needs nothing
   * else; `moments`: whether it needs the d×d second moments.
   */
  readonly fitStats?: {
    readonly moments: boolean;
    fit(stats: GapStats, params: Readonly<Record<string, number>>): S | Promise<S>;
  };
  /**
   * Transforms rows of one side; returns unit rows. Pure: the same input gives the same output on one
   * backend (maps are float64 products on the backend: backends agree to float64 rounding).
   */
  apply(state: S, m: Matrix, side: Side): Promise<Matrix>;
  /**
   * A training-time augmentation (C3's corrupt, CapDec's noise), where the method is one: `apply`'s rows with
   * noise seeded by `seed` (default: the state's) and each row's index, counted from `firstRow` (default 0) —
   * so a file transformed in chunks gets the noise it gets whole; `apply` stays the inference transform.
   */
  augment?(state: S, m: Matrix, side: Side, seed?: number, firstRow?: number): Promise<Matrix>;
  /** Schema of the state's own fields for dimension `dim` (kind, version, dim are checked for every method). */
  stateSchema(dim: number): z.ZodType;
}

/** Parameter specs shared by several transforms. */
export const PARAMS = {
  finite: (def: number, doc: string): ParamSpec => ({
    default: def,
    doc,
    expected: "a finite number",
    valid: Number.isFinite,
  }),
  nonNegative: (def: number, doc: string): ParamSpec => ({
    default: def,
    doc,
    expected: "a finite number ≥ 0",
    valid: (v) => Number.isFinite(v) && v >= 0,
  }),
  positive: (def: number, doc: string): ParamSpec => ({
    default: def,
    doc,
    expected: "a finite number > 0",
    valid: (v) => Number.isFinite(v) && v > 0,
  }),
  fraction: (def: number, doc: string): ParamSpec => ({
    default: def,
    doc,
    expected: "a number in [0, 1]",
    valid: (v) => v >= 0 && v <= 1,
  }),
  seed: (): ParamSpec => ({
    default: 0,
    doc: "seed of the noise",
    expected: "a safe integer",
    valid: Number.isSafeInteger,
  }),
} as const;

/**
 * `underdetermined` for a map fitted from n rows, whose rank is at most n (n − 1 for a covariance,
 * `centred`): below the dimension, `rule` decides the map outside the fitted span.
 */
export function rankLimited(centred: boolean, rule: string): NonNullable<AlignMethod["underdetermined"]> {
  return (rows, dim) =>
    (centred ? rows - 1 : rows) < dim
      ? `${dim} dimensions ${centred ? "≥" : ">"} ${rows} fit pairs — ${rule}`
      : undefined;
}

/** Zod schema of a stored float64 vector or flat matrix: `length` finite numbers. */
export const vectorSchema = (length: number) => z.array(z.number()).length(length);

/** A step that mapRows applies to all unit rows at once (`count` rows, flat float64), before its per-row function. */
export type RowBatch = (rows: Float64Array, count: number) => Promise<Float64Array>;

/**
 * The RowBatch (u − shift)·map for rows of length d: one float64 product for the whole batch (mulF64: on
 * onnxruntime's DGEMM where loaded), where map is a d×d matrix (row-major) or a scalar (a multiple of I).
 */
export function linear(d: number, map: ArrayLike<number> | number, shift?: ArrayLike<number>): RowBatch {
  return async (rows, count) => {
    const centred = shift ? rows.map((v, k) => v - shift[k % d]) : rows;
    if (typeof map === "number") return centred.map((v) => v * map);
    return mulF64(centred, map instanceof Float64Array ? map : Float64Array.from(map), count, d, d);
  };
}

/**
 * Each row of `m` (first L2-normalised; then through `batch`, where given) mapped through
 * `f(row, out, index)` in float64, then L2-normalised again.
 */
export async function mapRows(
  m: Matrix,
  dim: number,
  where: string,
  f: (row: Float64Array, out: Float64Array, index: number) => void,
  batch?: RowBatch,
): Promise<Matrix> {
  check(m.cols === dim, where, `rows of dimension ${dim} (the fitted state's)`, () => String(m.cols));
  const u = normalizeRows(m, where);
  const unit = Float64Array.from(u.data);
  const rows = batch ? await batch(unit, m.rows) : unit;
  const out = matrix(m.rows, dim);
  const mapped = new Float64Array(dim);
  for (let i = 0; i < m.rows; i++) {
    mapped.fill(0);
    f(rows.subarray(i * dim, (i + 1) * dim), mapped, i);
    let norm = 0;
    for (const v of mapped) norm += v * v;
    norm = Math.sqrt(norm);
    if (!(norm > 0 && Number.isFinite(norm)))
      throw new InputError(
        where,
        "a transformed row with a finite, non-zero norm",
        `norm ${norm} at row ${i}`,
      );
    for (let j = 0; j < dim; j++) out.data[i * dim + j] = mapped[j] / norm;
  }
  return out;
}

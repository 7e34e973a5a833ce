import { z } from "zod";
import { check, InputError, parseJson } from "../core/errors.js";
import { assertFinite, type Matrix } from "../core/matrix.js";
import type { GapStats } from "../gap/stats.js";
import { unitRows } from "../gap/unit-rows.js";
import { c3 } from "./c3.js";
import { capdecNoise } from "./capdec-noise.js";
import { center } from "./center.js";
import { coral } from "./coral.js";
import { decap } from "./decap.js";
import type { AlignMethod, AlignState, Side } from "./method.js";
import { fitRows } from "./moments.js";
import { procrustes } from "./procrustes.js";
import { realign } from "./realign.js";
import { realignAniso } from "./realign-aniso.js";
import { ridge } from "./ridge.js";
import { shift } from "./shift.js";

export type { AlignMethod, AlignState, ParamSpec, Side } from "./method.js";

/** Every alignment transform, by kind (the CLI lists these). */
export const ALIGN_METHODS: Readonly<Record<string, AlignMethod>> = Object.fromEntries(
  [center, shift, realign, realignAniso, c3, capdecNoise, decap, procrustes, ridge, coral].map((m) => [
    m.kind,
    m as AlignMethod,
  ]),
);

/** The transform registered under `kind`. */
export function alignMethod(kind: string): AlignMethod {
  const method = Object.hasOwn(ALIGN_METHODS, kind) ? ALIGN_METHODS[kind] : undefined;
  if (!method)
    throw new InputError(
      "align method",
      `one of ${Object.keys(ALIGN_METHODS).join(", ")}`,
      JSON.stringify(kind),
    );
  return method;
}

/** The methods a flag names: "all" (every registered one, in order) or a comma list of kinds, each once. */
export function parseAlignMethods(spec: string, where: string): string[] {
  if (spec === "all") return Object.keys(ALIGN_METHODS);
  const kinds = spec.split(",").map((kind) => kind.trim());
  for (const [i, kind] of kinds.entries())
    if (!Object.hasOwn(ALIGN_METHODS, kind) || kinds.indexOf(kind) !== i)
      throw new InputError(
        where,
        `all or a comma list of distinct methods of ${Object.keys(ALIGN_METHODS).join(", ")}`,
        JSON.stringify(kind),
      );
  return kinds;
}

/** The method's parameters: defaults overridden by `given` (numbers or numeric strings), each validated. */
export function alignParams(
  method: AlignMethod,
  given: Readonly<Record<string, number | string>> = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, spec] of Object.entries(method.params)) out[name] = spec.default;
  for (const [name, raw] of Object.entries(given)) {
    const spec = Object.hasOwn(method.params, name) ? method.params[name] : undefined;
    const known = Object.keys(method.params);
    if (!spec)
      throw new InputError(
        `${method.kind} parameter`,
        known.length ? `one of ${known.join(", ")}` : "no parameters",
        JSON.stringify(name),
      );
    const value = typeof raw === "number" ? raw : raw.trim() === "" ? Number.NaN : Number(raw);
    if (!spec.valid(value))
      throw new InputError(`${method.kind} ${name}`, spec.expected, JSON.stringify(raw));
    out[name] = value;
  }
  return out;
}

/** Fits transform `kind` on embeddings a and b (rows L2-normalised first; paired by index where it needs pairs). */
export async function fitAlign(
  kind: string,
  a: Matrix,
  b: Matrix,
  params: Readonly<Record<string, number | string>> = {},
): Promise<AlignState> {
  return alignFitter(a, b, `${kind} fit`)(kind, params);
}

/**
 * fitAlign of several transforms on the same embeddings: `fit(kind, params)` for each, with the rows
 * checked and normalised, and each modality's moments and covariance eigendecomposition computed, once for
 * all of them (`where` names the fit in errors).
 */
export function alignFitter(
  a: Matrix,
  b: Matrix,
  where = "align fit",
): (kind: string, params?: Readonly<Record<string, number | string>>) => Promise<AlignState> {
  check(
    a.cols === b.cols,
    where,
    `A and B of the same dimension (A has ${a.cols})`,
    () => `B with ${b.cols}`,
  );
  check(
    a.rows >= 2 && b.rows >= 2,
    where,
    "at least 2 rows of each modality",
    () => `${a.rows} and ${b.rows}`,
  );
  assertFinite(a, `${where} A`);
  assertFinite(b, `${where} B`);
  const [rowsA, rowsB] = [fitRows(unitRows(a, `${where} A`)), fitRows(unitRows(b, `${where} B`))];
  return async (kind, params = {}) => {
    const method = alignMethod(kind);
    const resolved = alignParams(method, params);
    if (method.needsPairs)
      check(a.rows === b.rows, `${kind} fit`, `paired rows, as many in B as in A (${a.rows})`, () =>
        String(b.rows),
      );
    return method.fit(rowsA, rowsB, resolved);
  };
}

/**
 * Fits transform `kind` from mergeable statistics (a streamed file, merged shards, DuckDB): for the methods
 * whose fit needs nothing but the modalities' sums and second moments (see `fitStats`).
 */
export async function fitAlignFromStats(
  kind: string,
  stats: GapStats,
  params: Readonly<Record<string, number | string>> = {},
): Promise<AlignState> {
  const method = alignMethod(kind);
  const resolved = alignParams(method, params);
  if (!method.fitStats)
    throw new InputError(
      `${kind} fit`,
      `a method that fits from statistics (${statsMethods().join(", ")})`,
      kind,
    );
  check(stats.n >= 2, `${kind} fit`, "at least 2 pairs", () => String(stats.n));
  check(
    stats.moments || !method.fitStats.moments,
    `${kind} fit`,
    "statistics with second moments (written without --no-moments)",
    () => "statistics without them",
  );
  return method.fitStats.fit(stats, resolved);
}

/** The kinds that can be fitted from statistics alone. */
export function statsMethods(): string[] {
  return Object.values(ALIGN_METHODS)
    .filter((m) => m.fitStats)
    .map((m) => m.kind);
}

/** Applies a fitted state (validated first) to rows of one side; returns unit rows. */
export async function applyAlign(state: AlignState, m: Matrix, side: Side): Promise<Matrix> {
  validateAlignState(state, "align state");
  assertFinite(m, `${state.kind} apply`);
  return alignMethod(state.kind).apply(state, m, side);
}

/**
 * The training-time augmentation of a fitted state (c3, capdec-noise) on rows of one side, with the noise
 * seeded by `seed` (default: the state's) and each row's index (`firstRow` + its row in m); unit rows.
 */
export async function augmentAlign(
  state: AlignState,
  m: Matrix,
  side: Side,
  seed?: number,
  firstRow = 0,
): Promise<Matrix> {
  validateAlignState(state, "align state");
  assertFinite(m, `${state.kind} augment`);
  const method = alignMethod(state.kind);
  if (!method.augment)
    throw new InputError(
      "align augment",
      `a state of a training-time augmentation (${augmentationMethods().join(", ")})`,
      `a ${state.kind} state`,
    );
  return method.augment(state, m, side, seed, firstRow);
}

/** The kinds that are training-time augmentations: `apply` is their inference transform, `augment` their noise. */
export function augmentationMethods(): string[] {
  return Object.values(ALIGN_METHODS)
    .filter((m) => m.augment)
    .map((m) => m.kind);
}

const header = z.object({ kind: z.string(), version: z.number().int(), dim: z.number().int().positive() });

/** Validates a parsed JSON value as a fitted state (known kind, matching version, well-formed fields). */
export function validateAlignState(value: unknown, where: string): AlignState {
  const head = header.safeParse(value);
  if (!head.success)
    throw new InputError(where, "an alignment state with kind, version and dim", issueText(head.error));
  const method = ALIGN_METHODS[head.data.kind];
  if (!method)
    throw new InputError(
      where,
      `a state whose kind is one of ${Object.keys(ALIGN_METHODS).join(", ")}`,
      JSON.stringify(head.data.kind),
    );
  if (head.data.version !== method.version)
    throw new InputError(
      where,
      `version ${method.version} of a ${method.kind} state`,
      `version ${head.data.version}`,
    );
  const body = method.stateSchema(head.data.dim).safeParse(value);
  if (!body.success)
    throw new InputError(
      where,
      `a well-formed ${method.kind} state of dim ${head.data.dim}`,
      issueText(body.error),
    );
  return value as AlignState;
}

/** Parses and validates a state from JSON text. */
export function parseAlignState(text: string, where: string): AlignState {
  return validateAlignState(parseJson(text, where), where);
}

function issueText(error: z.ZodError): string {
  const first = error.issues[0];
  return `${first.path.join(".") || "(top level)"}: ${first.message}`;
}

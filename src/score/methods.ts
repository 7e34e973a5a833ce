import type { BlockOptions } from "../core/blocks.js";
import { check, InputError } from "../core/errors.js";
import type { Matrix } from "../core/matrix.js";
import { hashUniform } from "../core/rng.js";
import { type LabelledScores, labelled } from "./calibrate.js";
import { forEachCosineBlock } from "./cosine.js";

/** Gallery-aware scores of a query q_i and a gallery item g_j, from their cosine s_ij. */
export const SCORE_METHODS = ["raw", "zscore", "csls", "dual-softmax", "qb-norm"] as const;

/** One of SCORE_METHODS. */
export type ScoreMethod = (typeof SCORE_METHODS)[number];

/** The methods' parameters: CSLS's neighbourhood k and the softmax temperature τ. */
export interface ScoreParams {
  k: number;
  tau: number;
}

/** The defaults of the literature: k = 10 (CSLS), τ = 0.01 (dual softmax, QB-Norm). */
export const DEFAULT_SCORE_PARAMS: ScoreParams = { k: 10, tau: 0.01 };

const [MIN_TAU, MAX_TAU] = [1e-4, 100];

/** The methods that use each parameter. */
export const SCORE_PARAM_METHODS: Readonly<Record<keyof ScoreParams, readonly ScoreMethod[]>> = {
  k: ["csls"],
  tau: ["dual-softmax", "qb-norm"],
};

/**
 * Parses named parameters (values as text, e.g. from `--param k=5`) for `methods`: k an integer ≥ 1, tau a
 * number in [1e-4, 100], each used by at least one of the methods.
 */
export function parseScoreParams(
  given: Readonly<Record<string, string>>,
  methods: readonly ScoreMethod[],
): Partial<ScoreParams> {
  const out: Partial<ScoreParams> = {};
  for (const [name, text] of Object.entries(given)) {
    check(
      Object.hasOwn(SCORE_PARAM_METHODS, name),
      "score parameter",
      Object.keys(SCORE_PARAM_METHODS).join(" or "),
      () => JSON.stringify(name),
    );
    const key = name as keyof ScoreParams;
    const users = SCORE_PARAM_METHODS[key];
    check(
      users.some((m) => methods.includes(m)),
      `score parameter ${key}`,
      `a method that uses it (${users.join(", ")})`,
      () => methods.join(", "),
    );
    const value = text.trim() === "" ? Number.NaN : Number(text);
    const [valid, expected] =
      key === "k"
        ? [Number.isSafeInteger(value) && value >= 1, "an integer ≥ 1"]
        : // below 1e-4, s/τ in the log-sum-exp leaves no precision for the differences between scores
          [value >= MIN_TAU && value <= MAX_TAU, `a number in [${MIN_TAU}, ${MAX_TAU}]`];
    check(valid, `score ${key}`, expected, () => JSON.stringify(text));
    out[key] = value;
  }
  return out;
}

/**
 * Every method is affine in the cosine: z_ij = scale_i·s_ij + row_i + col_j.
 * raw: s. zscore: (s − mean_i)/std_i over the gallery. csls: 2s − r_i − r_j, r the mean of an item's k
 * highest cosines on the other side. dual-softmax: log softmax of s/τ over the gallery plus over the
 * queries. qb-norm: s/τ − log Σ_b exp(s_bj/τ) over a bank of queries.
 */
export interface ScoreTerms {
  scale: Float64Array;
  row: Float64Array;
  col: Float64Array;
}

/** Parses a method list: "all" or names separated by commas. */
export function parseMethods(spec: string): ScoreMethod[] {
  if (spec === "all") return [...SCORE_METHODS];
  const names = spec.split(",").map((s) => s.trim());
  for (const name of names)
    if (!(SCORE_METHODS as readonly string[]).includes(name))
      throw new InputError("--methods", `all or a list of ${SCORE_METHODS.join(", ")}`, JSON.stringify(name));
  return names as ScoreMethod[];
}

/**
 * Inserts v into the descending list top[at, at + k) if it belongs there (an equal value stays behind
 * the ones already kept), moving `indices` along with the values when given.
 */
export function keepTop(
  top: Float64Array,
  at: number,
  k: number,
  v: number,
  indices?: Int32Array,
  index = 0,
): void {
  if (!(v > top[at + k - 1])) return;
  let p = at + k - 1;
  while (p > at && top[p - 1] < v) {
    top[p] = top[p - 1];
    if (indices) indices[p] = indices[p - 1];
    p--;
  }
  top[p] = v;
  if (indices) indices[p] = index;
}

function meanOfTops(top: Float64Array, count: number, k: number): Float64Array {
  return Float64Array.from({ length: count }, (_, i) => {
    let s = 0;
    for (let t = 0; t < k; t++) s += top[i * k + t];
    return s / k;
  });
}

/** log Σ_b exp(s_bj/τ) for every gallery column j, over the rows of q (streamed, stable). */
class ColumnLogSumExp {
  readonly max: Float64Array;
  readonly sum: Float64Array;
  constructor(columns: number) {
    this.max = new Float64Array(columns).fill(-Infinity);
    this.sum = new Float64Array(columns);
  }
  add(j: number, x: number): void {
    if (x > this.max[j]) {
      this.sum[j] = this.sum[j] * Math.exp(this.max[j] - x) + 1;
      this.max[j] = x;
    } else this.sum[j] += Math.exp(x - this.max[j]);
  }
  result(): Float64Array {
    return this.max.map((m, j) => m + Math.log(this.sum[j]));
  }
}

/**
 * QB-Norm's normaliser log Σ_b exp(s_bj/τ) over a query bank, for every gallery column j. Each column keeps
 * its largest term and that term's bank row apart from the log-sum-exp of the rest, so that leaving one
 * row out (see `without`) never cancels, even when the row left out dominates the column.
 */
class BankNormaliser {
  readonly top: Float64Array;
  readonly leader: Int32Array;
  readonly rest: ColumnLogSumExp;
  constructor(columns: number) {
    this.top = new Float64Array(columns).fill(-Infinity);
    this.leader = new Int32Array(columns).fill(-1);
    this.rest = new ColumnLogSumExp(columns);
  }
  add(j: number, row: number, x: number): void {
    if (x > this.top[j]) {
      if (this.leader[j] >= 0) this.rest.add(j, this.top[j]);
      this.top[j] = x;
      this.leader[j] = row;
    } else this.rest.add(j, x);
  }
  /** Every column's normaliser over the rows added. */
  all(): Float64Array {
    const rest = this.rest.result();
    return this.top.map((t, j) => t + Math.log1p(Math.exp(rest[j] - t)));
  }
  /** (j, row, x) ↦ column j's normaliser without bank row `row`, an added row whose term there is x. */
  without(): (j: number, row: number, x: number) => number {
    const rest = this.rest.result();
    return (j, row, x) =>
      row === this.leader[j]
        ? rest[j]
        : this.top[j] + Math.log(1 + Math.exp(rest[j] - this.top[j]) - Math.exp(x - this.top[j]));
  }
}

/**
 * QB-Norm's normaliser of every gallery column over the bank's rows (one pass). `paired`: bank row j is
 * gallery item j's own query, left out of column j.
 */
async function bankNormaliser(
  bank: Matrix,
  g: Matrix,
  tau: number,
  options: BlockOptions,
  paired = false,
): Promise<BankNormaliser> {
  const n = g.rows;
  const normaliser = new BankNormaliser(n);
  await forEachCosineBlock(
    bank,
    g,
    { ...options, names: { q: "bank", g: "gallery" } },
    (block, rowStart, rows) => {
      for (let r = 0; r < rows; r++) {
        const b = rowStart + r;
        for (let j = 0; j < n; j++) if (!paired || b !== j) normaliser.add(j, b, block[r * n + j] / tau);
      }
    },
  );
  return normaliser;
}

/** Options for scoreTerms. */
export interface ScoreTermOptions extends BlockOptions, Partial<ScoreParams> {
  /** QB-Norm's query bank (rows of the query modality not among the queries); required for qb-norm. */
  bank?: Matrix;
}

/**
 * One pass over the cosines of q (queries) and g (gallery) gathers what `methods` need, and returns each
 * method's affine terms (see ScoreTerms) and the diagonal cosines s_ii (the true pairs' where the rows are
 * paired). The terms of csls, zscore and dual-softmax come from q and g themselves (transductive);
 * qb-norm's from `bank`.
 */
export async function scoreTerms(
  q: Matrix,
  g: Matrix,
  methods: readonly ScoreMethod[],
  options: ScoreTermOptions = {},
): Promise<{ terms: Record<ScoreMethod, ScoreTerms>; diagonal: Float64Array }> {
  const { k, tau } = { ...DEFAULT_SCORE_PARAMS, ...options };
  check(
    Number.isInteger(k) && k >= 1 && k <= Math.min(q.rows, g.rows),
    "score k",
    `an integer in [1, ${Math.min(q.rows, g.rows)}]`,
    () => String(k),
  );
  check(tau > 0 && Number.isFinite(tau), "score tau", "a positive number", () => String(tau));
  const [m, n] = [q.rows, g.rows];
  const need = (method: ScoreMethod) => methods.includes(method);
  const diagonal = new Float64Array(Math.min(m, n));
  const rowSum = new Float64Array(m);
  const rowSquares = new Float64Array(m);
  const rowTop = new Float64Array(need("csls") ? m * k : 0).fill(-Infinity);
  const colTop = new Float64Array(need("csls") ? n * k : 0).fill(-Infinity);
  const rowLse = new Float64Array(m);
  const colLse = new ColumnLogSumExp(need("dual-softmax") ? n : 0);
  await forEachCosineBlock(q, g, options, (block, rowStart, rows) => {
    for (let r = 0; r < rows; r++) {
      const i = rowStart + r;
      const base = r * n;
      if (i < n) diagonal[i] = block[base + i];
      let sum = 0;
      let squares = 0;
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        const s = block[base + j];
        sum += s;
        squares += s * s;
        if (s > max) max = s;
        if (need("csls")) {
          keepTop(rowTop, i * k, k, s);
          keepTop(colTop, j * k, k, s);
        }
        if (need("dual-softmax")) colLse.add(j, s / tau);
      }
      rowSum[i] = sum;
      rowSquares[i] = squares;
      if (need("dual-softmax")) {
        let e = 0;
        for (let j = 0; j < n; j++) e += Math.exp((block[base + j] - max) / tau);
        rowLse[i] = max / tau + Math.log(e);
      }
    }
  });
  const ones = new Float64Array(m).fill(1);
  const zerosRow = new Float64Array(m);
  const zerosCol = new Float64Array(n);
  const terms = {} as Record<ScoreMethod, ScoreTerms>;
  for (const method of methods) {
    if (method === "raw") terms.raw = { scale: ones, row: zerosRow, col: zerosCol };
    else if (method === "zscore") {
      const mean = rowSum.map((s) => s / n);
      const std = rowSquares.map((s2, i) => Math.sqrt(Math.max(0, s2 / n - mean[i] * mean[i])));
      terms.zscore = { scale: std.map((s) => 1 / s), row: mean.map((mu, i) => -mu / std[i]), col: zerosCol };
    } else if (method === "csls") {
      terms.csls = {
        scale: new Float64Array(m).fill(2),
        row: meanOfTops(rowTop, m, k).map((r) => -r),
        col: meanOfTops(colTop, n, k).map((r) => -r),
      };
    } else if (method === "dual-softmax") {
      terms["dual-softmax"] = {
        scale: new Float64Array(m).fill(2 / tau),
        row: rowLse.map((l) => -l),
        col: colLse.result().map((l) => -l),
      };
    } else {
      if (!options.bank)
        throw new InputError("qb-norm", "a query bank (the fit rows of the query modality)", "none");
      terms["qb-norm"] = {
        scale: new Float64Array(m).fill(1 / tau),
        row: zerosRow,
        col: (await bankNormaliser(options.bank, g, tau, options)).all().map((l) => -l),
      };
    }
  }
  return { terms, diagonal };
}

/** z = scale_i·s + row_i + col_j for a block of cosines (rows from rowStart, n columns) into `out`. */
export function applyTerms(
  terms: ScoreTerms,
  block: Float64Array,
  out: Float64Array,
  rowStart: number,
  rows: number,
): void {
  const n = terms.col.length;
  for (let r = 0; r < rows; r++) {
    const i = rowStart + r;
    const [a, b] = [terms.scale[i], terms.row[i]];
    for (let j = 0, at = r * n; j < n; j++, at++) out[at] = a * block[at] + b + terms.col[j];
  }
}

// Non-matches kept to fit a calibration: every pair up to this many, else a uniform sample.
const MAX_CALIBRATION_NEGATIVES = 2 ** 20;

/**
 * Scores of paired rows (queries a, gallery b) as labelled samples for calibration: every true pair, and
 * the non-matches — all of them, or beyond MAX_CALIBRATION_NEGATIVES a uniform sample chosen by a hash of
 * each pair's index and weighted back. qb-norm's bank is a, less query i and gallery item j's own query
 * for pair (i, j): a new pair is scored against a bank holding neither.
 */
export async function labelledScores(
  a: Matrix,
  b: Matrix,
  methods: readonly ScoreMethod[],
  options: BlockOptions & Partial<ScoreParams> & { seed?: number } = {},
): Promise<Map<ScoreMethod, LabelledScores>> {
  const n = a.rows;
  const { tau } = { ...DEFAULT_SCORE_PARAMS, ...options };
  const qbNorm = methods.includes("qb-norm");
  check(!qbNorm || n >= 3, "qb-norm", "at least 3 fit pairs (each scored against a bank of the others)", () =>
    String(n),
  );
  const { terms } = await scoreTerms(
    a,
    b,
    methods.filter((m) => m !== "qb-norm"),
    options,
  );
  const normaliser = qbNorm ? await bankNormaliser(a, b, tau, options, true) : undefined;
  const [ownLeftOut, bothLeftOut] = [normaliser?.all(), normaliser?.without()];
  const rate = Math.min(1, MAX_CALIBRATION_NEGATIVES / Math.max(1, n * (n - 1)));
  const samples = new Map(
    methods.map((m) => [m, { positives: new Float64Array(n), negatives: [] as number[] }]),
  );
  await forEachCosineBlock(a, b, options, (block, rowStart, rows) => {
    const z = new Float64Array(block.length);
    for (const method of methods) {
      if (method === "qb-norm")
        for (let r = 0; r < rows; r++)
          for (let j = 0, i = rowStart + r, at = r * n; j < n; j++, at++) {
            const x = block[at] / tau;
            z[at] = x - (i === j ? ownLeftOut![j] : bothLeftOut!(j, i, x));
          }
      else applyTerms(terms[method], block, z, rowStart, rows);
      const sample = samples.get(method)!;
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < n; j++) {
          const i = rowStart + r;
          if (i === j) sample.positives[i] = z[r * n + j];
          else if (rate === 1 || hashUniform(options.seed ?? 0, i * n + j) < rate)
            sample.negatives.push(z[r * n + j]);
        }
    }
  });
  return new Map(
    [...samples].map(([method, s]) => [
      method,
      labelled(s.positives, Float64Array.from(s.negatives), 1 / rate),
    ]),
  );
}

import { z } from "zod";
import type { BlockOptions } from "../core/blocks.js";
import { base64ToFloat64, float64ToBase64 } from "../core/compensated.js";
import { check, parseJson, validated } from "../core/errors.js";
import { type Matrix, matrix } from "../core/matrix.js";
import {
  CALIBRATIONS,
  type Calibration,
  calibrate,
  chooseThreshold,
  fitCalibration,
  type Threshold,
} from "./calibrate.js";
import { forEachCosineBlock } from "./cosine.js";
import {
  applyTerms,
  DEFAULT_SCORE_PARAMS,
  keepTop,
  labelledScores,
  SCORE_METHODS,
  type ScoreMethod,
  type ScoreParams,
  scoreTerms,
} from "./methods.js";

/** A fitted scorer: method, parameters, calibration, match thresholds and (qb-norm) its query bank. */
export interface ScorerState {
  kind: "gapkit.scorer";
  version: 1;
  method: ScoreMethod;
  params: ScoreParams;
  calibration: Calibration;
  /** Score thresholds chosen on the fit pairs: the lowest keeping precision 0.9, the highest reaching recall 0.9. */
  thresholds: { precision90: Threshold | null; recall90: Threshold | null };
  /** qb-norm's query bank: rows × cols, base64 of the little-endian float32 values. */
  bank?: { rows: number; cols: number; data: string };
}

const thresholdSchema = z
  .object({ threshold: z.number(), precision: z.number(), recall: z.number() })
  .nullable();
const scorerSchema = z.object({
  kind: z.literal("gapkit.scorer"),
  version: z.literal(1),
  method: z.enum(SCORE_METHODS),
  params: z.object({ k: z.number().int().positive(), tau: z.number().positive() }),
  calibration: z.discriminatedUnion("type", [
    z.object({
      type: z.literal("platt"),
      a: z.number(),
      b: z.number(),
      gallerySize: z.number().int().min(2),
    }),
    z.object({
      type: z.literal("isotonic"),
      x: z.array(z.number()).min(1),
      y: z.array(z.number().min(0).max(1)).min(1),
      gallerySize: z.number().int().min(2),
    }),
  ]),
  thresholds: z.object({ precision90: thresholdSchema, recall90: thresholdSchema }),
  bank: z
    .object({ rows: z.number().int().positive(), cols: z.number().int().positive(), data: z.string() })
    .optional(),
});

/** Reads and validates a scorer's JSON text. */
export function parseScorer(text: string, where = "scorer"): ScorerState {
  const state = validated(
    scorerSchema,
    parseJson(text, where),
    where,
    "a gapkit.scorer v1 state",
  ) as ScorerState;
  check(
    state.calibration.type === "platt" || state.calibration.x.length === state.calibration.y.length,
    where,
    "isotonic x and y of equal length",
    () => "different lengths",
  );
  if (state.calibration.type === "isotonic") {
    const { x, y } = state.calibration;
    // rawProbability's binary search and interpolation assume a non-decreasing step function
    const bad = x.findIndex((v, i) => i > 0 && (v < x[i - 1] || y[i] < y[i - 1]));
    check(
      bad < 0,
      `${where} calibration`,
      "isotonic x and y both non-decreasing",
      () => `x ${x[bad - 1]}, ${x[bad]} and y ${y[bad - 1]}, ${y[bad]} at ${bad - 1}, ${bad}`,
    );
  }
  check(
    state.method !== "qb-norm" || state.bank !== undefined,
    where,
    "a query bank for qb-norm",
    () => "none",
  );
  return state;
}

function bankMatrix(state: ScorerState): Matrix | undefined {
  if (!state.bank) return undefined;
  const { rows, cols, data } = state.bank;
  return matrix(rows, cols, Float32Array.from(base64ToFloat64(data, rows * cols, "scorer bank", 4)));
}

/**
 * Fits a scorer on paired rows (queries a, gallery b): qb-norm's bank is a, the calibration is fitted to
 * every pair's score (qb-norm's with the pair's own rows out of the bank, see labelledScores), and the
 * thresholds for precision 0.9 and recall 0.9 are chosen on them.
 */
export async function fitScorer(
  a: Matrix,
  b: Matrix,
  method: ScoreMethod,
  options: BlockOptions & Partial<ScoreParams> & { calibration?: Calibration["type"] } = {},
): Promise<ScorerState> {
  check(
    a.rows === b.rows && a.rows >= 2,
    "score fit",
    "at least 2 pairs, paired by row",
    () => `${a.rows} and ${b.rows}`,
  );
  const params = {
    k: options.k ?? Math.min(DEFAULT_SCORE_PARAMS.k, a.rows),
    tau: options.tau ?? DEFAULT_SCORE_PARAMS.tau,
  };
  const data = (await labelledScores(a, b, [method], { ...options, ...params })).get(method)!;
  const type = options.calibration ?? "isotonic";
  check(
    (CALIBRATIONS as readonly string[]).includes(type),
    "--calibration",
    CALIBRATIONS.join(" or "),
    () => type,
  );
  return {
    kind: "gapkit.scorer",
    version: 1,
    method,
    params,
    calibration: fitCalibration(type, data, a.rows),
    thresholds: {
      precision90: chooseThreshold(data, { precision: 0.9 }),
      recall90: chooseThreshold(data, { recall: 0.9 }),
    },
    ...(method === "qb-norm"
      ? { bank: { rows: a.rows, cols: a.cols, data: float64ToBase64(a.data, 4) } }
      : {}),
  };
}

/** A gallery item proposed for a query. */
export interface Match {
  index: number;
  score: number;
  probability: number;
  /** Whether the score clears the scorer's precision-0.9 threshold. */
  match: boolean;
}

/** The `top` best gallery items of each query under a fitted scorer, with calibrated P(match). */
export async function applyScorer(
  state: ScorerState,
  queries: Matrix,
  gallery: Matrix,
  options: BlockOptions & { top?: number } = {},
): Promise<Match[][]> {
  const top = options.top ?? 10;
  check(
    Number.isInteger(top) && top >= 1 && top <= gallery.rows,
    "--top",
    `an integer in [1, ${gallery.rows}]`,
    () => String(top),
  );
  const { method, params } = state;
  const k = Math.min(params.k, queries.rows, gallery.rows);
  const terms = (
    await scoreTerms(queries, gallery, [method], { ...options, ...params, k, bank: bankMatrix(state) })
  ).terms[method];
  const n = gallery.rows;
  const threshold = state.thresholds.precision90?.threshold ?? Infinity;
  const out: Match[][] = [];
  await forEachCosineBlock(queries, gallery, options, (block, rowStart, rows) => {
    const z = new Float64Array(block.length);
    applyTerms(terms, block, z, rowStart, rows);
    const best = new Float64Array(top);
    const indices = new Int32Array(top);
    for (let r = 0; r < rows; r++) {
      best.fill(-Infinity);
      for (let j = 0; j < n; j++) keepTop(best, 0, top, z[r * n + j], indices, j);
      out.push(
        Array.from(indices, (index, t) => {
          const score = best[t];
          return {
            index,
            score,
            probability: calibrate(state.calibration, score, n),
            match: score >= threshold,
          };
        }),
      );
    }
  });
  return out;
}

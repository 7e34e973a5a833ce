import type { BlockOptions } from "../core/blocks.js";
import { check } from "../core/errors.js";
import { assertFinite, type Matrix, normalizeRows, vectorNorm } from "../core/matrix.js";
import { type BootstrapOptions, bootstrapRecall } from "../eval/bootstrap.js";
import { type RecallSummary, recallSummary, retrievalRanks } from "../eval/retrieval.js";
import {
  alignment,
  coneCosine,
  gapVector,
  pairedCosine,
  relativeModalityGap,
  uniformity,
} from "./metrics.js";
import { type Spectrum, spectrum } from "./spectrum.js";

/** Everything `gapkit measure` reports about a paired embedding set (all on L2-normalised rows). */
export interface MeasureResult {
  n: number;
  dim: number;
  gap: { l2m: number; rmg: number; vector?: number[] };
  cone: { a: number; b: number };
  pairedCos: number;
  alignment: number;
  uniformity: { a: number; b: number };
  retrieval: {
    aToB: RecallSummary & { r1CI?: [number, number] };
    bToA: RecallSummary & { r1CI?: [number, number] };
  };
  spectrum: Spectrum;
}

/** Options for measure. */
export interface MeasureOptions extends Omit<BlockOptions, "onProgress"> {
  /** How errors name the two modalities (default "A" and "B"). */
  names?: { a: string; b: string };
  /** Include the gap vector mean(A) − mean(B) in the result. */
  vectors?: boolean;
  /** Adds a percentile-bootstrap confidence interval of R@1 (`r1CI`) to each retrieval direction. */
  bootstrap?: BootstrapOptions;
  /** Called as work completes with (done, total) in arbitrary units. */
  onProgress?: (done: number, total: number) => void;
}

/** Checks a paired set (same shape, N ≥ 2, finite, no zero rows) and returns its L2-normalised rows. */
export function normalizePair(a: Matrix, b: Matrix, names = { a: "A", b: "B" }): { a: Matrix; b: Matrix } {
  check(
    a.cols === b.cols,
    `${names.a} / ${names.b}`,
    `the same dimension d (${names.a} has ${a.cols})`,
    () => `${names.b} with ${b.cols}`,
  );
  check(
    a.rows === b.rows,
    `${names.a} / ${names.b}`,
    `the same number of rows N, paired by index (${names.a} has ${a.rows})`,
    () => `${names.b} with ${b.rows}`,
  );
  check(a.rows >= 2, names.a, "at least 2 pairs", () => String(a.rows));
  check(a.cols >= 1, names.a, "at least 1 dimension", () => "0");
  assertFinite(a, names.a);
  assertFinite(b, names.b);
  return { a: normalizeRows(a, names.a), b: normalizeRows(b, names.b) };
}

/** Modality-gap geometry, uniformity, retrieval and spectrum of paired rows (a_i, b_i). */
export async function measure(
  rawA: Matrix,
  rawB: Matrix,
  options: MeasureOptions = {},
): Promise<MeasureResult> {
  const { a, b } = normalizePair(rawA, rawB, options.names);
  const n = a.rows;
  const total = 3 * n + 1;
  const phase = (offset: number) => ({
    ...options,
    onProgress: (done: number) => options.onProgress?.(offset + done, total),
  });
  const coneA = coneCosine(a);
  const coneB = coneCosine(b);
  const paired = pairedCosine(a, b);
  const gap = gapVector(a, b);
  const uniformityA = await uniformity(a, phase(0));
  const uniformityB = await uniformity(b, phase(n));
  const ranks = await retrievalRanks(a, b, phase(2 * n));
  const spec = await spectrum(a, b, options);
  options.onProgress?.(total, total);
  return {
    n,
    dim: a.cols,
    gap: {
      l2m: vectorNorm(gap),
      rmg: relativeModalityGap(paired, coneA, coneB),
      ...(options.vectors ? { vector: Array.from(gap) } : {}),
    },
    cone: { a: coneA, b: coneB },
    pairedCos: paired,
    alignment: alignment(a, b),
    uniformity: { a: uniformityA, b: uniformityB },
    retrieval: {
      aToB: summarise(ranks.aToB, options.bootstrap),
      bToA: summarise(ranks.bToA, options.bootstrap),
    },
    spectrum: spec,
  };
}

function summarise(ranks: Int32Array, bootstrap: BootstrapOptions | undefined) {
  return { ...recallSummary(ranks), ...(bootstrap ? { r1CI: bootstrapRecall(ranks, 1, bootstrap) } : {}) };
}

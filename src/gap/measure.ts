import type { BlockOptions } from "../core/blocks.js";
import { type Matrix, selectRows } from "../core/matrix.js";
import { uniformSampleRows } from "../core/rng.js";
import { type BootstrapOptions, bootstrapRecalls } from "../eval/bootstrap.js";
import { type QueryRanks, type RecallSummary, recallSummary, retrievalRanks } from "../eval/retrieval.js";
import { checkPair, uniformity } from "./metrics.js";
import type { Spectrum } from "./spectrum.js";
import { finalizeStats, pairStats, type StatsSummary, spectrumOfRows } from "./stats.js";
import { unitRows } from "./unit-rows.js";

/** Everything `gapkit measure` reports about a paired embedding set (all on L2-normalised rows). */
export interface MeasureResult extends StatsSummary {
  spectrum: Spectrum;
  uniformity: { a: number; b: number };
  retrieval: {
    aToB: RecallSummary & { r1CI?: [number, number] };
    bToA: RecallSummary & { r1CI?: [number, number] };
  };
  /** Present when uniformity and retrieval are estimates from a uniform sample of the pairs. */
  sample?: PairSampleInfo;
  /** Present when retrieval was multi-positive: a hit is any gallery item of the query's group. */
  groups?: true;
}

/** How the pairwise metrics of a large set were estimated. */
export interface PairSampleInfo {
  /** Pairs in the sample (the retrieval gallery size). */
  pairs: number;
  /** Pairs in the whole set. */
  of: number;
  seed: number;
  /** The fields that are estimates; every other number is exact over all pairs. */
  /** "spectrum" too where the second moments came from the sample (the SQL engines' measure). */
  estimated: ("uniformity" | "retrieval" | "spectrum")[];
}

/** Options for measure. */
export interface MeasureOptions extends Omit<BlockOptions, "onProgress"> {
  /** How errors name the two modalities (default "A" and "B"). */
  names?: { a: string; b: string };
  /** Include the gap vector mean(A) − mean(B) in the result. */
  vectors?: boolean;
  /** Adds a percentile-bootstrap confidence interval of R@1 (`r1CI`) to each retrieval direction. */
  bootstrap?: BootstrapOptions;
  /** One group id per pair: retrieval counts any gallery item of the query's group as a hit (see groupIds). */
  groups?: Int32Array;
  /** Called as work completes with (done, total) in arbitrary units. */
  onProgress?: (done: number, total: number) => void;
}

/** Modality-gap geometry, uniformity, retrieval and spectrum of paired rows (a_i, b_i). */
export async function measure(
  rawA: Matrix,
  rawB: Matrix,
  options: MeasureOptions = {},
): Promise<MeasureResult> {
  return (await measureRanked(rawA, rawB, options)).result;
}

/**
 * measure, with uniformity, retrieval and the spectrum exact up to `pairwiseMax` pairs, else estimated on the
 * seeded uniform sample of that many pairs (with a bootstrap CI of R@1), as `gapkit measure --pairwise-max`
 * does in a SQL engine: every other number is exact over all pairs, and the cost stays O(N·d) beyond the sample.
 */
export async function measureUpTo(
  a: Matrix,
  b: Matrix,
  options: MeasureOptions & { pairwiseMax: number; seed: number },
): Promise<MeasureResult> {
  const { pairwiseMax, seed, groups } = options;
  if (a.rows <= pairwiseMax) return measure(a, b, options);
  const rows = uniformSampleRows(a.rows, pairwiseMax, seed);
  const [sampleA, sampleB] = [selectRows(a, rows), selectRows(b, rows)];
  const summary = {
    ...finalizeStats(await pairStats(a, b, { names: options.names, moments: false })),
    spectrum: finalizeStats(await pairStats(sampleA, sampleB, { cross: false })).spectrum,
  };
  return withPairwiseMetrics(summary, sampleA, sampleB, {
    ...options,
    groups: groups && Int32Array.from(rows, (i) => groups[i]),
    sample: { pairs: rows.length, of: a.rows, seed, estimated: ["uniformity", "retrieval", "spectrum"] },
    bootstrap: { seed },
  });
}

/** A measure's result with the query ranks of both retrieval directions it summarises. */
export interface RankedMeasure {
  result: MeasureResult;
  ranks: { aToB: QueryRanks; bToA: QueryRanks };
}

/** measure, keeping the query ranks: for intervals drawn once across several measures (see bootstrapRecalls). */
export async function measureRanked(
  rawA: Matrix,
  rawB: Matrix,
  options: MeasureOptions = {},
): Promise<RankedMeasure> {
  // fewer pairs than dimensions: the spectrum from the rows' Grams, smaller than the d×d moments
  const fromRows = rawA.rows < rawA.cols;
  const stats = await pairStats(rawA, rawB, { ...options, cross: false, moments: !fromRows }); // no Σâb̂ᵀ
  const summary = finalizeStats(stats, options);
  if (fromRows)
    summary.spectrum = await spectrumOfRows(unitRows(rawA), unitRows(rawB), { backend: options.backend });
  return pairwiseMetrics(summary, rawA, rawB, options);
}

/**
 * Completes a statistics summary (with spectrum) with the pairwise metrics of paired rows (rawA, rawB, as
 * read; L2-normalised on the fly): all pairs, or with `sample` a uniform sample of them, whose results are then
 * labelled as estimates.
 */
export async function withPairwiseMetrics(
  summary: StatsSummary,
  rawA: Matrix,
  rawB: Matrix,
  options: MeasureOptions & { sample?: PairSampleInfo } = {},
): Promise<MeasureResult> {
  return (await pairwiseMetrics(summary, rawA, rawB, options)).result;
}

async function pairwiseMetrics(
  summary: StatsSummary,
  rawA: Matrix,
  rawB: Matrix,
  options: MeasureOptions & { sample?: PairSampleInfo },
): Promise<RankedMeasure> {
  const { spectrum } = summary;
  if (!spectrum) throw new Error("withPairwiseMetrics: statistics without second moments");
  checkPair(rawA, rawB, options.names);
  const total = 3 * rawA.rows + 1;
  const phase = (offset: number) => ({
    ...options,
    onProgress: (done: number) => options.onProgress?.(offset + done, total),
  });
  // the rows as read, normalised on the fly: a normalised copy would hold the input twice
  const uniformityA = await uniformity(rawA, { ...phase(0), normalize: true });
  const uniformityB = await uniformity(rawB, { ...phase(rawA.rows), normalize: true });
  const ranks = await retrievalRanks(rawA, rawB, {
    ...phase(2 * rawA.rows),
    normalize: true,
    groups: options.groups,
  });
  options.onProgress?.(total, total);
  const { n, dim, gap, cone, pairedCos, alignment } = summary;
  const result: MeasureResult = {
    n,
    dim,
    gap,
    cone,
    pairedCos,
    alignment,
    uniformity: { a: uniformityA, b: uniformityB },
    retrieval: summarise(ranks, options.bootstrap),
    spectrum,
    ...(options.sample ? { sample: options.sample } : {}),
    ...(options.groups ? { groups: true as const } : {}),
  };
  return { result, ranks };
}

/** Recall summaries of both directions, with R@1 intervals from one bootstrap draw of the pairs where asked. */
function summarise(ranks: { aToB: QueryRanks; bToA: QueryRanks }, bootstrap: BootstrapOptions | undefined) {
  const intervals = bootstrap && bootstrapRecalls([ranks.aToB, ranks.bToA], 1, bootstrap);
  const withCI = (r: QueryRanks, k: number) => ({
    ...recallSummary(r),
    ...(intervals ? { r1CI: intervals[k] } : {}),
  });
  return { aToB: withCI(ranks.aToB, 0), bToA: withCI(ranks.bToA, 1) };
}

import type { HeldOutResult } from "../align/evaluate.js";
import { type Matrix, normalizeRows, selectRows } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { measure } from "../gap/measure.js";
import { pairedCosines } from "../gap/metrics.js";
import type { LossLandscape } from "../losses/landscape.js";
import type { MethodEvaluation, ScoreEvaluation } from "../score/evaluate.js";
import type { ScoreMethod } from "../score/methods.js";
import { pca2 } from "../sim/pca.js";
import type { ReportSection } from "./html.js";
import { readMeasure } from "./reading.js";
import { renderSvg } from "./render.js";
import {
  cosineHistograms,
  lineChart,
  projectionScatter,
  recallBars,
  scoreHistograms,
  type VegaLiteSpec,
} from "./specs.js";

/** What a report shows besides the embeddings themselves. */
export interface ReportOptions {
  title: string;
  /** Held-out alignment evaluation to plot (from evaluateHeldOut). */
  aligned?: HeldOutResult;
  /** Held-out scoring evaluation with score samples (from evaluateScoring with `samples`). */
  scored?: ScoreEvaluation;
  /** Experiment results to plot, by experiment name (cone-mlp, landscape, sphere). */
  experiments?: Record<string, unknown>;
  /** A caption per pair, shown in the projections' tooltips. */
  labels?: string[];
  /** One group id per pair: retrieval counts any gallery item of the query's group as a hit. */
  groups?: Int32Array;
  /** Most points per modality drawn in a scatter plot (default 600); more are subsampled, and the page says so. */
  maxPoints?: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

async function plot(spec: VegaLiteSpec): Promise<{ spec: VegaLiteSpec; svg: string }> {
  return { spec, svg: await renderSvg(spec) };
}

const f = (x: number, digits = 3) => Number(x.toFixed(digits));

/** The pairs drawn in scatter plots: all of them, or a seeded sample of `cap`. */
function sampleRows(n: number, cap: number, seed: number): Int32Array {
  if (n <= cap) return Int32Array.from({ length: n }, (_, i) => i);
  return createRng(seed).permutation(n).slice(0, cap).sort();
}

/** Builds the report's sections for paired embeddings a, b (rows paired by index). */
export async function buildReport(a: Matrix, b: Matrix, options: ReportOptions): Promise<ReportSection[]> {
  const { seed = 0, maxPoints = 600 } = options;
  const steps = 4;
  const progress = (done: number) => options.onProgress?.(done, steps);
  const sections: ReportSection[] = [];
  const m = await measure(a, b, { groups: options.groups });
  const [reading] = readMeasure(m, "These embeddings", "");
  sections.push({
    title: "The modality gap",
    reading,
    table: {
      header: ["quantity", "value"],
      rows: [
        ["pairs × dimension", `${m.n} × ${m.dim}`],
        ["gap ‖mean A − mean B‖", f(m.gap.l2m, 4)],
        ["relative modality gap", f(m.gap.rmg, 4)],
        ["cone cosine A / B", `${f(m.cone.a)} / ${f(m.cone.b)}`],
        ["mean paired cosine", f(m.pairedCos)],
        ["alignment / uniformity A / B", `${f(m.alignment)} / ${f(m.uniformity.a)} / ${f(m.uniformity.b)}`],
        [
          `R@1 / R@5 / R@10 A→B${m.groups ? " (any item of the query's group)" : ""}`,
          `${f(m.retrieval.aToB.r1)} / ${f(m.retrieval.aToB.r5)} / ${f(m.retrieval.aToB.r10)}`,
        ],
        [
          "R@1 / R@5 / R@10 B→A",
          `${f(m.retrieval.bToA.r1)} / ${f(m.retrieval.bToA.r5)} / ${f(m.retrieval.bToA.r10)}`,
        ],
        [
          "effective rank A / B / joint",
          `${f(m.spectrum.effectiveRank.a, 1)} / ${f(m.spectrum.effectiveRank.b, 1)} / ${f(m.spectrum.effectiveRank.joint, 1)}`,
        ],
        ["variance along the gap", f(m.spectrum.gapVarianceFraction)],
      ],
    },
  });
  progress(1);

  const rows = sampleRows(a.rows, maxPoints, seed);
  const [ua, ub] = [normalizeRows(selectRows(a, rows)), normalizeRows(selectRows(b, rows))];
  const stacked = { rows: 2 * rows.length, cols: a.cols, data: new Float32Array(2 * ua.data.length) };
  stacked.data.set(ua.data);
  stacked.data.set(ub.data, ua.data.length);
  const xy = await pca2(stacked);
  const points = Array.from({ length: stacked.rows }, (_, i) => ({
    x: f(xy[2 * i], 5),
    y: f(xy[2 * i + 1], 5),
    modality: (i < rows.length ? "A" : "B") as "A" | "B",
    pair: rows[i % rows.length],
    ...(options.labels ? { label: options.labels[rows[i % rows.length]] ?? "" } : {}),
  }));
  const sampled =
    rows.length < a.rows ? `Showing a seeded sample of ${rows.length} of ${a.rows} pairs.` : undefined;
  sections.push({
    title: "Both modalities on their top two principal axes",
    reading:
      "Each colour is one modality; the grey lines join true pairs. " +
      (m.gap.l2m > 0.5
        ? `The clouds sit apart: that distance (${f(m.gap.l2m, 2)} between centroids) is the modality gap.`
        : `The clouds overlap: the gap is small here (${f(m.gap.l2m, 2)} between centroids).`),
    plot: await plot(projectionScatter(points, "PCA of A and B together", { pairLines: 60 })),
    note: sampled,
  });
  progress(2);

  const { UMAP } = await import("umap-js");
  const rng = createRng(seed + 1);
  const umapRows = Math.min(rows.length, 300);
  const umapInput = Array.from({ length: 2 * umapRows }, (_, i) => {
    const src = i < umapRows ? ua : ub;
    const r = i % umapRows;
    return Array.from(src.data.subarray(r * a.cols, (r + 1) * a.cols));
  });
  // umap-js needs more points than neighbours: a small set (≤ 7 pairs) gets fewer neighbours
  const neighbours = Math.min(15, umapInput.length - 1);
  const embedding = new UMAP({ nComponents: 2, nNeighbors: neighbours, random: () => rng.uniform() }).fit(
    umapInput,
  );
  sections.push({
    title: "UMAP of both modalities",
    reading: "A non-linear 2-D map (seeded): neighbourhoods are kept, distances between clusters are not.",
    plot: await plot(
      projectionScatter(
        embedding.map(([x, y], i) => ({
          x: f(x, 4),
          y: f(y, 4),
          modality: (i < umapRows ? "A" : "B") as "A" | "B",
          pair: rows[i % umapRows],
        })),
        "UMAP of A and B",
      ),
    ),
    note: `${umapRows} pairs, nNeighbors ${neighbours}.`,
  });
  progress(3);

  const paired = pairedCosines(ua, ub);
  const cos = (x: Matrix, i: number, y: Matrix, j: number) => {
    let s = 0;
    for (let k = 0; k < x.cols; k++) s += x.data[i * x.cols + k] * y.data[j * y.cols + k];
    return s;
  };
  const n = rows.length;
  const other = (i: number) => (i + 1 + rng.int(n - 1)) % n;
  const histogram = [
    ...Array.from(paired, (c) => ({ cosine: f(c, 4), kind: "true pairs (a_i, b_i)" })),
    ...Array.from({ length: n }, (_, i) => ({
      cosine: f(cos(ua, i, ub, other(i)), 4),
      kind: "other pairs (a_i, b_j)",
    })),
    ...Array.from({ length: n }, (_, i) => ({ cosine: f(cos(ua, i, ua, other(i)), 4), kind: "within A" })),
    ...Array.from({ length: n }, (_, i) => ({ cosine: f(cos(ub, i, ub, other(i)), 4), kind: "within B" })),
  ];
  sections.push({
    title: "Cosine similarities",
    reading:
      Math.min(m.cone.a, m.cone.b) > m.pairedCos
        ? "Within each modality cosines are high (the cone); across modalities even true pairs score lower."
        : `True pairs score higher (mean ${f(m.pairedCos, 2)}) than rows within a modality (${f(m.cone.a, 2)} / ${f(m.cone.b, 2)}): no narrow cones here.`,
    plot: await plot(cosineHistograms(histogram, "Paired vs unpaired cosines")),
  });
  progress(4);

  if (options.aligned) sections.push(...(await alignedSections(options.aligned)));
  if (options.scored) sections.push(...(await scoreSections(options.scored)));
  sections.push(...(await experimentSections(options.experiments ?? {})));
  return sections;
}

async function alignedSections(r: HeldOutResult): Promise<ReportSection[]> {
  const methods = [["baseline", r.baseline] as const, ...Object.entries(r.methods)];
  const bars = methods.flatMap(([method, m]) =>
    (["aToB", "bToA"] as const).map((dir) => ({
      method,
      direction: dir === "aToB" ? "A→B" : "B→A",
      recall: m.retrieval[dir].r1,
      lo: m.retrieval[dir].r1CI?.[0] ?? m.retrieval[dir].r1,
      hi: m.retrieval[dir].r1CI?.[1] ?? m.retrieval[dir].r1,
    })),
  );
  const best = methods.reduce((x, y) => (y[1].retrieval.aToB.r1 > x[1].retrieval.aToB.r1 ? y : x));
  return [
    {
      title: "Closing the gap without training (held-out pairs)",
      reading: `Fitted on ${r.fitRows} pairs, measured on the other ${r.evalRows}: the gap falls from ${f(r.baseline.gap.l2m)} to as low as ${f(
        Math.min(...Object.values(r.methods).map((m) => m.gap.l2m)),
      )}; ${
        best[0] === "baseline"
          ? `no method beats the untouched embeddings' A→B R@1 of ${f(r.baseline.retrieval.aToB.r1)}.`
          : `the best A→B R@1 is ${f(best[1].retrieval.aToB.r1)} (${best[0]}) against ${f(r.baseline.retrieval.aToB.r1)} before.`
      }`,
      table: {
        header: ["method", "gap", "paired cos", "A→B R@1", "95% CI", "B→A R@1", "A→B R@5"],
        rows: methods.map(([name, m]) => [
          name,
          f(m.gap.l2m),
          f(m.pairedCos),
          f(m.retrieval.aToB.r1),
          m.retrieval.aToB.r1CI ? `${f(m.retrieval.aToB.r1CI[0])}–${f(m.retrieval.aToB.r1CI[1])}` : "—",
          f(m.retrieval.bToA.r1),
          f(m.retrieval.aToB.r5),
        ]),
      },
      plot: await plot(recallBars(bars, "R@1 before and after each alignment, with 95% bootstrap CIs")),
    },
  ];
}

async function scoreSections(r: ScoreEvaluation): Promise<ReportSection[]> {
  const methods = Object.entries(r.methods) as [ScoreMethod, MethodEvaluation][];
  // binned here, per method: each method's scores live on their own scale
  const BINS = 30;
  const histogram = methods.flatMap(([method]) => {
    const { truePairs, otherPairs } = r.samples?.[method] ?? { truePairs: [], otherPairs: [] };
    const all = [...truePairs, ...otherPairs];
    const [lo, hi] = [Math.min(...all), Math.max(...all)];
    const width = (hi - lo) / BINS || 1;
    return (
      [
        ["true pairs", truePairs],
        ["other pairs", otherPairs],
      ] as const
    ).flatMap(([kind, scores]) => {
      const counts = new Array<number>(BINS).fill(0);
      for (const score of scores) counts[Math.min(BINS - 1, Math.floor((score - lo) / width))]++;
      return counts.map((count, k) => ({
        method,
        kind,
        start: f(lo + k * width, 5),
        end: f(lo + (k + 1) * width, 5),
        count,
      }));
    });
  });
  const reliability = [
    { x: 0, y: 0, series: "perfect calibration" },
    { x: 1, y: 1, series: "perfect calibration" },
    ...methods.flatMap(([method, m]) =>
      m.reliability.map((bin) => ({ x: f(bin.predicted, 4), y: f(bin.observed, 4), series: method })),
    ),
  ];
  return [
    {
      title: "Telling a match from a non-match (held-out pairs)",
      reading: `Scores fitted on ${r.fitRows} pairs, judged on the other ${r.evalRows}, each query against all ${r.evalRows} gallery items. The best method here is ${r.best.method} (A→B R@1 ${f(r.best.r1)}); its ${r.calibration} calibration turns scores into match probabilities with an expected calibration error of ${f(r.best.ece, 4)}.`,
      table: {
        header: ["method", "A→B R@1", "B→A R@1", "AUC", "precision at recall 0.5", "hubness", "ECE", "Brier"],
        rows: methods.map(([method, m]) => [
          method,
          f(m.aToB.r1),
          f(m.bToA.r1),
          f(m.auc, 4),
          f(m.precisionAtRecall["0.5"]),
          f(m.hubness, 2),
          f(m.ece, 4),
          f(m.brier, 5),
        ]),
      },
      plot: await plot(scoreHistograms(histogram, "True vs other pairs under each method")),
      note: "Other pairs: one seeded random gallery item per query.",
    },
    {
      title: "Reliability of the match probabilities",
      reading:
        "Each point is a bin of pairs by predicted P(match): its mean prediction against how often those pairs are true matches. On the diagonal, the probabilities mean what they say.",
      plot: await plot(
        lineChart(reliability, "Reliability diagram", {
          x: "predicted P(match)",
          y: "observed match rate",
          series: "",
        }),
      ),
    },
  ];
}

async function experimentSections(results: Record<string, unknown>): Promise<ReportSection[]> {
  const out: ReportSection[] = [];
  const cone = results["cone-mlp"] as { layers: { layer: number; meanCosine: number }[] } | undefined;
  if (cone)
    out.push({
      title: "The cone effect: cosine vs depth of a random MLP",
      reading: `Mean cosine between outputs rises from ${f(cone.layers[0].meanCosine)} after one layer to ${f(cone.layers.at(-1)!.meanCosine)} after ${cone.layers.length}.`,
      plot: await plot(
        lineChart(
          cone.layers.map((l) => ({ x: l.layer, y: l.meanCosine, series: "random MLP" })),
          "Cone effect",
          { x: "layer", y: "mean cosine", series: "" },
        ),
      ),
    });
  const land = results.landscape as LossLandscape | undefined;
  if (land)
    out.push({
      title: "CLIP loss vs gap shift λ",
      reading: `The loss is lowest at λ = ${land.argminLambda.map((l, j) => `${l} (τ = ${land.temperatures[j]})`).join(", ")}: at low temperature the gap is where the loss wants it.`,
      plot: await plot(
        lineChart(
          land.lambdas.flatMap((lambda, i) =>
            land.temperatures.map((t, j) => ({ x: lambda, y: land.loss[i][j], series: `τ = ${t}` })),
          ),
          "Loss landscape",
          { x: "λ (gap shift)", y: "CLIP loss", series: "temperature" },
        ),
      ),
    });
  const sphereResult = results.sphere as
    | { training: { scale: number; gap: { step: number; centroidDistance: number }[] }[] }
    | undefined;
  if (sphereResult)
    out.push({
      title: "Gap over training steps (sphere simulation)",
      reading:
        "Free unit vectors started with a gap and trained with the CLIP loss: the gap shrinks but is not closed.",
      plot: await plot(
        lineChart(
          sphereResult.training.flatMap((t) =>
            t.gap.map((g) => ({ x: g.step, y: g.centroidDistance, series: `scale ${t.scale}` })),
          ),
          "Gap during training",
          { x: "step", y: "centroid distance", series: "logit scale" },
        ),
      ),
    });
  return out;
}

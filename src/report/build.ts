import type { HeldOutResult } from "../align/evaluate.js";
import { type Matrix, normalizeRows, selectRows } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { type MeasureResult, measure } from "../gap/measure.js";
import { pairedCosines } from "../gap/metrics.js";
import { SHAPE_METHODS, shapeAfterAlignment, shapeOfStats } from "../gap/shape.js";
import { pairStats } from "../gap/stats.js";
import type { LossLandscape } from "../losses/landscape.js";
import type { MethodEvaluation, ScoreEvaluation } from "../score/evaluate.js";
import type { ScoreMethod } from "../score/methods.js";
import type { AlbefResult } from "../sim/albef.js";
import { DECODE_COLUMNS, type DecodeResult, decodeCells } from "../sim/decode.js";
import { formatMeanSd } from "../sim/experiment.js";
import { pca2 } from "../sim/pca.js";
import type { TransferResult } from "../sim/transfer.js";
import type { EpochMetrics } from "../train/trainer.js";
import type { ReportSection } from "./html.js";
import { readCosines, readCurves, readMeasure, readProjection, readTraining } from "./reading.js";
import { renderSvg } from "./render.js";
import {
  cosineHistograms,
  DEFAULT_NAMES,
  lineChart,
  type ModalityNames,
  pointChart,
  projectionScatter,
  recallBars,
  reliabilityDiagram,
  scoreHistograms,
  trainingCurves,
  type VegaLiteSpec,
} from "./specs.js";
import { alignVerdict, scoreVerdict } from "./verdict.js";

/** A dual encoder's training, told before the trained embeddings: its towers before and after, and each epoch. */
export interface TrainingRun {
  untrained: MeasureResult;
  /** The measure of the report's own pairs (the trained towers' output), with the report's groups. */
  trained: MeasureResult;
  /** Held-out zero-shot accuracy of the untrained and the trained towers, and chance (1 / classes). */
  zeroShot: { untrained: number; trained: number; chance: number };
  /** Per epoch: the trainer's held-out metrics and the held-out zero-shot accuracy. */
  epochs: (EpochMetrics & { zeroShot: number })[];
}

/** What a report shows besides the embeddings themselves. */
export interface ReportOptions {
  title: string;
  /** What the modalities are called in every table, sentence and legend (default "A" and "B"). */
  names?: ModalityNames;
  /** A training run to tell first (the demo's): untrained vs trained towers, then the per-epoch curves. */
  training?: TrainingRun;
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

/** A number for chart data, rounded; `fixed` is one for tables and sentences, with its trailing zeros. */
const f = (x: number, digits = 3) => Number(x.toFixed(digits));
const fixed = (x: number, digits = 3) => x.toFixed(digits);

/** The pairs drawn in scatter plots: all of them, or a seeded sample of `cap`. */
function sampleRows(n: number, cap: number, seed: number): Int32Array {
  if (n <= cap) return Int32Array.from({ length: n }, (_, i) => i);
  return createRng(seed).permutation(n).slice(0, cap).sort();
}

/** Builds the report's sections for paired embeddings a, b (rows paired by index). */
export async function buildReport(a: Matrix, b: Matrix, options: ReportOptions): Promise<ReportSection[]> {
  const { seed = 0, maxPoints = 600, names = DEFAULT_NAMES } = options;
  const [A, B] = [names.a, names.b];
  const steps = 5;
  const progress = (done: number) => options.onProgress?.(done, steps);
  const sections: ReportSection[] = options.training ? await trainingSections(options.training, names) : [];
  const m = options.training?.trained ?? (await measure(a, b, { groups: options.groups }));
  sections.push({
    title: "The modality gap",
    reading: readMeasure(m, "These embeddings", names).join(" "),
    table: {
      header: ["quantity", "value"],
      rows: [
        ["pairs × dimension", `${m.n} × ${m.dim}`],
        [`gap ‖mean ${A} − mean ${B}‖`, fixed(m.gap.l2m, 4)],
        ["relative modality gap", fixed(m.gap.rmg, 4)],
        [`cone cosine ${A} / ${B}`, `${fixed(m.cone.a)} / ${fixed(m.cone.b)}`],
        ["mean paired cosine", fixed(m.pairedCos)],
        [
          `alignment / uniformity ${A} / ${B}`,
          `${fixed(m.alignment)} / ${fixed(m.uniformity.a)} / ${fixed(m.uniformity.b)}`,
        ],
        [
          `R@1 / R@5 / R@10 ${A}→${B}${m.groups ? " (any item of the query's group)" : ""}`,
          `${fixed(m.retrieval.aToB.r1)} / ${fixed(m.retrieval.aToB.r5)} / ${fixed(m.retrieval.aToB.r10)}`,
        ],
        [
          `R@1 / R@5 / R@10 ${B}→${A}`,
          `${fixed(m.retrieval.bToA.r1)} / ${fixed(m.retrieval.bToA.r5)} / ${fixed(m.retrieval.bToA.r10)}`,
        ],
        [
          `effective rank ${A} / ${B} / joint`,
          `${fixed(m.spectrum.effectiveRank.a, 1)} / ${fixed(m.spectrum.effectiveRank.b, 1)} / ${fixed(m.spectrum.effectiveRank.joint, 1)}`,
        ],
        ["variance along the gap", fixed(m.spectrum.gapVarianceFraction)],
      ],
    },
  });
  progress(1);
  sections.push(
    await shapeSection(a, b, options.aligned ? Object.keys(options.aligned.methods) : SHAPE_METHODS, names),
  );
  progress(2);

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
    reading: `Each colour is one modality; the grey lines join true pairs. ${readProjection(m)}`,
    plot: await plot(projectionScatter(points, `PCA of ${A} and ${B} together`, { pairLines: 60 }, names)),
    note: sampled,
  });
  progress(3);

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
        `UMAP of ${A} and ${B}`,
        {},
        names,
      ),
    ),
    note: `${umapRows} pairs, nNeighbors ${neighbours}.`,
  });
  progress(4);

  const paired = pairedCosines(ua, ub);
  const cos = (x: Matrix, i: number, y: Matrix, j: number) => {
    let s = 0;
    for (let k = 0; k < x.cols; k++) s += x.data[i * x.cols + k] * y.data[j * y.cols + k];
    return s;
  };
  const n = rows.length;
  const other = (i: number) => (i + 1 + rng.int(n - 1)) % n;
  const histogram = [
    ...Array.from(paired, (c) => ({ cosine: f(c, 4), kind: "paired" as const })),
    ...Array.from({ length: n }, (_, i) => ({
      cosine: f(cos(ua, i, ub, other(i)), 4),
      kind: "unpaired" as const,
    })),
    ...Array.from({ length: n }, (_, i) => ({
      cosine: f(cos(ua, i, ua, other(i)), 4),
      kind: "withinA" as const,
    })),
    ...Array.from({ length: n }, (_, i) => ({
      cosine: f(cos(ub, i, ub, other(i)), 4),
      kind: "withinB" as const,
    })),
  ];
  sections.push({
    title: "Cosine similarities",
    reading: readCosines(m, names),
    plot: await plot(cosineHistograms(histogram, "Paired vs unpaired cosines", names)),
  });
  progress(5);

  if (options.aligned) sections.push(...(await alignedSections(options.aligned, names)));
  if (options.scored) sections.push(...(await scoreSections(options.scored, names)));
  sections.push(...(await experimentSections(options.experiments ?? {})));
  return sections;
}

/**
 * The gap's shape: W₂² split into bias and shape, the anisotropy profile on the joint axes, and the split on
 * held-out pairs before and after each alignment method (fitted on the first half).
 */
async function shapeSection(
  a: Matrix,
  b: Matrix,
  methods: string[],
  names: ModalityNames,
): Promise<ReportSection> {
  const [A, B] = [names.a, names.b];
  const { shape } = await shapeOfStats(await pairStats(a, b, { cross: false }));
  const after = await shapeAfterAlignment(a, b, { methods });
  const { w2, profile } = shape;
  const percent = (x: number) => `${(100 * x).toFixed(0)} %`;
  const isotropic = SHAPE_METHODS.filter((m) => m !== "realign-aniso" && after.methods[m]);
  const left = (m: string) => fixed(after.methods[m].shape);
  // a log scale: the bias along the first axis is orders of magnitude above the rest; zeros have no place on it
  const values = profile
    .flatMap((p, i) => [
      { x: i + 1, y: p.bias ** 2, series: "bias² (Δ·u)²" },
      { x: i + 1, y: p.varianceA, series: `variance ${A}` },
      { x: i + 1, y: p.varianceB, series: `variance ${B}` },
    ])
    .filter((v) => v.y > 0)
    .map((v) => ({ ...v, y: Number(v.y.toPrecision(4)) }));
  return {
    title: "The gap's shape",
    reading: [
      `Of the squared 2-Wasserstein distance between the modalities' Gaussian fits (${fixed(w2.total)}), ${percent(w2.biasShare)} is bias — the means' offset — and ${percent(w2.shapeShare)} shape: their spreads differ by direction.`,
      `The first joint axis holds ${percent(profile[0].biasShare)} of the bias; the top ${profile.length} axes hold ${percent(profile[profile.length - 1].residualShare)} of the covariances' difference.`,
      isotropic.length && after.methods["realign-aniso"]
        ? `On ${after.evalRows} held-out pairs, ${isotropic.join(" and ")} close the bias but leave a shape term of ${isotropic.map(left).join(" and ")} (before: ${left("none")}); realign-aniso leaves ${left("realign-aniso")}.`
        : "",
    ]
      .filter(Boolean)
      .join(" "),
    table: {
      header: [`held-out pairs (${after.evalRows})`, "W₂²", "bias", "shape", "shape share"],
      rows: Object.entries(after.methods).map(([method, s]) => [
        method === "none" ? "as they are" : `after ${method}`,
        fixed(s.total, 4),
        fixed(s.bias, 4),
        fixed(s.shape, 4),
        percent(s.shapeShare),
      ]),
    },
    plot: await plot(
      lineChart(values, `The anisotropy profile on the top ${profile.length} joint axes`, {
        x: "joint principal axis",
        y: "squared length along the axis",
        series: "quantity",
        logY: true,
      }),
    ),
    note: `Whole set: W₂² = ${fixed(w2.bias, 4)} (bias) + ${fixed(w2.shape, 4)} (shape: the Bures distance of the covariances). The methods were fitted on the first ${after.fitRows} pairs.`,
  };
}

/** The training story: untrained vs trained towers side by side, then the held-out curves per epoch. */
async function trainingSections(run: TrainingRun, names: ModalityNames): Promise<ReportSection[]> {
  const [A, B] = [names.a, names.b];
  const { untrained, trained, zeroShot, epochs } = run;
  const both = (label: string, value: (m: MeasureResult) => number): (string | number)[] => [
    label,
    fixed(value(untrained)),
    fixed(value(trained)),
  ];
  const group = trained.groups ? " (any item of the query's group)" : "";
  const curves = epochs.flatMap((e) =>
    (
      [
        ["training loss", e.loss],
        ["temperature τ", e.temperature],
        ["held-out gap", e.gap],
        ["held-out zero-shot accuracy", e.zeroShot],
      ] as const
    ).map(([quantity, value]) => ({ epoch: e.epoch, quantity, value: f(value, 4) })),
  );
  return [
    {
      title: "Untrained vs trained towers",
      reading: readTraining(run, names),
      table: {
        header: ["quantity", "untrained", "trained"],
        rows: [
          both(`gap ‖mean ${A} − mean ${B}‖`, (m) => m.gap.l2m),
          both(`cone cosine within ${A}`, (m) => m.cone.a),
          both(`cone cosine within ${B}`, (m) => m.cone.b),
          both("mean paired cosine", (m) => m.pairedCos),
          both(`R@1 ${A}→${B}${group}`, (m) => m.retrieval.aToB.r1),
          both(`R@1 ${B}→${A}${group}`, (m) => m.retrieval.bToA.r1),
          [
            `held-out zero-shot accuracy (chance ${fixed(zeroShot.chance)})`,
            fixed(zeroShot.untrained),
            fixed(zeroShot.trained),
          ],
        ],
      },
      note: "Gap, cones and R@1 over all pairs; zero-shot accuracy on the held-out pairs.",
    },
    {
      title: "Training, epoch by epoch",
      reading: readCurves(epochs),
      table: {
        header: ["epoch", "loss", "τ", "held-out gap", "held-out zero-shot accuracy"],
        rows: epochs.map((e) => [
          e.epoch,
          fixed(e.loss),
          fixed(e.temperature, 4),
          fixed(e.gap),
          fixed(e.zeroShot),
        ]),
      },
      plot: await plot(trainingCurves(curves, "Training curves")),
    },
  ];
}

async function alignedSections(r: HeldOutResult, names: ModalityNames): Promise<ReportSection[]> {
  const [A, B] = [names.a, names.b];
  const methods = [["baseline", r.baseline] as const, ...Object.entries(r.methods)];
  const bars = methods.flatMap(([method, m]) =>
    (["aToB", "bToA"] as const).map((dir) => ({
      method,
      direction: dir,
      recall: m.retrieval[dir].r1,
      lo: m.retrieval[dir].r1CI?.[0] ?? m.retrieval[dir].r1,
      hi: m.retrieval[dir].r1CI?.[1] ?? m.retrieval[dir].r1,
    })),
  );
  const lowest = Math.min(...Object.values(r.methods).map((m) => m.gap.l2m));
  return [
    {
      title: "Closing the gap without training (held-out pairs)",
      reading: `Fitted on ${r.fitRows} pairs, measured on the other ${r.evalRows}: the gap ${lowest < r.baseline.gap.l2m ? "falls" : "goes"} from ${fixed(r.baseline.gap.l2m)} to as low as ${fixed(lowest)}. ${alignVerdict(r, names)}`,
      table: {
        header: ["method", "gap", "paired cos", `${A}→${B} R@1`, "95% CI", `${B}→${A} R@1`, `${A}→${B} R@5`],
        rows: methods.map(([name, m]) => [
          name,
          fixed(m.gap.l2m),
          fixed(m.pairedCos),
          fixed(m.retrieval.aToB.r1),
          m.retrieval.aToB.r1CI
            ? `${fixed(m.retrieval.aToB.r1CI[0])}–${fixed(m.retrieval.aToB.r1CI[1])}`
            : "—",
          fixed(m.retrieval.bToA.r1),
          fixed(m.retrieval.aToB.r5),
        ]),
      },
      plot: await plot(
        recallBars(bars, "R@1 before and after each alignment, with 95% bootstrap CIs", names),
      ),
    },
  ];
}

async function scoreSections(r: ScoreEvaluation, names: ModalityNames): Promise<ReportSection[]> {
  const methods = Object.entries(r.methods) as [ScoreMethod, MethodEvaluation][];
  const samples = methods.map(([method]) => ({
    method,
    ...(r.samples?.[method] ?? { truePairs: [], otherPairs: [] }),
  }));
  const reliability = methods.flatMap(([method, m]) =>
    m.reliability.map((bin) => ({
      method,
      predicted: f(bin.predicted, 4),
      observed: f(bin.observed, 4),
      pairs: bin.pairs,
    })),
  );
  return [
    {
      title: "Telling a match from a non-match (held-out pairs)",
      reading: `Scores fitted on ${r.fitRows} pairs, judged on the other ${r.evalRows}, each query against all ${r.evalRows} gallery items. The ${r.calibration} calibration of ${r.best.method} turns its scores into match probabilities with an expected calibration error of ${fixed(r.best.ece, 4)}. ${scoreVerdict(r, names)}`,
      table: {
        header: [
          "method",
          `${names.a}→${names.b} R@1`,
          `${names.b}→${names.a} R@1`,
          "AUC",
          "precision at recall 0.5",
          "hubness",
          "ECE",
          "Brier",
        ],
        rows: methods.map(([method, m]) => [
          method,
          fixed(m.aToB.r1),
          fixed(m.bToA.r1),
          fixed(m.auc, 4),
          fixed(m.precisionAtRecall["0.5"]),
          fixed(m.hubness, 2),
          fixed(m.ece, 4),
          fixed(m.brier, 5),
        ]),
      },
      plot: await plot(scoreHistograms(samples, "True vs other pairs under each method")),
      note: "Other pairs: one seeded random gallery item per query.",
    },
    {
      title: "Reliability of the match probabilities",
      reading:
        "Each point is a bin of pairs by predicted P(match): its mean prediction against how often those pairs are true matches. On the diagonal, the probabilities mean what they say.",
      plot: await plot(reliabilityDiagram(reliability, "Reliability diagram")),
    },
  ];
}

/** `experiment albef`'s section: the table of variants and their training-loss curves. */
async function albefSection(r: AlbefResult): Promise<ReportSection> {
  const variants = Object.entries(r.variants);
  const [best, bestRun] = variants.reduce((top, entry) =>
    entry[1].itc.t2i.r1.mean > top[1].itc.t2i.r1.mean ? entry : top,
  );
  return {
    title: "ALBEF-mini on the built-in emoji set",
    reading: `Held-out text→image R@1 is highest for ${best}: ${fixed(bestRun.itc.t2i.r1.mean)} by ITC, where chance is ${r.chance.t2i.toFixed(4)} (${r.heldOut.images} images of emoji unseen in training, ${r.heldOut.captions} captions; a hit is any image of the caption's emoji).`,
    table: {
      header: [
        "variant",
        "i→t R@1",
        "+ITM",
        "t→i R@1",
        "+ITM",
        "ITM acc",
        "MLM acc",
        "gap",
        "cone image",
        "cone text",
      ],
      rows: variants.map(([name, v]) => [
        name,
        formatMeanSd(v.itc.i2t.r1),
        formatMeanSd(v.reranked.i2t.r1),
        formatMeanSd(v.itc.t2i.r1),
        formatMeanSd(v.reranked.t2i.r1),
        formatMeanSd(v.itmAccuracy),
        formatMeanSd(v.mlmAccuracy),
        formatMeanSd(v.gap),
        formatMeanSd(v.cones.image),
        formatMeanSd(v.cones.text),
      ]),
    },
    // (results saved before the curves were recorded have none)
    plot:
      r.curves &&
      (await plot(
        lineChart(
          Object.entries(r.curves).flatMap(([name, points]) =>
            points.map(({ step, loss }) => ({ x: step, y: loss, series: name })),
          ),
          "Training loss",
          { x: "step", y: "loss (mean over seeds)", series: "variant" },
        ),
      )),
    note: "+ITM: each query's top 16 by ITC re-ranked by ITM's match probability; — where a variant has no ITM or MLM; mean ± sd over seeds. Images: Twemoji graphics by Twitter, Inc. and contributors, CC-BY 4.0; captions from the Unicode CLDR annotations (emojibase-data).",
  };
}

/** `experiment transfer`'s section: every target's table of methods, and accuracy against distortion. */
async function transferSection(results: readonly TransferResult[]): Promise<ReportSection> {
  const readings = results.map((r) => {
    const methods = Object.entries(r.methods);
    const best = (score: (m: (typeof methods)[number][1]) => number) =>
      methods.reduce((top, entry) => (score(entry[1]) > score(top[1]) ? entry : top));
    const [accurate, a] = best((m) => m.accuracy.mean);
    const [keeper, k] = best((m) => -m.sourceProbeError.mean);
    return `On ${r.target} (${r.shots} examples per class), ${accurate} is the most accurate (${fixed(a.accuracy.mean)}); ${keeper} distorts the source least (probe error ${fixed(k.sourceProbeError.mean)}; the pretrained encoder's ${fixed(r.source.probeError.mean)}).`;
  });
  return {
    title: "Cross-modality transfer from MNIST",
    reading: readings.join(" "),
    table: {
      header: [
        "target",
        "method",
        "target acc",
        "source probe err",
        "discrepancy",
        "gap before",
        "gap after",
      ],
      rows: results.flatMap((r) =>
        Object.entries(r.methods).map(([name, m]) => [
          r.target,
          name,
          formatMeanSd(m.accuracy),
          formatMeanSd(m.sourceProbeError),
          formatMeanSd(m.discrepancy),
          formatMeanSd(m.gapBefore),
          formatMeanSd(m.gap),
        ]),
      ),
    },
    plot: await plot(
      pointChart(
        results.flatMap((r) =>
          Object.entries(r.methods).map(([name, m]) => ({
            x: m.sourceProbeError.mean,
            y: m.accuracy.mean,
            series: r.target,
            label: name,
          })),
        ),
        "Target accuracy against the distortion of source knowledge",
        { x: "source probe error", y: "target accuracy", series: "target", label: "method" },
      ),
    ),
    note: "Mean ± sd over seeds. Source probe error: a linear probe's error on held-out MNIST digits through the fine-tuned encoder (lower: more source knowledge kept). Discrepancy: the class-matched W₂² between target and source class-conditional features of the encoder fine-tuning starts from. Gap: the embedded target tokens' centroid distance from the source's, before and after stage 1.",
  };
}

/** `experiment decode`'s sections: the methods' caption scores, then a few held-out emoji's captions. */
function decodeSections(r: DecodeResult): ReportSection[] {
  const methods = Object.entries(r.methods);
  const [best, top] = methods.reduce((a, b) => (b[1].bleu4.mean > a[1].bleu4.mean ? b : a));
  const textOnly = methods.filter(([name]) => name !== "prefix");
  const [bestText, topText] = textOnly.length
    ? textOnly.reduce((a, b) => (b[1].bleu4.mean > a[1].bleu4.mean ? b : a))
    : [best, top];
  return [
    {
      title: "Decoding emoji embeddings back to captions",
      reading: `On ${r.heldOut.images} held-out images of unseen emoji, ${best} has the highest BLEU-4 (${fixed(top.bleu4.mean)}); of the decoders trained on text alone, ${bestText} (${fixed(topText.bleu4.mean)}).`,
      table: {
        header: ["method", ...DECODE_COLUMNS],
        rows: methods.map(([name, m]) => [name, ...decodeCells(m)]),
      },
      note: "Mean ± sd over the decoders' seeds (coca: one model). prefix: trained on image embeddings (the paired upper bound); the others on text embeddings only. Exact: the caption is the emoji's name. CLIP score: cosine between the caption's and the image's CLIP-mini embeddings. Gap fed: ‖mean − mean‖ of the embeddings a decoder trained on and those it decoded.",
    },
    {
      title: "Captions of a few held-out emoji",
      reading: "Each method's caption (the first seed's) next to the emoji's name.",
      images: r.examples.map((e) => ({ src: e.png, caption: e.name })),
      table: {
        header: ["emoji", ...methods.map(([name]) => name)],
        rows: r.examples.map((e) => [e.name, ...methods.map(([name]) => e.captions[name] ?? "")]),
      },
    },
  ];
}

async function experimentSections(results: Record<string, unknown>): Promise<ReportSection[]> {
  const out: ReportSection[] = [];
  const cone = results["cone-mlp"] as { layers: { layer: number; meanCosine: number }[] } | undefined;
  if (cone)
    out.push({
      title: "The cone effect: cosine vs depth of a random MLP",
      reading: `Mean cosine between outputs rises from ${fixed(cone.layers[0].meanCosine)} after one layer to ${fixed(cone.layers.at(-1)!.meanCosine)} after ${cone.layers.length}.`,
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
  const albef = results.albef as AlbefResult | undefined;
  if (albef) out.push(await albefSection(albef));
  const decoded = results.decode as DecodeResult | undefined;
  if (decoded) out.push(...decodeSections(decoded));
  const transfers = results.transfer as TransferResult[] | undefined;
  if (transfers?.length) out.push(await transferSection(transfers));
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

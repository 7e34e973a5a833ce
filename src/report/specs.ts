/** Vega-Lite specs (plain JSON) for gapkit's plots: data in, spec out; rendering lives in render.ts. */

/** A Vega-Lite spec as plain JSON. */
export type VegaLiteSpec = Record<string, unknown>;

/** What the two modalities are called on the charts (e.g. image / text). */
export type ModalityNames = { a: string; b: string };

/** The names a report gives the modalities unless told otherwise. */
export const DEFAULT_NAMES: ModalityNames = { a: "A", b: "B" };

/** The series of a cosine histogram: true pairs, other (random) pairs, and pairs within one modality. */
export type CosineKind = "paired" | "unpaired" | "withinA" | "withinB";

const WIDTH = 420;
const HEIGHT = 300;
const MODALITY_COLOURS = ["#1f77b4", "#e6550d"];
/** Categorical axes keep their labels horizontal up to this many categories, each given this many pixels. */
const HORIZONTAL_LABELS_MAX = 8;
const HORIZONTAL_LABEL_WIDTH = 110;
/** Reliability bins with fewer pairs than this are too noisy to draw. */
const RELIABILITY_MIN_PAIRS = 10;

/** The distinct values in first-seen order: charts list methods in the order the tables do. */
function firstSeen(values: string[]): string[] {
  return [...new Set(values)];
}

/** A 2-D projection (PCA or UMAP) of both modalities, coloured by modality, optional lines between pairs. */
export function projectionScatter(
  points: { x: number; y: number; modality: "A" | "B"; pair: number; label?: string }[],
  title: string,
  options: { pairLines?: number } = {},
  names: ModalityNames = DEFAULT_NAMES,
): VegaLiteSpec {
  const layers: VegaLiteSpec[] = [];
  if (options.pairLines) {
    layers.push({
      transform: [{ filter: `datum.pair < ${options.pairLines}` }],
      mark: { type: "line", strokeWidth: 0.6, opacity: 0.35, color: "#777" },
      encoding: {
        x: { field: "x", type: "quantitative" },
        y: { field: "y", type: "quantitative" },
        detail: { field: "pair" },
      },
    });
  }
  layers.push({
    mark: { type: "point", filled: true, size: 14, opacity: 0.7 },
    encoding: {
      x: { field: "x", type: "quantitative", title: "axis 1" },
      y: { field: "y", type: "quantitative", title: "axis 2" },
      color: {
        field: "modality",
        type: "nominal",
        scale: { domain: [names.a, names.b], range: MODALITY_COLOURS },
        title: "modality",
      },
      tooltip: [
        { field: "modality" },
        { field: "pair" },
        ...(points.some((p) => p.label) ? [{ field: "label" }] : []),
      ],
    },
  });
  const values = points.map((p) => ({ ...p, modality: p.modality === "A" ? names.a : names.b }));
  return { title, width: WIDTH, height: HEIGHT, data: { values }, layer: layers };
}

/** Round bin edges for lo..hi: a step of 1, 2 or 5 times a power of ten, at most `maxbins` bins. */
function niceBins(lo: number, hi: number, maxbins: number): number[] {
  const raw = (hi - lo || Math.abs(lo) || 1) / maxbins;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw * (1 - 1e-9))!;
  const first = Math.floor(lo / step);
  const bins = Math.max(1, Math.ceil(hi / step - first - 1e-9));
  return Array.from({ length: bins + 1 }, (_, k) => Number(((first + k) * step).toPrecision(12)));
}

/**
 * Histogram outlines of several series on shared round bins: per series, the corners of a step line that
 * rises from zero at the first edge and falls back to zero at the last (`order` keeps the vertical edges apart).
 */
function outlinePoints(
  series: { kind: string; values: number[] }[],
  maxbins: number,
): { kind: string; x: number; count: number; order: number }[] {
  const all = series.flatMap((s) => s.values);
  if (all.length === 0) return [];
  // a loop, not Math.min(...all): a spread of 10⁵+ arguments overflows the stack
  const lo = all.reduce((m, v) => Math.min(m, v), Infinity);
  const hi = all.reduce((m, v) => Math.max(m, v), -Infinity);
  const edges = niceBins(lo, hi, maxbins);
  const bins = edges.length - 1;
  const step = edges[1] - edges[0];
  return series.flatMap(({ kind, values }) => {
    const counts = new Array<number>(bins).fill(0);
    for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - edges[0]) / step)))]++;
    const corners = [
      [edges[0], 0],
      ...counts.map((c, k) => [edges[k], c]),
      [edges[bins], counts[bins - 1]],
      [edges[bins], 0],
    ];
    return corners.map(([x, count], order) => ({ kind, x, count, order }));
  });
}

/** The step-line layer that draws `outlinePoints` as unfilled histograms, coloured by series in `kinds` order. */
function outlineLayer(xTitle: string, kinds: string[]): VegaLiteSpec {
  return {
    mark: { type: "line", interpolate: "step-after", strokeWidth: 1.5 },
    encoding: {
      x: { field: "x", type: "quantitative", title: xTitle, scale: { zero: false, nice: true } },
      y: { field: "count", type: "quantitative", title: "pairs" },
      color: { field: "kind", type: "nominal", title: null, sort: kinds, legend: { labelLimit: 400 } },
      order: { field: "order" },
    },
  };
}

/** Histogram outlines of cosine similarities on shared round bins, one per kind (paired, unpaired, within A, within B). */
export function cosineHistograms(
  values: { cosine: number; kind: CosineKind }[],
  title: string,
  names: ModalityNames = DEFAULT_NAMES,
): VegaLiteSpec {
  const labels: Record<CosineKind, string> = {
    paired: `true pairs (${names.a} i, ${names.b} i)`,
    unpaired: `other pairs (${names.a} i, ${names.b} j)`,
    withinA: `within ${names.a}`,
    withinB: `within ${names.b}`,
  };
  const kinds = (Object.keys(labels) as CosineKind[]).filter((k) => values.some((v) => v.kind === k));
  const series = kinds.map((k) => ({
    kind: labels[k],
    values: values.filter((v) => v.kind === k).map((v) => v.cosine),
  }));
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: outlinePoints(series, 60) },
    ...outlineLayer(
      "cosine similarity",
      kinds.map((k) => labels[k]),
    ),
  };
}

/** Lines of y against x, one per series (cone vs layer, loss vs λ, gap vs step); `logY` for values across decades. */
export function lineChart(
  values: { x: number; y: number; series: string }[],
  title: string,
  axes: { x: string; y: string; series: string; logY?: boolean },
): VegaLiteSpec {
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "line", point: { size: 18 } },
    encoding: {
      x: { field: "x", type: "quantitative", title: axes.x },
      y: {
        field: "y",
        type: "quantitative",
        title: axes.y,
        scale: axes.logY ? { type: "log" } : { zero: false },
      },
      color: { field: "series", type: "nominal", title: axes.series, sort: null },
    },
  };
}

/** Points of y against x, coloured by series and shaped by label (methods on two measures, per data set). */
export function pointChart(
  values: { x: number; y: number; series: string; label: string }[],
  title: string,
  axes: { x: string; y: string; series: string; label: string },
): VegaLiteSpec {
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "point", filled: true, size: 90 },
    encoding: {
      x: { field: "x", type: "quantitative", title: axes.x, scale: { zero: false } },
      y: { field: "y", type: "quantitative", title: axes.y, scale: { zero: false } },
      color: { field: "series", type: "nominal", title: axes.series, sort: null },
      shape: { field: "label", type: "nominal", title: axes.label, sort: null },
      tooltip: [
        { field: "series", title: axes.series },
        { field: "label", title: axes.label },
        { field: "x", title: axes.x, format: ".3f" },
        { field: "y", title: axes.y, format: ".3f" },
      ],
    },
  };
}

/**
 * R@1 bars per method (in the order given, as in the table) and direction, with each 95% confidence interval
 * drawn whole as a capped whisker on top of its bar.
 */
export function recallBars(
  values: { method: string; direction: "aToB" | "bToA"; recall: number; lo: number; hi: number }[],
  title: string,
  names: ModalityNames = DEFAULT_NAMES,
): VegaLiteSpec {
  const methods = firstSeen(values.map((v) => v.method));
  const directions = [`${names.a}→${names.b}`, `${names.b}→${names.a}`];
  const y = { type: "quantitative", title: "R@1", scale: { domain: [0, 1] } };
  const horizontal = methods.length <= HORIZONTAL_LABELS_MAX;
  return {
    title,
    width: horizontal ? Math.max(WIDTH, HORIZONTAL_LABEL_WIDTH * methods.length) : WIDTH,
    height: HEIGHT,
    data: {
      values: values.map((v) => ({ ...v, direction: directions[v.direction === "aToB" ? 0 : 1] })),
    },
    encoding: {
      x: {
        field: "method",
        type: "nominal",
        sort: methods,
        title: null,
        axis: horizontal ? { labelAngle: 0, labelLimit: HORIZONTAL_LABEL_WIDTH - 4 } : { labelAngle: -35 },
      },
      xOffset: { field: "direction", sort: directions },
    },
    layer: [
      {
        mark: "bar",
        encoding: {
          y: { field: "recall", ...y },
          color: { field: "direction", type: "nominal", title: null, sort: directions },
        },
      },
      {
        mark: { type: "errorbar", ticks: { width: 6 }, color: "#222", thickness: 1.5 },
        encoding: { y: { field: "lo", ...y }, y2: { field: "hi" } },
      },
    ],
  };
}

/** Histogram outlines of each scoring method's scores (true vs other pairs), one panel per method on its own round bins. */
export function scoreHistograms(
  samples: { method: string; truePairs: number[]; otherPairs: number[] }[],
  title: string,
): VegaLiteSpec {
  const kinds = ["true pairs", "other pairs"];
  const values = samples.flatMap(({ method, truePairs, otherPairs }) =>
    outlinePoints(
      [
        { kind: kinds[0], values: truePairs },
        { kind: kinds[1], values: otherPairs },
      ],
      30,
    ).map((p) => ({ method, ...p })),
  );
  return {
    title,
    data: { values },
    facet: { field: "method", type: "nominal", title: null, sort: samples.map((s) => s.method) },
    columns: 3,
    resolve: { scale: { x: "independent", y: "independent" } },
    spec: { width: 200, height: 140, ...outlineLayer("score", kinds) },
  };
}

/**
 * Reliability diagram: per method, each bin's mean predicted P(match) against its observed match rate, point
 * area by the bin's pairs; bins under 10 pairs are left out, the dashed diagonal is perfect calibration.
 * The size scale is logarithmic: the bin near 0 holds almost every non-matching pair and would dwarf the rest.
 */
export function reliabilityDiagram(
  bins: { method: string; predicted: number; observed: number; pairs: number }[],
  title: string,
): VegaLiteSpec {
  const unit = { type: "quantitative", scale: { domain: [0, 1] } };
  return {
    title: {
      text: title,
      subtitle: `point area: pairs in the bin (log scale); bins under ${RELIABILITY_MIN_PAIRS} pairs not shown`,
    },
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: {
          values: [
            { predicted: 0, observed: 0 },
            { predicted: 1, observed: 1 },
          ],
        },
        mark: { type: "line", color: "#999", strokeDash: [4, 4] },
        encoding: {
          x: { field: "predicted", ...unit, title: "predicted P(match)" },
          y: { field: "observed", ...unit, title: "observed match rate" },
        },
      },
      {
        data: { values: bins.filter((b) => b.pairs >= RELIABILITY_MIN_PAIRS) },
        encoding: {
          x: { field: "predicted", ...unit },
          y: { field: "observed", ...unit },
          color: {
            field: "method",
            type: "nominal",
            title: null,
            sort: firstSeen(bins.map((b) => b.method)),
          },
        },
        layer: [
          { mark: { type: "line", strokeWidth: 1 } },
          {
            mark: { type: "point", filled: true, opacity: 0.8 },
            encoding: {
              size: {
                field: "pairs",
                type: "quantitative",
                title: "pairs",
                scale: { type: "log", range: [12, 320] },
              },
              tooltip: [
                { field: "method" },
                { field: "predicted" },
                { field: "observed" },
                { field: "pairs" },
              ],
            },
          },
        ],
      },
    ],
  };
}

/** Per-epoch training curves, one small panel per quantity (loss, τ, gap, accuracy) on its own y scale. */
export function trainingCurves(
  values: { epoch: number; quantity: string; value: number }[],
  title: string,
): VegaLiteSpec {
  return {
    title,
    data: { values },
    facet: {
      field: "quantity",
      type: "nominal",
      title: null,
      sort: firstSeen(values.map((v) => v.quantity)),
    },
    columns: 2,
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 200,
      height: 140,
      mark: { type: "line", point: { size: 18 } },
      encoding: {
        x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1 } },
        y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
      },
    },
  };
}

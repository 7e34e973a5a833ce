/** Vega-Lite specs (plain JSON) for gapkit's plots: data in, spec out; rendering lives in render.ts. */

/** A Vega-Lite spec as plain JSON. */
export type VegaLiteSpec = Record<string, unknown>;

const WIDTH = 420;
const HEIGHT = 300;
const MODALITY_COLOURS = { domain: ["A", "B"], range: ["#1f77b4", "#e6550d"] };

/** A 2-D projection (PCA or UMAP) of both modalities, coloured by modality, optional lines between pairs. */
export function projectionScatter(
  points: { x: number; y: number; modality: "A" | "B"; pair: number; label?: string }[],
  title: string,
  options: { pairLines?: number } = {},
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
      color: { field: "modality", type: "nominal", scale: MODALITY_COLOURS, title: "modality" },
      tooltip: [
        { field: "modality" },
        { field: "pair" },
        ...(points.some((p) => p.label) ? [{ field: "label" }] : []),
      ],
    },
  });
  return { title, width: WIDTH, height: HEIGHT, data: { values: points }, layer: layers };
}

/** Overlaid histograms of cosine similarities, one series per kind (paired, unpaired, within A, within B). */
export function cosineHistograms(values: { cosine: number; kind: string }[], title: string): VegaLiteSpec {
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "bar", opacity: 0.55, binSpacing: 0 },
    encoding: {
      x: { field: "cosine", type: "quantitative", bin: { maxbins: 60 }, title: "cosine similarity" },
      y: { aggregate: "count", type: "quantitative", stack: null, title: "pairs" },
      color: { field: "kind", type: "nominal", title: null, legend: { labelLimit: 260 } },
    },
  };
}

/** Lines of y against x, one per series (cone vs layer, loss vs λ, gap vs step). */
export function lineChart(
  values: { x: number; y: number; series: string }[],
  title: string,
  axes: { x: string; y: string; series: string },
): VegaLiteSpec {
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "line", point: { size: 18 } },
    encoding: {
      x: { field: "x", type: "quantitative", title: axes.x },
      y: { field: "y", type: "quantitative", title: axes.y, scale: { zero: false } },
      color: { field: "series", type: "nominal", title: axes.series, sort: null },
    },
  };
}

/** Recall bars per method and direction with 95% confidence intervals as error bars. */
export function recallBars(
  values: { method: string; direction: string; recall: number; lo: number; hi: number }[],
  title: string,
): VegaLiteSpec {
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    encoding: {
      x: { field: "method", type: "nominal", sort: null, title: null, axis: { labelAngle: -35 } },
      xOffset: { field: "direction" },
      color: { field: "direction", type: "nominal", title: null },
    },
    layer: [
      {
        mark: "bar",
        encoding: { y: { field: "recall", type: "quantitative", title: "R@1", scale: { domain: [0, 1] } } },
      },
      {
        mark: { type: "rule", color: "#333" },
        encoding: { y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
      },
    ],
  };
}

/** Pre-binned histograms of a scoring method's scores (true vs other pairs), one panel per method with its own scale. */
export function scoreHistograms(
  values: { method: string; kind: string; start: number; end: number; count: number }[],
  title: string,
): VegaLiteSpec {
  return {
    title,
    data: { values },
    facet: { field: "method", type: "nominal", title: null, sort: null },
    columns: 3,
    resolve: { scale: { x: "independent", y: "independent" } },
    spec: {
      width: 200,
      height: 140,
      mark: { type: "bar", opacity: 0.55 },
      encoding: {
        x: { field: "start", type: "quantitative", title: "score", scale: { zero: false } },
        x2: { field: "end" },
        y: { field: "count", type: "quantitative", stack: null, title: "pairs" },
        y2: { datum: 0 },
        color: { field: "kind", type: "nominal", title: null },
      },
    },
  };
}

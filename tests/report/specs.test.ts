import { describe, expect, it } from "vitest";
import { evaluateHeldOut } from "../../src/align/evaluate.js";
import { buildReport } from "../../src/report/build.js";
import { renderSvg } from "../../src/report/render.js";
import {
  cosineHistograms,
  projectionScatter,
  recallBars,
  reliabilityDiagram,
  scoreHistograms,
  type VegaLiteSpec,
} from "../../src/report/specs.js";
import { evaluateScoring } from "../../src/score/evaluate.js";
import { conePair } from "../../src/sim/cone-pair.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests walk specs' plain JSON
type Json = Record<string, any>;
const NAMES = { a: "image", b: "text" };

/** The SVG groups of a chart's marks (not axes or legends) of one vega type, e.g. "rule", in drawing order. */
const markGroups = (svg: string, type: string) =>
  [...svg.matchAll(new RegExp(`<g class="mark-${type} role-mark[^"]*"[^>]*>([\\s\\S]*?)</g>`, "g"))].map(
    (m) => ({
      index: m.index ?? 0,
      body: m[1],
    }),
  );

const bars = (methods: string[]) =>
  methods.flatMap((method, i) =>
    (["aToB", "bToA"] as const).map((direction) => ({
      method,
      direction,
      recall: 0.5 + i / 100,
      lo: 0.3,
      hi: 0.7,
    })),
  );

describe("recallBars", () => {
  it("draws each CI whole, as a dark whisker layered after its bar from lo to hi", async () => {
    const spec = recallBars(bars(["baseline", "center", "shift"]), "t") as Json;
    const [bar, whisker] = spec.layer;
    expect(bar.mark).toBe("bar");
    expect(whisker.mark.type).toBe("errorbar");
    expect(whisker.encoding.y.field).toBe("lo");
    expect(whisker.encoding.y2.field).toBe("hi");
    // a whisker coloured like its bar would vanish inside it
    expect(spec.encoding.color).toBeUndefined();
    expect(whisker.encoding.color).toBeUndefined();

    const svg = await renderSvg(spec);
    const [barGroup, ...capGroups] = markGroups(svg, "rect");
    const [whiskers] = markGroups(svg, "rule");
    expect(barGroup.body.match(/<path/g)).toHaveLength(6);
    expect(whiskers.body.match(/<line/g)).toHaveLength(6);
    expect(capGroups.flatMap((g) => g.body.match(/<path/g))).toHaveLength(12); // a cap at lo and at hi
    expect(whiskers.index).toBeGreaterThan(barGroup.index);
    expect(capGroups.every((g) => g.index > barGroup.index)).toBe(true);
  });

  it("keeps axis labels horizontal up to 8 methods, each within its own band, and tilts them beyond", () => {
    const spec = (n: number) => recallBars(bars(Array.from({ length: n }, (_, i) => `m${i}`)), "t") as Json;
    for (const n of [3, 8]) {
      const { width, encoding } = spec(n);
      expect(encoding.x.axis.labelAngle).toBe(0);
      expect(encoding.x.axis.labelLimit).toBeLessThan(width / n);
    }
    expect(spec(9).encoding.x.axis.labelAngle).not.toBe(0);
  });

  it("orders methods as given and names the directions after the modalities", () => {
    const spec = recallBars(bars(["shift", "baseline", "center"]), "t", NAMES) as Json;
    expect(spec.encoding.x.sort).toEqual(["shift", "baseline", "center"]);
    expect(new Set(spec.data.values.map((v: Json) => v.direction))).toEqual(
      new Set(["image→text", "text→image"]),
    );
  });
});

describe("histograms", () => {
  const values = [
    ...[0.31, 0.33, 0.35, 0.36].map((cosine) => ({ cosine, kind: "paired" as const })),
    ...[0.11, 0.12, 0.2].map((cosine) => ({ cosine, kind: "unpaired" as const })),
    ...[0.52, 0.6, 0.61].map((cosine) => ({ cosine, kind: "withinA" as const })),
    ...[0.5, 0.55, 0.77].map((cosine) => ({ cosine, kind: "withinB" as const })),
  ];

  it("draws overlapping cosine histograms as outlines on shared round bins", () => {
    const spec = cosineHistograms(values, "t", NAMES) as Json;
    expect(spec.mark).toMatchObject({ type: "line", interpolate: "step-after" });
    expect(spec.encoding.x.scale.nice).toBe(true);
    const points: Json[] = spec.data.values;
    const xs = [...new Set(points.map((p) => p.x))].sort((p, q) => p - q);
    const step = xs[1] - xs[0];
    expect([0.01, 0.02, 0.05, 0.1]).toContain(Number(step.toPrecision(6)));
    for (const x of xs) expect(Math.abs(x / step - Math.round(x / step))).toBeLessThan(1e-9);
    // each outline closes at zero on both ends and counts every value once
    const paired = points.filter((p) => p.kind === "true pairs (image i, text i)");
    expect(paired[0].count).toBe(0);
    expect(paired.at(-1)!.count).toBe(0);
    expect(paired.slice(1, -2).reduce((s, p) => s + p.count, 0)).toBe(4);
    expect(spec.encoding.color.sort).toEqual([
      "true pairs (image i, text i)",
      "other pairs (image i, text j)",
      "within image",
      "within text",
    ]);
  });

  it("renders the outlines as unfilled lines", async () => {
    const svg = await renderSvg(cosineHistograms(values, "t"));
    const lines = markGroups(svg, "line");
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line.body).not.toMatch(/fill="#/);
    expect(markGroups(svg, "rect")).toHaveLength(0);
  });

  it("draws score histograms as outlines, one panel per method in the table's order", () => {
    const spec = scoreHistograms(
      [
        { method: "zscore", truePairs: [2, 3, 4], otherPairs: [-1, 0, 1] },
        { method: "raw", truePairs: [0.3, 0.31], otherPairs: [0.1, 0.15] },
      ],
      "t",
    ) as Json;
    expect(spec.facet.sort).toEqual(["zscore", "raw"]);
    expect(spec.spec.mark.type).toBe("line");
    expect(spec.spec.encoding.x.scale.nice).toBe(true);
    const raw: Json[] = spec.data.values.filter((p: Json) => p.method === "raw" && p.kind === "true pairs");
    expect(raw.slice(1, -2).reduce((s, p) => s + p.count, 0)).toBe(2);
  });
});

describe("reliabilityDiagram", () => {
  const bins = [
    { method: "raw", predicted: 0.02, observed: 0.01, pairs: 5000 },
    { method: "raw", predicted: 0.45, observed: 0.5, pairs: 40 },
    { method: "raw", predicted: 0.95, observed: 1, pairs: 9 },
    { method: "csls", predicted: 0.03, observed: 0.02, pairs: 4900 },
    { method: "csls", predicted: 0.55, observed: 0.4, pairs: 3 },
  ];

  it("sizes each bin's point by its pairs and leaves out bins under 10 pairs", () => {
    const spec = reliabilityDiagram(bins, "t") as Json;
    const drawn = spec.layer[1];
    expect(drawn.data.values.map((b: Json) => b.pairs)).toEqual([5000, 40, 4900]);
    const point = drawn.layer.find((l: Json) => l.mark.type === "point");
    expect(point.encoding.size.field).toBe("pairs");
    expect(drawn.encoding.color.sort).toEqual(["raw", "csls"]);
  });

  it("renders one point per kept bin", async () => {
    const svg = await renderSvg(reliabilityDiagram(bins, "t"));
    const [points] = markGroups(svg, "symbol");
    expect(points.body.match(/<path/g)).toHaveLength(3);
  });
});

describe("modality names", () => {
  it("labels the scatter's modalities with the given names", () => {
    const spec = projectionScatter(
      [
        { x: 0, y: 0, modality: "A", pair: 0 },
        { x: 1, y: 1, modality: "B", pair: 0 },
      ],
      "t",
      {},
      NAMES,
    ) as Json;
    expect(spec.data.values.map((p: Json) => p.modality)).toEqual(["image", "text"]);
    expect(spec.layer[0].encoding.color.scale.domain).toEqual(["image", "text"]);
  });

  it("defaults to A and B", () => {
    const spec = recallBars(bars(["m"]), "t") as Json;
    expect(spec.data.values.map((v: Json) => v.direction)).toEqual(["A→B", "B→A"]);
  });
});

describe("buildReport", () => {
  it("lists methods in the same order in each table and its chart", async () => {
    const { a, b } = await conePair({ n: 60, dim: 8, layers: 2, seed: 2 });
    const aligned = await evaluateHeldOut(a, b, { methods: ["shift", "center", "realign"] });
    const scored = await evaluateScoring(a, b, { methods: ["zscore", "raw", "csls"], samples: true });
    const sections = await buildReport(a, b, { title: "t", aligned, scored });
    const order = (title: RegExp) => {
      const section = sections.find((s) => title.test(s.title))!;
      return { rows: section.table!.rows.map((r) => r[0]), spec: section.plot!.spec as VegaLiteSpec & Json };
    };
    const align = order(/Closing the gap/);
    expect(align.rows).toEqual(["baseline", "shift", "center", "realign"]);
    expect(align.spec.encoding.x.sort).toEqual(align.rows);
    const score = order(/match from a non-match/);
    expect(score.spec.facet.sort).toEqual(score.rows);
    const reliability = sections.find((s) => /Reliability/.test(s.title))!.plot!.spec as Json;
    expect(reliability.layer[1].encoding.color.sort).toEqual(score.rows);
  });
});

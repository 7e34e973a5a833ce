import { describe, expect, it } from "vitest";
import { buildReport } from "../../src/report/build.js";
import { escapeHtml, reportHtml } from "../../src/report/html.js";
import { renderSvg } from "../../src/report/render.js";
import { projectionScatter } from "../../src/report/specs.js";
import { conePair } from "../../src/sim/cone-pair.js";
import { pca2 } from "../../src/sim/pca.js";
import { expectClose, fixture, fromFixture } from "../helpers.js";

const XSS = "<img src=x onerror=alert(1)>";

describe("report HTML", () => {
  it("escapes every user string and keeps specs inert inside the page", async () => {
    const spec = projectionScatter([{ x: 0, y: 1, modality: "A", pair: 0, label: `${XSS}</script>` }], XSS);
    const html = reportHtml(
      XSS,
      [
        {
          title: XSS,
          reading: XSS,
          table: { header: [XSS], rows: [[XSS]] },
          plot: { spec, svg: await renderSvg(spec) },
          note: XSS,
        },
      ],
      XSS,
    );
    expect(html).not.toContain(XSS);
    expect(html.split("</script>")).toHaveLength(2); // only the spec's own closing tag: the label cannot end it
    expect(html).toContain(escapeHtml(XSS));
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/(src|href)="https?:/);
  });

  it("renders a scatter to SVG with one mark per point", async () => {
    const points = Array.from({ length: 30 }, (_, i) => ({
      x: i,
      y: i % 7,
      modality: (i % 2 ? "A" : "B") as "A" | "B",
      pair: i,
    }));
    const svg = await renderSvg(projectionScatter(points, "t"));
    expect(svg.startsWith("<svg")).toBe(true);
    const group = svg.match(/<g class="mark-symbol role-mark[^>]*>([\s\S]*?)<\/g>/)?.[1] ?? "";
    expect(group.match(/<path/g)).toHaveLength(30);
  });

  it("PCA coordinates match numpy's SVD", async () => {
    const p = fixture("pca");
    expectClose(await pca2(fromFixture(p.x)), p.coordinates, 1e-5);
  });
});

describe("buildReport", () => {
  it("is reproducible for a seed: the same projections and numbers twice", async () => {
    const { a, b } = await conePair({ n: 80, dim: 16, layers: 3, seed: 1 });
    const specs = async () =>
      (await buildReport(a, b, { title: "t", seed: 4 })).map((s) => JSON.stringify(s.plot?.spec ?? s.table));
    expect(await specs()).toEqual(await specs());
  });
});

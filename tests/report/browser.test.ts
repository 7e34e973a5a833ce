import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { evaluateHeldOut } from "../../src/align/evaluate.js";
import { writeReport } from "../../src/cli/commands/report.js";
import { initBackends } from "../../src/node.js";
import { conePair } from "../../src/sim/cone-pair.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`skipping the browser test: ${CHROMIUM} is absent (apt-get install -y chromium)`);
const XSS = "<img src=x onerror=alert(1)>";
const OUT = new URL("../../test-output/", import.meta.url).pathname;

describe.skipIf(!hasChromium)("the HTML report in headless Chromium", () => {
  it("renders every plot offline, keeps the XSS label inert, and is screenshotted", async () => {
    await initBackends("js");
    const n = 120;
    const pair = await conePair({ n, dim: 32, layers: 4, seed: 3 });
    const dir = mkdtempSync(join(tmpdir(), "gapkit-report-"));
    const labels = join(dir, "labels.json");
    writeFileSync(labels, JSON.stringify(Array.from({ length: n }, (_, i) => (i === 0 ? XSS : `pair ${i}`))));
    const aligned = await evaluateHeldOut(pair.a, pair.b, { methods: ["center", "realign"] });
    const file = await writeReport({ ...pair, source: XSS }, join(dir, "report.html"), {
      title: XSS,
      labels,
      aligned,
      experiments: "sphere",
    });

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      const dialogs: string[] = [];
      page.on("request", (r) => {
        if (!r.url().startsWith("file:")) requests.push(r.url());
      });
      page.on("dialog", async (d) => {
        dialogs.push(d.message());
        await d.dismiss();
      });
      await page.goto(`file://${file}`);
      // the shape's profile, PCA, UMAP, histogram, recall bars, gap-over-steps: six figures, each an SVG with marks
      const figures = await page.$$eval("figure.plot", (els) =>
        els.map((e) => e.querySelectorAll("svg path").length),
      );
      expect(figures).toHaveLength(6);
      for (const paths of figures) expect(paths).toBeGreaterThan(5);
      const pcaPoints = await page.$$eval(
        "figure.plot[data-plot='2'] g.mark-symbol.role-mark path",
        (els) => els.length,
      );
      expect(pcaPoints).toBe(2 * n);
      expect(await page.locator("h1").textContent()).toBe(XSS);
      expect(await page.locator("img").count()).toBe(0);
      expect(requests).toEqual([]);
      expect(dialogs).toEqual([]);
      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: join(OUT, "report.png"), fullPage: true });
      expect(existsSync(join(OUT, "report.png"))).toBe(true);
    } finally {
      await browser.close();
    }
  });
});

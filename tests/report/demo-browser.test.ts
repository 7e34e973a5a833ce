import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { cli, scratchDir } from "../cli/run.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`skipping the demo browser test: ${CHROMIUM} is absent (apt-get install -y chromium)`);

/** The demo's story, in the order the report tells it, and whether each section has a chart. */
const STORY = [
  ["Untrained vs trained towers", false],
  ["Training, epoch by epoch", true],
  ["Closing the gap without training (held-out pairs)", true],
] as const;

describe.skipIf(!hasChromium)("the demo report in headless Chromium", () => {
  it("shows untrained vs trained towers, the training curves and then alignment", async () => {
    const path = scratchDir("gapkit-demo-report-");
    // the demo trains for a while: longer than the CLI helper's 60 s allows on a loaded machine
    await promisify(execFile)(process.execPath, [...cli, "demo", "-o", path("report.html")], {
      timeout: 240_000,
    });

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(`file://${path("report.html")}`);
      const titles = await page.$$eval("section h2", (els) => els.map((e) => e.textContent));
      const at = STORY.map(([title]) => titles.indexOf(title));
      expect(
        at.every((i) => i >= 0),
        titles.join(" | "),
      ).toBe(true);
      expect([...at].sort((x, y) => x - y)).toEqual(at);

      for (const [title, chart] of STORY) {
        const section = page.locator("section", { has: page.locator("h2", { hasText: title }) });
        expect(await section.locator("p.reading").textContent()).toMatch(/\d/);
        expect(await section.locator("tbody tr").count(), title).toBeGreaterThan(1);
        expect(await section.locator("thead").textContent()).not.toMatch(/\bA→B\b/);
        if (chart)
          expect(await section.locator("figure.plot svg .role-mark > *").count(), title).toBeGreaterThan(4);
      }
      const comparison = page.locator("section", {
        has: page.locator("h2", { hasText: STORY[0][0] }),
      });
      expect(await comparison.locator("tbody").textContent()).toContain("images→captions");
      expect(await comparison.locator("tbody").textContent()).toContain("zero-shot accuracy");

      await page.screenshot({ path: path("demo.png"), fullPage: true });
      expect(statSync(path("demo.png")).size).toBeGreaterThan(100_000);
    } finally {
      await browser.close();
    }
  }, 300_000);
});

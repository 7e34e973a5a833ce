import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromRows, sliceRows } from "../../src/core/matrix.js";
import { DEFAULT_EXPLORE_SETTINGS, exploreView, openSession, placeQuery } from "../../src/explore/session.js";
import { readPairFile, writeNpyFile } from "../../src/io/files.js";
import { cli, gapkit, scratchDir } from "../cli/run.js";
import { fixture } from "../helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const SHARED = new URL("../../../shared/data/mind-the-gap/features_clip.npy", import.meta.url).pathname;
const ARTEFACTS = new URL("../../test-output/explore/", import.meta.url).pathname;
const TINY = new URL("../fixtures/clip-tiny/", import.meta.url).pathname;
const hasChromium = existsSync(CHROMIUM);
const hasShared = existsSync(SHARED);
if (!hasChromium)
  console.warn(`skipping the explore browser tests: ${CHROMIUM} is absent (apt-get install -y chromium)`);
else if (!hasShared) console.warn(`skipping the explore test on features_clip: ${SHARED} is absent`);

/** Starts `gapkit explore ARGS` (from source) and resolves with the URL it prints and the process. */
async function explore(...args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...cli, "explore", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) resolve(out.trim());
    });
    child.on("exit", (code) => reject(new Error(`gapkit explore exited ${code}: ${stderr}`)));
  });
  return { url, child };
}

/** Waits until the page shows the numbers of these settings (the body's data-view). */
async function viewShown(page: Page, settings: Record<string, unknown>): Promise<void> {
  const current = async () => JSON.parse((await page.getAttribute("body", "data-view")) ?? "{}");
  await expect.poll(current, { timeout: 30_000 }).toMatchObject(settings);
}

/** The full-precision value the page shows for `key` in column `set`. */
function shown(page: Page, key: string, set = "all"): Promise<number> {
  return page
    .locator(`td[data-key="${key}"][data-set="${set}"]`)
    .getAttribute("data-value")
    .then((v) => Number(v));
}

const KEYS = ["gap.l2m", "retrieval.aToB.r1", "retrieval.bToA.r1", "pairedCos", "uniformity.a"] as const;

function field(result: Record<string, unknown>, key: string): number {
  return key.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], result) as number;
}

let browser: Browser;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
});
afterAll(async () => {
  for (const child of children) child.kill("SIGTERM");
  await browser?.close();
});

describe.skipIf(!hasChromium || !hasShared)("gapkit explore on features_clip in headless Chromium", () => {
  it("shows measure's numbers, shift's after the λ slider moves, and score apply's neighbours on a click", async () => {
    const path = scratchDir("gapkit-explore-");
    const server = await explore(SHARED);
    children.push(server.child);
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(server.url);
    await viewShown(page, { lambda: 0, method: "none" });

    const measured = JSON.parse((await gapkit("measure", SHARED, "--json")).stdout);
    for (const key of KEYS)
      expect(Math.abs((await shown(page, key)) - field(measured, key)), key).toBeLessThanOrEqual(1e-6);
    mkdirSync(ARTEFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTEFACTS}explore-1280.png` });

    // the slider, by keyboard: five steps of 0.05
    await page.focus("#lambda");
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
    await viewShown(page, { lambda: 0.25 });
    const swept = JSON.parse((await gapkit("shift", SHARED, "--lambda", "0.25", "--json")).stdout).sweep[0];
    for (const key of KEYS)
      expect(Math.abs((await shown(page, key)) - field(swept, key)), key).toBeLessThanOrEqual(1e-6);
    expect(await shown(page, "gap.l2m")).toBeLessThan(field(measured, "gap.l2m") - 0.1);

    // a box around everything selects every pair: the selection column repeats the all-pairs one
    const box = (await page.locator("#scatter").boundingBox())!;
    await page.keyboard.down("Shift");
    await page.mouse.move(box.x + 2, box.y + 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 2, box.y + box.height - 2, { steps: 4 });
    await page.mouse.up();
    await page.keyboard.up("Shift");
    await expect
      .poll(() => shown(page, "gap.l2m", "selection"))
      .toBeCloseTo(await shown(page, "gap.l2m"), 12);
    expect(await shown(page, "retrieval.aToB.r1", "selection")).toBe(await shown(page, "retrieval.aToB.r1"));
    await page.focus("#scatter");
    await page.keyboard.press("Escape");
    expect(await page.locator('td[data-key="gap.l2m"][data-set="selection"]').textContent()).toBe("–");

    // back to λ = 0, a gallery-aware scoring, then a click on image 7
    await page.focus("#lambda");
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowLeft");
    await page.selectOption("#scoring", "csls");
    await viewShown(page, { lambda: 0, scoring: "csls" });
    const [x, y] = await page.evaluate(() =>
      (
        globalThis as unknown as { gapkitExplore: { locate(s: string, i: number): [number, number] } }
      ).gapkitExplore.locate("a", 7),
    );
    await page.mouse.click(x, y);
    await page.waitForSelector("#neighbours li");
    const listed = await page.$$eval("#neighbours li", (items) =>
      items.map((li) => ({
        index: Number(li.dataset.index),
        score: Number(li.dataset.score),
        probability: Number(li.dataset.probability),
        partner: li.classList.contains("partner"),
      })),
    );
    expect(await page.inputValue("#item-index")).toBe("7");

    const { a, b } = await readPairFile(SHARED);
    const fit = a.rows / 2;
    await writeNpyFile(path("a-fit.npy"), { shape: [fit, a.cols], data: sliceRows(a, 0, fit).data });
    await writeNpyFile(path("b-fit.npy"), { shape: [fit, b.cols], data: sliceRows(b, 0, fit).data });
    await writeNpyFile(path("a.npy"), { shape: [a.rows, a.cols], data: a.data });
    await writeNpyFile(path("b.npy"), { shape: [b.rows, b.cols], data: b.data });
    const fitted = await gapkit(
      "score",
      "fit",
      "--a",
      path("a-fit.npy"),
      "--b",
      path("b-fit.npy"),
      "--method",
      "csls",
      "-o",
      path("scorer.json"),
    );
    expect(fitted.code).toBe(0);
    const applied = await gapkit(
      "score",
      "apply",
      path("scorer.json"),
      "--a",
      path("a.npy"),
      "--b",
      path("b.npy"),
      "--top",
      "10",
    );
    const expected = JSON.parse(applied.stdout).queries[7].matches as {
      index: number;
      score: number;
      probability: number;
    }[];
    expect(listed.map((m) => m.index)).toEqual(expected.map((m) => m.index));
    for (const [i, m] of listed.entries()) {
      expect(Math.abs(m.score - expected[i].score)).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(m.probability - expected[i].probability)).toBeLessThanOrEqual(1e-6);
      expect(m.partner).toBe(m.index === 7);
    }

    // UMAP on request, with progress, then back to the fixed PCA frame
    await page.selectOption("#projection", "umap");
    await expect.poll(() => page.textContent("#status"), { timeout: 60_000 }).toMatch(/^UMAP of 1000 points/);
    await page.screenshot({ path: `${ARTEFACTS}explore-umap-1280.png` });
    await page.selectOption("#projection", "pca");

    await page.setViewportSize({ width: 420, height: 900 });
    await page.screenshot({ path: `${ARTEFACTS}explore-420.png`, fullPage: true });
    // narrow: the side panel wraps below the scatter instead of overflowing it
    const [plot, side] = await Promise.all([
      page.locator(".plot-panel").boundingBox(),
      page.locator(".side").boundingBox(),
    ]);
    expect(side!.y).toBeGreaterThanOrEqual(plot!.y + plot!.height);
    expect(await page.locator("html").evaluate((html) => html.scrollWidth)).toBeLessThanOrEqual(420);
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!hasChromium)("gapkit explore's page with captions, labels and images", () => {
  const HOSTILE = '<img src=x onerror="window.pwned=1"><b>bold</b>';

  it("shows captions and labels as text, the pair's image, and works as one self-contained file", async () => {
    const path = scratchDir("gapkit-explore-items-");
    const [n, d] = [4, 8];
    const data = Float32Array.from(
      { length: 2 * n * d },
      (_, i) => Math.sin(i * 1.7) + (i < n * d && i % d === 0 ? 2 : 0),
    );
    await writeNpyFile(path("pairs.npy"), { shape: [2, n, d], data });
    writeFileSync(
      path("pairs.json"),
      JSON.stringify({
        rows: { 0: "image", 1: "text" },
        pairs: Array.from({ length: n }, (_, i) => ({ text: `${HOSTILE} ${i}` })),
      }),
    );
    writeFileSync(path("labels.json"), JSON.stringify(["<script>x</script>", "cat", "cat", 3]));
    const server = await explore(
      path("pairs.npy"),
      "--pairs",
      path("pairs.json"),
      "--labels",
      path("labels.json"),
      "--images",
      `${TINY}images`,
    );
    children.push(server.child);
    const written = await gapkit(
      "explore",
      path("pairs.npy"),
      "--pairs",
      path("pairs.json"),
      "--labels",
      path("labels.json"),
      "-o",
      path("explore.html"),
    );
    expect(written.code, written.stderr).toBe(0);

    for (const url of [server.url, `file://${path("explore.html")}`]) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(url);
      await viewShown(page, { lambda: 0 });
      await page.fill("#item-index", "2");
      await page.click("#item-show");
      await page.waitForSelector("#neighbours li");
      expect(await page.textContent("#item")).toContain(`${HOSTILE} 2`);
      expect(await page.locator("#item b").count()).toBe(0);
      await page.selectOption("#colour-by", "label");
      expect(await page.textContent("#legend")).toContain("<script>x</script>");
      if (url === server.url) {
        // the pair's image, served from --images
        await expect
          .poll(() =>
            page
              .locator("#item img")
              .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
          )
          .toBeGreaterThan(0);
      }
      expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
      expect(errors).toEqual([]);
      await page.close();
    }
  });
});

describe.skipIf(!hasChromium)("gapkit explore's query box with a local CLIP model", () => {
  it("embeds typed text in the browser (transformers.js) and places it as the session would place the model's embedding", async () => {
    const path = scratchDir("gapkit-explore-model-");
    const expected = fixture("../fixtures/clip-tiny/expected");
    const texts = readFileSync(`${TINY}texts.txt`, "utf8").split("\n").slice(0, 4);
    const a = fromRows(expected.image_embeds);
    const b = fromRows(texts.map((t) => expected.text_embeds[t]));
    await writeNpyFile(path("tiny.npy"), {
      shape: [2, a.rows, a.cols],
      data: Float32Array.from([...a.data, ...b.data]),
    });
    const server = await explore(path("tiny.npy"), "--model", TINY);
    children.push(server.child);
    const page = await browser.newPage();
    await page.goto(server.url);
    await viewShown(page, { lambda: 0 });
    await page.fill("#query-text", "a zebra");
    await page.press("#query-text", "Enter");
    await page.waitForSelector("#query-neighbours li", { timeout: 30_000 });
    const listed = await page.$$eval("#query-neighbours li", (items) =>
      items.map((li) => ({ index: Number(li.dataset.index), score: Number(li.dataset.score) })),
    );
    const session = await openSession(a, b);
    const view = await exploreView(session, DEFAULT_EXPLORE_SETTINGS);
    const placed = await placeQuery(
      session,
      view,
      "b",
      Float32Array.from(expected.text_embeds["a zebra"]),
      10,
    );
    expect(listed.map((m) => m.index)).toEqual(placed.matches.map((m) => m.index));
    for (const [i, m] of listed.entries()) expect(m.score).toBeCloseTo(placed.matches[i].score, 4);
    await page.close();
  });
});

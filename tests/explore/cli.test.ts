import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { gapkit, isUserError, scratchDir, writeMetricsPair } from "../cli/run.js";

const path = scratchDir("gapkit-explore-cli-");
const TINY = new URL("../fixtures/clip-tiny/", import.meta.url).pathname;

beforeAll(() => writeMetricsPair(path("pair.npy")));

describe("gapkit explore's command line", () => {
  it("-o writes one self-contained page and says so", async () => {
    const r = await gapkit("explore", path("pair.npy"), "-o", path("page.html"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim()).toMatch(/^wrote \S+page\.html: explorer page, 60 pairs × 12, [\d.]+ MB$/);
    const html = readFileSync(path("page.html"), "utf8");
    expect(html).toContain('<script type="application/octet-stream" id="data">');
    // nothing fetched from elsewhere: no src or href but the empty icon
    expect(html.match(/\s(src|href)=/g)).toEqual([" href="]);
    expect(html).toContain("default-src 'none'");
  });

  it("-o inlines the images embed's record names, found beside the record when not from here", async () => {
    mkdirSync(path("imgs"), { recursive: true });
    copyFileSync(`${TINY}images/img0.png`, path("imgs/img0.png"));
    const pairs = Array.from({ length: 60 }, (_, i) => ({
      text: `caption ${i}`,
      ...(i === 0 ? { image: "imgs/img0.png" } : {}),
    }));
    writeFileSync(path("record.json"), JSON.stringify({ rows: { 0: "image", 1: "text" }, pairs }));
    const r = await gapkit(
      "explore",
      path("pair.npy"),
      "--pairs",
      path("record.json"),
      "-o",
      path("items.html"),
    );
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(path("items.html"), "utf8");
    expect(html.match(/data:image\/png;base64,/g)).toHaveLength(1);
    expect(html).toContain("caption 59");
    expect(html).toContain("(image / text)");
  });

  it.each([
    [
      ["--labels", "LABELS"],
      /labels\.json: expected a JSON array of 60 strings or numbers \(one per pair\); got 3 items/,
    ],
    [["--images", TINY], /--images: expected one image per pair \(60\), sorted by name; got 2/],
    [["--pairs", "PAIRS"], /pairs\.json: expected embed's record: .* with 60 pairs; got 2 pairs/],
    [["--model", TINY, "-o", "OUT"], /--model: expected the served page \(without -o\); got -o/],
    [["--model", "MISSING"], /--model: expected a CLIP model folder with config\.json/],
    [["--pairwise-max", "1"], /--pairwise-max/],
    [["--port", "70000"], /--port/],
    [["--names", "x,x"], /--names: expected two different names/],
  ])("%j is a one-line user error", async (flags, message) => {
    writeFileSync(path("labels.json"), JSON.stringify(["a", "b", 3]));
    writeFileSync(path("pairs.json"), JSON.stringify({ pairs: [{ text: "x" }, { text: "y" }] }));
    const args = flags.map((f) =>
      f === "LABELS"
        ? path("labels.json")
        : f === "PAIRS"
          ? path("pairs.json")
          : f === "OUT"
            ? path("out.html")
            : f === "MISSING"
              ? path("no-model")
              : f,
    );
    const r = await gapkit("explore", path("pair.npy"), ...args);
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(message);
  });

  it("a port in use is a user error", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await gapkit("explore", path("pair.npy"), "--port", String(port));
      expect(isUserError(r), r.stderr).toBe(true);
      expect(r.stderr).toMatch(
        new RegExp(`--port: expected a free port on 127\\.0\\.0\\.1; got ${port} \\(EADDRINUSE\\)`),
      );
    } finally {
      busy.close();
    }
  });
});

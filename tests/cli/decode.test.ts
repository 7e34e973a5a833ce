import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { gapkit, gapkitWithin, isUserError, scratchDir } from "./run.js";

const number = { mean: expect.any(Number), sd: 0 };
const methodShape = { bleu4: number, tokenF1: number, exact: number, clipScore: number, gapFed: number };
const SHORT = ["--seeds", "1", "--clip-steps", "3", "--decoder-steps", "3"];

describe("gapkit experiment decode", () => {
  it("a smoke run: every method's numbers as mean ± sd in the issue's --json keys, examples, deterministic", async () => {
    const path = scratchDir("gapkit-decode-");
    const first = await gapkitWithin(
      300_000,
      ...[
        "experiment",
        "decode",
        "--methods",
        "all",
        "--capdec-noise",
        "0.016,0.004",
        ...SHORT,
        "--cache",
        path("cache"),
        "-o",
        path("first.json"),
      ],
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(
      /^decode: seed 0: iterative BLEU-4 \d\.\d{3}, token F1 \d\.\d{3}, exact \d\.\d{3}$/m,
    );
    const { result } = JSON.parse(readFileSync(path("first.json"), "utf8"));
    expect(Object.keys(result).slice(0, 2)).toEqual(["methods", "examples"]);
    expect(Object.keys(result.methods)).toEqual([
      "prefix",
      "naive",
      "capdec",
      "capdec σ²=0.004",
      "c3",
      "decap",
      "realign",
      "revision",
      "iterative",
      "coca",
    ]);
    for (const m of Object.values(result.methods)) expect(m).toEqual(methodShape);
    // what each decoder was fed: images both ways (prefix) differ little; text then images, by the gap;
    // ReAlign moves the images' centroid onto the text's, ReVision the text's onto the images'
    const gap = (m: string) => result.methods[m].gapFed.mean;
    expect(gap("prefix")).toBeLessThan(0.1);
    expect(gap("naive")).toBeGreaterThan(0.3);
    expect(gap("realign")).toBeLessThan(0.05);
    expect(gap("revision")).toBeLessThan(0.05);
    expect(result.examples).toHaveLength(6);
    expect(result.examples[0]).toEqual({
      image: expect.any(Number),
      name: expect.any(String),
      png: expect.stringMatching(/^data:image\/png;base64,[A-Za-z0-9+/=]+$/),
      captions: Object.fromEntries(Object.keys(result.methods).map((m) => [m, expect.any(String)])),
    });
    expect(result.heldOut).toEqual({ images: 708, captions: 2124 });
    expect(first.stdout).toMatch(/^method +BLEU-4 +token F1 +exact +CLIP score +gap fed$/m);

    // again, the CLIP-mini and CoCa-mini read from the cache: the same captions and numbers
    expect(readdirSync(path("cache")).sort()).toEqual([
      expect.stringMatching(/^decode-clip-[0-9a-f]+-seed0\.npz$/),
      expect.stringMatching(/^decode-coca-[0-9a-f]+-seed0\.npz$/),
    ]);
    const again = await gapkitWithin(
      300_000,
      ...["experiment", "decode", "--methods", "prefix,coca", ...SHORT, "--cache", path("cache"), "--json"],
    );
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout).result;
    expect(second.methods.prefix).toEqual(result.methods.prefix);
    expect(second.methods.coca).toEqual(result.methods.coca);
    expect(second.examples.map((e: { captions: object }) => e.captions)).toEqual(
      result.examples.map((e: { captions: Record<string, string> }) => ({
        prefix: e.captions.prefix,
        coca: e.captions.coca,
      })),
    );
  }, 600_000);

  it("refuses an unknown method and a beam wider than 16 (exit 2)", async () => {
    const method = await gapkit("experiment", "decode", "--methods", "prefix,clipcap");
    expect(isUserError(method)).toBe(true);
    expect(method.stderr).toMatch(/--methods: expected all, or a comma-separated list of prefix, naive/);
    const beam = await gapkit("experiment", "decode", "--beam", "17");
    expect(isUserError(beam)).toBe(true);
  });
});

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { applyAlign, parseAlignState } from "../../src/align/index.js";
import { readNpyFile, writeNpyFile } from "../../src/io/files.js";
import { fixture, fromFixture } from "../helpers.js";
import { gapkit, isUserError, scratchDir, writeMetricsPair } from "./run.js";

const path = scratchDir("gapkit-align-");
const metrics = fixture("metrics");

beforeAll(async () => {
  const { b } = metrics;
  await writeMetricsPair(path("pair.npy"));
  await writeNpyFile(path("b.npy"), { shape: [b.rows, b.cols], data: Float32Array.from(b.data) });
});

describe("gapkit align", () => {
  it("fit writes a state that apply uses on (N, d) and (2, N, d) inputs, as the library does", async () => {
    expect(
      (
        await gapkit(
          "align",
          "fit",
          path("pair.npy"),
          "--method",
          "realign",
          "--rows",
          "0:30",
          "-o",
          path("s.json"),
        )
      ).code,
    ).toBe(0);
    const state = parseAlignState(readFileSync(path("s.json"), "utf8"), "s.json");
    expect(
      (await gapkit("align", "apply", path("s.json"), path("b.npy"), "--side", "b", "-o", path("out.npy")))
        .code,
    ).toBe(0);
    const out = await readNpyFile(path("out.npy"));
    expect(out.shape).toEqual([metrics.b.rows, metrics.b.cols]);
    expect(out.data).toEqual((await applyAlign(state, fromFixture(metrics.b), "b")).data);
    expect(
      (await gapkit("align", "apply", path("s.json"), path("pair.npy"), "-o", path("both.npy"))).code,
    ).toBe(0);
    expect((await readNpyFile(path("both.npy"))).shape).toEqual([2, metrics.a.rows, metrics.a.cols]);
  });

  it("fit takes --param and rejects bad ones", async () => {
    expect(
      (
        await gapkit(
          "align",
          "fit",
          path("pair.npy"),
          "--method",
          "shift",
          "--param",
          "lambda=0.5",
          "-o",
          path("sh.json"),
        )
      ).code,
    ).toBe(0);
    expect(JSON.parse(readFileSync(path("sh.json"), "utf8")).lambda).toBe(0.5);
    const r = await gapkit(
      "align",
      "fit",
      path("pair.npy"),
      "--method",
      "shift",
      "--param",
      "lambda=x",
      "-o",
      path("x.json"),
    );
    expect(isUserError(r)).toBe(true);
    expect(r.stderr).toMatch(/shift lambda: expected a finite number; got "x"/);
    expect(existsSync(path("x.json"))).toBe(false);
  });

  it.each([
    ["an unknown kind", (s: Record<string, unknown>) => ({ ...s, kind: "nope" })],
    ["a wrong version", (s: Record<string, unknown>) => ({ ...s, version: 2 })],
    ["a wrong dim", (s: Record<string, unknown>) => ({ ...s, dim: 3 })],
    ["an infinite number", (s: Record<string, unknown>) => ({ ...s, scale: "INF" })],
  ])("apply rejects a state with %s (exit 2) and writes no output", async (_, tamper) => {
    await gapkit("align", "fit", path("pair.npy"), "--method", "realign", "-o", path("good.json"));
    const text = JSON.stringify(tamper(JSON.parse(readFileSync(path("good.json"), "utf8")))).replace(
      '"INF"',
      "1e999",
    );
    writeFileSync(path("bad.json"), text);
    const r = await gapkit(
      "align",
      "apply",
      path("bad.json"),
      path("b.npy"),
      "--side",
      "b",
      "-o",
      path("never.npy"),
    );
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/bad\.json: expected/);
    expect(existsSync(path("never.npy"))).toBe(false);
  });

  it("apply on (N, d) needs --side", async () => {
    await gapkit("align", "fit", path("pair.npy"), "--method", "center", "-o", path("c.json"));
    const r = await gapkit("align", "apply", path("c.json"), path("b.npy"), "-o", path("o.npy"));
    expect(isUserError(r)).toBe(true);
    expect(r.stderr).toMatch(/--side: expected a or b for an \(N, d\) input/);
  });

  it("eval --json has the contract's keys, every method, and bootstrap CIs", async () => {
    const r = await gapkit("align", "eval", path("pair.npy"), "--method", "all", "--fit", "0.5", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual([
      "fitRows",
      "evalRows",
      "baseline",
      "methods",
      "notes",
      "augmentations",
    ]);
    expect([out.fitRows, out.evalRows]).toEqual([30, 30]);
    expect(Object.keys(out.methods)).toHaveLength(10);
    const [lo, hi] = out.methods.center.retrieval.aToB.r1CI;
    expect(lo).toBeLessThanOrEqual(out.methods.center.retrieval.aToB.r1);
    expect(hi).toBeGreaterThanOrEqual(out.methods.center.retrieval.aToB.r1);
  });

  it.each([
    [["--method", "all", "--fit", "1.5"], /--fit: expected a fraction in \(0, 1\)/],
    [["--method", "all", "--fit", "abc"], /--fit: expected a fraction in \(0, 1\)/],
    [
      ["--method", "nope"],
      /--method: expected all or a comma list of distinct methods of center, .*; got "nope"/,
    ],
    [
      ["--method", "center,center"],
      /--method: expected all or a comma list of distinct methods .*; got "center"/,
    ],
    [["--method", "all", "--param", "lambda=1"], /--param: expected a single --method/],
  ])("eval %j exits 2", async (args, message) => {
    const r = await gapkit("align", "eval", path("pair.npy"), ...args);
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(message);
  });
});

describe("gapkit shift", () => {
  it("sweeps λ with END included", async () => {
    const r = await gapkit("shift", path("pair.npy"), "--lambda", "-1:1:0.5", "--json");
    expect(r.code).toBe(0);
    const { sweep } = JSON.parse(r.stdout);
    expect(sweep.map((s: { lambda: number }) => s.lambda)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(sweep[2].gap.l2m).toBeCloseTo(metrics.gap.l2m, 6);
    expect(sweep[4].gap.l2m).toBeLessThan(sweep[2].gap.l2m);
  });

  it.each(["1:0:0.5", "0:1:0", "a,b", "0:1"])("rejects --lambda %s", async (spec) => {
    const r = await gapkit("shift", path("pair.npy"), `--lambda=${spec}`);
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/--lambda: expected START:END:STEP/);
  });
});

import { describe, expect, it } from "vitest";

import { gapkit } from "./run.js";

describe("gapkit CLI", () => {
  it("--help lists the commands", async () => {
    const r = await gapkit("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: gapkit/);
    expect(r.stdout).toMatch(/info/);
  });

  it("--version prints the package version", async () => {
    const r = await gapkit("--version");
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("an unknown command exits 2 with one line on stderr", async () => {
    const r = await gapkit("nosuch");
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown command 'nosuch'/);
  });

  it.each([
    [["mesure"], "gapkit: unknown command 'mesure' (did you mean measure?)"],
    [["measure", "--jsn"], "gapkit: unknown option '--jsn' (did you mean --json?)"],
    // --method is required, but the typo is what the user needs to hear about first
    [["align", "eval", "--jsn"], "gapkit: unknown option '--jsn' (did you mean --json?)"],
    [["align", "eval", "pair.npy"], "gapkit: required option '--method <kinds|all>' not specified"],
    [["measure", "/nonexistent/missing.npy"], "gapkit: /nonexistent/missing.npy: no such file"],
  ])("%j is one line in gapkit's voice", async (args, message) => {
    const r = await gapkit(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${message}\n`);
  });

  it("an InputError exits 2 without a stack trace", async () => {
    const r = await gapkit("info", "--backend", "cuda");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('gapkit: GAPKIT_BACKEND: expected one of auto, js, ort, wasm; got "cuda"\n');
  });

  it("info --json reports the backends", async () => {
    const r = await gapkit("info", "--json", "--backend", "js");
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.backend).toBe("js");
    expect(info.backends).toContain("js");
  });
});

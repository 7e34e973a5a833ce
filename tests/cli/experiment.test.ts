import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gapkit, isUserError } from "./run.js";

const dir = mkdtempSync(join(tmpdir(), "gapkit-experiment-"));

describe("gapkit experiment", () => {
  it("list names every experiment and what it reproduces", async () => {
    const r = await gapkit("experiment", "list");
    for (const name of [
      "cone-mlp",
      "cone-inits",
      "init-gap",
      "landscape",
      "sphere",
      "mismatch",
      "shift-eval",
      "fairness",
      "train-temperature",
    ])
      expect(r.stdout).toMatch(new RegExp(`^${name} .*Mind the Gap`, "m"));
    expect(r.stdout).toMatch(/^bind .*ImageBind/m);
  });

  it("NAME --help shows the parameters with their defaults", async () => {
    const r = await gapkit("experiment", "cone-mlp", "--help");
    expect(r.stdout).toMatch(/--layers <integer>[\s\S]*?\(default:\s+"10"\)/);
    expect(r.stdout).toMatch(/--activation <value>[\s\S]*?choices:\s+"relu"/);
  });

  it("--json and -o give the same result, written atomically", async () => {
    const out = join(dir, "mismatch.json");
    const r = await gapkit("experiment", "mismatch", "--scales", "10,100", "--json", "-o", out);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(JSON.parse(r.stdout));
    expect(JSON.parse(r.stdout).result.runs).toHaveLength(4);
  });

  it.each([
    [["cone-mlp", "--layers", "0"], /--layers: expected an integer in \[1, 100\]; got "0"/],
    [["cone-mlp", "--activation", "gelu"], /argument 'gelu' is invalid/],
    [["sphere", "--swap", "0,9"], /--swap: expected integers in \[0, 5\]; got 9/],
    [["sphere", "--swap", "0"], /--swap: expected two indices in 0\.\.5/],
    [["landscape"], /--file: expected a \(2, N, d\) embedding file; got none/],
    [["landscape", join(dir, "missing.npy")], /missing\.npy: no such file/],
  ])("%j exits 2 with one line", async (args, message) => {
    const r = await gapkit("experiment", ...args);
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(dir, "never.json"))).toBe(false);
  });
});

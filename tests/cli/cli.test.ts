import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const cli = ["--import", "tsx", new URL("../../src/cli/main.ts", import.meta.url).pathname];

/** Runs the CLI from source; resolves with the exit code and both streams. */
async function gapkit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...cli, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

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

  it("an InputError exits 2 without a stack trace", async () => {
    const r = await gapkit("info", "--backend", "cuda");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('gapkit: GAPKIT_BACKEND: expected one of js, ort; got "cuda"\n');
  });

  it("info --json reports the backends", async () => {
    const r = await gapkit("info", "--json", "--backend", "js");
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.backend).toBe("js");
    expect(info.backends).toContain("js");
  });
});

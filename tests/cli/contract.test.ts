/**
 * The CLI's contract, command by command: --help, exit codes (0 ok, 2 user error, 1 bug), --json printing
 * nothing but JSON on stdout, and output files that are whole or absent even when the process is killed.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import type { Command } from "commander";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { buildProgram, main } from "../../src/cli/program.js";
import { writeNpyFile } from "../../src/io/files.js";
import { parseNpy } from "../../src/io/npy.js";
import { gapkit, scratchDir, writeMetricsPair } from "./run.js";

const path = scratchDir("gapkit-contract-");

/** Every command path of the CLI: ["measure"], ["align", "fit"], … */
const program = await buildProgram();

function commandPaths(command: Command = program, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

/** Runs main() in this process and captures what it writes. */
async function inProcess(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(["node", "gapkit", ...args]), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const CLIP = new URL("../fixtures/clip-tiny", import.meta.url).pathname;

beforeAll(async () => {
  await writeMetricsPair(path("pair.npy"));
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.doUnmock("../../src/io/stream.js");
});

describe("the CLI contract", () => {
  const paths = commandPaths();

  it("has every command the issues name", () => {
    const names = paths.map((p) => p.join(" "));
    for (const name of [
      "measure",
      "stats",
      "stats merge",
      "align fit",
      "align apply",
      "align eval",
      "shift",
      "report",
      "train",
      "demo",
      "info",
      "experiment",
      "embed",
      "score eval",
      "score fit",
      "score apply",
      "data emoji",
      "explore",
    ])
      expect(names).toContain(name);
  });

  it.each(paths.map((p) => [p.join(" "), p]))(
    "%s --help: usage on stdout, exit 0, nothing on stderr",
    async (_, p) => {
      const r = await inProcess(...(p as string[]), "--help");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: gapkit ${(p as string[]).join(" ")}`));
      expect(r.stdout).toMatch(/Options:/);
      expect(r.stderr).toBe("");
    },
  );

  it.each([
    ["measure", ["measure", "PAIR", "--json"]],
    ["stats", ["stats", "PAIR", "--json", "--workers", "2"]],
    ["align eval", ["align", "eval", "PAIR", "--method", "center", "--json"]],
    ["shift", ["shift", "PAIR", "--lambda", "0,1", "--json"]],
    ["experiment", ["experiment", "sphere", "--steps", "10", "--json"]],
    ["train", ["train", "PAIR", "--epochs", "1", "--widths", "4", "--batch", "16", "--json"]],
    ["info", ["info", "--json"]],
    ["data emoji", ["data", "emoji", "-o", "OUTDIR", "--json"]],
    ["score eval", ["score", "eval", "PAIR", "--json"]],
    ["embed", ["embed", "--model", CLIP, "--texts", `${CLIP}/texts.txt`, "-o", "OUT", "--json"]],
  ])(
    "%s --json prints one JSON document on stdout and nothing else",
    { timeout: 60_000 },
    async (_, args) => {
      const r = await gapkit(
        ...args.map((a) =>
          a === "PAIR"
            ? path("pair.npy")
            : a === "OUT"
              ? path("out.npy")
              : a === "OUTDIR"
                ? path("emoji")
                : a,
        ),
      );
      expect(r.code, r.stderr).toBe(0);
      expect(() => JSON.parse(r.stdout)).not.toThrow();
      expect(r.stdout.trim().startsWith("{") || r.stdout.trim().startsWith("[")).toBe(true);
    },
  );

  it("exits 1 with a report line, not 2, when gapkit itself fails", async () => {
    vi.doMock("../../src/io/stream.js", () => ({
      // it owns the table it is given: closed, then the bug
      streamPairStats: async (reader: { close(): Promise<void> }) => {
        await reader.close();
        throw new TypeError("a bug");
      },
    }));
    vi.resetModules();
    const fresh = (await import("../../src/cli/program.js")) as typeof import("../../src/cli/program.js");
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const code = await fresh.main(["node", "gapkit", "stats", path("pair.npy")]);
    expect(code).toBe(1);
    expect(String(err.mock.calls[0][0])).toMatch(
      /^gapkit: internal error \(please report it\): TypeError: a bug/,
    );
  });

  it("a killed process leaves its output whole or absent, never partial", { timeout: 120_000 }, async () => {
    const rows = 200_000;
    await writeNpyFile(path("big.npy"), {
      shape: [rows, 64],
      data: Float32Array.from({ length: rows * 64 }, (_, i) => (i % 97) + 1),
    });
    await writeNpyFile(path("small.npy"), { shape: [4, 64], data: new Float32Array(256).fill(1) });
    expect(
      (
        await gapkit(
          "align",
          "fit",
          "--a",
          path("small.npy"),
          "--b",
          path("small.npy"),
          "--method",
          "center",
          "-o",
          path("state.json"),
        )
      ).code,
    ).toBe(0);
    const out = path("out.npy");
    const cli = ["--import", "tsx", new URL("../../src/cli/main.ts", import.meta.url).pathname];
    // killed at times that straddle the write (the whole run takes about a second), then once left to finish
    for (const delay of [300, 600, 800, 1000, 1200, 1500, Number.POSITIVE_INFINITY]) {
      rmSync(out, { force: true });
      const child = spawn(process.execPath, [
        ...cli,
        "align",
        "apply",
        path("state.json"),
        path("big.npy"),
        "--side",
        "a",
        "-o",
        out,
      ]);
      const closed = new Promise((resolve) => child.on("close", resolve));
      if (Number.isFinite(delay)) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        child.kill("SIGKILL");
      }
      await closed;
      if (!existsSync(out)) continue;
      const written = parseNpy(new Uint8Array(readFileSync(out)), out); // throws on a partial file
      expect(written.shape).toEqual([rows, 64]);
    }
    expect(existsSync(out)).toBe(true); // the run left to finish wrote its output
  });
});

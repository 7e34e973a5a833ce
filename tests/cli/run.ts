import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { writeNpyFile } from "../../src/io/files.js";
import { fixture } from "../helpers.js";

const run = promisify(execFile);
/** Node's arguments that run the CLI from source (followed by the CLI's own). */
export const cli = ["--import", "tsx", new URL("../../src/cli/main.ts", import.meta.url).pathname];

/** Runs the CLI from source; resolves with the exit code and both streams. */
export function gapkit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return gapkitWithin(60_000, ...args);
}

/** gapkit, killed after `timeout` ms (for the runs that train). */
export async function gapkitWithin(
  timeout: number,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...cli, ...args], { timeout });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * Asserts-friendly view of a user error: exit 2, one message line on stderr (after any progress lines a
 * slow machine may print first), no stack trace.
 */
export function isUserError(r: { code: number; stderr: string }): boolean {
  const lines = r.stderr
    .trim()
    .split("\n")
    .filter((line) => !/^[\w ()-]+ +\d+%/.test(line));
  return r.code === 2 && lines.length === 1 && !/\n\s+at /.test(r.stderr);
}

/** A temporary folder for a CLI test, and the path of a file in it. */
export function scratchDir(prefix: string): (name: string) => string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return (name: string) => join(dir, name);
}

/** Writes the "metrics" fixture's pair (60 × 12) as a (2, N, d) .npy at `file`. */
export async function writeMetricsPair(file: string): Promise<void> {
  const { a, b } = fixture("metrics");
  await writeNpyFile(file, { shape: [2, a.rows, a.cols], data: Float32Array.from([...a.data, ...b.data]) });
}

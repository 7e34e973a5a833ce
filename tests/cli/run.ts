import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
const cli = ["--import", "tsx", new URL("../../src/cli/main.ts", import.meta.url).pathname];

/** Runs the CLI from source; resolves with the exit code and both streams. */
export async function gapkit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...cli, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Asserts-friendly view of a user error: exit 2, one line on stderr, no stack trace. */
export function isUserError(r: { code: number; stderr: string }): boolean {
  return r.code === 2 && r.stderr.trim().split("\n").length === 1 && !/\n\s+at /.test(r.stderr);
}

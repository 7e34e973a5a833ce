/**
 * Memory of a whole-file command: `gapkit align apply` (ReAlign) streaming a generated 500,000 × 512 pair
 * file (≈ 2.05 GB) to its output — peak RSS must stay bounded whatever N (≤ 300 MB) — with `cat` of the same
 * file as the I/O floor. The files live in a temporary folder, removed after.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timed } from "./scale.js";

const ROOT = process.cwd();
const CLI = join(ROOT, "dist/cli/main.js");

/** Runs the align apply benchmark and returns the printed lines. */
export function benchApply(n = 500_000): string[] {
  const dir = mkdtempSync(join(tmpdir(), "gapkit-apply-"));
  const [npy, state, out] = ["pairs.npy", "realign.json", "out.npy"].map((f) => join(dir, f));
  try {
    execFileSync("python3", [join(ROOT, "bench/make_pairs.py"), String(n), npy]);
    execFileSync(process.execPath, [
      CLI,
      "align",
      "fit",
      npy,
      "--method",
      "realign",
      "--rows",
      "0:20000",
      "-o",
      state,
    ]);
    const cat = timed("sh", ["-c", `cat '${npy}' > /dev/null`]);
    const apply = timed(process.execPath, [CLI, "align", "apply", state, npy, "-o", out]);
    return [
      `align apply (realign) on ${n.toLocaleString("en")} × 512 float32 pairs, whole process, 1 run:`,
      `  ${"cat FILE > /dev/null".padEnd(30)} ${cat.wall.toFixed(2).padStart(6)} s`,
      `  ${"align apply, streamed".padEnd(30)} ${apply.wall.toFixed(2).padStart(6)} s  peak RSS ${apply.rssMb.toFixed(0)} MB (bound: 300 MB)`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

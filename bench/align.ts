/**
 * `gapkit align eval --method all` wall time on features_clip, whole process, against numpy fitting the same
 * ten methods with svd / eigh / solve and measuring the held-out table (the goal; gapkit also
 * bootstraps R@1 CIs and measures every metric), and, for reference, against numpy measuring everything
 * gapkit's --json prints.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FEATURES, medianWalls } from "./measure.js";
import { numpyEnv } from "./numpy-env.js";

const ROOT = process.cwd();
const CLI = join(ROOT, "dist/cli/main.js");
const PEER = join(ROOT, "bench/align_numpy.py");

/** Runs the align benchmark and returns the printed lines. */
export function benchAlign(): string[] {
  if (!existsSync(FEATURES)) return [`align: skipped, ${FEATURES} is absent`];
  const [ours, peer, every] = medianWalls([
    { command: process.execPath, args: [CLI, "align", "eval", FEATURES, "--method", "all", "--json"] },
    { command: "python3", args: [PEER, FEATURES], env: numpyEnv() },
    { command: "python3", args: [PEER, FEATURES, "--every-output"], env: numpyEnv() },
  ]);
  return [
    "align eval --method all on features_clip (fit 50%), whole process, median of 7 interleaved rounds:",
    `  gapkit                       ${ours.toFixed(3)} s`,
    `  numpy, the table             ${peer.toFixed(3)} s   gapkit/numpy ${(ours / peer).toFixed(2)}× (goal ≤ 2.0×)`,
    `  numpy, every output + CIs    ${every.toFixed(3)} s   gapkit/numpy ${(ours / every).toFixed(2)}× (for reference)`,
  ];
}

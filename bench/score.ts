/**
 * `gapkit score eval --methods all` wall time, whole process, against numpy doing the same five methods
 * and metrics (../shared/tools/contract/scoring.py; gapkit also fits and checks a calibration per method).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FEATURES, medianWalls } from "./measure.js";
import { numpyEnv } from "./numpy-env.js";

const ROOT = process.cwd();
const PEER = join(ROOT, "../shared/tools/contract/scoring.py");
const CLI = join(ROOT, "dist/cli/main.js");

/** Runs the score benchmark and returns the printed lines. */
export function benchScore(): string[] {
  if (!existsSync(FEATURES) || !existsSync(PEER)) return [`score: skipped, ${FEATURES} or ${PEER} is absent`];
  const [ours, peer] = medianWalls([
    { command: process.execPath, args: [CLI, "score", "eval", FEATURES, "--methods", "all", "--json"] },
    { command: "python3", args: [PEER, FEATURES], env: numpyEnv() },
  ]);
  return [
    "score eval --methods all on features_clip (fit 50%), whole process, median of 7 interleaved rounds:",
    `  gapkit   ${ours.toFixed(3)} s`,
    `  numpy    ${peer.toFixed(3)} s   gapkit/numpy ${(ours / peer).toFixed(2)}×`,
  ];
}

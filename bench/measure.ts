/**
 * `gapkit measure` wall time, whole process (start, load, compute, print), against numpy peers doing the
 * same metrics: ../shared/tools/peers/measure_numpy.py (no spectrum) and bench/measure_numpy_full.py
 * (everything gapkit reports). Then peak RSS of measure on N = 100,000 × 512 synthetic pairs, every pairwise
 * metric exact (--pairwise-max N); and 30,000 pairs against a blocked numpy peer.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { numpyEnv } from "./numpy-env.js";
import { timed } from "./scale.js";

const ROOT = process.cwd(); // npm run sets it to the package root
export const FEATURES = join(ROOT, "../shared/data/mind-the-gap/features_clip.npy");
const PEER = join(ROOT, "../shared/tools/peers/measure_numpy.py");
const FULL_PEER = join(ROOT, "bench/measure_numpy_full.py");
const BLOCKED_PEER = join(ROOT, "bench/measure_numpy_blocked.py");
const CLI = join(ROOT, "dist/cli/main.js");
const REPS = 7;

/** A whole process to time: the command, its arguments and environment. */
export interface Run {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * The median wall time of each run over REPS rounds, the runs taken in turn within each round: this
 * machine's speed drifts by tens of percent over minutes, and interleaving gives every run the same drift.
 */
export function medianWalls(runs: Run[]): number[] {
  const times = runs.map((): number[] => []);
  for (let round = 0; round < REPS + 1; round++)
    runs.forEach(({ command, args, env = process.env }, i) => {
      const t = performance.now();
      const out = spawnSync(command, args, { env, encoding: "utf8" });
      if (out.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${out.stderr}`);
      if (round > 0) times[i].push((performance.now() - t) / 1000); // the first round only warms caches
    });
  return times.map((t) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)]);
}

/** Runs the measure benchmarks and returns the printed lines. */
export function benchMeasure(): string[] {
  if (!existsSync(FEATURES)) return [`measure: skipped, ${FEATURES} is absent`];
  const measure = [CLI, "measure", FEATURES, "--json"];
  const [ours, wasm, peer, full] = medianWalls([
    { command: process.execPath, args: measure },
    { command: process.execPath, args: measure, env: { ...process.env, GAPKIT_BACKEND: "wasm" } },
    { command: "python3", args: [PEER, FEATURES], env: numpyEnv() },
    { command: "python3", args: [FULL_PEER, FEATURES], env: numpyEnv() },
  ]);
  const lines = [
    `measure features_clip (500 pairs × 512), whole process, median of ${REPS} interleaved rounds:`,
    `  gapkit (all metrics)                 ${ours.toFixed(3)} s`,
    `  gapkit on the wasm backend           ${wasm.toFixed(3)} s   wasm/default ${(wasm / ours).toFixed(2)}×`,
    `  numpy peer (no spectrum/mean rank)   ${peer.toFixed(3)} s   gapkit/numpy ${(ours / peer).toFixed(2)}×`,
    `  numpy, every metric gapkit reports   ${full.toFixed(3)} s   gapkit/numpy ${(ours / full).toFixed(2)}×`,
  ];
  return lines;
}

/** Calls `f` with a file of N × 512 synthetic pairs (bench/make_pairs.py) in a temporary folder, removed after. */
function withPairs<T>(n: number, f: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "gapkit-bench-"));
  const file = join(dir, "pairs.npy");
  try {
    execFileSync("python3", [join(ROOT, "bench/make_pairs.py"), String(n), file]);
    return f(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `measure` with every pairwise metric exact on N × 512 synthetic pairs against the blocked numpy peer (one run each). */
export function benchMeasureBlocked(n = 30_000): string[] {
  return withPairs(n, (file) => {
    const ours = timed(process.execPath, [CLI, "measure", file, "--json", "--pairwise-max", String(n)]);
    const peer = timed("python3", [BLOCKED_PEER, file], numpyEnv());
    const line = (label: string, r: { wall: number; rssMb: number }) =>
      `  ${label.padEnd(34)} ${r.wall.toFixed(1).padStart(6)} s  peak RSS ${r.rssMb.toFixed(0)} MB`;
    return [
      `measure on ${n.toLocaleString("en")} × 512 synthetic pairs, every pairwise metric exact, whole process, 1 run:`,
      line("gapkit (2 N²d multiply-adds)", ours),
      `${line("numpy, blocked (≈ 3 N²d)", peer)}   gapkit/numpy ${(ours.wall / peer.wall).toFixed(2)}× (goal ≤ 0.7×)`,
    ];
  });
}

/** Reports measure's wall time and peak RSS on N × 512 synthetic pairs (every pairwise metric exact). */
export function benchMeasureLarge(n = 100_000): string[] {
  return withPairs(n, (file) => {
    const r = timed(process.execPath, [CLI, "measure", file, "--json", "--pairwise-max", String(n)]);
    return [
      `measure on ${n.toLocaleString("en")} × 512 synthetic pairs: ${r.wall.toFixed(0)} s, peak RSS ${r.rssMb.toFixed(0)} MB (goal < 1,024 MB)`,
    ];
  });
}

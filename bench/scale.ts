/**
 * Data at scale: `gapkit stats` over a generated 1,000,000 × 512 float32 pair file (≈ 4 GB), against
 * `cat FILE > /dev/null` on the same file in the same run; peak RSS; 1 vs 2 workers; the second moments;
 * and the DuckDB push-down on the same data as Parquet. The files live in a temporary folder, removed after.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { numpyEnv } from "./numpy-env.js";

const ROOT = process.cwd();
const CLI = join(ROOT, "dist/cli/main.js");

/** Wall seconds and peak RSS (MB) of a command, via /usr/bin/time. */
export function timed(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { wall: number; rssMb: number } {
  const t = performance.now();
  const out = spawnSync("/usr/bin/time", ["-f", "%M", command, ...args], { encoding: "utf8", env });
  const wall = (performance.now() - t) / 1000;
  if (out.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${out.stderr.slice(-500)}`);
  return { wall, rssMb: Number(out.stderr.trim().split("\n").at(-1)) / 1024 };
}

function best(runs: number, f: () => { wall: number; rssMb: number }) {
  const all = Array.from({ length: runs }, f);
  return { wall: Math.min(...all.map((r) => r.wall)), rssMb: Math.max(...all.map((r) => r.rssMb)) };
}

/** Runs the scale benchmarks and returns the printed lines. */
export function benchScale(n = 1_000_000): string[] {
  const dir = mkdtempSync(join(tmpdir(), "gapkit-scale-"));
  const npy = join(dir, "pairs.npy");
  const parquet = join(dir, "pairs.parquet");
  try {
    execFileSync("python3", [join(ROOT, "bench/make_pairs.py"), String(n), npy]);
    const gb = statSync(npy).size / 1e9;
    const cat = best(3, () => timed("sh", ["-c", `cat '${npy}' > /dev/null`]));
    const stats = (workers: number, ...extra: string[]) =>
      best(3, () =>
        timed(process.execPath, [CLI, "stats", npy, "--workers", String(workers), "--json", ...extra]),
      );
    const one = stats(1, "--no-moments");
    const two = stats(2, "--no-moments");
    const moments = timed(process.execPath, [CLI, "stats", npy, "--json"]);
    const peer = timed("python3", [join(ROOT, "bench/moments_numpy.py"), npy], numpyEnv());
    execFileSync("python3", [join(ROOT, "bench/npy_to_parquet.py"), npy, parquet]);
    const duck = timed(process.execPath, [CLI, "stats", "--duckdb", parquet, "--no-moments", "--json"]);
    const rate = (wall: number) => `${(gb / wall).toFixed(2)} GB/s`;
    const line = (label: string, r: { wall: number; rssMb: number }, vsCat = true) =>
      `  ${label.padEnd(44)} ${r.wall.toFixed(2).padStart(6)} s  ${rate(r.wall).padStart(10)}${vsCat ? `  ${(cat.wall / r.wall).toFixed(2)}× cat` : ""}  peak RSS ${r.rssMb.toFixed(0)} MB`;
    return [
      `stats over ${n.toLocaleString("en")} × 512 float32 pairs (${gb.toFixed(2)} GB .npy), whole process, best of 3:`,
      `  ${"cat FILE > /dev/null".padEnd(44)} ${cat.wall.toFixed(2).padStart(6)} s  ${rate(cat.wall).padStart(10)}`,
      line("stats --no-moments, 1 worker (this thread)", one),
      line("stats --no-moments, 2 workers", two),
      `  speed-up from 1 to 2 workers: ${(one.wall / two.wall).toFixed(2)}×`,
      line("stats with d×d second moments (1 run)", moments),
      `${line("numpy, streaming float64 Grams (1 run)", peer)}  gapkit/numpy ${(moments.wall / peer.wall).toFixed(2)}× (goal ≤ 1.0×)`,
      line("stats --duckdb on the same data as Parquet (1 run)", duck, false),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

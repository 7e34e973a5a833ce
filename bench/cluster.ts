/**
 * The ClickHouse path at 200,000 × 512 pairs: `gapkit load` into a 2-shard cluster on loopback, then the
 * mergeable statistics (`stats --no-moments`: gap, paired cosine, alignment, cones — what `measure`
 * aggregates over all rows) through the cluster, each timed with the client's peak RSS, next to the
 * in-process stream of the same file and the DuckDB push-down of it as Parquet. The d×d moments are left
 * out: in SQL they cost N·d² array work (≈ 1 s per 500 rows per moment here, on every path). This machine
 * has 2 cores, so the cluster is not faster here; the figure is for the record — the point is where the
 * data lives.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timed } from "./scale.js";

const ROOT = process.cwd();
const CLI = join(ROOT, "dist/cli/main.js");
const SCRIPT = join(ROOT, "scripts/clickhouse-cluster.sh");

/** Runs the cluster benchmark and returns the printed lines. */
export function benchCluster(n = 200_000): string[] {
  try {
    execFileSync("sh", ["-c", "command -v clickhouse-server"]);
  } catch {
    return ["cluster: skipped, clickhouse-server is not installed (apt-get install -y clickhouse-server)"];
  }
  const dir = mkdtempSync(join(tmpdir(), "gapkit-cluster-"));
  const npy = join(dir, "pairs.npy");
  const parquet = join(dir, "pairs.parquet");
  const cluster = join(dir, "cluster");
  try {
    execFileSync("python3", [join(ROOT, "bench/make_pairs.py"), String(n), npy]);
    execFileSync("python3", [join(ROOT, "bench/npy_to_parquet.py"), npy, parquet]);
    const url = execFileSync(SCRIPT, ["start", cluster], { encoding: "utf8" }).trim().split("\n").at(-1)!;
    const gapkit = (...args: string[]) => timed(process.execPath, [CLI, ...args]);
    const inProcess = gapkit("stats", npy, "--no-moments", "--json");
    const duck = gapkit("stats", "--duckdb", parquet, "--no-moments", "--json");
    const load = gapkit(
      "load",
      "--clickhouse",
      url,
      "--table",
      "bench",
      "--create",
      "--cluster",
      "two_shards",
      npy,
    );
    const stats = gapkit("stats", "--clickhouse", url, "--table", "bench", "--no-moments", "--json");
    const line = (label: string, r: { wall: number; rssMb: number }) =>
      `  ${label.padEnd(46)} ${r.wall.toFixed(1).padStart(6)} s   client peak RSS ${r.rssMb.toFixed(0).padStart(5)} MB`;
    return [
      `statistics of ${n.toLocaleString("en")} × 512 pairs (stats --no-moments), whole process, 1 run each:`,
      line("in-process, streaming the .npy", inProcess),
      line("DuckDB push-down, the same data as Parquet", duck),
      line("ClickHouse: load into 2 shards (RowBinary)", load),
      line("ClickHouse: stats --clickhouse (2 shards)", stats),
    ];
  } finally {
    try {
      execFileSync(SCRIPT, ["stop", cluster]);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The ClickHouse path at 200,000 × 512 pairs: `gapkit load` into a 2-shard cluster on loopback, then
 * `gapkit measure --clickhouse`, each timed with the client's peak RSS, next to `measure` streaming the
 * same file in-process and `measure --duckdb` on it as Parquet. The SQL paths sum the first-order
 * statistics over all rows and take the spectrum, like the pairwise metrics, from the 20,000 pairs pulled
 * back. This machine has 2 cores, so the cluster is not faster here; the figure is for the record — the
 * point is where the data lives.
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
    const inProcess = gapkit("measure", npy, "--json");
    const duck = gapkit("measure", "--duckdb", parquet, "--json");
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
    const measure = gapkit("measure", "--clickhouse", url, "--table", "bench", "--json");
    const line = (label: string, r: { wall: number; rssMb: number }) =>
      `  ${label.padEnd(46)} ${r.wall.toFixed(1).padStart(6)} s   client peak RSS ${r.rssMb.toFixed(0).padStart(5)} MB`;
    return [
      `measure over ${n.toLocaleString("en")} × 512 pairs (pairwise metrics on a 20,000-pair sample), whole process, 1 run each:`,
      line("in-process, streaming the .npy", inProcess),
      line("DuckDB push-down, the same data as Parquet", duck),
      line("ClickHouse: load into 2 shards (RowBinary)", load),
      line("ClickHouse: measure --clickhouse (2 shards)", measure),
    ];
  } finally {
    try {
      execFileSync(SCRIPT, ["stop", cluster]);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  }
}

import type { Command } from "commander";
import { InputError } from "../core/errors.js";
import { initBackends } from "../node.js";

/** Adds `--backend` to a command whose work multiplies matrices. */
export function backendOption(command: Command): Command {
  return command.option(
    "--backend <name>",
    "matmul backend: auto, js, ort or wasm (default: GAPKIT_BACKEND, else auto: ort if installed, else wasm, else js)",
  );
}

/** Parses "START:END" (either side may be empty) into a half-open row range within [0, rows]. */
export function parseRowRange(spec: string, rows: number): [number, number] {
  const match = /^(\d*):(\d*)$/.exec(spec);
  if (!match)
    throw new InputError("--rows", "START:END with non-negative integers, e.g. 0:1000", JSON.stringify(spec));
  const start = match[1] ? Number(match[1]) : 0;
  const end = match[2] ? Number(match[2]) : rows;
  if (start >= end || end > rows)
    throw new InputError("--rows", `0 ≤ START < END ≤ ${rows} (the number of rows)`, `${start}:${end}`);
  return [start, end];
}

/** Parses a flag's value as a safe integer within [min, max]. */
export function parseInteger(
  value: string,
  flag: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new InputError(flag, `an integer in [${min}, ${max}]`, JSON.stringify(value));
  return n;
}

/** Commander's accumulator for a repeatable option: each use appends its value. */
export const collect = (value: string, previous: string[]) => [...previous, value];

/** Parses repeated `--param k=v` flags. */
export function parseParams(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new InputError("--param", "NAME=VALUE, e.g. lambda=0.5", JSON.stringify(item));
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Parses a list of numbers: "START:END:STEP" (END included) or comma-separated values. */
export function parseNumberList(spec: string, flag: string): number[] {
  const bad = () =>
    new InputError(
      flag,
      "START:END:STEP with STEP > 0 (e.g. -1:1:0.25) or a list like 0,0.5,1",
      JSON.stringify(spec),
    );
  const parts = spec.split(":");
  if (parts.length === 3) {
    const [start, end, step] = parts.map(Number);
    if (
      ![start, end, step].every(Number.isFinite) ||
      step <= 0 ||
      end < start ||
      (end - start) / step > 10_000
    )
      throw bad();
    const count = Math.floor((end - start) / step + 1e-9) + 1;
    return Array.from({ length: count }, (_, i) => Number((start + i * step).toPrecision(12)));
  }
  if (spec.trim() === "") return [];
  const list = spec.split(",").map((s) => (s.trim() === "" ? Number.NaN : Number(s)));
  if (parts.length !== 1 || !list.every(Number.isFinite)) throw bad();
  return list;
}

/** Adds `--workers` and `--chunk-rows` to a command that streams a table. */
export function streamFlags(command: Command): Command {
  return command
    .option(
      "--workers <n>",
      "worker threads decoding and reducing chunks (default: one per core but this thread's, none for ≤ 2 chunks; 1 = none)",
    )
    .option("--chunk-rows <n>", "rows per chunk", "4096");
}

/** The parsed `--workers` and `--chunk-rows`. */
export function parseStreamFlags(flags: { workers?: string; chunkRows: string }): {
  workers?: number;
  chunkRows: number;
} {
  return {
    workers: flags.workers === undefined ? undefined : parseInteger(flags.workers, "--workers", 1, 256),
    chunkRows: parseInteger(flags.chunkRows, "--chunk-rows", 1, 2 ** 24),
  };
}

/** Adds `--duckdb`, `--clickhouse` and `--table`: compute the statistics inside a database engine instead of streaming a file. */
export function engineFlags(command: Command): Command {
  return command
    .option("--duckdb <source>", "compute the statistics in DuckDB, from a .duckdb file or a Parquet glob")
    .option("--clickhouse <url>", "compute the statistics in ClickHouse (HTTP URL of a node), over --table")
    .option(
      "--table <name>",
      "the table: of a .duckdb file (default: its only table), or of ClickHouse (required)",
    );
}

/** initBackends for a CLI command: one short-lived process, so under auto onnxruntime loads only for large work. */
export function initCliBackends(flag: string | undefined): Promise<string> {
  return initBackends(flag, undefined, { deferOrt: true });
}

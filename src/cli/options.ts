import type { Command } from "commander";
import { InputError } from "../core/errors.js";
import { CLICKHOUSE_TIMEOUT_MS, type ClickhouseWait } from "../io/clickhouse.js";
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

/** Parses a flag's value as a finite number within [min, max]. */
export function parseNumber(value: string, flag: string, min: number, max: number): number {
  const n = value.trim() === "" ? Number.NaN : Number(value);
  if (!(Number.isFinite(n) && n >= min && n <= max))
    throw new InputError(flag, `a number in [${min}, ${max}]`, JSON.stringify(value));
  return n;
}

/** Commander's accumulator for a repeatable option: each use appends its value. */
export const collect = (value: string, previous: string[]) => [...previous, value];

/** Parses repeated `--param k=v` flags into a null-prototype record (a name like `__proto__` stays a plain key). */
export function parseParams(list: string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new InputError("--param", "NAME=VALUE, e.g. lambda=0.5", JSON.stringify(item));
    const name = item.slice(0, eq);
    if (Object.hasOwn(out, name))
      throw new InputError("--param", "each name once", `${JSON.stringify(name)} twice`);
    out[name] = item.slice(eq + 1);
  }
  return out;
}

/** Bounds of a number list: each value's range, whether they must be integers, how many (at least one unless `allowEmpty`). */
export interface ListBounds {
  min?: number;
  max?: number;
  integer?: boolean;
  maxCount?: number;
  allowEmpty?: boolean;
}

/** Parses a list of numbers: "START:END:STEP" (END included) or comma-separated values, each within `bounds`. */
export function parseNumberList(spec: string, flag: string, bounds: ListBounds = {}): number[] {
  const { min = -Infinity, max = Infinity, integer = false, maxCount = 10_000, allowEmpty = false } = bounds;
  const bad = () =>
    new InputError(
      flag,
      "START:END:STEP with STEP > 0 (e.g. -1:1:0.25) or a list like 0,0.5,1",
      JSON.stringify(spec),
    );
  const parts = spec.split(":");
  let list: number[];
  if (parts.length === 3) {
    const [start, end, step] = parts.map((s) => (s.trim() === "" ? Number.NaN : Number(s)));
    if (![start, end, step].every(Number.isFinite) || step <= 0 || end < start) throw bad();
    const count = Math.floor((end - start) / step + 1e-9) + 1;
    if (count > maxCount) throw new InputError(flag, `at most ${maxCount} values`, `${count} (${spec})`);
    list = Array.from({ length: count }, (_, i) => Number((start + i * step).toPrecision(12)));
  } else {
    if (spec.trim() === "") {
      if (allowEmpty) return [];
      throw new InputError(flag, "at least one value", JSON.stringify(spec));
    }
    list = spec.split(",").map((s) => (s.trim() === "" ? Number.NaN : Number(s)));
    if (parts.length !== 1 || !list.every(Number.isFinite)) throw bad();
    if (list.length > maxCount) throw new InputError(flag, `at most ${maxCount} values`, String(list.length));
  }
  const wrong = list.find((v) => v < min || v > max || (integer && !Number.isInteger(v)));
  if (wrong !== undefined)
    throw new InputError(flag, `${integer ? "integers" : "numbers"} in [${min}, ${max}]`, String(wrong));
  return list;
}

/** Adds `--workers` and `--chunk-rows` to a command that streams a table. */
export function streamFlags(command: Command): Command {
  return command
    .option(
      "--workers <n>",
      "worker threads decoding and reducing chunks, in [1, 256] (default: one per core but this thread's, none for ≤ 2 chunks; 1 = none)",
    )
    .option("--chunk-rows <n>", "rows per chunk (in [1, 16777216])", "4096");
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
    )
    .option(
      "--duckdb-external-access",
      "let --duckdb reach other files and URLs (default: a database reads only itself, e.g. not a view over read_csv; a glob only its folder)",
    )
    .option(...TIMEOUT_OPTION);
}

const MAX_TIMEOUT_S = 86_400;

/** `--timeout` of the commands that talk to ClickHouse. */
export const TIMEOUT_OPTION = [
  "--timeout <seconds>",
  `ClickHouse: the longest wait for an answer to a request, connecting included (in [1, ${MAX_TIMEOUT_S}]; a query that sums a large table may need more)`,
  String(CLICKHOUSE_TIMEOUT_MS / 1000),
] as const;

/** `--timeout` as ClickhouseWait, with a progress line on stderr after 1 s of waiting, then every 5 s. */
export function clickhouseWait(timeout: string): ClickhouseWait {
  return {
    timeoutMs: 1000 * parseInteger(timeout, "--timeout", 1, MAX_TIMEOUT_S),
    onWait: (waited, limit, origin) => {
      const seconds = Math.round(waited / 1000);
      if (seconds === 1 || seconds % 5 === 0)
        process.stderr.write(
          `clickhouse ${Math.floor((100 * waited) / limit)}%  waiting for ${origin}: ${seconds} of ${limit / 1000} s\n`,
        );
    },
  };
}

/** initBackends for a CLI command: one short-lived process, so under auto onnxruntime loads only for large work. */
export function initCliBackends(flag: string | undefined): Promise<string> {
  return initBackends(flag, undefined, { deferOrt: true });
}

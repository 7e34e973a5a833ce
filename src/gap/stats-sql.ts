/**
 * The mergeable gap statistics as SQL aggregates: the one description of the sums (GAP_SUMS, stats.ts) and a dialect
 * that turns it into queries, so a database engine computes them where the data lives. DuckDB is the
 * dialect shipped; another engine (Spark SQL, BigQuery, ClickHouse) needs only its own SqlDialect.
 */
import type { CompensatedSum } from "../core/compensated.js";
import { compensated } from "../core/compensated.js";
import { check, InputError } from "../core/errors.js";
import { GAP_SUMS, type GapStats, type GapSums, type SumSpec, sumLength } from "./stats.js";

/** How one SQL engine spells the pieces of the statistics queries. */
export interface SqlDialect {
  /** An expression for the row's vector from a column expression, as a list of doubles. */
  asDoubles(expr: string): string;
  /** The list of column expressions as one list expression (one column per dimension). */
  listOf(exprs: string[]): string;
  /** The length of a list. */
  length(list: string): string;
  /** The dot product of two lists. */
  dot(x: string, y: string): string;
  /** x scaled by s elementwise. */
  scale(list: string, s: string): string;
  /** The sum aggregate to use for long float sums. */
  sum(expr: string): string;
  /** True where a number is finite and positive. */
  positiveFinite(expr: string): string;
  /** 1-based element access. */
  element(list: string, index: string): string;
  /** A FROM item of integers 1..n named `name`. */
  range(n: number, name: string): string;
  /** A quoted identifier. */
  identifier(name: string): string;
}

/** DuckDB: lists, list_dot_product, fsum and range(). */
export const DUCKDB: SqlDialect = {
  asDoubles: (expr) => `CAST(${expr} AS DOUBLE[])`,
  listOf: (exprs) => `[${exprs.join(", ")}]`,
  length: (list) => `len(${list})`,
  dot: (x, y) => `list_dot_product(${x}, ${y})`,
  scale: (list, s) => `list_transform(${list}, v -> v * ${s})`,
  sum: (expr) => `fsum(${expr})`,
  positiveFinite: (expr) => `(${expr} > 0 AND isfinite(${expr}))`,
  element: (list, index) => `${list}[${index}]`,
  range: (n, name) => `range(1, ${n + 1}) AS ${name}_t(${name})`,
  identifier: (name) => `"${name.replaceAll('"', '""')}"`,
};

/** Where the two modalities are: a column holding a list, or one column per dimension. */
export type SqlColumn = { list: string } | { wide: string[] };

/** One modality's vectors as a list of doubles: the list column, or a list built of the dimension columns. */
export function columnExpression(dialect: SqlDialect, column: SqlColumn): string {
  const q = dialect.identifier;
  return dialect.asDoubles("list" in column ? q(column.list) : dialect.listOf(column.wide.map(q)));
}

/** The queries that compute GapStats over `source` (a FROM item) with the given columns. */
export interface StatsQueries {
  /** One row: n, the rows that are null, of a wrong length or of a zero/non-finite norm, and every scalar sum. */
  scalars: string;
  /** d rows (i, one column per vector sum), ordered by i. */
  vectors: string;
  /** d² rows (i, j, one column per second moment), ordered by i, j; only with moments. */
  moments?: string;
}

/** Generates the statistics queries for `dialect`. */
export function statsQueries(
  dialect: SqlDialect,
  source: string,
  columns: { a: SqlColumn; b: SqlColumn },
  dim: number,
  moments: boolean,
): StatsQueries {
  const q = dialect.identifier;
  const raw = `SELECT ${columnExpression(dialect, columns.a)} AS a, ${columnExpression(dialect, columns.b)} AS b FROM ${source}`;
  const norms = `SELECT a, b, ${dialect.dot("a", "a")} AS na, ${dialect.dot("b", "b")} AS nb FROM (${raw}) AS r`;
  // ua, ub: the unit vectors every sum is over
  const unit = `WITH u AS (SELECT *, ${dialect.scale("a", "1 / sqrt(na)")} AS ua, ${dialect.scale("b", "1 / sqrt(nb)")} AS ub FROM (${norms}) AS n)`;
  const side = (x: "a" | "b") => `u${x}`;
  const of = (kind: SumSpec["kind"]) => GAP_SUMS.filter((s) => s.kind === kind);
  const other = (s: SumSpec) => ("y" in s ? s.y : s.x);
  const scalars = [
    "count(*) AS n",
    "count(*) FILTER (WHERE a IS NULL OR b IS NULL) AS nulls",
    `count(*) FILTER (WHERE ${dialect.length("a")} <> ${dim} OR ${dialect.length("b")} <> ${dim}) AS ragged`,
    `count(*) FILTER (WHERE NOT ${dialect.positiveFinite("na")}) AS bad_a`,
    `count(*) FILTER (WHERE NOT ${dialect.positiveFinite("nb")}) AS bad_b`,
    ...of("dot").map((s) => `${dialect.sum(dialect.dot(side(s.x), side(other(s))))} AS ${q(s.name)}`),
  ];
  const element = (x: "a" | "b", index: string) => dialect.element(side(x), index);
  const vectorSums = of("sum").map((s) => `${dialect.sum(element(s.x, "i"))} AS ${q(s.name)}`);
  const momentSums = of("outer").map(
    (s) => `${dialect.sum(`${element(s.x, "i")} * ${element(other(s), "j")}`)} AS ${q(s.name)}`,
  );
  const i = dialect.range(dim, "i");
  return {
    scalars: `${unit} SELECT ${scalars.join(", ")} FROM u`,
    vectors: `${unit} SELECT i, ${vectorSums.join(", ")} FROM u, ${i} GROUP BY i ORDER BY i`,
    ...(moments
      ? {
          moments: `${unit} SELECT i, j, ${momentSums.join(", ")} FROM u, ${i}, ${dialect.range(dim, "j")} GROUP BY i, j ORDER BY i, j`,
        }
      : {}),
  };
}

/** Results of the statistics queries, as plain rows of numbers. */
export interface StatsQueryResults {
  scalars: Record<string, number | bigint>;
  vectors: Record<string, number | bigint>[];
  moments?: Record<string, number | bigint>[];
}

/** Assembles GapStats from the rows the queries returned; `where` names the source in errors. */
export function statsFromQueryResults(results: StatsQueryResults, dim: number, where: string): GapStats {
  const { scalars } = results;
  const n = Number(scalars.n);
  check(Number(scalars.nulls) === 0, where, "no null vectors", () => `${scalars.nulls} row(s) with one`);
  check(
    Number(scalars.ragged) === 0,
    where,
    `every row's vectors of length ${dim}`,
    () => `${scalars.ragged} row(s) of another length`,
  );
  for (const side of ["a", "b"] as const)
    check(
      Number(scalars[`bad_${side}`]) === 0,
      `${where} column ${side}`,
      "rows with a finite, non-zero norm",
      () => `${scalars[`bad_${side}`]} row(s) without one`,
    );
  const sums: Partial<GapSums> = {};
  for (const s of GAP_SUMS) {
    const rows = s.kind === "dot" ? [scalars] : s.kind === "sum" ? results.vectors : results.moments;
    if (!rows) continue;
    const values = Float64Array.from(rows, (r) => Number(r[s.name]));
    const expected = sumLength(s, dim);
    check(values.length === expected, `${where} ${s.name}`, `${expected} values`, () =>
      String(values.length),
    );
    if (!values.every(Number.isFinite))
      throw new InputError(`${where} ${s.name}`, "finite sums", "a non-finite value");
    sums[s.name] = compensated(values) satisfies CompensatedSum;
  }
  return {
    kind: "gapkit.stats",
    version: 1,
    n,
    dim,
    moments: results.moments !== undefined,
    sums: sums as GapSums,
  };
}

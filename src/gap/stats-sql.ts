/**
 * The mergeable gap statistics as SQL aggregates: the one description of the sums (GAP_SUMS, stats.ts) and a dialect
 * that turns it into queries, so a database engine computes them where the data lives. DuckDB and
 * ClickHouse are the dialects shipped; another engine (Spark SQL, BigQuery) needs only its own SqlDialect.
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
  /** The list whose element k is `body` of the lists' elements k (lists of equal length). */
  zipWith(lists: string[], body: (elements: string[]) => string): string;
  /** The sum aggregate to use for long float sums. */
  sum(expr: string): string;
  /** Rows where `condition` holds, counted. */
  countIf(condition: string): string;
  /**
   * Per-dimension sums: "join" a table of indices 1..d and group by them (one row per index), or
   * "forEach" sum the lists elementwise (`sumForEach`): the vector sums as one row of lists, the second
   * moments as one row per index i (an ARRAY JOIN of the indices) holding row i.
   */
  elementwise:
    | {
        kind: "join";
        /** A FROM item of integers 1..n named `name`. */
        range(n: number, name: string): string;
      }
    | { kind: "forEach"; sumForEach(list: string): string; indexJoin(dim: number, name: string): string };
  /**
   * Per-row expressions named for the rest of the query: a SELECT's FROM item and what goes before the
   * SELECT. DuckDB nests subqueries; ClickHouse uses WITH aliases, so that the aggregation reads the
   * (Distributed) table itself and every shard sums its own rows.
   */
  bind(bindings: [name: string, expr: string][], source: string): { prefix: string; from: string };
  /** True where a number is finite and positive. */
  positiveFinite(expr: string): string;
  /** 1-based element access. */
  element(list: string, index: string): string;
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
  zipWith: (lists, body) =>
    `list_transform(range(1, len(${lists[0]}) + 1), gk_k -> ${body(lists.map((l) => `${l}[gk_k]`))})`,
  sum: (expr) => `fsum(${expr})`,
  countIf: (condition) => `count(*) FILTER (WHERE ${condition})`,
  elementwise: { kind: "join", range: (n, name) => `range(1, ${n + 1}) AS ${name}_t(${name})` },
  positiveFinite: (expr) => `(${expr} > 0 AND isfinite(${expr}))`,
  element: (list, index) => `${list}[${index}]`,
  identifier: (name) => `"${name.replaceAll('"', '""')}"`,
  bind: (bindings, source) => ({
    prefix: "",
    from: bindings.reduce(
      (from, [name, expr], k) => `(SELECT *, ${expr} AS ${name} FROM ${from}) AS gk_${k}`,
      source,
    ),
  }),
};

/**
 * ClickHouse (from 18.16): arrays with arrayMap lambdas, Kahan sums, and the -ForEach combinator for the
 * per-dimension sums, so every shard returns a few arrays rather than d or d² rows.
 */
export const CLICKHOUSE: SqlDialect = {
  // lambdas capture nothing (18.16 cannot): a per-row factor comes in as a second array (replicate)
  asDoubles: (expr) => `arrayMap(gk_x -> toFloat64(gk_x), ${expr})`,
  listOf: (exprs) => `[${exprs.join(", ")}]`,
  length: (list) => `length(${list})`,
  dot: (x, y) => `arraySum(arrayMap((gk_p, gk_q) -> gk_p * gk_q, ${x}, ${y}))`,
  scale: (list, s) => `arrayMap((gk_p, gk_q) -> gk_p * gk_q, ${list}, replicate(${s}, ${list}))`,
  zipWith: (lists, body) => {
    const params = lists.map((_, k) => `gk_z${k}`);
    return `arrayMap((${params.join(", ")}) -> ${body(params)}, ${lists.join(", ")})`;
  },
  // plain sums: 18.16's Kahan states do not survive the trip between shards
  sum: (expr) => `sum(${expr})`,
  countIf: (condition) => `countIf(${condition})`,
  elementwise: {
    kind: "forEach",
    sumForEach: (list) => `sumForEach(${list})`,
    indexJoin: (dim, name) => `ARRAY JOIN arrayMap(gk_k -> gk_k + 1, range(${dim})) AS ${name}`,
  },
  positiveFinite: (expr) => `(${expr} > 0 AND isFinite(${expr}))`,
  element: (list, index) => `${list}[${index}]`,
  identifier: (name) => `"${name.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`,
  bind: (bindings, source) => ({
    prefix: `WITH ${bindings.map(([name, expr]) => `${expr} AS ${name}`).join(", ")} `,
    from: source,
  }),
};

/** Where the two modalities are: a column holding a list, or one column per dimension. */
export type SqlColumn = { list: string } | { wide: string[] };

/** One modality's vectors as a list of doubles: the list column, or a list built of the dimension columns. */
export function columnExpression(dialect: SqlDialect, column: SqlColumn): string {
  const q = dialect.identifier;
  return dialect.asDoubles("list" in column ? q(column.list) : dialect.listOf(column.wide.map(q)));
}

// a sum's column in the results, named apart from the source's columns (a sum may be called "a")
function resultName(s: SumSpec): string {
  return `sum_${s.name}`;
}

/** Per-dimension sums of named lists as the dialect does them: the select items, and what follows FROM. */
function elementSums(dialect: SqlDialect, lists: [name: string, list: string][], dim: number) {
  const { elementwise, identifier: q } = dialect;
  if (elementwise.kind === "forEach")
    return { items: lists.map(([name, list]) => `${elementwise.sumForEach(list)} AS ${q(name)}`), rest: "" };
  return {
    items: ["i", ...lists.map(([name, list]) => `${dialect.sum(dialect.element(list, "i"))} AS ${q(name)}`)],
    rest: `, ${elementwise.range(dim, "i")} GROUP BY i ORDER BY i`,
  };
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
  // the unit vectors gk_ua, gk_ub every sum is over, from the raw rows gk_a, gk_b and their squared norms
  const { prefix, from } = dialect.bind(
    [
      ["gk_a", columnExpression(dialect, columns.a)],
      ["gk_b", columnExpression(dialect, columns.b)],
      ["gk_na", dialect.dot("gk_a", "gk_a")],
      ["gk_nb", dialect.dot("gk_b", "gk_b")],
      ["gk_ua", dialect.scale("gk_a", "1 / sqrt(gk_na)")],
      ["gk_ub", dialect.scale("gk_b", "1 / sqrt(gk_nb)")],
    ],
    source,
  );
  const side = (x: "a" | "b") => `gk_u${x}`;
  const of = (kind: SumSpec["kind"]) => GAP_SUMS.filter((s) => s.kind === kind);
  const other = (s: SumSpec) => ("y" in s ? s.y : s.x);
  const scalars = [
    "count(*) AS n",
    `${dialect.countIf("gk_a IS NULL OR gk_b IS NULL")} AS nulls`,
    `${dialect.countIf(`${dialect.length("gk_a")} <> ${dim} OR ${dialect.length("gk_b")} <> ${dim}`)} AS ragged`,
    `${dialect.countIf(`NOT ${dialect.positiveFinite("gk_na")}`)} AS bad_a`,
    `${dialect.countIf(`NOT ${dialect.positiveFinite("gk_nb")}`)} AS bad_b`,
    ...of("dot").map((s) => `${dialect.sum(dialect.dot(side(s.x), side(other(s))))} AS ${q(resultName(s))}`),
  ];
  const select = (what: string[], rest = "") => `${prefix}SELECT ${what.join(", ")} FROM ${from}${rest}`;
  const sums = elementSums(
    dialect,
    of("sum").map((s) => [resultName(s), side(s.x)]),
    dim,
  );
  const queries = { scalars: select(scalars), vectors: select(sums.items, sums.rest) };
  const { elementwise } = dialect;
  const element = (x: "a" | "b", index: string) => dialect.element(side(x), index);
  if (elementwise.kind === "forEach") {
    // row i of a second moment: the sum over rows of x_i · y
    const momentRows = of("outer").map(
      (s) =>
        `${elementwise.sumForEach(dialect.scale(side(other(s)), element(s.x, "gk_i")))} AS ${q(resultName(s))}`,
    );
    return {
      ...queries,
      ...(moments
        ? {
            moments: select(
              ["gk_i", ...momentRows],
              ` ${elementwise.indexJoin(dim, "gk_i")} GROUP BY gk_i ORDER BY gk_i`,
            ),
          }
        : {}),
    };
  }
  const momentSums = of("outer").map(
    (s) => `${dialect.sum(`${element(s.x, "i")} * ${element(other(s), "j")}`)} AS ${q(resultName(s))}`,
  );
  return {
    ...queries,
    ...(moments
      ? {
          moments: select(
            ["i", "j", ...momentSums],
            `, ${elementwise.range(dim, "i")}, ${elementwise.range(dim, "j")} GROUP BY i, j ORDER BY i, j`,
          ),
        }
      : {}),
  };
}

/** Results of the statistics queries: rows of numbers, or (forEach dialects) one row of lists. */
export interface StatsQueryResults {
  scalars: Record<string, number | bigint | string>;
  vectors: Record<string, number | bigint | string | number[]>[];
  moments?: Record<string, number | bigint | string | number[]>[];
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
    // one number per row, or lists (forEach dialects) laid end to end
    const values = Float64Array.from(
      rows.flatMap((r) => r[resultName(s)] as number | number[]),
      Number,
    );
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

/** A number as an SQL literal (the shortest text that reads back as the same double). */
function sqlNumber(x: number): string {
  check(Number.isFinite(x), "sql", "a finite number", () => String(x));
  return String(x);
}

/**
 * ReAlign's centroid over a table's B rows, in SQL: the per-dimension sums of the unit rows of
 * (b̂ − meanB)·scale + meanA (divide by the row count for the mean). The one aggregation ReAlign needs
 * beyond the statistics, pushed down where the rows are.
 */
export function realignCentroidQuery(
  dialect: SqlDialect,
  source: string,
  column: SqlColumn,
  dim: number,
  anchors: { meanA: ArrayLike<number>; meanB: ArrayLike<number>; scale: number },
): string {
  const numbers = (v: ArrayLike<number>) => dialect.listOf(Array.from(v, sqlNumber));
  const { prefix, from } = dialect.bind(
    [
      ["gk_b", columnExpression(dialect, column)],
      ["gk_nb", dialect.dot("gk_b", "gk_b")],
      ["gk_ub", dialect.scale("gk_b", "1 / sqrt(gk_nb)")],
      ["gk_mb", numbers(anchors.meanB)],
      ["gk_ma", numbers(anchors.meanA)],
      [
        "gk_e",
        dialect.zipWith(
          ["gk_ub", "gk_mb", "gk_ma"],
          ([u, m, a]) => `(${u} - ${m}) * ${sqlNumber(anchors.scale)} + ${a}`,
        ),
      ],
      ["gk_ne", dialect.dot("gk_e", "gk_e")],
      ["gk_en", dialect.scale("gk_e", "1 / sqrt(gk_ne)")],
    ],
    source,
  );
  const { items, rest } = elementSums(dialect, [["centroid", "gk_en"]], dim);
  return `${prefix}SELECT ${items.join(", ")} FROM ${from}${rest}`;
}

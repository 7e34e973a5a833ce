import type { Command } from "commander";
import { InputError } from "../../core/errors.js";
import { type MeasureResult, withPairwiseMetrics } from "../../gap/measure.js";
import { biasStability, type GapShape, shapeAfterAlignment } from "../../gap/shape.js";
import { finalizeStats, pairStats } from "../../gap/stats.js";
import { DEFAULT_NAMES, type ModalityNames } from "../../report/specs.js";
import { type GroupFlags, groupOptions, readPairGroups } from "../groups.js";
import { backendOption, engineFlags, initCliBackends, parseInteger, streamFlags } from "../options.js";
import { printResult, summaryRows } from "../output.js";
import { pairOptions, pairStatistics, type StatisticsFlags } from "../pair.js";
import { stderrProgress } from "../progress.js";
import { checkShapeFlags, type ShapeFlags, shapeOptions, shapeRows, statsShape } from "../shape.js";
import { table } from "../table.js";

const f = (x: number, digits = 4) => x.toFixed(digits);

/** The measure result as an aligned two-column table (the shape's rows after the rest, with --shape). */
export function formatMeasure(
  r: MeasureResult & { shape?: GapShape },
  names: ModalityNames = DEFAULT_NAMES,
): string {
  return table([...measureRows(r, names), ...(r.shape ? shapeRows(r.shape) : [])], { textColumns: 2 });
}

/** The rows of formatMeasure's table: label and value. */
export function measureRows(r: MeasureResult, names: ModalityNames = DEFAULT_NAMES): [string, string][] {
  const { a, b } = names;
  const { aToB, bToA } = r.retrieval;
  const estimate = r.sample ? ` (estimate: ${r.sample.pairs} sampled pairs)` : "";
  const ci = (x: { r1CI?: [number, number] }) =>
    x.r1CI ? `  R@1 95% CI [${f(x.r1CI[0], 3)}, ${f(x.r1CI[1], 3)}]` : "";
  const recall = (x: typeof aToB) =>
    `${f(x.r1, 3)} / ${f(x.r5, 3)} / ${f(x.r10, 3)}  (mean rank ${f(x.meanRank, 1)})${ci(x)}`;
  const { head, spectrum } = summaryRows(r, names);
  return [
    ...head,
    [`uniformity ${a} / ${b}${estimate}`, `${f(r.uniformity.a)} / ${f(r.uniformity.b)}`],
    [`${a}→${b} R@1 / R@5 / R@10${estimate}`, recall(aToB)],
    [`${b}→${a} R@1 / R@5 / R@10${estimate}`, recall(bToA)],
    ...spectrum.map(([label, value]): [string, string] => [
      r.sample?.estimated.includes("spectrum") ? `${label}${estimate}` : label,
      value,
    ]),
  ];
}

/** `gapkit measure`: the modality gap, geometry, retrieval and spectrum of a paired embedding set. */
export function registerMeasure(program: Command): void {
  engineFlags(
    streamFlags(
      backendOption(
        groupOptions(
          shapeOptions(
            pairOptions(
              program
                .command("measure")
                .description(
                  "measure the modality gap, cones, alignment/uniformity, retrieval and spectrum of paired embeddings",
                ),
            ),
          ),
        )
          .option("--vectors", "include the gap vector mean(A) − mean(B) in --json output")
          .option(
            "--pairwise-max <k>",
            "uniformity and retrieval (with --duckdb/--clickhouse, the spectrum too) are exact up to K pairs, else estimated on a seeded uniform sample of K (K in [2, 1000000])",
            "20000",
          )
          .option("--seed <n>", "seed of the sample and its bootstrap", "0")
          .option("--json", "print JSON"),
      ),
    ),
  ).action(
    async (
      file: string | undefined,
      flags: StatisticsFlags &
        GroupFlags &
        ShapeFlags & { vectors?: boolean; json?: boolean; pairwiseMax: string; seed: string },
    ) => {
      await checkShapeFlags(flags);
      await initCliBackends(flags.backend);
      const pairwiseMax = parseInteger(flags.pairwiseMax, "--pairwise-max", 2, 1_000_000);
      const seed = parseInteger(flags.seed, "--seed");
      // in a SQL engine the d×d moments are N·d² row work: there they come from the pairs pulled back
      const inEngine = Boolean(flags.duckdb || flags.clickhouse);
      const { stats, sample } = await pairStatistics(file, flags, "measure", {
        sample: pairwiseMax,
        seed,
        moments: !inEngine,
        cross: false, // the spectrum needs only Σââᵀ and Σb̂b̂ᵀ
      });
      if (!sample) throw new Error("measure: no sample of pairs came back");
      if (flags.groups && !sample.rows)
        throw new InputError(
          "--groups",
          "a source whose sampled rows are known (a file)",
          "a sampled SQL engine",
        );
      // the file holds one id per pair of the table, which is the statistics' n without --rows
      const groups = await readPairGroups(flags, flags.rows ? undefined : stats.n, sample.rows);
      const estimated = sample.a.rows < stats.n;
      // the second moments: the streamed statistics', or in a SQL engine the pulled sample's
      const moments = inEngine ? await pairStats(sample.a, sample.b, { cross: false }) : stats;
      const summary = {
        ...finalizeStats(stats, { vectors: flags.vectors }),
        ...(inEngine ? { spectrum: finalizeStats(moments).spectrum } : {}),
      };
      const result = await withPairwiseMetrics(summary, sample.a, sample.b, {
        onProgress: stderrProgress("measure (pairwise)"),
        groups,
        ...(estimated
          ? {
              sample: {
                pairs: sample.a.rows,
                of: stats.n,
                seed,
                estimated: ["uniformity", "retrieval", ...(inEngine ? ["spectrum" as const] : [])],
              },
              bootstrap: { seed },
            }
          : {}),
      });
      // the shape: W₂ and profile from the moments; stability and what alignment leaves from the sample
      const shape = await statsShape(moments, flags);
      if (shape) {
        shape.stability = biasStability(sample.a, sample.b, { seed });
        shape.afterAlignment = await shapeAfterAlignment(sample.a, sample.b);
        if (estimated)
          shape.estimated = [
            ...(inEngine ? (["w2", "profile"] as const) : []),
            "stability",
            "afterAlignment",
          ];
      }
      printResult({ ...result, ...(shape ? { shape } : {}) }, flags.json, formatMeasure);
    },
  );
}

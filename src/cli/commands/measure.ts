import type { Command } from "commander";
import { type MeasureResult, withPairwiseMetrics } from "../../gap/measure.js";
import { finalizeStats } from "../../gap/stats.js";
import { streamPairStats } from "../../io/stream.js";
import { openPairTable } from "../../io/tables.js";
import { initBackends } from "../../node.js";
import { backendOption, parseInteger, parseRowRange, parseStreamFlags, streamFlags } from "../options.js";
import { printResult } from "../output.js";
import { type PairFlags, pairOptions } from "../pair.js";
import { stderrProgress } from "../progress.js";

const f = (x: number, digits = 4) => x.toFixed(digits);

/** The measure result as an aligned two-column table. */
export function formatMeasure(r: MeasureResult): string {
  const { aToB, bToA } = r.retrieval;
  const estimate = r.sample ? ` (estimate: ${r.sample.pairs} sampled pairs)` : "";
  const ci = (x: { r1CI?: [number, number] }) =>
    x.r1CI ? `  R@1 95% CI [${f(x.r1CI[0], 3)}, ${f(x.r1CI[1], 3)}]` : "";
  const rows: [string, string][] = [
    ["pairs (N) × dim", `${r.n} × ${r.dim}`],
    ["gap L2M ‖mean A − mean B‖", f(r.gap.l2m)],
    ["relative modality gap", f(r.gap.rmg)],
    ["cone cosine A / B", `${f(r.cone.a)} / ${f(r.cone.b)}`],
    ["mean paired cosine", f(r.pairedCos)],
    ["alignment ‖a − b‖²", f(r.alignment)],
    [`uniformity A / B${estimate}`, `${f(r.uniformity.a)} / ${f(r.uniformity.b)}`],
    [
      `A→B R@1 / R@5 / R@10${estimate}`,
      `${f(aToB.r1, 3)} / ${f(aToB.r5, 3)} / ${f(aToB.r10, 3)}  (mean rank ${f(aToB.meanRank, 1)})${ci(aToB)}`,
    ],
    [
      `B→A R@1 / R@5 / R@10${estimate}`,
      `${f(bToA.r1, 3)} / ${f(bToA.r5, 3)} / ${f(bToA.r10, 3)}  (mean rank ${f(bToA.meanRank, 1)})${ci(bToA)}`,
    ],
    [
      "effective rank A / B / joint",
      `${f(r.spectrum.effectiveRank.a, 1)} / ${f(r.spectrum.effectiveRank.b, 1)} / ${f(r.spectrum.effectiveRank.joint, 1)}`,
    ],
    ["variance along the gap", f(r.spectrum.gapVarianceFraction)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** `gapkit measure`: the modality gap, geometry, retrieval and spectrum of a paired embedding set. */
export function registerMeasure(program: Command): void {
  streamFlags(
    backendOption(
      pairOptions(
        program
          .command("measure")
          .description(
            "measure the modality gap, cones, alignment/uniformity, retrieval and spectrum of paired embeddings",
          ),
      )
        .option("--vectors", "include the gap vector mean(A) − mean(B) in --json output")
        .option(
          "--pairwise-max <k>",
          "uniformity and retrieval are exact up to K pairs, else estimated on a seeded uniform sample of K",
          "20000",
        )
        .option("--seed <n>", "seed of the sample and its bootstrap", "0")
        .option("--json", "print JSON"),
    ),
  ).action(
    async (
      file: string | undefined,
      flags: PairFlags & {
        vectors?: boolean;
        json?: boolean;
        backend?: string;
        pairwiseMax: string;
        seed: string;
        workers?: string;
        chunkRows: string;
      },
    ) => {
      await initBackends(flags.backend);
      const pairwiseMax = parseInteger(flags.pairwiseMax, "--pairwise-max", 2, 1_000_000);
      const seed = parseInteger(flags.seed, "--seed");
      const reader = await openPairTable(file, flags, "measure");
      const rows = flags.rows
        ? parseRowRange(flags.rows, reader.spec.rows ?? Number.POSITIVE_INFINITY)
        : undefined;
      const progress = stderrProgress("measure");
      const { stats, sample } = await streamPairStats(reader, {
        ...parseStreamFlags(flags),
        backend: flags.backend,
        rows,
        sample: pairwiseMax,
        seed,
        onProgress: (done, total) => progress(done, total ?? done, total ? undefined : `${done} rows`),
      });
      const summary = finalizeStats(stats, { vectors: flags.vectors });
      if (!sample) throw new Error("measure: streamPairStats returned no sample");
      const estimated = sample.a.rows < stats.n;
      const result = await withPairwiseMetrics(summary, sample.a, sample.b, {
        onProgress: stderrProgress("measure (pairwise)"),
        ...(estimated
          ? {
              sample: { pairs: sample.a.rows, of: stats.n, seed, estimated: ["uniformity", "retrieval"] },
              bootstrap: { seed },
            }
          : {}),
      });
      printResult(result, flags.json, formatMeasure);
    },
  );
}

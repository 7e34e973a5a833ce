import type { Command } from "commander";
import { type MeasureResult, measure } from "../../gap/measure.js";
import { initBackends } from "../../node.js";
import { backendOption } from "../options.js";
import { printResult } from "../output.js";
import { loadPair, type PairFlags, pairOptions } from "../pair.js";
import { stderrProgress } from "../progress.js";

const f = (x: number, digits = 4) => x.toFixed(digits);

/** The measure result as an aligned two-column table. */
export function formatMeasure(r: MeasureResult): string {
  const { aToB, bToA } = r.retrieval;
  const rows: [string, string][] = [
    ["pairs (N) × dim", `${r.n} × ${r.dim}`],
    ["gap L2M ‖mean A − mean B‖", f(r.gap.l2m)],
    ["relative modality gap", f(r.gap.rmg)],
    ["cone cosine A / B", `${f(r.cone.a)} / ${f(r.cone.b)}`],
    ["mean paired cosine", f(r.pairedCos)],
    ["alignment ‖a − b‖²", f(r.alignment)],
    ["uniformity A / B", `${f(r.uniformity.a)} / ${f(r.uniformity.b)}`],
    [
      "A→B R@1 / R@5 / R@10",
      `${f(aToB.r1, 3)} / ${f(aToB.r5, 3)} / ${f(aToB.r10, 3)}  (mean rank ${f(aToB.meanRank, 1)})`,
    ],
    [
      "B→A R@1 / R@5 / R@10",
      `${f(bToA.r1, 3)} / ${f(bToA.r5, 3)} / ${f(bToA.r10, 3)}  (mean rank ${f(bToA.meanRank, 1)})`,
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
  backendOption(
    pairOptions(
      program
        .command("measure")
        .description(
          "measure the modality gap, cones, alignment/uniformity, retrieval and spectrum of paired embeddings",
        ),
    )
      .option("--vectors", "include the gap vector mean(A) − mean(B) in --json output")
      .option("--json", "print JSON"),
  ).action(
    async (
      file: string | undefined,
      flags: PairFlags & { vectors?: boolean; json?: boolean; backend?: string },
    ) => {
      await initBackends(flags.backend);
      const { a, b, names } = await loadPair(file, flags, "measure");
      const result = await measure(a, b, {
        names,
        vectors: flags.vectors,
        onProgress: stderrProgress("measure"),
      });
      printResult(result, flags.json, formatMeasure);
    },
  );
}

import type { Command } from "commander";
import { applyAlign, fitAlign } from "../../align/index.js";
import { type MeasureResult, measure } from "../../gap/measure.js";
import { backendOption, initCliBackends, parseNumberList } from "../options.js";
import { printResult } from "../output.js";
import { loadPair, type PairFlags, pairOptions } from "../pair.js";
import { stderrProgress } from "../progress.js";

/** `gapkit shift`: the measure metrics as the gap is shifted by λ (Mind the Gap's gap-shift sweep). */
export function registerShift(program: Command): void {
  backendOption(
    pairOptions(
      program
        .command("shift")
        .description("measure the pairs after shifting both modalities by ±½λ·(mean A − mean B), for each λ"),
    )
      .option("--lambda <spec>", "λ values: START:END:STEP (END included) or a list", "-1:1:0.25")
      .option("--json", "print JSON"),
  ).action(
    async (
      file: string | undefined,
      flags: PairFlags & { lambda: string; json?: boolean; backend?: string },
    ) => {
      await initCliBackends(flags.backend);
      const lambdas = parseNumberList(flags.lambda, "--lambda");
      const { a, b } = await loadPair(file, flags, "shift");
      const progress = stderrProgress("shift");
      const sweep: (MeasureResult & { lambda: number })[] = [];
      for (const [i, lambda] of lambdas.entries()) {
        const state = await fitAlign("shift", a, b, { lambda });
        sweep.push({ lambda, ...(await measure(applyAlign(state, a, "a"), applyAlign(state, b, "b"))) });
        progress(i + 1, lambdas.length);
      }
      printResult({ sweep }, flags.json, ({ sweep: rows }) =>
        [
          `${"λ".padStart(6)} ${"gap".padStart(6)} ${"pairCos".padStart(7)} ${"A→B R@1".padStart(8)} ${"B→A R@1".padStart(8)}`,
          ...rows.map(
            (r) =>
              `${r.lambda.toFixed(2).padStart(6)} ${r.gap.l2m.toFixed(3).padStart(6)} ${r.pairedCos.toFixed(3).padStart(7)} ${r.retrieval.aToB.r1.toFixed(3).padStart(8)} ${r.retrieval.bToA.r1.toFixed(3).padStart(8)}`,
          ),
        ].join("\n"),
      );
    },
  );
}

import type { Command } from "commander";
import { applyAlign, fitAlign } from "../../align/index.js";
import { type ShiftState, shiftBy } from "../../align/shift.js";
import { type MeasureResult, measure } from "../../gap/measure.js";
import { LAMBDAS } from "../../sim/experiment.js";
import { type GroupFlags, groupOptions } from "../groups.js";
import { backendOption, initCliBackends, parseNumberList } from "../options.js";
import { printResult } from "../output.js";
import { loadPair, type PairFlags, pairOptions } from "../pair.js";
import { stderrProgress } from "../progress.js";

/** `gapkit shift`: the measure metrics as the gap is shifted by λ (Mind the Gap's gap-shift sweep). */
export function registerShift(program: Command): void {
  backendOption(
    groupOptions(
      pairOptions(
        program
          .command("shift")
          .description(
            "measure the pairs after shifting both modalities by ±½λ·(mean A − mean B), for each λ",
          ),
      ),
    )
      .option(
        "--lambda <spec>",
        `λ values: START:END:STEP (END included) or a list (at most ${LAMBDAS.maxCount}, each in [${LAMBDAS.min}, ${LAMBDAS.max}])`,
        "-1:1:0.25",
      )
      .option(
        "--unit",
        "the --lambda values are distances δ along the unit gap direction Δ/‖Δ‖ (Mind the Gap's units: λ = δ/‖Δ‖)",
      )
      .option("--json", "print JSON"),
  ).action(
    async (
      file: string | undefined,
      flags: PairFlags & GroupFlags & { lambda: string; unit?: boolean; json?: boolean; backend?: string },
    ) => {
      await initCliBackends(flags.backend);
      const values = parseNumberList(flags.lambda, "--lambda", LAMBDAS);
      const unit = flags.unit ?? false;
      const { a, b, groups } = await loadPair(file, flags, "shift");
      const progress = stderrProgress("shift");
      const sweep: (MeasureResult & { lambda: number; delta?: number })[] = [];
      const fitted = (await fitAlign("shift", a, b)) as ShiftState;
      for (const [i, value] of values.entries()) {
        const state = shiftBy(fitted, value, unit);
        const shifted = await measure(await applyAlign(state, a, "a"), await applyAlign(state, b, "b"), {
          groups,
        });
        sweep.push({ lambda: state.lambda, ...(unit ? { delta: value } : {}), ...shifted });
        progress(i + 1, values.length);
      }
      printResult({ sweep }, flags.json, ({ sweep: rows }) =>
        [
          `${unit ? `${"δ".padStart(6)} ` : ""}${"λ".padStart(6)} ${"gap".padStart(6)} ${"pairCos".padStart(7)} ${"A→B R@1".padStart(8)} ${"B→A R@1".padStart(8)}`,
          ...rows.map(
            (r) =>
              `${r.delta === undefined ? "" : `${r.delta.toFixed(2).padStart(6)} `}${r.lambda.toFixed(2).padStart(6)} ${r.gap.l2m.toFixed(3).padStart(6)} ${r.pairedCos.toFixed(3).padStart(7)} ${r.retrieval.aToB.r1.toFixed(3).padStart(8)} ${r.retrieval.bToA.r1.toFixed(3).padStart(8)}`,
          ),
        ].join("\n"),
      );
    },
  );
}

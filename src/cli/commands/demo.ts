import { resolve } from "node:path";
import type { Command } from "commander";
import { evaluateHeldOut } from "../../align/evaluate.js";
import { measure } from "../../gap/measure.js";
import { readPairFile } from "../../io/files.js";
import { initBackends } from "../../node.js";
import { readMeasure } from "../../report/reading.js";
import { conePair } from "../../sim/cone-demo.js";
import { backendOption, parseInteger } from "../options.js";
import { printResult } from "../output.js";
import { stderrProgress } from "../progress.js";
import { formatHeldOut } from "./align.js";
import { formatMeasure } from "./measure.js";
import { writeReport } from "./report.js";

/** `gapkit demo`: the cone effect on a built-in synthetic set (and on --real embeddings), no network. */
export function registerDemo(program: Command): void {
  backendOption(
    program
      .command("demo")
      .description(
        "show the modality gap on a built-in synthetic set (random towers, the cone effect), offline",
      )
      .option("--real <file>", "also measure a real (2, N, d) embedding file")
      .option("--seed <n>", "seed of the synthetic set", "0")
      .option("-o, --output <report.html>", "where to write the HTML report", "gapkit-demo-report.html")
      .option("--json", "print JSON"),
  ).action(
    async (flags: { real?: string; seed: string; output: string; json?: boolean; backend?: string }) => {
      await initBackends(flags.backend);
      const cone = await conePair({ seed: parseInteger(flags.seed, "--seed") });
      const synthetic = await measure(cone.a, cone.b, { onProgress: stderrProgress("demo: synthetic") });
      const realPair = flags.real ? await readPairFile(flags.real) : undefined;
      const real =
        realPair && (await measure(realPair.a, realPair.b, { onProgress: stderrProgress("demo: real") }));
      // closing the gap without training: fit on half the pairs, measure the other half before and after
      const heldOut = { methods: ["center", "realign"], onProgress: stderrProgress("demo: align") };
      const aligned = {
        synthetic: await evaluateHeldOut(cone.a, cone.b, heldOut),
        ...(realPair ? { real: await evaluateHeldOut(realPair.a, realPair.b, heldOut) } : {}),
      };
      const reading = [
        ...readMeasure(
          synthetic,
          "Synthetic pair",
          "nothing was trained: two random towers fed the same inputs already produce the gap (the cone effect).",
        ),
        ...(real ? readMeasure(real, flags.real ?? "", "the gap survives contrastive training.") : []),
      ];
      const reported = realPair
        ? {
            ...realPair,
            source: flags.real ?? "",
            aligned: aligned.real,
            experiments: "cone-mlp,sphere,landscape",
          }
        : {
            ...cone,
            source: "the synthetic cone pair",
            aligned: aligned.synthetic,
            experiments: "cone-mlp,sphere",
          };
      const report = await writeReport(reported, flags.output, {
        title: `gapkit demo: ${reported.source}`,
        aligned: reported.aligned,
        experiments: reported.experiments,
      });
      printResult({ synthetic, ...(real ? { real } : {}), aligned, reading, report }, flags.json, () =>
        [
          "Synthetic pair: 2,000 Gaussian inputs through two independently seeded random MLPs",
          formatMeasure(synthetic),
          ...(real ? ["", `Real embeddings: ${flags.real}`, formatMeasure(real)] : []),
          "",
          "Closing the gap without training (center, ReAlign), synthetic pair:",
          formatHeldOut(aligned.synthetic),
          ...(aligned.real ? ["", `…and on ${flags.real}:`, formatHeldOut(aligned.real)] : []),
          "",
          ...reading,
          "",
          `Report: ${resolve(report)}`,
        ].join("\n"),
      );
    },
  );
}

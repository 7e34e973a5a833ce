import type { Command } from "commander";
import { type MeasureResult, measure } from "../../gap/measure.js";
import { readPairFile } from "../../io/files.js";
import { initBackends } from "../../node.js";
import { conePair } from "../../sim/cone-demo.js";
import { backendOption, parseInteger } from "../options.js";
import { printResult } from "../output.js";
import { stderrProgress } from "../progress.js";
import { formatMeasure } from "./measure.js";

/** A two-line plain-language reading of a measure result. */
export function readMeasure(r: MeasureResult, what: string): string[] {
  const chance = 1 / r.n;
  return [
    `${what}: the two modalities sit in separate cones (mean cosine within A ${r.cone.a.toFixed(2)}, within B ${r.cone.b.toFixed(2)}, ` +
      `across true pairs only ${r.pairedCos.toFixed(2)}); their centroids are ${r.gap.l2m.toFixed(2)} apart on the unit sphere.`,
    `Retrieval finds the true partner first for ${(100 * r.retrieval.aToB.r1).toFixed(1)}% of A queries (chance ${(100 * chance).toFixed(2)}%); ` +
      `${(100 * r.spectrum.gapVarianceFraction).toFixed(0)}% of all variance lies along the gap direction.`,
  ];
}

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
      .option("--json", "print JSON"),
  ).action(async (flags: { real?: string; seed: string; json?: boolean; backend?: string }) => {
    await initBackends(flags.backend);
    const progress = stderrProgress("demo");
    const cone = await conePair({ seed: parseInteger(flags.seed, "--seed") });
    const synthetic = await measure(cone.a, cone.b, { onProgress: progress });
    const realPair = flags.real ? await readPairFile(flags.real) : undefined;
    const real = realPair ? await measure(realPair.a, realPair.b, { onProgress: progress }) : undefined;
    const reading = [
      ...readMeasure(synthetic, "Synthetic (same inputs, two random 10-layer ReLU towers)"),
      ...(real ? readMeasure(real, flags.real ?? "") : []),
    ];
    printResult({ synthetic, ...(real ? { real } : {}), reading }, flags.json, () =>
      [
        "Synthetic pair: 2,000 Gaussian inputs through two independently seeded random MLPs",
        formatMeasure(synthetic),
        ...(real ? ["", `Real embeddings: ${flags.real}`, formatMeasure(real)] : []),
        "",
        ...reading,
      ].join("\n"),
    );
  });
}

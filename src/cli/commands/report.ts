import type { Command } from "commander";
import { evaluateHeldOut, type HeldOutResult } from "../../align/evaluate.js";
import { ALIGN_METHODS, alignMethod } from "../../align/index.js";
import { InputError, parseJson } from "../../core/errors.js";
import type { Matrix } from "../../core/matrix.js";
import { checkOutputPath, readPairFile, readTextFile, writeFileAtomic } from "../../io/files.js";
import { buildReport, type TrainingRun } from "../../report/build.js";
import { reportHtml } from "../../report/html.js";
import type { ModalityNames } from "../../report/specs.js";
import { evaluateScoring } from "../../score/evaluate.js";
import { parseMethods } from "../../score/methods.js";
import { EXPERIMENTS, experiment, type ParamValues } from "../../sim/index.js";
import { type GroupFlags, groupOptions, readPairGroups } from "../groups.js";
import { parseNames, readLabels } from "../labels.js";
import { backendOption, initCliBackends } from "../options.js";
import { stderrProgress } from "../progress.js";

/** Experiments a report can include, each run at its defaults (landscape on the report's own file). */
const REPORT_EXPERIMENTS = ["cone-mlp", "landscape", "sphere"];

/** Writes the self-contained HTML report for the pair `a`, `b` (described as `source`) and returns its path. */
export async function writeReport(
  { a, b, source, groups }: { a: Matrix; b: Matrix; source: string; groups?: Int32Array },
  output: string,
  options: {
    title?: string;
    names?: ModalityNames;
    training?: TrainingRun;
    align?: string;
    experiments?: string;
    results?: string;
    labels?: string;
    aligned?: HeldOutResult;
    score?: string;
  },
): Promise<string> {
  const methods =
    options.align === undefined
      ? []
      : options.align === "all"
        ? Object.keys(ALIGN_METHODS)
        : options.align.split(",").map((k) => alignMethod(k).kind);
  const names = options.experiments ? options.experiments.split(",").filter(Boolean) : [];
  for (const name of names)
    if (!REPORT_EXPERIMENTS.includes(name))
      throw new InputError(
        "--experiments",
        `a list of ${REPORT_EXPERIMENTS.join(", ")}`,
        JSON.stringify(name),
      );
  const experiments: Record<string, unknown> = {};
  for (const name of names) {
    const exp = experiment(name);
    const params: ParamValues = Object.fromEntries(
      Object.entries(exp.params).map(([k, spec]) => [
        k,
        "default" in spec ? (spec.default as ParamValues[string]) : undefined,
      ]),
    );
    if (name === "landscape") params.file = { a, b };
    experiments[name] = await exp.run(params, stderrProgress(`report: ${name}`));
  }
  for (const path of options.results?.split(",").filter(Boolean) ?? []) {
    const saved = parseJson(await readTextFile(path), path) as { experiment?: unknown; result?: unknown };
    if (
      !(typeof saved?.experiment === "string" && Object.hasOwn(EXPERIMENTS, saved.experiment) && saved.result)
    )
      throw new InputError(path, "an experiment's result (`gapkit experiment NAME -o FILE`)", "other JSON");
    // transfer results gather (one per target) into one section; of others the last counts
    if (saved.experiment === "transfer")
      experiments.transfer = [...((experiments.transfer as unknown[] | undefined) ?? []), saved.result];
    else experiments[saved.experiment] = saved.result;
  }
  const aligned =
    options.aligned ??
    (methods.length
      ? await evaluateHeldOut(a, b, { methods, groups, onProgress: stderrProgress("report: align") })
      : undefined);
  const scored = options.score
    ? await evaluateScoring(a, b, {
        methods: parseMethods(options.score),
        samples: true,
        groups,
        onProgress: stderrProgress("report: score"),
      })
    : undefined;
  const title = options.title ?? `Modality gap report: ${source}`;
  const sections = await buildReport(a, b, {
    title,
    names: options.names,
    training: options.training,
    aligned,
    scored,
    experiments,
    labels: options.labels ? await readLabels(options.labels, a.rows) : undefined,
    groups,
    onProgress: stderrProgress("report"),
  });
  await writeFileAtomic(
    output,
    new TextEncoder().encode(
      reportHtml(title, sections, `gapkit report of ${source}, ${a.rows} pairs × ${a.cols} dimensions`),
    ),
  );
  return output;
}

/** `gapkit report`: one self-contained HTML file with the measures, projections and plots. */
export function registerReport(program: Command): void {
  backendOption(
    groupOptions(
      program
        .command("report")
        .description(
          "write a self-contained HTML report (tables, PCA/UMAP, histograms, alignment and experiment plots)",
        )
        .argument("<file>", ".npy/.npz of shape (2, N, d): row 0 modality A, row 1 modality B")
        .requiredOption("-o, --output <report.html>", "where to write the report (-: on stdout)")
        .option("--title <text>", "the report's title")
        .option("--names <a,b>", "what to call modalities A and B in tables, sentences and legends", "A,B")
        .option("--align <methods>", "held-out alignment to include: all, or a comma list of methods")
        .option("--experiments <names>", `experiments to include: ${REPORT_EXPERIMENTS.join(", ")}`)
        .option(
          "--results <files>",
          "saved experiment results to include (comma list of `gapkit experiment NAME -o FILE` outputs; albef, decode and transfer have sections, one transfer result per target)",
        )
        .option(
          "--score <methods>",
          "held-out match scoring to include (histograms, reliability): all, or a comma list",
        )
        .option("--labels <labels.json>", "a JSON array with one caption per pair (shown in tooltips)"),
    ),
  ).action(
    async (
      file: string,
      flags: GroupFlags & {
        output: string;
        title?: string;
        names: string;
        align?: string;
        experiments?: string;
        results?: string;
        score?: string;
        labels?: string;
        backend?: string;
      },
    ) => {
      const names = parseNames(flags.names);
      await checkOutputPath(flags.output, "--output");
      await initCliBackends(flags.backend);
      const pair = await readPairFile(file);
      const groups = await readPairGroups(flags, pair.a.rows);
      const report = await writeReport({ ...pair, source: file, groups }, flags.output, { ...flags, names });
      if (report !== "-") process.stdout.write(`${report}\n`);
    },
  );
}

import type { Command } from "commander";
import { InputError } from "../../core/errors.js";
import { checkOutputPath, readMatrixFile, readTextFile, writeFileAtomic } from "../../io/files.js";
import { DEFAULT_NAMES } from "../../report/specs.js";
import { scoreVerdict } from "../../report/verdict.js";
import { CALIBRATIONS, type Calibration } from "../../score/calibrate.js";
import { evaluateScoring, type ScoreEvaluation } from "../../score/evaluate.js";
import {
  DEFAULT_SCORE_PARAMS,
  parseMethods,
  parseScoreParams,
  SCORE_METHODS,
  SCORE_PARAM_METHODS,
  type ScoreMethod,
  type ScoreParams,
} from "../../score/methods.js";
import { applyScorer, fitScorer, parseScorer } from "../../score/scorer.js";
import { type GroupFlags, groupOptions } from "../groups.js";
import { backendOption, collect, initCliBackends, parseInteger, parseParams } from "../options.js";
import { printResult, reportWritten } from "../output.js";
import { loadPair, type PairFlags, pairOptions } from "../pair.js";
import { stderrProgress } from "../progress.js";
import { fixed, fraction, table } from "../table.js";

function parseFraction(value: string): number {
  const fit = Number(value);
  if (!(fit > 0 && fit < 1))
    throw new InputError("--fit", "a fraction strictly between 0 and 1", JSON.stringify(value));
  return fit;
}

function parseCalibration(value: string): Calibration["type"] {
  if (!(CALIBRATIONS as readonly string[]).includes(value))
    throw new InputError("--calibration", CALIBRATIONS.join(" or "), JSON.stringify(value));
  return value as Calibration["type"];
}

function parseMethod(value: string): ScoreMethod {
  const [method, ...more] = parseMethods(value);
  if (more.length || value === "all")
    throw new InputError("--method", `one of ${SCORE_METHODS.join(", ")}`, JSON.stringify(value));
  return method;
}

interface EvalFlags extends PairFlags, GroupFlags {
  backend?: string;
  fit: string;
  methods: string;
  calibration: string;
  param: string[];
  seed: string;
  json?: boolean;
}

interface FitFlags extends PairFlags {
  backend?: string;
  method: string;
  calibration: string;
  param: string[];
  out: string;
}

const PARAM_HELP = `a method parameter NAME=VALUE (repeatable): ${Object.entries(SCORE_PARAM_METHODS)
  .map(
    ([name, methods]) =>
      `${name} (${methods.join(", ")}; default ${DEFAULT_SCORE_PARAMS[name as keyof ScoreParams]})`,
  )
  .join(", ")}`;

/** The held-out scoring table, with a legend for its less common columns. */
function formatEvaluation(r: ScoreEvaluation): string {
  const rows = Object.entries(r.methods).map(([method, m]) => [
    method,
    fraction(m.aToB.r1),
    fraction(m.aToB.r5),
    fraction(m.aToB.r10),
    fraction(m.bToA.r1),
    fixed(m.auc),
    fraction(m.precisionAtRecall["0.5"]),
    fraction(m.precisionAtRecall["0.9"]),
    fixed(m.hubness, 2),
    fixed(m.ece),
    fixed(m.brier, 5),
  ]);
  return [
    `fit on ${r.fitRows} pairs, evaluated on ${r.evalRows} (${r.calibration} calibration)`,
    table(rows, {
      header: [
        "method",
        "a→b R@1",
        "R@5",
        "R@10",
        "b→a R@1",
        "AUC",
        "P@R.5",
        "P@R.9",
        "hubness",
        "ECE",
        "Brier",
      ],
      textColumns: 1,
      notes: [
        "P@R.5, P@R.9: precision at the score threshold that keeps half (90%) of the true pairs",
        "hubness: skewness of how often each gallery item is among a query's 10 best (0: no hubs)",
      ],
    }),
    `best: ${r.best.method} (a→b R@1 ${fraction(r.best.r1)}), its calibrated P(match) has ECE ${fixed(r.best.ece)}`,
  ].join("\n");
}

/** `gapkit score eval|fit|apply`: gallery-aware scores, calibrated match probabilities and thresholds. */
export function registerScore(program: Command): void {
  const score = program
    .command("score")
    .description(
      "gallery-aware match scores (raw, zscore, csls, dual-softmax, qb-norm) and calibrated P(match)",
    );

  backendOption(
    groupOptions(
      pairOptions(
        score.command("eval").description("fit each method on the first pairs, evaluate it on the rest"),
      ),
    ),
  )
    .option(
      "--fit <fraction>",
      "fraction of the pairs (the first rows) to fit the bank and calibration on",
      "0.5",
    )
    .option("--methods <list>", `all, or some of ${SCORE_METHODS.join(",")}`, "all")
    .option("--calibration <type>", `map from score to P(match): ${CALIBRATIONS.join(" or ")}`, "isotonic")
    .option("--param <name=value>", `${PARAM_HELP}; applies to the methods that use it`, collect, [])
    .option("--seed <n>", "seed of the non-match sample calibration uses on large fit sets", "0")
    .option("--json", "print JSON")
    .action(async (file: string | undefined, flags: EvalFlags) => {
      await initCliBackends(flags.backend);
      const methods = parseMethods(flags.methods);
      const params = parseScoreParams(parseParams(flags.param), methods);
      const { a, b, groups } = await loadPair(file, flags, "score eval");
      const result = await evaluateScoring(a, b, {
        ...params,
        groups,
        fit: parseFraction(flags.fit),
        methods,
        calibration: parseCalibration(flags.calibration),
        seed: parseInteger(flags.seed, "--seed"),
        onProgress: stderrProgress("score eval"),
      });
      printResult(result, flags.json, (r) => `${formatEvaluation(r)}\n${scoreVerdict(r, DEFAULT_NAMES)}`);
    });

  backendOption(
    pairOptions(score.command("fit").description("fit a scorer on paired rows (queries a, gallery b)")),
  )
    .requiredOption("--method <name>", SCORE_METHODS.join(", "))
    .option("--calibration <type>", `map from score to P(match): ${CALIBRATIONS.join(" or ")}`, "isotonic")
    .option("--param <name=value>", PARAM_HELP, collect, [])
    .requiredOption("-o, --out <scorer.json>", "where to write the scorer (-: on stdout)")
    .action(async (file: string | undefined, flags: FitFlags) => {
      await checkOutputPath(flags.out, "--out");
      await initCliBackends(flags.backend);
      const method = parseMethod(flags.method);
      const params = parseScoreParams(parseParams(flags.param), [method]);
      const { a, b } = await loadPair(file, flags, "score fit");
      const state = await fitScorer(a, b, method, {
        ...params,
        calibration: parseCalibration(flags.calibration),
      });
      await writeFileAtomic(flags.out, new TextEncoder().encode(`${JSON.stringify(state)}\n`));
      reportWritten(
        flags.out,
        `${method} scorer, ${state.calibration.type} calibration, fitted on ${a.rows} pairs of dimension ${a.cols}`,
      );
    });

  backendOption(
    score
      .command("apply")
      .description("the best gallery items of each query under a fitted scorer, with P(match)")
      .argument("<scorer.json>", "a scorer written by `score fit`"),
  )
    .requiredOption("--a <queries>", "queries: (N, d) .npy/.npz")
    .requiredOption("--b <gallery>", "gallery: (M, d) .npy/.npz")
    .option("--top <k>", "gallery items per query", "10")
    .option("-o, --out <file.json>", "write the matches here instead of stdout")
    .action(async (scorerFile: string, flags: Record<string, string | undefined>) => {
      const out = flags.out ?? "-";
      await checkOutputPath(out, "--out");
      await initCliBackends(flags.backend);
      const state = parseScorer(await readTextFile(scorerFile), scorerFile);
      const [queries, gallery] = await Promise.all([readMatrixFile(flags.a!), readMatrixFile(flags.b!)]);
      if (queries.cols !== gallery.cols)
        throw new InputError(
          "--a/--b",
          "embeddings of equal dimension",
          `${queries.cols} and ${gallery.cols}`,
        );
      const top = parseInteger(flags.top!, "--top", 1, gallery.rows);
      const matches = await applyScorer(state, queries, gallery, { top });
      const text = `${JSON.stringify({ method: state.method, queries: matches.map((m, query) => ({ query, matches: m })) })}\n`;
      await writeFileAtomic(out, new TextEncoder().encode(text));
    });
}

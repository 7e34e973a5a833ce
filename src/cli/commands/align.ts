import type { Command } from "commander";
import { evaluateHeldOut, type HeldOutResult } from "../../align/evaluate.js";
import {
  ALIGN_METHODS,
  type AlignState,
  alignMethod,
  applyAlign,
  augmentAlign,
  augmentationMethods,
  fitAlign,
  fitAlignFromStats,
  parseAlignState,
  type Side,
  statsMethods,
} from "../../align/index.js";
import { fitRealignFromStats } from "../../align/realign.js";
import { InputError } from "../../core/errors.js";
import type { Matrix } from "../../core/matrix.js";
import { clickhouseRealignCentroid } from "../../io/clickhouse.js";
import { readArrayFile, readTextFile, writeFileAtomic, writeNpyFile } from "../../io/files.js";
import { fromMatrix, toMatrix, toPair } from "../../io/npy.js";
import { type GroupFlags, groupOptions } from "../groups.js";
import {
  backendOption,
  collect,
  engineFlags,
  initCliBackends,
  parseInteger,
  parseParams,
  streamFlags,
} from "../options.js";
import { printResult } from "../output.js";
import { loadPair, type PairFlags, pairOptions, pairStatistics, type StatisticsFlags } from "../pair.js";
import { stderrProgress } from "../progress.js";

function methodsHelp(): string {
  return Object.values(ALIGN_METHODS)
    .map((m) => {
      const params = Object.entries(m.params).map(([k, p]) => `${k}=${p.default}`);
      return `  ${m.kind.padEnd(14)} ${m.summary}${params.length ? ` [${params.join(", ")}]` : ""}`;
    })
    .join("\n");
}

const pct = (x: number) => (100 * x).toFixed(1);

/** The held-out table: one row per transform. */
export function formatHeldOut(r: HeldOutResult): string {
  const rows = [["baseline", r.baseline] as const, ...Object.entries(r.methods)];
  const lines = [
    `fit on ${r.fitRows} pairs, measured on the other ${r.evalRows}`,
    `${"method".padEnd(14)} ${"gap".padStart(6)} ${"pairCos".padStart(7)}  ${"A→B R@1 [95% CI]".padEnd(22)} ${"B→A R@1 [95% CI]".padEnd(22)} A→B R@5`,
  ];
  for (const [name, m] of rows) {
    const ci = (x: { r1: number; r1CI?: [number, number] }) =>
      `${pct(x.r1)} [${pct(x.r1CI?.[0] ?? x.r1)}, ${pct(x.r1CI?.[1] ?? x.r1)}]`.padEnd(22);
    const label = r.augmentations.includes(name) ? `${name}*` : name;
    lines.push(
      `${label.padEnd(14)} ${m.gap.l2m.toFixed(3).padStart(6)} ${m.pairedCos.toFixed(3).padStart(7)}  ${ci(m.retrieval.aToB)} ${ci(m.retrieval.bToA)} ${pct(m.retrieval.aToB.r5)}`,
    );
  }
  if (r.augmentations.length)
    lines.push(
      "* a training-time augmentation: measured here is its inference transform; its noise acts when a decoder is trained on `gapkit align augment` rows",
    );
  for (const note of r.notes) lines.push(`note: ${note}`);
  return lines.join("\n");
}

/**
 * Reads a state and an (N, d) or (2, N, d) file, transforms the rows (an (N, d) file as the `--side` rows,
 * a pair side by side) and writes the result atomically.
 */
async function transformFile(
  statePath: string,
  input: string,
  flags: { output: string; side?: string },
  transform: (state: AlignState, m: Matrix, side: Side) => Matrix,
): Promise<void> {
  const state = parseAlignState(await readTextFile(statePath), statePath);
  if (flags.side !== undefined && flags.side !== "a" && flags.side !== "b")
    throw new InputError("--side", "a or b", JSON.stringify(flags.side));
  const arr = await readArrayFile(input);
  if (arr.shape.length === 3) {
    const { a, b } = toPair(arr, input);
    const [ta, tb] = [transform(state, a, "a"), transform(state, b, "b")];
    const data = new Float32Array(ta.data.length * 2);
    data.set(ta.data);
    data.set(tb.data, ta.data.length);
    await writeNpyFile(flags.output, { shape: [2, ta.rows, ta.cols], data });
  } else {
    if (!flags.side) throw new InputError("--side", "a or b for an (N, d) input", "no --side");
    await writeNpyFile(flags.output, fromMatrix(transform(state, toMatrix(arr, input), flags.side)));
  }
}

/** `gapkit align fit | apply | augment | eval`: training-free gap closing with JSON states. */
export function registerAlign(program: Command): void {
  const align = program
    .command("align")
    .description(
      "close the modality gap without training: fit a transform, apply it, evaluate it on held-out pairs",
    )
    .addHelpText("after", `\nMethods (--method):\n${methodsHelp()}`);

  engineFlags(
    streamFlags(
      backendOption(
        pairOptions(
          align
            .command("fit")
            .description(
              `fit a transform and write its state as JSON; ${statsMethods().join(", ")} fit from streamed statistics (any file size, --duckdb, --clickhouse, or --stats), realign too with --clickhouse`,
            ),
        )
          .requiredOption("--method <kind>", `one of ${Object.keys(ALIGN_METHODS).join(", ")}`)
          .option("--param <name=value>", "a parameter of the method (repeatable)", collect, [])
          .option("--stats <stats.json>", "fit from statistics written by `stats -o` or `stats merge -o`")
          .requiredOption("-o, --output <state.json>", "where to write the state"),
      ),
    ),
  ).action(
    async (
      file: string | undefined,
      flags: StatisticsFlags & { method: string; param: string[]; output: string; stats?: string },
    ) => {
      await initCliBackends(flags.backend);
      const method = alignMethod(flags.method);
      const params = parseParams(flags.param);
      let state: AlignState;
      if (method.kind === "realign" && flags.clickhouse) {
        const { stats } = await pairStatistics(file, flags, "align fit", { moments: false });
        const { clickhouse, table } = flags;
        state = await fitRealignFromStats(stats, (anchors) =>
          clickhouseRealignCentroid(clickhouse, { table: table!, bCol: flags.bCol }, anchors, stats.n),
        );
      } else if (method.fitStats) {
        const stats = flags.stats
          ? (await import("../../gap/stats-json.js")).parseStats(await readTextFile(flags.stats), flags.stats)
          : (await pairStatistics(file, flags, "align fit", { moments: method.fitStats.moments })).stats;
        state = fitAlignFromStats(method.kind, stats, params);
      } else {
        if (flags.stats || flags.duckdb || flags.clickhouse)
          throw new InputError(
            "--method",
            `a method that fits from statistics with --stats/--duckdb/--clickhouse (${statsMethods().join(", ")})`,
            `${method.kind}, which needs the rows`,
          );
        const { a, b } = await loadPair(file, flags, "align fit");
        state = await fitAlign(method.kind, a, b, params);
      }
      await writeFileAtomic(flags.output, new TextEncoder().encode(`${JSON.stringify(state)}\n`));
    },
  );

  align
    .command("apply")
    .description("apply a fitted state to embeddings: (N, d) with --side, or (2, N, d) for both sides")
    .argument("<state>", "state.json written by `align fit`")
    .argument("<input>", ".npy/.npz of shape (N, d) or (2, N, d)")
    .requiredOption("-o, --output <file.npy>", "where to write the transformed embeddings (float32)")
    .option("--side <a|b>", "which modality the (N, d) rows are")
    .action((statePath: string, input: string, flags: { output: string; side?: string }) =>
      transformFile(statePath, input, flags, applyAlign),
    );

  align
    .command("augment")
    .description(
      `training-time augmentation of a fitted ${augmentationMethods().join(" or ")} state: the inference transform plus seeded noise, for training a decoder`,
    )
    .argument("<state>", "state.json written by `align fit`")
    .argument("<input>", ".npy/.npz of shape (N, d) or (2, N, d)")
    .requiredOption("-o, --output <file.npy>", "where to write the augmented embeddings (float32)")
    .option("--side <a|b>", "which modality the (N, d) rows are")
    .option("--seed <n>", "seed of the noise (default: the state's)")
    .action((statePath: string, input: string, flags: { output: string; side?: string; seed?: string }) => {
      const seed = flags.seed === undefined ? undefined : parseInteger(flags.seed, "--seed");
      return transformFile(statePath, input, flags, (state, m, side) => augmentAlign(state, m, side, seed));
    });

  backendOption(
    groupOptions(
      pairOptions(
        align.command("eval").description("fit on part of the pairs, measure the rest before and after"),
      ),
    )
      .requiredOption("--method <kind|all>", `one of ${Object.keys(ALIGN_METHODS).join(", ")}, or all`)
      .option(
        "--param <name=value>",
        "a parameter of the method (repeatable; with a single --method)",
        collect,
        [],
      )
      .option("--fit <fraction>", "fraction of the pairs to fit on", "0.5")
      .option("--shuffle", "shuffle the pairs before splitting (seeded)")
      .option("--seed <n>", "seed of the shuffle and the bootstrap", "0")
      .option("--json", "print JSON"),
  ).action(
    async (
      file: string | undefined,
      flags: PairFlags &
        GroupFlags & {
          method: string;
          param: string[];
          fit: string;
          shuffle?: boolean;
          seed: string;
          json?: boolean;
          backend?: string;
        },
    ) => {
      await initCliBackends(flags.backend);
      const methods = flags.method === "all" ? Object.keys(ALIGN_METHODS) : [alignMethod(flags.method).kind];
      if (flags.param.length && methods.length > 1)
        throw new InputError("--param", "a single --method", "--method all");
      const fit = Number(flags.fit);
      const { a, b, groups } = await loadPair(file, flags, "align eval");
      const result = await evaluateHeldOut(a, b, {
        methods,
        groups,
        fit: Number.isFinite(fit) ? fit : Number.NaN,
        shuffle: flags.shuffle,
        seed: parseInteger(flags.seed, "--seed"),
        params: flags.param.length ? { [methods[0]]: parseParams(flags.param) } : undefined,
        onProgress: stderrProgress("align eval"),
      });
      printResult(result, flags.json, formatHeldOut);
    },
  );
}

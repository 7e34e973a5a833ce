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
  parseAlignMethods,
  parseAlignState,
  type Side,
  statsMethods,
} from "../../align/index.js";
import { fitRealignFromStats } from "../../align/realign.js";
import { InputError } from "../../core/errors.js";
import type { Matrix } from "../../core/matrix.js";
import { clickhouseRealignCentroid } from "../../io/clickhouse.js";
import { checkOutputPath, readTextFile, writeChunksAtomic, writeFileAtomic } from "../../io/files.js";
import { float32Bytes, npyHeaderBytes } from "../../io/npy.js";
import { openChunkDecoder, openTable } from "../../io/tables.js";
import { DEFAULT_NAMES, type ModalityNames } from "../../report/specs.js";
import { alignVerdict } from "../../report/verdict.js";
import { type GroupFlags, groupOptions } from "../groups.js";
import {
  backendOption,
  clickhouseWait,
  collect,
  engineFlags,
  initCliBackends,
  parseInteger,
  parseParams,
  streamFlags,
} from "../options.js";
import { printResult, reportWritten } from "../output.js";
import { loadPair, type PairFlags, pairOptions, pairStatistics, type StatisticsFlags } from "../pair.js";
import { stderrProgress } from "../progress.js";
import { fixed, fraction, table } from "../table.js";

function methodsHelp(): string {
  return Object.values(ALIGN_METHODS)
    .map((m) => {
      const params = Object.entries(m.params).map(([k, p]) => `${k}=${p.default}`);
      return `  ${m.kind.padEnd(14)} ${m.summary}${params.length ? ` [${params.join(", ")}]` : ""}`;
    })
    .join("\n");
}

/** The held-out table: one row per transform, R@k as fractions with their 95% bootstrap intervals. */
export function formatHeldOut(r: HeldOutResult, { a, b }: ModalityNames = DEFAULT_NAMES): string {
  const withCI = (x: { r1: number; r1CI?: [number, number] }) =>
    `${fraction(x.r1)} [${fraction(x.r1CI?.[0] ?? x.r1)}, ${fraction(x.r1CI?.[1] ?? x.r1)}]`;
  const rows = [["baseline", r.baseline] as const, ...Object.entries(r.methods)].map(([name, m]) => [
    r.augmentations.includes(name) ? `${name}*` : name,
    fixed(m.gap.l2m, 3),
    fixed(m.pairedCos, 3),
    withCI(m.retrieval.aToB),
    withCI(m.retrieval.bToA),
    fraction(m.retrieval.aToB.r5),
  ]);
  return [
    `fit on ${r.fitRows} pairs, measured on the other ${r.evalRows}`,
    table(rows, {
      header: [
        "method",
        "gap",
        "pairCos",
        `${a}→${b} R@1 [95% CI]`,
        `${b}→${a} R@1 [95% CI]`,
        `${a}→${b} R@5`,
      ],
      textColumns: 1,
      notes: [
        ...(r.augmentations.length
          ? [
              "* a training-time augmentation: measured here is its inference transform; its noise acts when a decoder is trained on `gapkit align augment` rows",
            ]
          : []),
        ...r.notes.map((note) => `note: ${note}`),
      ],
    }),
  ].join("\n");
}

/** Rows per chunk of a streamed transform: ≈ 16 MB of float32 rows at d = 512. */
const TRANSFORM_CHUNK_ROWS = 8192;

/** The flags of `align apply` and `align augment`. */
interface TransformFlags {
  output: string;
  side?: string;
  backend?: string;
}

/**
 * Reads a state and an (N, d) or (2, N, d) file (`--side` names the modality of an (N, d) one) and writes
 * the transformed rows atomically as .npy, streamed: a chunk of rows at a time (each side in turn), so
 * memory stays bounded whatever N. `transform` maps rows of one side, given the first row's index.
 */
async function transformFile(
  statePath: string,
  input: string,
  flags: TransformFlags,
  transform: (state: AlignState, m: Matrix, side: Side, firstRow: number) => Promise<Matrix>,
): Promise<void> {
  await checkOutputPath(flags.output, "--output");
  await initCliBackends(flags.backend);
  const state = parseAlignState(await readTextFile(statePath), statePath);
  if (flags.side !== undefined && flags.side !== "a" && flags.side !== "b")
    throw new InputError("--side", "a or b", JSON.stringify(flags.side));
  // with --side the file holds one modality's (N, d) rows, else both as (2, N, d)
  const { side } = flags;
  const open = () => openTable(input, side ? [undefined] : [undefined, undefined]);
  const probe = await open().catch(async (error) => {
    // the other layout opens: the file is fine, --side is not
    const other = await openTable(input, side ? [undefined, undefined] : [undefined]).then(
      (r) => r.close().then(() => true),
      () => false,
    );
    if (!other) throw error;
    throw side
      ? new InputError("--side", "no --side for a (2, N, d) input (both sides are transformed)", side)
      : new InputError("--side", "a or b for an (N, d) input", "no --side");
  });
  await probe.close();
  const { rows = 0, dim } = probe.spec;
  const sides: Side[] = side ? [side as Side] : ["a", "b"];
  async function* npyBytes(): AsyncGenerator<Uint8Array> {
    yield npyHeaderBytes(side ? [rows, dim] : [2, rows, dim], "f4");
    for (const [column, side] of sides.entries()) {
      const reader = await open();
      const decoder = await openChunkDecoder(reader.spec);
      try {
        for await (const chunk of reader.chunks(TRANSFORM_CHUNK_ROWS))
          yield float32Bytes(
            (await transform(state, (await decoder.decode(chunk))[column], side, chunk.first)).data,
          );
      } finally {
        await reader.close();
        await decoder.close();
      }
    }
  }
  await writeChunksAtomic(flags.output, npyBytes());
  reportWritten(
    flags.output,
    `${side ? `${rows} ${side} rows` : `${rows} pairs`} of dimension ${dim} through the ${state.kind} state`,
  );
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
      await checkOutputPath(flags.output, "--output");
      await initCliBackends(flags.backend);
      const method = alignMethod(flags.method);
      const params = parseParams(flags.param);
      let state: AlignState;
      let pairs: number;
      if (method.kind === "realign" && flags.clickhouse) {
        const { stats } = await pairStatistics(file, flags, "align fit", { moments: false });
        pairs = stats.n;
        const { clickhouse, table } = flags;
        state = await fitRealignFromStats(stats, (anchors) =>
          clickhouseRealignCentroid(
            clickhouse,
            { table: table!, bCol: flags.bCol, ...clickhouseWait(flags.timeout) },
            anchors,
            stats.n,
          ),
        );
      } else if (method.fitStats) {
        const stats = flags.stats
          ? (await import("../../gap/stats-json.js")).parseStats(await readTextFile(flags.stats), flags.stats)
          : (await pairStatistics(file, flags, "align fit", { moments: method.fitStats.moments })).stats;
        state = await fitAlignFromStats(method.kind, stats, params);
        pairs = stats.n;
      } else {
        if (flags.stats || flags.duckdb || flags.clickhouse)
          throw new InputError(
            "--method",
            `a method that fits from statistics with --stats/--duckdb/--clickhouse (${statsMethods().join(", ")})`,
            `${method.kind}, which needs the rows`,
          );
        const { a, b } = await loadPair(file, flags, "align fit");
        state = await fitAlign(method.kind, a, b, params);
        pairs = a.rows;
      }
      await writeFileAtomic(flags.output, new TextEncoder().encode(`${JSON.stringify(state)}\n`));
      reportWritten(flags.output, `${state.kind} state, fitted on ${pairs} pairs of dimension ${state.dim}`);
    },
  );

  // the d×d maps are float64 products: on onnxruntime's DGEMM under auto
  backendOption(
    align
      .command("apply")
      .description("apply a fitted state to embeddings: (N, d) with --side, or (2, N, d) for both sides")
      .argument("<state>", "state.json written by `align fit`")
      .argument("<input>", ".npy/.npz of shape (N, d) or (2, N, d)")
      .requiredOption("-o, --output <file.npy>", "where to write the transformed embeddings (float32)")
      .option("--side <a|b>", "which modality the (N, d) rows are"),
  ).action((statePath: string, input: string, flags: TransformFlags) =>
    transformFile(statePath, input, flags, (state, m, side) => applyAlign(state, m, side)),
  );

  backendOption(
    align
      .command("augment")
      .description(
        `training-time augmentation of a fitted ${augmentationMethods().join(" or ")} state: the inference transform plus seeded noise, for training a decoder`,
      )
      .argument("<state>", "state.json written by `align fit`")
      .argument("<input>", ".npy/.npz of shape (N, d) or (2, N, d)")
      .requiredOption("-o, --output <file.npy>", "where to write the augmented embeddings (float32)")
      .option("--side <a|b>", "which modality the (N, d) rows are")
      .option("--seed <n>", "seed of the noise (default: the state's)"),
  ).action((statePath: string, input: string, flags: TransformFlags & { seed?: string }) => {
    const seed = flags.seed === undefined ? undefined : parseInteger(flags.seed, "--seed");
    return transformFile(statePath, input, flags, (state, m, side, firstRow) =>
      augmentAlign(state, m, side, seed, firstRow),
    );
  });

  backendOption(
    groupOptions(
      pairOptions(
        align.command("eval").description("fit on part of the pairs, measure the rest before and after"),
      ),
    )
      .requiredOption(
        "--method <kinds|all>",
        `a comma list of ${Object.keys(ALIGN_METHODS).join(", ")}, or all`,
      )
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
      const methods = parseAlignMethods(flags.method, "--method");
      if (flags.param.length && methods.length > 1)
        throw new InputError("--param", "a single --method", `--method ${flags.method}`);
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
      printResult(result, flags.json, (r) => `${formatHeldOut(r)}\n${alignVerdict(r, DEFAULT_NAMES)}`);
    },
  );
}

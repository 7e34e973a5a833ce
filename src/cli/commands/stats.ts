import type { Command } from "commander";
import {
  finalizeStats,
  type GapStats,
  mergeNamedStats,
  type StatsSummary,
  statsToJson,
} from "../../gap/stats.js";
import { checkOutputPath, readTextFile, writeFileAtomic } from "../../io/files.js";
import { backendOption, engineFlags, initCliBackends, streamFlags } from "../options.js";
import { printResult, reportWritten, summaryRows } from "../output.js";
import { pairOptions, pairStatistics, type StatisticsFlags } from "../pair.js";
import { checkShapeFlags, type ShapeFlags, shapeOptions, shapeRows, statsShape } from "../shape.js";
import { table } from "../table.js";

/** The exact, non-pairwise measure numbers as an aligned two-column table. */
export function formatStatsSummary(s: StatsSummary): string {
  const { head, spectrum } = summaryRows(s);
  return table([...head, ...spectrum], { textColumns: 2 });
}

async function writeStats(path: string, stats: GapStats): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(statsToJson(stats))}\n`));
}

/**
 * Writes the statistics to `-o` if given, and prints the summary unless `-o -` put them on stdout; a shard
 * of one pair has no summary (cones need two), so only its size is printed.
 */
async function output(
  stats: GapStats,
  flags: ShapeFlags & { output?: string; vectors?: boolean; json?: boolean },
): Promise<void> {
  if (flags.output) {
    await writeStats(flags.output, stats);
    reportWritten(flags.output, `statistics of ${stats.n} pairs of dimension ${stats.dim}`);
  }
  if (flags.output === "-") return;
  if (stats.n < 2)
    printResult(
      { n: stats.n, dim: stats.dim },
      flags.json,
      (s) => `${s.n} pair(s) × ${s.dim}: too few for a summary`,
    );
  else {
    const shape = await statsShape(stats, flags);
    printResult(
      { ...finalizeStats(stats, { vectors: flags.vectors }), ...(shape ? { shape } : {}) },
      flags.json,
      (s) =>
        [formatStatsSummary(s), ...(s.shape ? [table(shapeRows(s.shape), { textColumns: 2 })] : [])].join(
          "\n",
        ),
    );
  }
}

/** `gapkit stats FILE -o part.json` and `gapkit stats merge part*.json`: mergeable statistics at scale. */
export function registerStats(program: Command): void {
  // positional options: `stats merge … --json` belongs to merge, not to stats
  const stats = engineFlags(
    streamFlags(
      backendOption(
        shapeOptions(
          pairOptions(
            program
              .command("stats")
              .description(
                "stream a paired set into mergeable statistics (exact gap, cones, paired cosine, spectrum); merge shards with `stats merge`",
              ),
          ),
        )
          .option(
            "-o, --output <part.json>",
            "write the statistics as JSON, to merge later (-: on stdout, instead of the summary)",
          )
          .option(
            "--no-moments",
            "skip the d×d second moments (faster; no spectrum, no moment-based transforms)",
          )
          .option("--vectors", "include the gap vector in --json output")
          .option("--json", "print the summary as JSON"),
      ),
    ),
  )
    .enablePositionalOptions()
    .action(
      async (
        file: string | undefined,
        flags: StatisticsFlags &
          ShapeFlags & { output?: string; moments: boolean; vectors?: boolean; json?: boolean },
      ) => {
        if (flags.output) await checkOutputPath(flags.output, "--output");
        await checkShapeFlags(flags);
        await initCliBackends(flags.backend);
        const result = await pairStatistics(file, flags, "stats", {
          moments: flags.moments,
          provenance: flags.output !== undefined,
        });
        await output(result.stats, flags);
      },
    );

  shapeOptions(stats.command("merge"))
    .description(
      "merge statistics written by `stats -o` (shards of one set) and print the summary; parts covering a row of one source twice are refused",
    )
    .argument("<parts...>", "part.json files")
    .option(
      "-o, --output <merged.json>",
      "also write the merged statistics (-: on stdout, instead of the summary)",
    )
    .option("--vectors", "include the gap vector in --json output")
    .option("--json", "print the summary as JSON")
    .action(
      async (parts: string[], flags: ShapeFlags & { output?: string; vectors?: boolean; json?: boolean }) => {
        if (flags.output) await checkOutputPath(flags.output, "--output");
        await checkShapeFlags(flags);
        const { parseStats } = await import("../../gap/stats-json.js"); // zod: loaded only to read statistics
        const loaded = await Promise.all(parts.map(async (p) => parseStats(await readTextFile(p), p)));
        loaded.forEach((part, i) => {
          const recorded = (part.provenance ?? []).reduce((total, { rows: [s, e] }) => total + e - s, 0);
          if (recorded < part.n)
            process.stderr.write(
              `gapkit: warning: ${parts[i]}: ${part.n - recorded} of its ${part.n} pairs have no recorded source (statistics written before gapkit recorded them), so they cannot be checked for overlap with the other parts\n`,
            );
        });
        const merged = mergeNamedStats(loaded, parts, "stats merge");
        await output(merged, flags);
      },
    );
}

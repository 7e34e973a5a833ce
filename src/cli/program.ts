import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { escapeControls, InputError } from "../core/errors.js";

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

// Each command's module, loaded when it runs: `gapkit measure` pays for measure's imports only (vega,
// transformers.js, the ClickHouse client … stay unloaded), which is most of the CLI's start-up time.
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  measure: async () => (await import("./commands/measure.js")).registerMeasure,
  stats: async () => (await import("./commands/stats.js")).registerStats,
  load: async () => (await import("./commands/load.js")).registerLoad,
  align: async () => (await import("./commands/align.js")).registerAlign,
  shift: async () => (await import("./commands/shift.js")).registerShift,
  experiment: async () => (await import("./commands/experiment.js")).registerExperiment,
  report: async () => (await import("./commands/report.js")).registerReport,
  score: async () => (await import("./commands/score.js")).registerScore,
  train: async () => (await import("./commands/train.js")).registerTrain,
  demo: async () => (await import("./commands/demo.js")).registerDemo,
  embed: async () => (await import("./commands/embed.js")).registerEmbed,
  info: async () => (await import("./commands/info.js")).registerInfo,
};

/**
 * Builds the gapkit command tree (each command lives in cli/commands/<name>.ts): with `only` naming a
 * command, just that one; for --version none; otherwise all of them (for --help, suggestions, tests).
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command("gapkit")
    .description("Measure and close the modality gap in multimodal contrastive embeddings.")
    .version(version, "-V, --version")
    .showSuggestionAfterError()
    .enablePositionalOptions()
    .exitOverride()
    // commander's own errors repeat arguments: their control characters are escaped line by line
    .configureOutput({
      outputError: (text, write) => write(text.split("\n").map(escapeControls).join("\n")),
    });
  const names =
    only !== undefined && Object.hasOwn(COMMANDS, only)
      ? [only]
      : only === "-V" || only === "--version"
        ? []
        : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((name) => COMMANDS[name]()))) register(program);
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 2 user error, 1 bug. */
export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await (await buildProgram(argv[2])).parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2; // commander already printed it
    if (error instanceof InputError) {
      process.stderr.write(`gapkit: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`gapkit: internal error (please report it): ${(error as Error)?.stack ?? error}\n`);
    return 1;
  }
}

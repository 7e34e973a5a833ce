import { createRequire } from "node:module";
import { Command, CommanderError, type Option } from "commander";
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
  data: async () => (await import("./commands/data.js")).registerData,
  explore: async () => (await import("./commands/explore.js")).registerExplore,
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
    .configureOutput({ outputError: (text, write) => write(`${oneLine(text)}\n`) });
  const names =
    only !== undefined && Object.hasOwn(COMMANDS, only)
      ? [only]
      : only === "-V" || only === "--version"
        ? []
        : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((name) => COMMANDS[name]()))) register(program);
  checkRequiredAfterUnknown(program);
  return program;
}

/**
 * commander's errors in gapkit's voice, on one line: "gapkit: unknown option '--jsn' (did you mean
 * --json?)". They repeat arguments, so control characters are escaped.
 */
function oneLine(text: string): string {
  return escapeControls(
    text
      .trim()
      .replace(/^error: /, "gapkit: ")
      .replace(/\n\(Did you mean/, " (did you mean")
      .replaceAll("\n", " "),
  );
}

/**
 * commander checks required options before unknown ones, so `--jsn` would be reported as "required option
 * --method missing": required options are checked instead just before the action, after the unknown ones.
 */
function checkRequiredAfterUnknown(program: Command): void {
  const required = new Set<Option>();
  const visit = (command: Command): void => {
    for (const option of command.options)
      if (option.mandatory) {
        option.makeOptionMandatory(false);
        required.add(option);
      }
    command.commands.forEach(visit);
  };
  visit(program);
  program.hook("preAction", (_, action) => {
    for (const option of action.options)
      if (required.has(option) && action.getOptionValue(option.attributeName()) === undefined)
        action.error(`error: required option '${option.flags}' not specified`, {
          code: "commander.missingMandatoryOptionValue",
        });
  });
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

import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { InputError } from "../core/errors.js";
import { registerAlign } from "./commands/align.js";
import { registerDemo } from "./commands/demo.js";
import { registerEmbed } from "./commands/embed.js";
import { registerExperiment } from "./commands/experiment.js";
import { registerInfo } from "./commands/info.js";
import { registerLoad } from "./commands/load.js";
import { registerMeasure } from "./commands/measure.js";
import { registerReport } from "./commands/report.js";
import { registerScore } from "./commands/score.js";
import { registerShift } from "./commands/shift.js";
import { registerStats } from "./commands/stats.js";
import { registerTrain } from "./commands/train.js";

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

/** Builds the gapkit command tree; each command lives in cli/commands/<name>.ts. */
export function buildProgram(): Command {
  const program = new Command("gapkit")
    .description("Measure and close the modality gap in multimodal contrastive embeddings.")
    .version(version, "-V, --version")
    .showSuggestionAfterError()
    .enablePositionalOptions()
    .exitOverride();
  registerMeasure(program);
  registerStats(program);
  registerLoad(program);
  registerAlign(program);
  registerShift(program);
  registerExperiment(program);
  registerReport(program);
  registerScore(program);
  registerTrain(program);
  registerDemo(program);
  registerEmbed(program);
  registerInfo(program);
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 2 user error, 1 bug. */
export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
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

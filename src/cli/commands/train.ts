import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { InputError, parseJson } from "../../core/errors.js";
import { checkOutputPath, outputFolder, readNpzFile, readTextFile, writeFileAtomic } from "../../io/files.js";
import { serializeNpz } from "../../io/npz.js";
import { checkpointOf, restoreCheckpoint } from "../../train/checkpoint.js";
import {
  DEFAULT_TRAIN_CONFIG,
  type EpochMetrics,
  exportTower,
  initTraining,
  TOWER_IO,
  type TrainConfig,
  type TrainingPlan,
  type TrainState,
  train,
  trainingPlan,
} from "../../train/trainer.js";
import { backendOption, initCliBackends, parseInteger, parseNumber, parseNumberList } from "../options.js";
import { printResult } from "../output.js";
import { loadPair, type PairFlags, pairOptions } from "../pair.js";
import { stderrProgress } from "../progress.js";

// bounds of the flags: a tower layer is width² float64 weights (×3 with Adam), a batch's logits batch²
const [MAX_WIDTH, MAX_LAYERS, MAX_BATCH, MAX_EPOCHS] = [4096, 8, 16_384, 100_000];
const [MIN_LR, MAX_LR, MIN_TEMPERATURE, MAX_TEMPERATURE] = [1e-9, 1, 1e-3, 100];

interface TrainFlags extends PairFlags {
  loss: string;
  widths: string;
  epochs: string;
  batch: string;
  lr: string;
  temperature: string;
  fixedTemperature?: boolean;
  heldOut: string;
  seed: string;
  metrics?: string;
  checkpoint?: string;
  export?: string;
  resume?: string;
  json?: boolean;
  backend?: string;
}

function configFrom(flags: TrainFlags): TrainConfig {
  if (!["clip", "siglip", "supcon", "itc"].includes(flags.loss))
    throw new InputError("--loss", "clip, siglip, supcon or itc", JSON.stringify(flags.loss));
  const heldOut = Number(flags.heldOut);
  if (!(heldOut > 0 && heldOut < 1))
    throw new InputError("--held-out", "a fraction in (0, 1)", JSON.stringify(flags.heldOut));
  const widths = parseNumberList(flags.widths, "--widths", {
    min: 1,
    max: MAX_WIDTH,
    integer: true,
    maxCount: MAX_LAYERS,
  });
  return {
    ...DEFAULT_TRAIN_CONFIG,
    loss: flags.loss as TrainConfig["loss"],
    widths,
    epochs: parseInteger(flags.epochs, "--epochs", 1, MAX_EPOCHS),
    batch: parseInteger(flags.batch, "--batch", 2, MAX_BATCH),
    lr: parseNumber(flags.lr, "--lr", MIN_LR, MAX_LR),
    temperature: parseNumber(flags.temperature, "--temperature", MIN_TEMPERATURE, MAX_TEMPERATURE),
    fixedTemperature: flags.fixedTemperature ?? false,
    heldOut,
    seed: parseInteger(flags.seed, "--seed"),
  };
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const CHECKPOINT_FILES = ["weights.npz", "state.json"];
const EXPORT_FILES = { a: "tower_a.onnx", b: "tower_b.onnx", description: "towers.json" } as const;

/** Writes both towers as ONNX inference models into `dir`, with towers.json describing them. */
async function exportTowers(state: TrainState, dir: string): Promise<void> {
  const width = state.config.widths[state.config.widths.length - 1];
  const towers: Record<string, unknown> = {};
  for (const side of ["a", "b"] as const) {
    await writeFileAtomic(join(dir, EXPORT_FILES[side]), exportTower(state, side));
    towers[side] = {
      file: EXPORT_FILES[side],
      ...TOWER_IO,
      inputShape: ["batch", state.inputDims[side]],
      outputShape: ["batch", width],
    };
  }
  const description = {
    kind: "gapkit-towers",
    version: 1,
    loss: state.config.loss,
    epoch: state.epoch,
    temperature: 1 / Math.exp(state.params.logScale[0]),
    towers,
  };
  await writeFileAtomic(
    join(dir, EXPORT_FILES.description),
    new TextEncoder().encode(`${JSON.stringify(description, null, 2)}\n`),
  );
}

/** Reads a checkpoint folder written by --checkpoint. */
async function readCheckpoint(dir: string): Promise<TrainState> {
  const meta = parseJson(await readTextFile(join(dir, "state.json")), join(dir, "state.json"));
  const weights = join(dir, "weights.npz");
  const arrays = Object.fromEntries(await readNpzFile(weights));
  return restoreCheckpoint({ meta, arrays, weightsSha256: sha256(await readFile(weights)) }, dir);
}

/**
 * The lines of an earlier run's metrics file up to `epoch`, the checkpoint's: later ones (written before
 * a crash cut their checkpoint) are trained again. None where the file is missing or not a regular file.
 */
async function earlierMetrics(path: string, epoch: number): Promise<string[]> {
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) return [];
  return (await readTextFile(path)).split("\n").filter((line, i) => {
    if (!line.trim()) return false;
    const where = `${path} line ${i + 1}`;
    const metrics = parseJson(line, where, "a JSON line of metrics") as { epoch?: unknown } | null;
    if (typeof metrics?.epoch !== "number")
      throw new InputError(where, 'a JSON object with an "epoch" number', line.slice(0, 80));
    return metrics.epoch <= epoch;
  });
}

/** Fewer steps per epoch than this and a run is warned that it will barely learn. */
const FEW_STEPS = 10;

/** What the run will do, for stderr: the split and the steps, with a warning when an epoch is a few steps. */
function describePlan(plan: TrainingPlan, epochs: number): string {
  const steps = (n: number) => `${n} step${n === 1 ? "" : "s"}`;
  const lines = [
    `train: ${plan.fitRows + plan.heldOutRows} pairs, ${plan.fitRows} to fit and ${plan.heldOutRows} held out; ` +
      `batch ${plan.batch}: ${steps(plan.stepsPerEpoch)} per epoch, ${steps(plan.steps)} in ${epochs} epoch${epochs === 1 ? "" : "s"}`,
  ];
  if (plan.stepsPerEpoch < FEW_STEPS)
    lines.push(
      `warning: an epoch is only ${steps(plan.stepsPerEpoch)} (under ${FEW_STEPS}): the towers will barely learn; ` +
        "a smaller --batch or more pairs gives more steps",
    );
  return `${lines.join("\n")}\n`;
}

/** `gapkit train`: a dual encoder (two MLP towers) trained contrastively on paired features. */
export function registerTrain(program: Command): void {
  const d = DEFAULT_TRAIN_CONFIG;
  backendOption(
    pairOptions(
      program
        .command("train")
        .description("train a dual encoder (two MLP towers) with a contrastive loss on paired features"),
    )
      .option(
        "--loss <name>",
        "clip, siglip, supcon (the two modalities as views of each pair) or itc (ALBEF: momentum towers, feature queue, distillation)",
        d.loss,
      )
      .option(
        "--widths <list>",
        `tower widths after the input (at most ${MAX_LAYERS}, each in [1, ${MAX_WIDTH}])`,
        d.widths.join(","),
      )
      .option("--epochs <n>", `epochs (in [1, ${MAX_EPOCHS}])`, String(d.epochs))
      .option("--batch <n>", `batch size (in [2, ${MAX_BATCH}])`, String(d.batch))
      .option(
        "--lr <x>",
        `peak learning rate (Adam, cosine schedule with warm-up; in [${MIN_LR}, ${MAX_LR}])`,
        String(d.lr),
      )
      .option(
        "--temperature <τ>",
        `initial temperature (in [${MIN_TEMPERATURE}, ${MAX_TEMPERATURE}]; logit scale 1/τ ≤ 100)`,
        String(d.temperature),
      )
      .option("--fixed-temperature", "keep τ fixed instead of learning it")
      .option(
        "--held-out <fraction>",
        "last fraction of the pairs kept for per-epoch metrics",
        String(d.heldOut),
      )
      .option("--seed <n>", "seed of initialisation and batch order", String(d.seed))
      .option(
        "--metrics <file.jsonl>",
        "write one JSON line of metrics per epoch (with --resume: appended to the lines up to the checkpoint's epoch)",
      )
      .option(
        "--checkpoint <dir>",
        "write weights.npz, then state.json (with the weights' SHA-256) there after every epoch",
      )
      .option(
        "--export <dir>",
        "after training, write the towers there as ONNX models (tower_a.onnx, tower_b.onnx: features → unit embedding rows) with towers.json",
      )
      .option(
        "--resume <dir>",
        "continue from a checkpoint directory (its configuration wins, except a larger --epochs)",
      )
      .option("--json", "print the per-epoch metrics as JSON"),
  ).action(async (file: string | undefined, flags: TrainFlags, command: Command) => {
    if (flags.metrics) await checkOutputPath(flags.metrics, "--metrics", { stdout: false });
    if (flags.checkpoint)
      await outputFolder(flags.checkpoint, CHECKPOINT_FILES, "--checkpoint", "the checkpoint");
    if (flags.export)
      await outputFolder(flags.export, Object.values(EXPORT_FILES), "--export", "the exported towers");
    await initCliBackends(flags.backend);
    const { a, b } = await loadPair(file, flags, "train");
    const state = flags.resume
      ? await readCheckpoint(flags.resume)
      : initTraining(configFrom(flags), a.cols, b.cols);
    // resuming with more epochs extends the run (the learning-rate schedule then spans the new total)
    if (flags.resume && command.getOptionValueSource("epochs") === "cli")
      state.config = {
        ...state.config,
        epochs: parseInteger(flags.epochs, "--epochs", state.epoch, MAX_EPOCHS),
      };
    process.stderr.write(describePlan(trainingPlan(state.config, a.rows), state.config.epochs));
    const lines = flags.resume && flags.metrics ? await earlierMetrics(flags.metrics, state.epoch) : [];
    const history = await train(a, b, state, {
      onStep: stderrProgress("train"),
      onEpoch: async (m: EpochMetrics, s) => {
        lines.push(JSON.stringify(m));
        if (flags.metrics)
          await writeFileAtomic(flags.metrics, new TextEncoder().encode(`${lines.join("\n")}\n`));
        if (flags.checkpoint) {
          const { meta, arrays } = checkpointOf(s);
          const weights = serializeNpz(arrays);
          await writeFileAtomic(join(flags.checkpoint, "weights.npz"), weights);
          await writeFileAtomic(
            join(flags.checkpoint, "state.json"),
            new TextEncoder().encode(`${JSON.stringify({ ...meta, weightsSha256: sha256(weights) })}\n`),
          );
        }
      },
    });
    if (flags.export) await exportTowers(state, flags.export);
    printResult(history, flags.json, (h) =>
      [
        `${"epoch".padStart(5)} ${"loss".padStart(8)} ${"τ".padStart(7)} ${"gap".padStart(6)} ${"R@1 A→B".padStart(8)} ${"B→A".padStart(6)}`,
        ...h.map(
          (m) =>
            `${String(m.epoch).padStart(5)} ${m.loss.toFixed(4).padStart(8)} ${m.temperature.toFixed(4).padStart(7)} ${m.gap.toFixed(3).padStart(6)} ${m.r1.toFixed(3).padStart(8)} ${m.r1BToA.toFixed(3).padStart(6)}`,
        ),
      ].join("\n"),
    );
  });
}

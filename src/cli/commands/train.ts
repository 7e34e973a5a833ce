import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { InputError, parseJson } from "../../core/errors.js";
import { readNpzFile, readTextFile, writeFileAtomic, writeNpzFile } from "../../io/files.js";
import { checkpointOf, restoreCheckpoint } from "../../train/checkpoint.js";
import {
  DEFAULT_TRAIN_CONFIG,
  type EpochMetrics,
  initTraining,
  type TrainConfig,
  train,
} from "../../train/trainer.js";
import { backendOption, initCliBackends, parseInteger, parseNumberList } from "../options.js";
import { printResult } from "../output.js";
import { loadPair, type PairFlags, pairOptions } from "../pair.js";
import { stderrProgress } from "../progress.js";

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
  resume?: string;
  json?: boolean;
  backend?: string;
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InputError(flag, "a number > 0", JSON.stringify(value));
  return n;
}

function configFrom(flags: TrainFlags): TrainConfig {
  if (!["clip", "siglip", "supcon", "itc"].includes(flags.loss))
    throw new InputError("--loss", "clip, siglip, supcon or itc", JSON.stringify(flags.loss));
  const heldOut = Number(flags.heldOut);
  if (!(heldOut > 0 && heldOut < 1))
    throw new InputError("--held-out", "a fraction in (0, 1)", JSON.stringify(flags.heldOut));
  const widths = parseNumberList(flags.widths, "--widths");
  if (!widths.length || !widths.every((w) => Number.isInteger(w) && w >= 1))
    throw new InputError("--widths", "positive integers, e.g. 256,128", JSON.stringify(flags.widths));
  return {
    ...DEFAULT_TRAIN_CONFIG,
    loss: flags.loss as TrainConfig["loss"],
    widths,
    epochs: parseInteger(flags.epochs, "--epochs", 1, 100_000),
    batch: parseInteger(flags.batch, "--batch", 2, 1_000_000),
    lr: positive(flags.lr, "--lr"),
    temperature: positive(flags.temperature, "--temperature"),
    fixedTemperature: flags.fixedTemperature ?? false,
    heldOut,
    seed: parseInteger(flags.seed, "--seed"),
  };
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
      .option("--widths <list>", "tower widths after the input", d.widths.join(","))
      .option("--epochs <n>", "epochs", String(d.epochs))
      .option("--batch <n>", "batch size", String(d.batch))
      .option("--lr <x>", "peak learning rate (Adam, cosine schedule with warm-up)", String(d.lr))
      .option("--temperature <τ>", "initial temperature (logit scale 1/τ ≤ 100)", String(d.temperature))
      .option("--fixed-temperature", "keep τ fixed instead of learning it")
      .option(
        "--held-out <fraction>",
        "last fraction of the pairs kept for per-epoch metrics",
        String(d.heldOut),
      )
      .option("--seed <n>", "seed of initialisation and batch order", String(d.seed))
      .option("--metrics <file.jsonl>", "append one JSON line of metrics per epoch")
      .option("--checkpoint <dir>", "write state.json + weights.npz there after every epoch")
      .option(
        "--resume <dir>",
        "continue from a checkpoint directory (its configuration wins, except a larger --epochs)",
      )
      .option("--json", "print the per-epoch metrics as JSON"),
  ).action(async (file: string | undefined, flags: TrainFlags) => {
    await initCliBackends(flags.backend);
    const { a, b } = await loadPair(file, flags, "train");
    const state = flags.resume
      ? restoreCheckpoint(
          {
            meta: parseJson(
              await readTextFile(join(flags.resume, "state.json")),
              join(flags.resume, "state.json"),
            ),
            arrays: Object.fromEntries(await readNpzFile(join(flags.resume, "weights.npz"))),
          },
          flags.resume,
        )
      : initTraining(configFrom(flags), a.cols, b.cols);
    // resuming with more epochs extends the run (the learning-rate schedule then spans the new total)
    if (flags.resume && flags.epochs !== String(DEFAULT_TRAIN_CONFIG.epochs))
      state.config = {
        ...state.config,
        epochs: parseInteger(flags.epochs, "--epochs", state.epoch, 100_000),
      };
    const lines: string[] = [];
    const history = await train(a, b, state, {
      onStep: stderrProgress("train"),
      onEpoch: async (m: EpochMetrics, s) => {
        lines.push(JSON.stringify(m));
        if (flags.metrics)
          await writeFileAtomic(flags.metrics, new TextEncoder().encode(`${lines.join("\n")}\n`));
        if (flags.checkpoint) {
          await mkdir(flags.checkpoint, { recursive: true });
          const c = checkpointOf(s);
          await writeNpzFile(join(flags.checkpoint, "weights.npz"), c.arrays);
          await writeFileAtomic(
            join(flags.checkpoint, "state.json"),
            new TextEncoder().encode(`${JSON.stringify(c.meta)}\n`),
          );
        }
      },
    });
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

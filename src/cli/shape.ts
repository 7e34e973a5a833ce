import type { Command } from "commander";
import { InputError } from "../core/errors.js";
import type { GapShape, ShapeFrame } from "../gap/shape.js";
import { parseFrame, shapeOfStats } from "../gap/shape.js";
import type { GapStats } from "../gap/stats.js";
import { checkOutputPath, readTextFile, writeFileAtomic } from "../io/files.js";
import { parseInteger } from "./options.js";
import { reportWritten } from "./output.js";

/** The flags of the gap's shape. */
export interface ShapeFlags {
  shape?: boolean;
  frame?: string;
  saveFrame?: string;
  shapeAxes: string;
}

/** Adds `--shape`, `--frame`, `--save-frame` and `--shape-axes` to a command that has statistics. */
export function shapeOptions(command: Command): Command {
  return command
    .option(
      "--shape",
      "the gap's shape (JSON key shape): W₂² split into bias and shape (Bures) terms, the anisotropy profile per principal axis",
    )
    .option(
      "--frame <frame.json>",
      "with --shape: profile in this frozen frame (written by --save-frame) instead of the joint axes",
    )
    .option("--save-frame <frame.json>", "with --shape: write the frame used, to compare other sets in it")
    .option("--shape-axes <k>", "with --shape: axes of the joint frame in the profile (1–512)", "10");
}

/** Checks the shape flags (and `--save-frame`'s output) before any work. */
export async function checkShapeFlags(flags: ShapeFlags): Promise<void> {
  const orphan = flags.shape
    ? undefined
    : flags.frame
      ? "--frame"
      : flags.saveFrame
        ? "--save-frame"
        : undefined;
  if (orphan) throw new InputError(orphan, "--shape with it", "no --shape");
  if (flags.saveFrame) await checkOutputPath(flags.saveFrame, "--save-frame", { stdout: false });
}

/** The W₂ split and profile of the statistics as `--shape` asks (undefined without it); writes `--save-frame`. */
export async function statsShape(stats: GapStats, flags: ShapeFlags): Promise<GapShape | undefined> {
  if (!flags.shape) return undefined;
  const frame: ShapeFrame | undefined = flags.frame
    ? parseFrame(await readTextFile(flags.frame), flags.frame)
    : undefined;
  const axes = parseInteger(flags.shapeAxes, "--shape-axes", 1, 512);
  const { shape, frame: used } = await shapeOfStats(stats, { frame, axes: Math.min(axes, stats.dim) });
  if (flags.saveFrame) {
    await writeFileAtomic(flags.saveFrame, new TextEncoder().encode(`${JSON.stringify(used)}\n`));
    reportWritten(flags.saveFrame, `frame of ${used.axes.length} axes of dimension ${used.dim}`);
  }
  return shape;
}

const f = (x: number, digits = 4) => x.toFixed(digits);
const percent = (x: number) => `${(100 * x).toFixed(1)} %`;

/** The shape as table rows (label, value). */
export function shapeRows(shape: GapShape): [string, string][] {
  const { w2, profile } = shape;
  const top = (k: number) => profile[Math.min(k, profile.length) - 1];
  const rows: [string, string][] = [
    [
      "W₂² = bias + shape",
      `${f(w2.total)} = ${f(w2.bias)} (${percent(w2.biasShare)}) + ${f(w2.shape)} (${percent(w2.shapeShare)})`,
    ],
    ...[1, profile.length].map((k): [string, string] => [
      `share in the top ${k} ${shape.frame} ax${k === 1 ? "is" : "es"}: bias / residual`,
      `${percent(top(k).biasShare)} / ${percent(top(k).residualShare)}`,
    ]),
  ];
  if (shape.stability) {
    const { mean, ci, halves } = shape.stability;
    rows.push([
      `bias direction's cosine across halves (${halves})`,
      `${f(mean)}  95% CI [${f(ci[0])}, ${f(ci[1])}]`,
    ]);
  }
  if (shape.afterAlignment) {
    const { methods, evalRows } = shape.afterAlignment;
    for (const [method, split] of Object.entries(methods))
      rows.push([
        `held-out (${evalRows}) after ${method}: bias / shape`,
        `${f(split.bias)} / ${f(split.shape)}`,
      ]);
  }
  return rows;
}

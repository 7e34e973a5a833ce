import type { Matrix } from "../core/matrix.js";
import type { NdArray } from "../io/npy.js";
import type { CaptionedImages } from "../train/albef-training.js";
import type { ParamInit } from "../train/autograd/nn.js";
import {
  parametersFromNpz,
  parametersToNpz,
  type TrainableModel,
  type Training,
} from "../train/autograd/training.js";

/** A parameter of an experiment, as the CLI exposes it (`--name value`). */
export type ExperimentParam =
  /** An integer within [min, max] (by default the safe integers, as for a seed); bounds keep memory and time sane. */
  | { kind: "integer"; default: number; doc: string; min?: number; max?: number }
  | { kind: "number"; default: number; doc: string; min: number; max: number }
  /** A list of at most maxCount numbers within [min, max], empty only where allowEmpty. */
  | {
      kind: "numbers";
      default: number[];
      doc: string;
      min: number;
      max: number;
      maxCount: number;
      integer?: boolean;
      allowEmpty?: boolean;
    }
  | { kind: "choice"; default: string; choices: readonly string[]; doc: string }
  /** A comma-separated list of distinct choices, at least one; `all` where the word "all" picks every choice. */
  | { kind: "choices"; default: readonly string[]; choices: readonly string[]; doc: string; all?: boolean }
  | { kind: "boolean"; default: boolean; doc: string }
  /** A (2, N, d) embedding file, loaded by the caller and passed in as a pair. */
  | { kind: "pair"; doc: string; required: boolean }
  /** Any array file (embeddings, labels), loaded by the caller. */
  | { kind: "array"; doc: string; required: boolean }
  /** The built-in labelled image–caption pairs (MNIST digits and captions), loaded by the caller. */
  | { kind: "builtin"; pairs: number; doc: string }
  /** The built-in emoji images with their captions (io/emoji.ts), loaded by the caller. */
  | { kind: "emoji"; doc: string }
  /** A folder the experiment may write files into (optional), given as a FileSink by the caller. */
  | { kind: "folder"; doc: string }
  /** The built-in labelled image sets (MNIST; Fashion-MNIST where installed), loaded on demand by the caller. */
  | { kind: "image-sets"; doc: string }
  /** A folder of files kept between runs (optional), given as a FileCache by the caller. */
  | { kind: "cache"; doc: string };

/** Where an experiment writes a file by name (atomically, in the folder the user named at `path`). */
export interface FileSink {
  readonly path: string;
  write(name: string, bytes: Uint8Array): Promise<void>;
}

/** Labelled image–caption pairs, as the built-in MNIST set provides them. */
export interface LabelledPairs {
  images: Matrix;
  captions: Matrix;
  labels: Int32Array;
  text: string[];
  vocabulary: string[];
}

/** A labelled image set, its pixels read on demand: every row's label, and any rows' pixels in [0, 1]. */
export interface LabelledImageSet {
  readonly labels: Int32Array;
  /** Pixels per image (rows of `height`×`width`, one channel). */
  readonly height: number;
  readonly width: number;
  /** The images at these row numbers, in order: rows of height·width values in [0, 1]. */
  images(rows: ArrayLike<number>): Matrix;
}

/** The built-in labelled image sets an experiment may ask for. */
export type ImageSetName = "mnist" | "fashion-mnist-train" | "fashion-mnist-test";

/** Loads a built-in image set by name (an InputError where it is not installed). */
export type ImageSets = (name: ImageSetName) => Promise<LabelledImageSet>;

/** Where an experiment keeps files between runs (trained checkpoints), by name. */
export interface FileCache {
  readonly path: string;
  /** The file's bytes, or undefined where it is not there. */
  read(name: string): Promise<Uint8Array | undefined>;
  write(name: string, bytes: Uint8Array): Promise<void>;
}

/**
 * A short stable name of JSON-serialisable settings (FNV-1a of their JSON, hex): cached files named by it
 * are read back only by runs of the same settings.
 */
export function settingsHash(settings: unknown): string {
  const key = JSON.stringify(settings);
  let hash = 0x811c9dc5;
  for (let k = 0; k < key.length; k++) hash = Math.imul(hash ^ key.charCodeAt(k), 0x01000193);
  return (hash >>> 0).toString(16);
}

/**
 * A trained model read back from `cache` where a run of the same settings kept it under `name` (`train`
 * gets `restore`, to start from those parameters without training), else trained and kept there.
 */
export async function cachedTraining<T extends { model: TrainableModel; training: Training }>(
  cache: FileCache | undefined,
  name: string,
  train: (restore?: (init: Readonly<Record<string, ParamInit>>) => Record<string, ParamInit>) => Promise<T>,
): Promise<T> {
  const bytes = await cache?.read(name);
  if (bytes) return train((init) => parametersFromNpz(bytes, init, name));
  const trained = await train();
  await cache?.write(name, parametersToNpz(trained.training, trained.model));
  return trained;
}

/** Resolved parameter values: numbers, number lists, strings, booleans or loaded pairs. */
export type ParamValues = Record<
  string,
  | number
  | number[]
  | string
  | string[]
  | boolean
  | { a: Matrix; b: Matrix }
  | NdArray
  | LabelledPairs
  | CaptionedImages
  | FileSink
  | FileCache
  | ImageSets
  | undefined
>;

/** A reproducible experiment: seeded, pure, returning a JSON-serialisable result. */
export interface Experiment {
  readonly name: string;
  /** One line for `experiment list`. */
  readonly summary: string;
  /** The figure or table of the paper it rebuilds. */
  readonly reproduces: string;
  readonly params: Readonly<Record<string, ExperimentParam>>;
  /** Runs it; `onProgress` hears the work done of the total, and now and then a line worth keeping (`detail`). */
  run(
    params: ParamValues,
    onProgress?: (done: number, total: number, detail?: string) => void,
  ): Promise<unknown>;
}

/** The `unit` parameter of the gap-shift sweeps: λ values given as distances δ in Mind the Gap's units. */
export const UNIT_PARAM: ExperimentParam = {
  kind: "boolean",
  default: false,
  doc: "the λ values are distances δ along the unit gap direction Δ/‖Δ‖, as Mind the Gap's code shifts (λ = δ/‖Δ‖; its landscape grid is -5:4.75:0.25)",
};

/** Bounds of a gap-shift sweep's λ values: each is a full pass over the rows. */
export const LAMBDAS = { kind: "numbers", min: -1000, max: 1000, maxCount: 1000, doc: "λ values" } as const;

/** Bounds of a list of temperatures τ (logit scale 1/τ up to 10⁴). */
export const TEMPERATURES = {
  kind: "numbers",
  min: 1e-4,
  max: 100,
  maxCount: 100,
  doc: "temperatures τ",
} as const;

/** A number over seeds: its mean and sample standard deviation (0 for one seed). */
export interface MeanSd {
  mean: number;
  sd: number;
}

/** The same structure with each number its mean ± sd over seeds (null stays null: a loss not trained). */
export type OverSeeds<T> = T extends number
  ? MeanSd
  : T extends null
    ? null
    : { [K in keyof T]: OverSeeds<T[K]> };

/** The mean and sample standard deviation (0 for one value) of values. */
export function meanSd(values: readonly number[]): MeanSd {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const sd =
    values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, sd };
}

/** The same structure of numbers, each one's mean ± sd over the runs. */
export function summarise<T>(runs: readonly T[]): OverSeeds<T> {
  const [first] = runs;
  if (typeof first === "number") return meanSd(runs as readonly unknown[] as number[]) as OverSeeds<T>;
  if (first === null) return null as OverSeeds<T>;
  return Object.fromEntries(
    Object.keys(first as object).map((key) => [
      key,
      summarise(runs.map((run) => (run as Record<string, unknown>)[key])),
    ]),
  ) as OverSeeds<T>;
}

/** A mean ± sd table cell, to three decimals; — for a number a run does not have. */
export const formatMeanSd = (x: MeanSd | null): string =>
  x === null ? "—" : `${x.mean.toFixed(3)} ± ${x.sd.toFixed(3)}`;

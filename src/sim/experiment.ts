import type { Matrix } from "../core/matrix.js";
import type { NdArray } from "../io/npy.js";
import type { CaptionedImages } from "../train/albef-training.js";

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
  /** A comma-separated list of distinct choices, at least one. */
  | { kind: "choices"; default: readonly string[]; choices: readonly string[]; doc: string }
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
  | { kind: "folder"; doc: string };

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

/** A mean ± sd table cell, to three decimals; — for a number a run does not have. */
export const formatMeanSd = (x: MeanSd | null): string =>
  x === null ? "—" : `${x.mean.toFixed(3)} ± ${x.sd.toFixed(3)}`;

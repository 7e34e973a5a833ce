/**
 * The gap's shape (seed 002's fixed-frame view): the Gaussian 2-Wasserstein distance between the modalities
 * split into a bias (the means' offset) and a shape term (the Bures distance of their covariances), the
 * anisotropy profile in a frame of principal axes (joint, or frozen and supplied), how stable the bias
 * direction is across random halves of the pairs, and what alignment methods leave of each term.
 */
import { z } from "zod";
import { alignFitter, applyAlign } from "../align/index.js";
import { compensatedValue } from "../core/compensated.js";
import { check, InputError, parseJson } from "../core/errors.js";
import { psdEigen } from "../core/linalg.js";
import { type Matrix, sliceRows } from "../core/matrix.js";
import { hashUniform } from "../core/rng.js";
import { fitRowCount } from "../eval/split.js";
import { type Gaussian, gaussianOf, gaussianW2 } from "./discrepancy.js";
import type { GapStats } from "./stats.js";
import { unitRows } from "./unit-rows.js";

/** A frozen frame: k orthonormal axes of dimension d, to compare checkpoints or data sets in one basis. */
export interface ShapeFrame {
  kind: "gapkit.frame";
  version: 1;
  dim: number;
  /** k axes, each d values (unit, mutually orthogonal). */
  axes: number[][];
}

/** The W₂² split: each term and its share of the total. */
export interface W2Split {
  bias: number;
  shape: number;
  total: number;
  biasShare: number;
  shapeShare: number;
}

/** One axis of the anisotropy profile. */
export interface ProfileAxis {
  /** The gap Δ = μ_A − μ_B along the axis: Δ·u. */
  bias: number;
  /** Each modality's variance along the axis: uᵀC u. */
  varianceA: number;
  varianceB: number;
  /** Of ‖Δ‖², the share in this axis and those before it. */
  biasShare: number;
  /** Of the residual ‖C_A − C_B‖²_F, the share in the span of this axis and those before it: ‖UᵀDU‖²_F / ‖D‖²_F. */
  residualShare: number;
}

/** The bias direction's cosine between two random halves of the pairs, over `halves` draws. */
export interface BiasStability {
  halves: number;
  seed: number;
  mean: number;
  /** The 2.5 % and 97.5 % quantiles of the cosines. */
  ci: [number, number];
}

/** The shape of the gap: `measure --shape`'s `shape`. */
export interface GapShape {
  w2: W2Split;
  /** "joint": the top principal axes of both modalities' pooled rows; "given": the frame passed in. */
  frame: "joint" | "given";
  profile: ProfileAxis[];
  stability?: BiasStability;
  /** W₂ splits on held-out pairs before ("none") and after each alignment method fitted on the others. */
  afterAlignment?: { fitRows: number; evalRows: number; methods: Record<string, W2Split> };
  /** The fields computed on a sample of the pairs rather than all of them. */
  estimated?: ("w2" | "profile" | "stability" | "afterAlignment")[];
}

/** The axes a profile shows by default. */
export const PROFILE_AXES = 10;

/** The methods `afterAlignment` compares: isotropic fixes against the anisotropic one. */
export const SHAPE_METHODS = ["shift", "realign", "realign-aniso"];

/** The two modalities' Gaussians (of their unit rows) from mergeable statistics with second moments. */
export function gaussiansOfStats(stats: GapStats): { a: Gaussian; b: Gaussian } {
  const { n, dim: d, sums } = stats;
  check(
    sums.aa !== undefined && sums.bb !== undefined,
    "shape",
    "statistics with second moments",
    () => "statistics without (--no-moments)",
  );
  const gaussian = (sum: Float64Array, moment: Float64Array): Gaussian => {
    const mean = sum.map((s) => s / n);
    const covariance = moment.map((m, k) => m / n - mean[Math.floor(k / d)] * mean[k % d]);
    return { mean, covariance };
  };
  return {
    a: gaussian(compensatedValue(sums.a), compensatedValue(sums.aa!)),
    b: gaussian(compensatedValue(sums.b), compensatedValue(sums.bb!)),
  };
}

/** W₂²(A, B) of two Gaussians as bias + shape, with each term's share. */
export async function w2Split(a: Gaussian, b: Gaussian): Promise<W2Split> {
  const { bias, shape, total } = await gaussianW2(a, b);
  return {
    bias,
    shape,
    total,
    biasShare: total > 0 ? bias / total : 0,
    shapeShare: total > 0 ? shape / total : 0,
  };
}

/**
 * The top `k` principal axes of both modalities pooled (equal weight): of ½(C_A + C_B) + ¼ΔΔᵀ, the
 * covariance of the mixture. Each axis's sign makes its largest-magnitude entry positive.
 */
export function jointFrame(a: Gaussian, b: Gaussian, k = PROFILE_AXES): ShapeFrame {
  const d = a.mean.length;
  const delta = a.mean.map((m, j) => m - b.mean[j]);
  const pooled = a.covariance.map(
    (c, i) => 0.5 * (c + b.covariance[i]) + 0.25 * delta[Math.floor(i / d)] * delta[i % d],
  );
  const { vt } = psdEigen(pooled, d);
  const axes = Array.from({ length: Math.min(k, d) }, (_, r) => {
    const axis = Array.from(vt.subarray(r * d, (r + 1) * d));
    let pivot = 0;
    for (let j = 1; j < d; j++) if (Math.abs(axis[j]) > Math.abs(axis[pivot])) pivot = j;
    return axis[pivot] < 0 ? axis.map((v) => -v) : axis;
  });
  return { kind: "gapkit.frame", version: 1, dim: d, axes };
}

/** The anisotropy profile of two Gaussians in a frame: per axis the bias, both variances and cumulative shares. */
export function anisotropyProfile(a: Gaussian, b: Gaussian, frame: ShapeFrame): ProfileAxis[] {
  const d = a.mean.length;
  check(frame.dim === d, "--frame", `a frame of dimension ${d}`, () => String(frame.dim));
  const delta = a.mean.map((m, j) => m - b.mean[j]);
  const diff = a.covariance.map((c, i) => c - b.covariance[i]);
  const squared = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + x * x, 0);
  const [biasTotal, residualTotal] = [squared(delta), squared(diff)];
  const dot = (u: number[], v: ArrayLike<number>) => u.reduce((s, x, j) => s + x * v[j], 0);
  const form = (c: Float64Array, u: number[], v: number[]) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += u[i] * dot(v, c.subarray(i * d, (i + 1) * d));
    return s;
  };
  let [biasSum, residualSum] = [0, 0];
  return frame.axes.map((u, r) => {
    const bias = dot(u, delta);
    biasSum += bias * bias;
    // ‖UᵀDU‖²_F grows by the new row and column of UᵀDU: 2 Σ_{s<r} (u_sᵀD u_r)² + (u_rᵀD u_r)²
    for (let s = 0; s < r; s++) residualSum += 2 * form(diff, frame.axes[s], u) ** 2;
    residualSum += form(diff, u, u) ** 2;
    return {
      bias,
      varianceA: form(a.covariance, u, u),
      varianceB: form(b.covariance, u, u),
      biasShare: biasTotal > 0 ? biasSum / biasTotal : 0,
      residualShare: residualTotal > 0 ? residualSum / residualTotal : 0,
    };
  });
}

/** W₂ split and profile from mergeable statistics (with moments), in the joint frame or a given one. */
export async function shapeOfStats(
  stats: GapStats,
  options: { frame?: ShapeFrame; axes?: number } = {},
): Promise<{ shape: GapShape; frame: ShapeFrame }> {
  const { a, b } = gaussiansOfStats(stats);
  const frame = options.frame ?? jointFrame(a, b, options.axes);
  return {
    shape: {
      w2: await w2Split(a, b),
      frame: options.frame ? "given" : "joint",
      profile: anisotropyProfile(a, b, frame),
    },
    frame,
  };
}

/**
 * The bias direction's stability: for each of `halves` draws, the pairs split at random in two (the first
 * half: the ⌊N/2⌋ pairs i of least hashUniform(seed, draw·N + i)), the cosine between the halves' gaps
 * mean(â − b̂); its mean and 95 % interval. Near 1: a stable bias; near 0: noise.
 */
export function biasStability(
  a: Matrix,
  b: Matrix,
  options: { seed?: number; halves?: number } = {},
): BiasStability {
  const { seed = 0, halves = 200 } = options;
  const [n, d] = [a.rows, a.cols];
  check(n >= 4, "bias stability", "at least 4 pairs", () => String(n));
  check(Number.isInteger(halves) && halves >= 10, "bias stability", "at least 10 draws", () =>
    String(halves),
  );
  const [ua, ub] = [unitRows(a, "bias stability A"), unitRows(b, "bias stability B")];
  const differences = new Float64Array(n * d);
  const total = new Float64Array(d);
  for (let k = 0; k < n * d; k++) {
    differences[k] = ua.data[k] + ua.lo[k] - (ub.data[k] + ub.lo[k]);
    total[k % d] += differences[k];
  }
  const cosines = new Float64Array(halves);
  const first = new Float64Array(d);
  const keys = new Float64Array(n);
  const size = Math.floor(n / 2);
  for (let draw = 0; draw < halves; draw++) {
    for (let i = 0; i < n; i++) keys[i] = hashUniform(seed, draw * n + i);
    const cut = keys.slice().sort()[size - 1];
    first.fill(0);
    for (let i = 0; i < n; i++)
      if (keys[i] <= cut) for (let j = 0; j < d; j++) first[j] += differences[i * d + j];
    let [xy, xx, yy] = [0, 0, 0];
    for (let j = 0; j < d; j++) {
      const [x, y] = [first[j] / size, (total[j] - first[j]) / (n - size)];
      [xy, xx, yy] = [xy + x * y, xx + x * x, yy + y * y];
    }
    cosines[draw] = xy / Math.sqrt(xx * yy);
  }
  const mean = cosines.reduce((s, c) => s + c, 0) / halves;
  cosines.sort();
  const at = (q: number) => cosines[Math.round(q * (halves - 1))];
  return { halves, seed, mean, ci: [at(0.025), at(0.975)] };
}

/**
 * W₂ splits of the held-out pairs (after the first round(fit·N)) as they are and after each method fitted
 * on the first pairs: what an isotropic fix (shift, realign) leaves of the shape term next to an
 * anisotropic one (realign-aniso).
 */
export async function shapeAfterAlignment(
  a: Matrix,
  b: Matrix,
  options: { fit?: number; methods?: string[] } = {},
): Promise<NonNullable<GapShape["afterAlignment"]>> {
  const { fit = 0.5, methods = SHAPE_METHODS } = options;
  const n = a.rows;
  const fitRows = fitRowCount(n, fit);
  const fitter = alignFitter(sliceRows(a, 0, fitRows), sliceRows(b, 0, fitRows), "shape fit");
  const [heldA, heldB] = [sliceRows(a, fitRows, n), sliceRows(b, fitRows, n)];
  const split = (x: Matrix, y: Matrix) =>
    w2Split(gaussianOf(unitRows(x, "shape A")), gaussianOf(unitRows(y, "shape B")));
  const out: Record<string, W2Split> = { none: await split(heldA, heldB) };
  for (const method of methods) {
    const state = await fitter(method);
    out[method] = await split(await applyAlign(state, heldA, "a"), await applyAlign(state, heldB, "b"));
  }
  return { fitRows, evalRows: n - fitRows, methods: out };
}

const FRAME_SCHEMA = z.object({
  kind: z.literal("gapkit.frame"),
  version: z.literal(1),
  dim: z.number().int().min(1),
  axes: z.array(z.array(z.number().finite())).min(1),
});

/** Reads a frame (`measure --save-frame`'s JSON): k unit, mutually orthogonal axes of length dim (1e-6). */
export function parseFrame(text: string, where: string): ShapeFrame {
  const parsed = FRAME_SCHEMA.safeParse(parseJson(text, where));
  if (!parsed.success)
    throw new InputError(
      where,
      'a frame {"kind": "gapkit.frame", "version": 1, "dim", "axes"}',
      parsed.error.issues[0].message,
    );
  const frame = parsed.data as ShapeFrame;
  for (const [r, u] of frame.axes.entries()) {
    check(u.length === frame.dim, where, `axes of length ${frame.dim}`, () => `${u.length} at axis ${r}`);
    for (let s = 0; s <= r; s++) {
      const dot = u.reduce((t, x, j) => t + x * frame.axes[s][j], 0);
      check(
        Math.abs(dot - (s === r ? 1 : 0)) <= 1e-6,
        where,
        "orthonormal axes",
        () => `axes ${s} and ${r} with product ${dot}`,
      );
    }
  }
  return frame;
}

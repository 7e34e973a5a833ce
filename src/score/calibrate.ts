import { check } from "../core/errors.js";

/**
 * A fitted map from a method's score to P(match), with its class prior explicit: it was fitted where
 * each query had one true match among `gallerySize` items, and calibrate() moves it to another size.
 */
export type Calibration =
  | { type: "platt"; a: number; b: number; gallerySize: number }
  | { type: "isotonic"; x: number[]; y: number[]; gallerySize: number };

/** The calibration kinds. */
export const CALIBRATIONS = ["isotonic", "platt"] as const;

/** Weighted (score, label) samples: every true pair, and non-matches weighted by 1 / their sampling rate. */
export interface LabelledScores {
  z: Float64Array;
  label: Uint8Array;
  weight: Float64Array;
}

function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

/** Platt scaling: P = σ(a·z + b) by weighted logistic regression (Newton steps with step halving). */
export function fitPlatt(data: LabelledScores, gallerySize: number): Calibration {
  const { z, label, weight } = data;
  const loss = (a: number, b: number) => {
    let l = 0;
    for (let i = 0; i < z.length; i++) {
      const t = a * z[i] + b;
      // log(1 + e^t) − y·t, stable for either sign of t
      l += weight[i] * (Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t))) - label[i] * t);
    }
    return l;
  };
  let [a, b] = [0, Math.log(1 / Math.max(gallerySize - 1, 1))];
  let current = loss(a, b);
  for (let iteration = 0; iteration < 100; iteration++) {
    let [ga, gb, haa, hab, hbb] = [0, 0, 0, 0, 0];
    for (let i = 0; i < z.length; i++) {
      const p = sigmoid(a * z[i] + b);
      const [r, h] = [weight[i] * (p - label[i]), weight[i] * p * (1 - p)];
      ga += r * z[i];
      gb += r;
      haa += h * z[i] * z[i];
      hab += h * z[i];
      hbb += h;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    let [da, db] = [(hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det];
    let next = loss(a - da, b - db);
    for (let halvings = 0; next > current && halvings < 30; halvings++) {
      [da, db] = [da / 2, db / 2];
      next = loss(a - da, b - db);
    }
    if (!(next <= current)) break;
    [a, b] = [a - da, b - db];
    const done = current - next <= 1e-12 * Math.abs(current);
    current = next;
    if (done) break;
  }
  return { type: "platt", a, b, gallerySize };
}

/**
 * Isotonic regression by pool-adjacent-violators: the non-decreasing step function of z closest to the
 * labels in weighted least squares; equal scores share one value. Stored as block ends (x) and values (y).
 */
export function fitIsotonic(data: LabelledScores, gallerySize: number): Calibration {
  const order = Array.from(data.z.keys()).sort((i, j) => data.z[i] - data.z[j]);
  const blocks: { lo: number; hi: number; sum: number; weight: number }[] = [];
  for (const i of order) {
    const [z, w] = [data.z[i], data.weight[i]];
    const last = blocks.at(-1);
    if (last && last.hi === z) {
      last.sum += w * data.label[i];
      last.weight += w;
    } else blocks.push({ lo: z, hi: z, sum: w * data.label[i], weight: w });
    // pool while the previous block's mean is not below the last one's: block values strictly increase
    while (blocks.length > 1) {
      const [prev, cur] = [blocks[blocks.length - 2], blocks[blocks.length - 1]];
      if (prev.sum / prev.weight < cur.sum / cur.weight) break;
      prev.hi = cur.hi;
      prev.sum += cur.sum;
      prev.weight += cur.weight;
      blocks.pop();
    }
  }
  const x: number[] = [];
  const y: number[] = [];
  for (const block of blocks) {
    x.push(block.lo, block.hi);
    y.push(block.sum / block.weight, block.sum / block.weight);
  }
  return { type: "isotonic", x, y, gallerySize };
}

/** Fits the calibration `type` to labelled scores. */
export function fitCalibration(
  type: Calibration["type"],
  data: LabelledScores,
  gallerySize: number,
): Calibration {
  check(data.z.length > 0, "calibration", "labelled scores", () => "none");
  return type === "platt" ? fitPlatt(data, gallerySize) : fitIsotonic(data, gallerySize);
}

// P under the fitted prior, before moving it to another gallery size
function rawProbability(c: Calibration, z: number): number {
  if (c.type === "platt") return sigmoid(c.a * z + c.b);
  const { x, y } = c;
  if (z <= x[0]) return y[0];
  if (z >= x[x.length - 1]) return y[y.length - 1];
  let [lo, hi] = [0, x.length - 1];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= z) lo = mid;
    else hi = mid;
  }
  // inside a block y is flat; between blocks it is interpolated linearly
  return x[hi] === x[lo] ? y[hi] : y[lo] + ((y[hi] - y[lo]) * (z - x[lo])) / (x[hi] - x[lo]);
}

/**
 * P(match) of score z for a gallery of `gallerySize` items: the fitted probability with its odds moved
 * from the fit's prior (1 in c.gallerySize) to this one (Bayes: posterior odds ∝ prior odds).
 */
export function calibrate(c: Calibration, z: number, gallerySize = c.gallerySize): number {
  const p = rawProbability(c, z);
  if (gallerySize === c.gallerySize || p <= 0 || p >= 1) return p;
  const odds = (p / (1 - p)) * ((c.gallerySize - 1) / (gallerySize - 1));
  return odds / (1 + odds);
}

/** A score threshold and what it achieves on the labelled scores it was chosen on. */
export interface Threshold {
  threshold: number;
  precision: number;
  recall: number;
}

/**
 * The threshold to call a pair a match: for a target recall, the highest threshold reaching it; for a
 * target precision, the lowest threshold (most recall) that keeps it. Null if no threshold reaches it.
 */
export function chooseThreshold(
  data: LabelledScores,
  target: { precision: number } | { recall: number },
): Threshold | null {
  const order = Array.from(data.z.keys()).sort((i, j) => data.z[j] - data.z[i]);
  let positives = 0;
  for (let i = 0; i < data.z.length; i++) positives += data.weight[i] * data.label[i];
  let [tp, fp] = [0, 0];
  let best: Threshold | null = null;
  for (let at = 0; at < order.length; at++) {
    const i = order[at];
    tp += data.weight[i] * data.label[i];
    fp += data.weight[i] * (1 - data.label[i]);
    // a threshold sits only below the last of equal scores
    if (at + 1 < order.length && data.z[order[at + 1]] === data.z[i]) continue;
    const point = { threshold: data.z[i], precision: tp / (tp + fp), recall: tp / positives };
    if ("recall" in target) {
      if (point.recall >= target.recall) return point;
    } else if (point.precision >= target.precision) best = point;
  }
  return best;
}

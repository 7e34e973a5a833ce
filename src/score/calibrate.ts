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

/**
 * Scores of true pairs and of non-matches, each sorted ascending; every non-match stands for
 * `negativeWeight` of them (1 / the rate they were sampled at).
 */
export interface LabelledScores {
  positives: Float64Array;
  negatives: Float64Array;
  negativeWeight: number;
}

/** Sorts the two classes' scores (in place) into LabelledScores. */
export function labelled(
  positives: Float64Array,
  negatives: Float64Array,
  negativeWeight = 1,
): LabelledScores {
  return { positives: positives.sort(), negatives: negatives.sort(), negativeWeight };
}

/**
 * The distinct scores in ascending order, each with the weight of true pairs and of non-matches at it:
 * one merge of the two sorted classes.
 */
function distinctScores(data: LabelledScores): { z: number; positive: number; negative: number }[] {
  const { positives: p, negatives: q, negativeWeight } = data;
  const out: { z: number; positive: number; negative: number }[] = [];
  for (let i = 0, j = 0; i < p.length || j < q.length; ) {
    const z = j >= q.length || (i < p.length && p[i] <= q[j]) ? p[i] : q[j];
    const last = out.at(-1);
    const entry = last && last.z === z ? last : { z, positive: 0, negative: 0 };
    if (entry !== last) out.push(entry);
    if (j >= q.length || (i < p.length && p[i] <= q[j])) {
      entry.positive++;
      i++;
    } else {
      entry.negative += negativeWeight;
      j++;
    }
  }
  return out;
}

function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

/** Platt scaling: P = σ(a·z + b) by weighted logistic regression (Newton steps with step halving). */
export function fitPlatt(data: LabelledScores, gallerySize: number): Calibration {
  const points = distinctScores(data);
  const loss = (a: number, b: number) => {
    let l = 0;
    for (const { z, positive, negative } of points) {
      const t = a * z + b;
      // −log σ(t) for a match, −log(1 − σ(t)) for a non-match, stable for either sign of t
      const softplus = Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t)));
      l += positive * (softplus - t) + negative * softplus;
    }
    return l;
  };
  let [a, b] = [0, Math.log(1 / Math.max(gallerySize - 1, 1))];
  let current = loss(a, b);
  for (let iteration = 0; iteration < 100; iteration++) {
    let [ga, gb, haa, hab, hbb] = [0, 0, 0, 0, 0];
    for (const { z, positive, negative } of points) {
      const p = sigmoid(a * z + b);
      const [r, h] = [(positive + negative) * p - positive, (positive + negative) * p * (1 - p)];
      ga += r * z;
      gb += r;
      haa += h * z * z;
      hab += h * z;
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
  const blocks: { lo: number; hi: number; sum: number; weight: number }[] = [];
  for (const { z, positive, negative } of distinctScores(data)) {
    blocks.push({ lo: z, hi: z, sum: positive, weight: positive + negative });
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
  check(data.positives.length > 0, "calibration", "scores of true pairs", () => "none");
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
  // inside a block y is flat; between blocks it is interpolated linearly — and clamped to the two ends,
  // since y[lo] + (y[hi] − y[lo])·1 can round one ulp past y[hi] (found with subnormal block widths)
  if (x[hi] === x[lo]) return y[hi];
  return Math.min(y[hi], y[lo] + ((y[hi] - y[lo]) * (z - x[lo])) / (x[hi] - x[lo]));
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
  const points = distinctScores(data);
  let [tp, fp] = [0, 0];
  let best: Threshold | null = null;
  // from the highest score down: each distinct score is a threshold keeping everything at or above it
  for (let at = points.length - 1; at >= 0; at--) {
    tp += points[at].positive;
    fp += points[at].negative;
    const point = { threshold: points[at].z, precision: tp / (tp + fp), recall: tp / data.positives.length };
    if ("recall" in target) {
      if (point.recall >= target.recall) return point;
    } else if (point.precision >= target.precision) best = point;
  }
  return best;
}

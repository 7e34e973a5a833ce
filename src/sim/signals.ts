/**
 * Seeded synthetic time series in classes: waveforms and ECG-like beat trains, each drawn with a random
 * rate, phase, amplitude, baseline wander, time jitter and noise — a 1-D modality far from images, with no
 * download.
 */
import { check } from "../core/errors.js";
import { type Matrix, matrix } from "../core/matrix.js";
import { createRng, type Rng } from "../core/rng.js";

/** The classes, in label order. */
export const SIGNAL_CLASSES = [
  "sine",
  "square",
  "sawtooth",
  "chirp",
  "damped bursts",
  "ECG, regular",
  "ECG, premature beats",
  "ECG, irregular (AF-like)",
] as const;

/** A Gaussian bump of height 1 at `centre`, width `width` (samples). */
const bump = (t: number, centre: number, width: number) => Math.exp(-0.5 * ((t - centre) / width) ** 2);

/** One heartbeat's PQRST shape at time t (samples) after the beat's onset; `wide`: a ventricular beat (no P, wide QRS). */
function beat(t: number, scale: number, wide: boolean): number {
  if (wide)
    return (
      -0.3 * bump(t, 4 * scale, 3 * scale) +
      1.2 * bump(t, 9 * scale, 3.5 * scale) -
      0.5 * bump(t, 22 * scale, 6 * scale)
    );
  return (
    0.15 * bump(t, 2 * scale, 2 * scale) -
    0.1 * bump(t, 7 * scale, 0.8 * scale) +
    1 * bump(t, 8.5 * scale, 0.9 * scale) -
    0.2 * bump(t, 10 * scale, 0.9 * scale) +
    0.3 * bump(t, 18 * scale, 3 * scale)
  );
}

/** The onsets (samples) of a beat train over `length` samples: mean interval `interval`, relative spread `spread`. */
function onsets(rng: Rng, length: number, interval: number, spread: number): number[] {
  const out: number[] = [];
  for (let t = -rng.uniform(0, interval); t < length; t += interval * (1 + spread * rng.uniform(-1, 1)))
    out.push(t);
  return out;
}

/** Sine, square or sawtooth waves (labels 0, 1, 2) of 3–8 cycles per window at a random phase. */
function periodic(label: number, length: number, rng: Rng): Float64Array {
  const frequency = (2 * Math.PI * rng.uniform(3, 8)) / length;
  const phase = rng.uniform(0, 2 * Math.PI);
  return Float64Array.from({ length }, (_, t) => {
    const angle = frequency * t + phase;
    if (label === 0) return Math.sin(angle);
    if (label === 1) return Math.sin(angle) >= 0 ? 1 : -1;
    return 2 * ((angle / (2 * Math.PI)) % 1) - 1;
  });
}

/** A linear chirp: frequency from f0 to f1 cycles per window, sweeping up or down at random. */
function chirp(length: number, rng: Rng): Float64Array {
  const [low, high] = [rng.uniform(2, 4), rng.uniform(9, 14)];
  const [f0, f1] = rng.uniform() < 0.5 ? [low, high] : [high, low];
  const phase = rng.uniform(0, 2 * Math.PI);
  return Float64Array.from({ length }, (_, t) => {
    const u = t / length;
    return Math.sin(phase + 2 * Math.PI * (f0 * u + 0.5 * (f1 - f0) * u * u));
  });
}

/** Two to four decaying oscillations, each starting at a random time. */
function dampedBursts(length: number, rng: Rng): Float64Array {
  const out = new Float64Array(length);
  for (const start of onsets(rng, length, length / rng.uniform(2, 4), 0.3))
    for (let t = Math.max(0, Math.ceil(start)); t < length; t++)
      out[t] += Math.exp(-(t - start) / 12) * Math.sin(0.8 * (t - start));
  return out;
}

/**
 * An ECG-like beat train: regular (label 5), with one early ventricular beat (6), or with irregular
 * intervals (7, atrial-fibrillation-like), at 28–45 samples per beat.
 */
function heartbeats(label: number, length: number, rng: Rng): Float64Array {
  const out = new Float64Array(length);
  const scale = rng.uniform(0.8, 1.2);
  const interval = rng.uniform(28, 45);
  const starts = onsets(rng, length, interval, label === 7 ? 0.45 : 0.04);
  const premature = label === 6 ? 1 + rng.int(Math.max(1, starts.length - 2)) : -1;
  starts.forEach((start, k) => {
    const onset = k === premature ? start - 0.35 * interval : start;
    for (let t = Math.max(0, Math.ceil(onset)); t < Math.min(length, onset + 40 * scale); t++)
      out[t] += beat(t - onset, scale, k === premature);
  });
  return out;
}

/** The clean shape of class `label`, drawn from `rng`. */
function shape(label: number, length: number, rng: Rng): Float64Array {
  if (label <= 2) return periodic(label, length, rng);
  if (label === 3) return chirp(length, rng);
  if (label === 4) return dampedBursts(length, rng);
  return heartbeats(label, length, rng);
}

/** Labelled rows: n×length values and a label per row. */
export interface LabelledSeries {
  rows: Matrix;
  labels: Int32Array;
}

/**
 * `perClass` series of `length` samples for each class of SIGNAL_CLASSES (rows in a seeded random order):
 * the class's shape at a random amplitude (0.5–1.5), plus a slow baseline wander, a shift of up to a
 * tenth of the window, and Gaussian noise of σ 0.1–0.3.
 */
export function syntheticSignals(perClass: number, length: number, seed: number): LabelledSeries {
  check(Number.isInteger(perClass) && perClass >= 1, "syntheticSignals", "a positive count per class", () =>
    String(perClass),
  );
  check(Number.isInteger(length) && length >= 64, "syntheticSignals", "at least 64 samples", () =>
    String(length),
  );
  const rng = createRng(seed);
  const classes = SIGNAL_CLASSES.length;
  const order = rng.permutation(classes * perClass);
  const rows = matrix(classes * perClass, length);
  const labels = new Int32Array(classes * perClass);
  for (let k = 0; k < order.length; k++) {
    const label = order[k] % classes;
    const clean = shape(label, length, rng);
    const amplitude = rng.uniform(0.5, 1.5);
    const shift = rng.int(Math.floor(length / 10) + 1);
    const [wander, wanderPhase] = [rng.uniform(0, 0.3), rng.uniform(0, 2 * Math.PI)];
    const noise = rng.uniform(0.1, 0.3);
    const row = rows.data.subarray(k * length, (k + 1) * length);
    for (let t = 0; t < length; t++) {
      const from = clean[(t + shift) % length];
      row[t] =
        amplitude * from + wander * Math.sin((2 * Math.PI * t) / length + wanderPhase) + noise * rng.normal();
    }
    labels[k] = label;
  }
  return { rows, labels };
}

import { describe, expect, it } from "vitest";
import { SIGNAL_CLASSES, syntheticSignals } from "../../src/sim/signals.js";

describe("synthetic time series", () => {
  it("gives each class its count, in a seeded order, deterministically", () => {
    const a = syntheticSignals(5, 128, 3);
    expect(a.rows.rows).toBe(5 * SIGNAL_CLASSES.length);
    expect(a.rows.cols).toBe(128);
    for (let c = 0; c < SIGNAL_CLASSES.length; c++) expect(a.labels.filter((l) => l === c).length).toBe(5);
    expect(a.rows.data.every(Number.isFinite)).toBe(true);
    const again = syntheticSignals(5, 128, 3);
    expect(again.rows.data).toEqual(a.rows.data);
    expect(again.labels).toEqual(a.labels);
    expect(syntheticSignals(5, 128, 4).rows.data).not.toEqual(a.rows.data);
  });

  it("draws shapes that tell the classes apart: a nearest-centroid rule beats chance by far", () => {
    // the classes' magnitude spectra (shift-invariant) — a square wave's harmonics, a beat train's spikes
    const spectrum = (row: Float32Array) =>
      Array.from({ length: 32 }, (_, f) => {
        let [re, im] = [0, 0];
        row.forEach((v, t) => {
          re += v * Math.cos((2 * Math.PI * f * t) / row.length);
          im += v * Math.sin((2 * Math.PI * f * t) / row.length);
        });
        return Math.hypot(re, im) / row.length;
      });
    const features = (set: ReturnType<typeof syntheticSignals>) =>
      Array.from({ length: set.rows.rows }, (_, i) =>
        spectrum(set.rows.data.subarray(i * 256, (i + 1) * 256)),
      );
    const train = syntheticSignals(30, 256, 1);
    const test = syntheticSignals(20, 256, 2);
    const trainFeatures = features(train);
    const centroids = SIGNAL_CLASSES.map((_, c) => {
      const rows = trainFeatures.filter((_, i) => train.labels[i] === c);
      return rows[0].map((_, f) => rows.reduce((s, r) => s + r[f], 0) / rows.length);
    });
    const right = features(test).filter((row, i) => {
      const distances = centroids.map((m) => m.reduce((s, v, f) => s + (v - row[f]) ** 2, 0));
      return distances.indexOf(Math.min(...distances)) === test.labels[i];
    }).length;
    expect(right / test.labels.length).toBeGreaterThan(0.5); // chance: 1/8
  });
});

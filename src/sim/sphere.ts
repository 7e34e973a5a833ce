import { check } from "../core/errors.js";
import { argmin, type Matrix, matrix, normalizeRows } from "../core/matrix.js";
import { gapL2M } from "../gap/metrics.js";
import { clipLoss, clipValue } from "../losses/clip.js";
import type { Experiment } from "./experiment.js";

/** A unit vector at azimuth u and polar angle v (degrees; v = 90 is the equator). */
function onSphere(azimuth: number, polar: number): number[] {
  const [u, v] = [(azimuth * Math.PI) / 180, (polar * Math.PI) / 180];
  return [Math.cos(u) * Math.sin(v), Math.sin(u) * Math.sin(v), Math.cos(v)];
}

const AZIMUTHS = [-20, 0, 20, 40, 60, 80];

const SCALES = { kind: "numbers", min: 1e-4, max: 1e4, maxCount: 100, doc: "logit scales 1/τ" } as const;

/**
 * Symmetric CLIP loss of float64 points, row i of `a` matched to row labels[i] of `b` (b is reordered so
 * the partner sits on the diagonal; for a swap, which is its own inverse, rows and columns agree).
 */
export function labelledClipLoss(
  a: number[][],
  b: number[][],
  scale: number,
  labels: ArrayLike<number>,
): number {
  const n = a.length;
  const sims = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) sims[i * n + j] = a[i].reduce((s, v, k) => s + v * b[labels[j]][k], 0);
  return clipValue(sims, n, scale);
}

function toMatrix(points: number[][]): Matrix {
  return matrix(points.length, points[0].length, Float32Array.from(points.flat()));
}

function parseSwap(swap: number[]): Int32Array {
  const labels = Int32Array.from(AZIMUTHS.keys());
  if (!swap.length) return labels;
  check(
    swap.length === 2 && swap.every((i) => Number.isInteger(i) && i >= 0 && i < 6),
    "--swap",
    "two indices in 0..5",
    () => swap.join(","),
  );
  [labels[swap[0]], labels[swap[1]]] = [labels[swap[1]], labels[swap[0]]];
  return labels;
}

/** Mind the Gap Fig. 3 (3-D): CLIP loss as text points move off the image equator, and gradient descent from a gap. */
export const sphere: Experiment = {
  name: "sphere",
  summary:
    "six image/text pairs on S²: CLIP loss vs the text points' elevation, and whether training keeps a gap",
  reproduces: "Mind the Gap, Fig. 3 (3-D simulation)",
  params: {
    scales: { ...SCALES, default: [1, 5, 35, 50, 100] },
    swap: {
      kind: "numbers",
      default: [],
      min: 0,
      max: 5,
      maxCount: 2,
      integer: true,
      allowEmpty: true,
      doc: "two pair indices to mismatch, e.g. 0,1",
    },
    steps: {
      kind: "integer",
      default: 200,
      min: 0,
      max: 100_000,
      doc: "gradient-descent steps of the training variant",
    },
    lr: { kind: "number", default: 0.05, min: 0, max: 100, doc: "learning rate of the training variant" },
    initialTheta: {
      kind: "number",
      default: 30,
      min: -180,
      max: 180,
      doc: "initial elevation gap (degrees) of the training variant",
    },
  },
  async run(p, onProgress) {
    const scales = p.scales as number[];
    const labels = parseSwap(p.swap as number[]);
    const images = AZIMUTHS.map((u) => onSphere(u, 90));
    const texts = (theta: number) => AZIMUTHS.map((u) => onSphere(u, 90 + theta));
    const thetas = Array.from({ length: 181 }, (_, i) => i - 90);
    const curves = scales.map((scale) => ({
      scale,
      points: thetas.map((theta) => {
        const t = texts(theta);
        return {
          theta,
          centroidDistance: Math.sign(theta) * gapL2M(toMatrix(images), toMatrix(t)),
          loss: labelledClipLoss(images, t, scale, labels),
        };
      }),
    }));
    // training variant: free unit vectors, initially θ apart, moved by plain gradient steps on the CLIP loss
    const training = scales.map((scale, k) => {
      let [a, b] = [toMatrix(images), toMatrix(texts(p.initialTheta as number))];
      const gap: { step: number; centroidDistance: number; loss: number }[] = [];
      for (let step = 0; step <= (p.steps as number); step++) {
        const r = clipLoss(a, b, { logScale: Math.log(scale) });
        if (step % 10 === 0 || step === p.steps)
          gap.push({ step, centroidDistance: gapL2M(a, b), loss: r.value });
        const lr = p.lr as number;
        a = normalizeRows(
          matrix(
            6,
            3,
            a.data.map((v, i) => v - lr * r.gradA.data[i]),
          ),
        );
        b = normalizeRows(
          matrix(
            6,
            3,
            b.data.map((v, i) => v - lr * r.gradB.data[i]),
          ),
        );
      }
      onProgress?.(k + 1, scales.length);
      return { scale, gap };
    });
    return { labels: Array.from(labels), curves, training };
  },
};

/** Nine points on each of two circles at heights z and −z (eight at 45° steps, one at 1.53π), paired by index. */
export function mismatchPoints(z: number): { a: number[][]; b: number[][] } {
  const r = Math.sqrt(1 - z * z);
  const h = Math.sqrt((1 - z * z) / 2);
  const t = 0.03 * Math.PI + 1.5 * Math.PI;
  const ring = (s: number) =>
    [
      [r, 0],
      [-r, 0],
      [0, r],
      [0, -r],
      [h, h],
      [-h, h],
      [h, -h],
      [-h, -h],
      [Math.cos(t) * r, Math.sin(t) * r],
    ].map(([x, y]) => [x, y, s]);
  return { a: ring(z), b: ring(-z) };
}

/** Mind the Gap appendix: with mismatched labels and low temperature, the loss is minimised with a gap. */
export const mismatch: Experiment = {
  name: "mismatch",
  summary: "two 9-point circles at ±z: CLIP loss vs z, with and without two swapped labels",
  reproduces: "Mind the Gap, appendix simulation (mismatched pairs)",
  params: {
    scales: { ...SCALES, default: [1, 5, 10, 50, 100, 500, 1000] },
    points: { kind: "integer", default: 100, min: 2, max: 100_000, doc: "z values in linspace(−1, 1)" },
  },
  async run(p, onProgress) {
    const count = p.points as number;
    const zs = Array.from({ length: count }, (_, i) => -1 + (2 * i) / (count - 1));
    const total = 2 * (p.scales as number[]).length;
    let done = 0;
    const runs = [false, true].flatMap((swapped) => {
      const labels = Int32Array.from({ length: 9 }, (_, i) => i);
      if (swapped) [labels[3], labels[8]] = [labels[8], labels[3]];
      return (p.scales as number[]).map((scale) => {
        const loss = zs.map((z) => {
          const { a, b } = mismatchPoints(z);
          return labelledClipLoss(a, b, scale, labels);
        });
        const best = argmin(loss);
        onProgress?.(++done, total);
        return { swapped, scale, z: zs, loss, minLoss: loss[best], argminZ: zs[best] };
      });
    });
    return { runs };
  },
};

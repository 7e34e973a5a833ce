import { check } from "../core/errors.js";
import { type Matrix, matrix } from "../core/matrix.js";

/** Chooses (anchor, positive, negative) index triplets from a labelled batch. */
export type TripletMiner = "all" | "batch-hard" | "semi-hard";

function distances(z: Matrix): Float64Array {
  const n = z.rows;
  const d = z.cols;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (z.data[i * d + k] - z.data[j * d + k]) ** 2;
      out[i * n + j] = out[j * n + i] = Math.sqrt(s);
    }
  return out;
}

/**
 * Triplets of a labelled batch by miner: `all` valid triplets; `batch-hard` (Hermans et al. 2017) the
 * farthest positive and nearest negative per anchor; `semi-hard` (Schroff et al. 2015, FaceNet) per
 * anchor-positive pair the nearest negative farther than the positive but within the margin (none: skipped).
 */
export function mineTriplets(
  z: Matrix,
  labels: ArrayLike<number>,
  miner: TripletMiner,
  margin: number,
): [number, number, number][] {
  const n = z.rows;
  const dist = distances(z);
  const out: [number, number, number][] = [];
  for (let a = 0; a < n; a++) {
    const positives: number[] = [];
    const negatives: number[] = [];
    for (let j = 0; j < n; j++) if (j !== a) (labels[j] === labels[a] ? positives : negatives).push(j);
    if (!positives.length || !negatives.length) continue;
    const d = (j: number) => dist[a * n + j];
    if (miner === "batch-hard") {
      const p = positives.reduce((best, j) => (d(j) > d(best) ? j : best));
      const q = negatives.reduce((best, j) => (d(j) < d(best) ? j : best));
      out.push([a, p, q]);
      continue;
    }
    for (const p of positives) {
      if (miner === "all") for (const q of negatives) out.push([a, p, q]);
      else {
        const semi = negatives.filter((q) => d(q) > d(p) && d(q) < d(p) + margin);
        if (semi.length) out.push([a, p, semi.reduce((best, j) => (d(j) < d(best) ? j : best))]);
      }
    }
  }
  return out;
}

/**
 * Triplet margin loss on a labelled batch: mean over mined triplets of max(0, ‖z_a − z_p‖ − ‖z_a − z_n‖ + margin)
 * (Euclidean distances). Returns the loss, ∂/∂z and the triplets used. No triplet: loss 0, gradient 0.
 */
export function tripletLoss(
  z: Matrix,
  labels: ArrayLike<number>,
  options: { margin?: number; miner?: TripletMiner } = {},
): { value: number; grad: Matrix; triplets: [number, number, number][] } {
  const { margin = 0.2, miner = "all" } = options;
  check(labels.length === z.rows, "tripletLoss labels", `one label per row (${z.rows})`, () =>
    String(labels.length),
  );
  check(margin >= 0 && Number.isFinite(margin), "tripletLoss margin", "a finite number ≥ 0", () =>
    String(margin),
  );
  const triplets = mineTriplets(z, labels, miner, margin);
  const d = z.cols;
  const grad = matrix(z.rows, d);
  if (!triplets.length) return { value: 0, grad, triplets };
  const gradF64 = new Float64Array(z.rows * d);
  const diff = (i: number, j: number) => {
    const v = new Float64Array(d);
    let s = 0;
    for (let k = 0; k < d; k++) {
      v[k] = z.data[i * d + k] - z.data[j * d + k];
      s += v[k] * v[k];
    }
    return { v, norm: Math.sqrt(s) };
  };
  let total = 0;
  for (const [a, p, q] of triplets) {
    const ap = diff(a, p);
    const an = diff(a, q);
    const hinge = ap.norm - an.norm + margin;
    if (hinge <= 0) continue;
    total += hinge;
    // ∂‖u‖/∂u = u/‖u‖ (taken as 0 at u = 0, a subgradient)
    for (let k = 0; k < d; k++) {
      const gp = ap.norm > 0 ? ap.v[k] / ap.norm : 0;
      const gn = an.norm > 0 ? an.v[k] / an.norm : 0;
      gradF64[a * d + k] += gp - gn;
      gradF64[p * d + k] -= gp;
      gradF64[q * d + k] += gn;
    }
  }
  for (let k = 0; k < gradF64.length; k++) grad.data[k] = gradF64[k] / triplets.length;
  return { value: total / triplets.length, grad, triplets };
}

import type { MeasureResult } from "../gap/measure.js";

/** A two-line plain-language reading of a measure result; `cause` ends the second line. */
export function readMeasure(r: MeasureResult, what: string, cause: string): string[] {
  const pct = (x: number, digits = 0) => `${(100 * x).toFixed(digits)}%`;
  return [
    `${what}: each modality sits in its own narrow cone (mean cosine ${r.cone.a.toFixed(2)} within A, ${r.cone.b.toFixed(2)} within B) ` +
      `while true pairs reach only ${r.pairedCos.toFixed(2)}; the centroids are ${r.gap.l2m.toFixed(2)} apart, and ` +
      `${pct(r.spectrum.gapVarianceFraction)} of all variance lies along that one gap direction.`,
    `The true partner is retrieved first for ${pct(r.retrieval.aToB.r1, 1)} of A queries (chance ${pct(1 / r.n, 2)}); ${cause}`,
  ];
}

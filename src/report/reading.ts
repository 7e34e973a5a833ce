import type { MeasureResult } from "../gap/measure.js";
import type { TrainingRun } from "./build.js";
import type { ModalityNames } from "./specs.js";

/** Mean within-modality cosine from which a modality is read as a narrow cone (random directions give ≈ 0). */
export const NARROW_CONE = 0.3;

/** How big a centroid distance ‖mean A − mean B‖ (of unit rows, at most 2) reads. */
function gapSize(l2m: number): "small" | "moderate" | "large" {
  return l2m < 0.2 ? "small" : l2m < 0.5 ? "moderate" : "large";
}

const c2 = (x: number) => x.toFixed(2);

/** Where each modality sits: both in narrow cones, neither, or one of them (with the mean cosines). */
function cones(r: MeasureResult, names: ModalityNames): string {
  const [a, b] = [r.cone.a >= NARROW_CONE, r.cone.b >= NARROW_CONE];
  const within = `mean cosine ${c2(r.cone.a)} within ${names.a}, ${c2(r.cone.b)} within ${names.b}`;
  if (a && b) return `${names.a} and ${names.b} each sit in their own narrow cone (${within})`;
  if (!a && !b) return `neither ${names.a} nor ${names.b} is confined to a narrow cone (${within})`;
  const [narrow, wide] = a ? [names.a, names.b] : [names.b, names.a];
  return `rows of ${narrow} sit in a narrow cone while rows of ${wide} spread wide (${within})`;
}

/** Where the true pairs' mean cosine lies against the within-modality ones: below both, above both, between. */
function pairsAgainstCones(r: MeasureResult): "below" | "above" | "between" {
  const p = r.pairedCos;
  return p < Math.min(r.cone.a, r.cone.b) ? "below" : p > Math.max(r.cone.a, r.cone.b) ? "above" : "between";
}

/** R@1 as a fraction with three decimals. */
export const r1Text = (x: number) => x.toFixed(3);

/** A plain-language reading of a measure result, each sentence chosen from its values. */
export function readMeasure(r: MeasureResult, what: string, names: ModalityNames): string[] {
  const pairs = {
    below: `true pairs reach only ${c2(r.pairedCos)}, below two rows of one modality`,
    above: `true pairs score higher (mean cosine ${c2(r.pairedCos)}) than rows within either modality`,
    between: `true pairs (mean cosine ${c2(r.pairedCos)}) score between the two modalities' own cosines`,
  }[pairsAgainstCones(r)];
  const size = gapSize(r.gap.l2m);
  const hit = r.groups
    ? "an item of the query's group ranked first"
    : `the true partner ranked first; chance 1/${r.n}`;
  return [
    `${what}: ${cones(r, names)}, and ${pairs}. The centroids are ${c2(r.gap.l2m)} apart, ${size === "large" ? "a large modality gap" : `a ${size} gap`}, and the gap direction carries ${(100 * r.spectrum.gapVarianceFraction).toFixed(0)}% of all variance.`,
    `R@1 ${names.a}→${names.b} is ${r1Text(r.retrieval.aToB.r1)} (${hit}), ${names.b}→${names.a} ${r1Text(r.retrieval.bToA.r1)}.`,
  ];
}

/** The reading of a 2-D projection: whether the two clouds sit apart, from the gap's size. */
export function readProjection(r: MeasureResult): string {
  const d = c2(r.gap.l2m);
  return {
    large: `The clouds sit apart: that distance (${d} between centroids) is the modality gap.`,
    moderate: `The clouds overlap in part: their centroids are ${d} apart, a moderate gap.`,
    small: `The clouds overlap: the gap is small here (${d} between centroids).`,
  }[gapSize(r.gap.l2m)];
}

/** The reading of the cosine histograms: true pairs against rows within each modality, cones named only where narrow. */
export function readCosines(r: MeasureResult, names: ModalityNames): string {
  const narrow = Math.max(r.cone.a, r.cone.b) >= NARROW_CONE;
  const means = `True pairs average ${c2(r.pairedCos)}; two rows within ${names.a} ${c2(r.cone.a)}, within ${names.b} ${c2(r.cone.b)}`;
  return {
    below: `${means}: even true pairs score lower than unrelated rows of one modality${narrow ? " — the cone effect" : ""}.`,
    above: `${means}: true pairs score higher than rows within either modality${narrow ? "" : "; no narrow cones here"}.`,
    between: `${means}: true pairs score between the two modalities' own cosines.`,
  }[pairsAgainstCones(r)];
}

/** "falls from x to y", "rises from x to y" or "stays at x", at `digits` decimals. */
function moves(from: number, to: number, digits: number): string {
  const [x, y] = [from.toFixed(digits), to.toFixed(digits)];
  return x === y ? `stays at ${x}` : `${to < from ? "falls" : "rises"} from ${x} to ${y}`;
}

/** The reading of a training run: the towers' cones, gap and zero-shot accuracy before and after. */
export function readTraining(run: TrainingRun, names: ModalityNames): string {
  const { untrained, trained, zeroShot } = run;
  const gap = (r: MeasureResult) => `centroids ${c2(r.gap.l2m)} apart (${gapSize(r.gap.l2m)} gap)`;
  return (
    `Before training, ${cones(untrained, names)}, ${gap(untrained)}; after ${run.epochs.length} epochs, ` +
    `${cones(trained, names)}, ${gap(trained)}. Held-out zero-shot accuracy ${moves(zeroShot.untrained, zeroShot.trained, 3)} (chance ${zeroShot.chance.toFixed(3)}).`
  );
}

/** The reading of the per-epoch curves: where loss, τ, the held-out gap and zero-shot accuracy went. */
export function readCurves(epochs: TrainingRun["epochs"]): string {
  const [first, last] = [epochs[0], epochs.at(-1)!];
  return (
    `Over ${epochs.length} epochs the training loss ${moves(first.loss, last.loss, 2)} and τ ${moves(first.temperature, last.temperature, 3)}; ` +
    `on the held-out pairs the gap ${moves(first.gap, last.gap, 2)} and zero-shot accuracy ${moves(first.zeroShot, last.zeroShot, 3)}.`
  );
}

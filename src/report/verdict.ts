/** One-sentence verdicts on held-out evaluations: the best method, and whether its CI separates it from the baseline. */
import type { HeldOutResult } from "../align/evaluate.js";
import { alignMethod } from "../align/index.js";
import type { ScoreEvaluation } from "../score/evaluate.js";
import { r1Text } from "./reading.js";
import type { ModalityNames } from "./specs.js";

/** An R@1 and its 95% interval. */
type Interval = { r1: number; lo: number; hi: number };

const ci = (x: Interval) => `95% CI ${r1Text(x.lo)}–${r1Text(x.hi)}`;

/**
 * The verdict's main clause: the best method's R@1 against the baseline's, and whether their intervals
 * overlap; or that nothing beats the baseline.
 */
function compare(
  evalRows: number,
  what: string,
  best: [string, Interval] | undefined,
  baseline: [string, Interval],
): string {
  const [baseName, base] = baseline;
  if (!best || best[1].r1 <= base.r1)
    return `Verdict: on the ${evalRows} held-out pairs nothing beats ${baseName} (${what} ${r1Text(base.r1)}, ${ci(base)})${best ? `; the best method, ${best[0]}, reaches ${r1Text(best[1].r1)}` : ""}`;
  const [name, m] = best;
  const separated = m.lo > base.hi;
  return (
    `Verdict: on the ${evalRows} held-out pairs ${name} has the best ${what}, ${r1Text(m.r1)} (${ci(m)}) against ${r1Text(base.r1)} for ${baseName} (${ci(base)}); ` +
    (separated
      ? `the intervals do not overlap: the CI separates ${name} from ${baseName}`
      : `the intervals overlap, so the CI does not separate ${name} from ${baseName}`)
  );
}

/** The alignment verdict: the best transform by held-out R@1 a→b against the untouched embeddings, and whether the fit set is smaller than the dimension. */
export function alignVerdict(r: HeldOutResult, names: ModalityNames): string {
  const interval = (m: HeldOutResult["baseline"]): Interval => {
    const { r1, r1CI } = m.retrieval.aToB;
    return { r1, lo: r1CI?.[0] ?? r1, hi: r1CI?.[1] ?? r1 };
  };
  const ranked = Object.entries(r.methods).sort((x, y) => y[1].retrieval.aToB.r1 - x[1].retrieval.aToB.r1);
  const best = ranked[0] && ([ranked[0][0], interval(ranked[0][1])] as [string, Interval]);
  const base = interval(r.baseline);
  const sentence = compare(r.evalRows, `${names.a}→${names.b} R@1`, best, ["the untouched embeddings", base]);
  const dim = r.baseline.dim;
  if (r.fitRows >= dim) return `${sentence}.`;
  const limited = Object.keys(r.methods).filter((kind) =>
    alignMethod(kind).underdetermined?.(r.fitRows, dim),
  );
  const overfit = limited.filter((kind) => r.methods[kind].retrieval.aToB.r1 < base.r1);
  return `${sentence}; the fit set (${r.fitRows} pairs) is smaller than the dimension (${dim})${
    overfit.length
      ? `, so ${list(overfit)} overfit: held-out R@1 below the baseline's`
      : limited.length
        ? `, which leaves ${list(limited)} underdetermined`
        : ""
  }.`;
}

/** "x", "x and y", "x, y and z". */
function list(items: string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** The scoring verdict: the best method by held-out R@1 a→b against raw cosine, with their bootstrap 95% intervals. */
export function scoreVerdict(r: ScoreEvaluation, names: ModalityNames): string {
  const what = `${names.a}→${names.b} R@1`;
  const interval = (method: keyof ScoreEvaluation["methods"]): Interval => {
    const { r1, r1CI } = r.methods[method]!.aToB;
    return { r1, lo: r1CI[0], hi: r1CI[1] };
  };
  if (!r.methods.raw)
    return `Verdict: on the ${r.evalRows} held-out pairs ${r.best.method} has the best ${what}, ${r1Text(r.best.r1)} (${ci(interval(r.best.method))}); raw cosine was not evaluated to compare with.`;
  const others = (Object.keys(r.methods) as (keyof ScoreEvaluation["methods"])[]).filter((m) => m !== "raw");
  const best = others.sort((x, y) => r.methods[y]!.aToB.r1 - r.methods[x]!.aToB.r1)[0];
  return `${compare(r.evalRows, what, best && [best, interval(best)], ["raw cosine", interval("raw")])}.`;
}

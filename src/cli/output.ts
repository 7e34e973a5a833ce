import type { StatsSummary } from "../gap/stats.js";
import { DEFAULT_NAMES, type ModalityNames } from "../report/specs.js";

/** Prints `result` as JSON (`--json`) or as the human-readable text `render` builds, on stdout. */
export function printResult<T>(result: T, json: boolean | undefined, render: (r: T) => string): void {
  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${render(result)}\n`);
}

const f = (x: number, digits = 4) => x.toFixed(digits);

type Row = [label: string, value: string];

/** Table rows of the exact, non-pairwise numbers: the head rows, then the spectrum rows (if any); modalities named `names`. */
export function summaryRows(
  s: StatsSummary,
  { a, b }: ModalityNames = DEFAULT_NAMES,
): { head: Row[]; spectrum: Row[] } {
  const head: Row[] = [
    ["pairs (N) × dim", `${s.n} × ${s.dim}`],
    [`gap L2M ‖mean ${a} − mean ${b}‖`, f(s.gap.l2m)],
    ["relative modality gap", f(s.gap.rmg)],
    [`cone cosine ${a} / ${b}`, `${f(s.cone.a)} / ${f(s.cone.b)}`],
    ["mean paired cosine", f(s.pairedCos)],
    ["alignment ‖a − b‖²", f(s.alignment)],
  ];
  if (!s.spectrum) return { head, spectrum: [] };
  const { effectiveRank: r, gapVarianceFraction } = s.spectrum;
  return {
    head,
    spectrum: [
      [`effective rank ${a} / ${b} / joint`, `${f(r.a, 1)} / ${f(r.b, 1)} / ${f(r.joint, 1)}`],
      ["variance along the gap", f(gapVarianceFraction)],
    ],
  };
}

/** The one line that ends a command whose result is a file: what it wrote and where (stderr: "-" is stdout). */
export function reportWritten(path: string, what: string): void {
  process.stderr.write(`wrote ${path === "-" ? "stdout" : path}: ${what}\n`);
}

import type { Command } from "commander";
import { InputError } from "../../core/errors.js";
import { type Matrix, sliceRows } from "../../core/matrix.js";
import { type MeasureResult, measure } from "../../gap/measure.js";
import { readMatrixFile, readPairFile } from "../../io/files.js";
import { initBackends } from "../../node.js";
import { backendOption, parseRowRange } from "../options.js";
import { printResult } from "../output.js";
import { stderrProgress } from "../progress.js";

interface MeasureFlags {
  a?: string;
  b?: string;
  rows?: string;
  vectors?: boolean;
  json?: boolean;
  backend?: string;
}

/** Paired embeddings and the names errors should use for them. */
export interface LoadedPair {
  a: Matrix;
  b: Matrix;
  names: { a: string; b: string };
}

/** Loads the pair named by `gapkit measure FILE` or `--a A --b B`, restricted to `--rows`. */
export async function loadPair(file: string | undefined, flags: MeasureFlags): Promise<LoadedPair> {
  if (file && (flags.a || flags.b))
    throw new InputError("measure", "either FILE or --a/--b, not both", `${file} and --a/--b`);
  let pair: LoadedPair;
  if (file) pair = { ...(await readPairFile(file)), names: { a: `${file}[0]`, b: `${file}[1]` } };
  else if (flags.a && flags.b)
    pair = {
      a: await readMatrixFile(flags.a),
      b: await readMatrixFile(flags.b),
      names: { a: flags.a, b: flags.b },
    };
  else
    throw new InputError(
      "measure",
      "FILE.npy of shape (2, N, d), or both --a A.npy and --b B.npy",
      "neither",
    );
  if (!flags.rows) return pair;
  const [start, end] = parseRowRange(flags.rows, pair.a.rows);
  return { ...pair, a: sliceRows(pair.a, start, end), b: sliceRows(pair.b, start, end) };
}

const f = (x: number, digits = 4) => x.toFixed(digits);

/** The measure result as an aligned two-column table. */
export function formatMeasure(r: MeasureResult): string {
  const { aToB, bToA } = r.retrieval;
  const rows: [string, string][] = [
    ["pairs (N) × dim", `${r.n} × ${r.dim}`],
    ["gap L2M ‖mean A − mean B‖", f(r.gap.l2m)],
    ["relative modality gap", f(r.gap.rmg)],
    ["cone cosine A / B", `${f(r.cone.a)} / ${f(r.cone.b)}`],
    ["mean paired cosine", f(r.pairedCos)],
    ["alignment ‖a − b‖²", f(r.alignment)],
    ["uniformity A / B", `${f(r.uniformity.a)} / ${f(r.uniformity.b)}`],
    [
      "A→B R@1 / R@5 / R@10",
      `${f(aToB.r1, 3)} / ${f(aToB.r5, 3)} / ${f(aToB.r10, 3)}  (mean rank ${f(aToB.meanRank, 1)})`,
    ],
    [
      "B→A R@1 / R@5 / R@10",
      `${f(bToA.r1, 3)} / ${f(bToA.r5, 3)} / ${f(bToA.r10, 3)}  (mean rank ${f(bToA.meanRank, 1)})`,
    ],
    [
      "effective rank A / B / joint",
      `${f(r.spectrum.effectiveRank.a, 1)} / ${f(r.spectrum.effectiveRank.b, 1)} / ${f(r.spectrum.effectiveRank.joint, 1)}`,
    ],
    ["variance along the gap", f(r.spectrum.gapVarianceFraction)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** `gapkit measure`: the modality gap, geometry, retrieval and spectrum of a paired embedding set. */
export function registerMeasure(program: Command): void {
  backendOption(
    program
      .command("measure")
      .description(
        "measure the modality gap, cones, alignment/uniformity, retrieval and spectrum of paired embeddings",
      )
      .argument("[file]", ".npy/.npz of shape (2, N, d): row 0 modality A, row 1 modality B, paired by index")
      .option("--a <file>", "modality A as (N, d) .npy/.npz (with --b)")
      .option("--b <file>", "modality B as (N, d) .npy/.npz (with --a)")
      .option("--rows <start:end>", "use only rows START..END-1 of both modalities")
      .option("--vectors", "include the gap vector mean(A) − mean(B) in --json output")
      .option("--json", "print JSON"),
  ).action(async (file: string | undefined, flags: MeasureFlags) => {
    await initBackends(flags.backend);
    const { a, b, names } = await loadPair(file, flags);
    const result = await measure(a, b, {
      names,
      vectors: flags.vectors,
      onProgress: stderrProgress("measure"),
    });
    printResult(result, flags.json, formatMeasure);
  });
}

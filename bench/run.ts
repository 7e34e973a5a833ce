/**
 * `npm run bench`: every benchmark, each against its peer (numpy) run in the same process tree.
 * `npm run bench -- gemm measure` runs only the named ones (gemm, measure, score, align, losses, train, scale,
 * apply, cluster, explore);
 * `measure` includes 30,000 synthetic pairs against a blocked numpy peer (a minute or two); `--large` adds
 * measure on 100,000 pairs (minutes). The scale benchmark needs ≈ 8.2 GB of free space in
 * the temporary folder.
 */
import { benchAlign } from "./align.js";
import { benchApply } from "./apply.js";
import { benchCluster } from "./cluster.js";
import { benchExplore } from "./explore.js";
import { benchGemm } from "./gemm.js";
import { benchLosses } from "./losses.js";
import { benchMeasure, benchMeasureBlocked, benchMeasureLarge } from "./measure.js";
import { benchScale } from "./scale.js";
import { benchScore } from "./score.js";
import { benchTrain } from "./train.js";

const BENCHMARKS: Record<string, () => string[] | Promise<string[]>> = {
  gemm: async () => ["gemm: median of 9 runs after 2 warm-ups, float32, all cores", ...(await benchGemm())],
  measure: () => [...benchMeasure(), "", ...benchMeasureBlocked()],
  score: benchScore,
  align: benchAlign,
  losses: benchLosses,
  train: benchTrain,
  scale: benchScale,
  apply: benchApply,
  cluster: benchCluster,
  explore: benchExplore,
};
const named = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const unknown = named.filter((name) => !(name in BENCHMARKS));
if (unknown.length)
  throw new Error(`bench: expected names among ${Object.keys(BENCHMARKS).join(", ")}; got ${unknown}`);
for (const [name, run] of Object.entries(BENCHMARKS)) {
  if (named.length && !named.includes(name)) continue;
  for (const line of await run()) console.log(line);
  console.log();
}
if (process.argv.includes("--large")) for (const line of benchMeasureLarge()) console.log(line);

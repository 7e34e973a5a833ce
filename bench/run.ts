/**
 * `npm run bench`: every benchmark, each against its peer (numpy) run in the same process tree.
 * `npm run bench -- --large` adds measure on 100,000 pairs (minutes). The scale benchmark needs ≈ 8.2 GB
 * of free space in the temporary folder.
 */
import { benchGemm } from "./gemm.js";
import { benchLosses } from "./losses.js";
import { benchMeasure, benchMeasureLarge } from "./measure.js";
import { benchScale } from "./scale.js";
import { benchTrain } from "./train.js";

console.log("gemm: median of 9 runs after 2 warm-ups, float32, all cores");
for (const line of await benchGemm()) console.log(line);
console.log();
for (const line of benchMeasure()) console.log(line);
console.log();
for (const line of await benchLosses()) console.log(line);
console.log();
for (const line of await benchTrain()) console.log(line);
console.log();
for (const line of benchScale()) console.log(line);
if (process.argv.includes("--large")) for (const line of benchMeasureLarge()) console.log(line);

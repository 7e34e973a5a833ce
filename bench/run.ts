/** `npm run bench`: every benchmark, each against its peer (numpy) run in the same process tree. */
import { benchGemm } from "./gemm.js";

console.log("gemm: median of 9 runs after 2 warm-ups, float32, all cores");
for (const line of await benchGemm()) console.log(line);

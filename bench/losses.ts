/** CLIP loss + gradients for a 1,024 × 512 batch: gapkit (exact float64, and one onnxruntime graph) vs numpy. */

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { normalizeRows } from "../src/core/matrix.js";
import { createRng } from "../src/core/rng.js";
import { clipLoss, clipLossOnBackend } from "../src/losses/clip.js";
import { initBackends } from "../src/node.js";
import { numpyEnv } from "./numpy-env.js";

const [N, D] = [1024, 512];

async function median(run: () => unknown, reps = 7): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < reps + 2; r++) {
    const t = performance.now();
    await run();
    if (r >= 2) times.push((performance.now() - t) / 1000);
  }
  return times.sort((x, y) => x - y)[Math.floor(times.length / 2)];
}

/** Runs the loss benchmark and returns the printed lines. */
export async function benchLosses(): Promise<string[]> {
  const backend = await initBackends();
  const rng = createRng(0);
  const [a, b] = [normalizeRows(rng.normalMatrix(N, D)), normalizeRows(rng.normalMatrix(N, D))];
  const env = numpyEnv();
  const script = join(process.cwd(), "bench", "clip_numpy.py");
  const numpy = Number(execFileSync("python3", [script, String(N), String(D)], { env, encoding: "utf8" }));
  const exact = await median(() => clipLoss(a, b), 3);
  const fast = await median(() => clipLossOnBackend(a, b));
  return [
    `CLIP loss + gradients, batch ${N} × ${D}, median:`,
    `  numpy (float32)                        ${(1000 * numpy).toFixed(1)} ms`,
    `  clipLossOnBackend (${backend}, float32, one graph on ort) ${(1000 * fast).toFixed(1)} ms   ${(fast / numpy).toFixed(2)}× numpy's time (goal ≤ 1.0×)`,
    `  clipLoss (exact float64, one thread)   ${(1000 * exact).toFixed(1)} ms   ${(exact / numpy).toFixed(2)}× numpy's time`,
  ];
}

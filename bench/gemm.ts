/**
 * GFLOP/s of float32 matmul per backend next to numpy's (OpenBLAS), measured in the same run.
 * numpy runs with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, so it picks its best kernel.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { listBackends, matmul } from "../src/core/gemm/index.js";
import { createRng } from "../src/core/rng.js";
import { initBackends } from "../src/node.js";
import { numpyEnv } from "./numpy-env.js";

const SHAPES: [number, number, number][] = [
  [2500, 512, 2500],
  [4096, 512, 512],
];
const REPS = 9;
const WARMUP = 2;

function numpyGflops(): Record<string, number> {
  const env = numpyEnv();
  const script = join(process.cwd(), "bench", "gemm_numpy.py");
  const out = execFileSync("python3", [script, ...SHAPES.map((s) => s.join(","))], { env, encoding: "utf8" });
  return JSON.parse(out);
}

async function backendGflops(name: string, [m, k, n]: [number, number, number]): Promise<number> {
  const rng = createRng(0);
  const a = rng.normalMatrix(m, k);
  const b = rng.normalMatrix(k, n);
  const times: number[] = [];
  for (let r = 0; r < REPS + WARMUP; r++) {
    const t = performance.now();
    await matmul(a, b, { backend: name });
    times.push((performance.now() - t) / 1000);
  }
  const sorted = times.slice(WARMUP).sort((x, y) => x - y);
  return (2 * m * n * k) / sorted[Math.floor(sorted.length / 2)] / 1e9;
}

/** Runs the gemm benchmark and returns the printed table rows. */
export async function benchGemm(): Promise<string[]> {
  await initBackends();
  const numpy = numpyGflops();
  const lines = ["shape (M×K·K×N)        backend   GFLOP/s   numpy GFLOP/s   ratio"];
  for (const shape of SHAPES) {
    const key = shape.join(",");
    for (const name of listBackends()) {
      const g = await backendGflops(name, shape);
      const label = `${shape[0]}×${shape[1]}·${shape[1]}×${shape[2]}`;
      lines.push(
        `${label.padEnd(22)} ${name.padEnd(8)} ${g.toFixed(1).padStart(8)} ${numpy[key].toFixed(1).padStart(15)} ${(g / numpy[key]).toFixed(2).padStart(7)}×`,
      );
    }
  }
  return lines;
}

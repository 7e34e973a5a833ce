/**
 * GFLOP/s of float32 matmul per backend next to numpy's (OpenBLAS), measured in the same run; wasm on all
 * threads and on one.
 * numpy runs with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, so it picks its best kernel.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { type GemmBackend, getBackend, listBackends, matmul } from "../src/core/gemm/index.js";
import { createWasmBackend, type WasmBackend } from "../src/core/gemm/wasm.js";
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

async function backendGflops(backend: GemmBackend, [m, k, n]: [number, number, number]): Promise<number> {
  const rng = createRng(0);
  const a = rng.normalMatrix(m, k);
  const b = rng.normalMatrix(k, n);
  const times: number[] = [];
  for (let r = 0; r < REPS + WARMUP; r++) {
    const t = performance.now();
    await matmul(a, b, { backend });
    times.push((performance.now() - t) / 1000);
  }
  const sorted = times.slice(WARMUP).sort((x, y) => x - y);
  return (2 * m * n * k) / sorted[Math.floor(sorted.length / 2)] / 1e9;
}

/** Runs the gemm benchmark and returns the printed table rows. */
export async function benchGemm(): Promise<string[]> {
  await initBackends();
  const numpy = numpyGflops();
  const wasm = getBackend("wasm") as WasmBackend;
  const wasmSingle = await createWasmBackend();
  const rows: [string, GemmBackend][] = [
    ...listBackends().map((name): [string, GemmBackend] => [
      name === "wasm" ? `wasm ×${wasm.threads}` : name,
      getBackend(name),
    ]),
    ["wasm ×1", wasmSingle],
  ];
  const lines = [
    `shape (M×K·K×N)        backend   GFLOP/s   numpy GFLOP/s   ratio   (wasm: ${wasm.instructions})`,
  ];
  for (const shape of SHAPES) {
    const key = shape.join(",");
    for (const [name, backend] of rows) {
      const g = await backendGflops(backend, shape);
      const label = `${shape[0]}×${shape[1]}·${shape[1]}×${shape[2]}`;
      lines.push(
        `${label.padEnd(22)} ${name.padEnd(8)} ${g.toFixed(1).padStart(8)} ${numpy[key].toFixed(1).padStart(15)} ${(g / numpy[key]).toFixed(2).padStart(7)}×`,
      );
    }
  }
  return lines;
}

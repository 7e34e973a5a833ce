import type { GemmBackend } from "../core/gemm/index.js";
import type { Matrix } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { randomMlp } from "./random-mlp.js";

/** Options for the cone-effect pair. */
export interface ConePairOptions {
  n?: number;
  dim?: number;
  layers?: number;
  seed?: number;
  backend?: string | GemmBackend;
}

/**
 * A synthetic paired set showing the cone effect (Mind the Gap Fig. 2): the same Gaussian inputs through two
 * independently seeded random ReLU MLPs, one per "modality". Defaults: N = 2,000, d = 512, 10 layers.
 */
export async function conePair(options: ConePairOptions = {}): Promise<{ a: Matrix; b: Matrix }> {
  const { n = 2000, dim = 512, layers = 10, seed = 0, backend } = options;
  const inputs = createRng(seed).normalMatrix(n, dim);
  return {
    a: await randomMlp(inputs, { layers, seed: seed + 1, backend }),
    b: await randomMlp(inputs, { layers, seed: seed + 2, backend }),
  };
}

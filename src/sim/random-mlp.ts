import { check } from "../core/errors.js";
import { type GemmBackend, matmul } from "../core/gemm/index.js";
import type { Matrix } from "../core/matrix.js";
import { createRng } from "../core/rng.js";

/** Activations for random layers. */
export const ACTIVATIONS = {
  relu: (x: number) => Math.max(x, 0),
  "leaky-relu": (x: number) => (x > 0 ? x : 0.01 * x),
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  none: (x: number) => x,
} as const;

/** Name of an activation in ACTIVATIONS. */
export type Activation = keyof typeof ACTIVATIONS;

/** A randomly initialised MLP (Mind the Gap Fig. 2): layers of act(W x + b) with W, b ~ N(0, 1/d). */
export interface RandomMlpOptions {
  layers: number;
  seed: number;
  activation?: Activation;
  bias?: boolean;
  backend?: string | GemmBackend;
  /** Called with the output of every layer (1-based), e.g. to trace the cone as depth grows. */
  onLayer?: (layer: number, output: Matrix) => void;
}

/** Passes the rows of `x` through a random MLP of width x.cols and returns the last layer's output. */
export async function randomMlp(x: Matrix, options: RandomMlpOptions): Promise<Matrix> {
  check(Number.isInteger(options.layers) && options.layers >= 1, "randomMlp", "layers ≥ 1", () =>
    String(options.layers),
  );
  const act = ACTIVATIONS[options.activation ?? "relu"];
  const rng = createRng(options.seed);
  const d = x.cols;
  const std = 1 / Math.sqrt(d);
  let h = x;
  for (let layer = 1; layer <= options.layers; layer++) {
    const w = rng.normalMatrix(d, d, std);
    const b = rng.normalMatrix(1, d, std); // drawn even without bias, so W is the same either way
    h = await matmul(h, w, { transB: true, backend: options.backend });
    const { data } = h;
    for (let k = 0; k < data.length; k++)
      data[k] = act(options.bias === false ? data[k] : data[k] + b.data[k % d]);
    options.onLayer?.(layer, h);
  }
  return h;
}

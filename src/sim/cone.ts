import { check } from "../core/errors.js";
import { type Matrix, matrix } from "../core/matrix.js";
import { createRng } from "../core/rng.js";
import { coneFromSums } from "../gap/metrics.js";
import type { Experiment } from "./experiment.js";
import { pca2 } from "./pca.js";
import { ACTIVATIONS, type Activation, randomMlp } from "./random-mlp.js";

/** Mean cosine over distinct pairs of non-zero rows (rows a ReLU zeroed have no direction and are left out). */
export function meanCosine(m: Matrix): number {
  const d = m.cols;
  const sum = new Float64Array(d);
  let count = 0;
  for (let i = 0; i < m.rows; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) norm += m.data[i * d + j] ** 2;
    if (!(norm > 0)) continue;
    norm = Math.sqrt(norm);
    for (let j = 0; j < d; j++) sum[j] += m.data[i * d + j] / norm;
    count++;
  }
  check(count >= 2, "meanCosine", "at least 2 non-zero rows", () => String(count));
  return coneFromSums(sum, count, count); // count unit rows: Σ‖u_i‖² = count
}

const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

/** Mind the Gap Fig. 2b: the cone (mean cosine) of random MLP outputs as depth grows. */
export const coneMlp: Experiment = {
  name: "cone-mlp",
  summary: "mean cosine of random-MLP outputs per layer: the cone narrows with depth",
  reproduces: "Mind the Gap, Fig. 2(b)",
  params: {
    n: { kind: "integer", default: 1000, min: 2, max: 10_000, doc: "Gaussian input points" },
    dim: { kind: "integer", default: 512, min: 1, max: 1024, doc: "input and layer width d" },
    layers: { kind: "integer", default: 10, min: 1, max: 100, doc: "layers act(W·x + b), W, b ~ N(0, 1/d)" },
    activation: { kind: "choice", default: "relu", choices: Object.keys(ACTIVATIONS), doc: "activation" },
    bias: { kind: "boolean", default: true, doc: "leave out the bias b (it is added by default)" },
    models: {
      kind: "integer",
      default: 5,
      min: 1,
      max: 100,
      doc: "independently seeded MLPs (spread over models)",
    },
    seed: { kind: "integer", default: 0, doc: "seed of inputs and weights" },
  },
  async run(p, onProgress) {
    const [n, dim, layers, models, seed] = [p.n, p.dim, p.layers, p.models, p.seed] as number[];
    const inputs = createRng(seed).normalMatrix(n, dim);
    const perModel: number[][] = [];
    for (let m = 0; m < models; m++) {
      const cones: number[] = [];
      await randomMlp(inputs, {
        layers,
        seed: seed + 1 + m,
        activation: p.activation as Activation,
        bias: p.bias as boolean,
        onLayer: (_, out) => cones.push(meanCosine(out)),
      });
      perModel.push(cones);
      onProgress?.(m + 1, models);
    }
    return {
      inputCosine: meanCosine(inputs),
      layers: Array.from({ length: layers }, (_, l) => {
        const values = perModel.map((c) => c[l]);
        return {
          layer: l + 1,
          meanCosine: mean(values),
          std: std(values),
          min: Math.min(...values),
          max: Math.max(...values),
        };
      }),
    };
  },
};

/** Mind the Gap Fig. 2c: each random initialisation puts the same data in its own cone. */
export const coneInits: Experiment = {
  name: "cone-inits",
  summary: "the same data through many random MLPs: each init is its own narrow cone (with a 2-D PCA)",
  reproduces: "Mind the Gap, Fig. 2(c)",
  params: {
    n: { kind: "integer", default: 1000, min: 2, max: 10_000, doc: "Gaussian input points" },
    dim: { kind: "integer", default: 512, min: 2, max: 1024, doc: "width d" },
    layers: { kind: "integer", default: 10, min: 1, max: 100, doc: "layers per MLP" },
    models: { kind: "integer", default: 25, min: 2, max: 100, doc: "independently seeded MLPs" },
    pcaPoints: { kind: "integer", default: 100, min: 1, max: 1000, doc: "points per model in the PCA" },
    seed: { kind: "integer", default: 0, doc: "seed" },
  },
  async run(p, onProgress) {
    const [n, dim, layers, models, pcaPoints, seed] = [
      p.n,
      p.dim,
      p.layers,
      p.models,
      p.pcaPoints,
      p.seed,
    ] as number[];
    const inputs = createRng(seed).normalMatrix(n, dim);
    const cones: number[] = [];
    const centroids: Float64Array[] = [];
    const keep = Math.min(pcaPoints, n);
    const sample = matrix(models * keep, dim);
    for (let m = 0; m < models; m++) {
      const out = await randomMlp(inputs, { layers, seed: seed + 1 + m });
      cones.push(meanCosine(out));
      const centroid = new Float64Array(dim);
      for (let i = 0; i < n; i++) {
        let norm = 0;
        for (let j = 0; j < dim; j++) norm += out.data[i * dim + j] ** 2;
        norm = Math.sqrt(norm) || 1;
        for (let j = 0; j < dim; j++) {
          const v = out.data[i * dim + j] / norm;
          centroid[j] += v / n;
          if (i < keep) sample.data[(m * keep + i) * dim + j] = v;
        }
      }
      centroids.push(centroid);
      onProgress?.(m + 1, models + 1);
    }
    let between = 0;
    for (let i = 0; i < models; i++)
      for (let j = i + 1; j < models; j++) {
        let dot = 0;
        let ni = 0;
        let nj = 0;
        for (let k = 0; k < dim; k++) {
          dot += centroids[i][k] * centroids[j][k];
          ni += centroids[i][k] ** 2;
          nj += centroids[j][k] ** 2;
        }
        between += dot / Math.sqrt(ni * nj);
      }
    const points = await pca2(sample);
    onProgress?.(models + 1, models + 1);
    return {
      perModelCone: cones,
      meanCone: mean(cones),
      meanCentroidCosineBetweenModels: between / ((models * (models - 1)) / 2),
      pca: Array.from({ length: models * keep }, (_, i) => ({
        model: Math.floor(i / keep),
        x: points[2 * i],
        y: points[2 * i + 1],
      })),
    };
  },
};

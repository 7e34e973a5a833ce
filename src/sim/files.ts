import type { Matrix } from "../core/matrix.js";
import { measure } from "../gap/measure.js";
import { LANDSCAPE_LAMBDAS, lossLandscape } from "../losses/landscape.js";
import { type Experiment, LAMBDAS, TEMPERATURES, UNIT_PARAM } from "./experiment.js";

type Pair = { a: Matrix; b: Matrix };

/** Mind the Gap Fig. 1/2a: measure two embedding sets side by side (e.g. pretrained vs random init). */
export const initGap: Experiment = {
  name: "init-gap",
  summary: "measure two embedding files side by side, e.g. pretrained vs random init: the gap exists at init",
  reproduces: "Mind the Gap, Fig. 1 and Fig. 2(a)",
  params: {
    first: { kind: "pair", required: true, doc: "(2, N, d) embeddings, e.g. a trained model's" },
    second: { kind: "pair", required: true, doc: "(2, N, d) embeddings, e.g. the same model at random init" },
  },
  async run(p, onProgress) {
    const results = [];
    for (const [i, key] of ["first", "second"].entries()) {
      const { a, b } = p[key] as Pair;
      results.push(await measure(a, b));
      onProgress?.(i + 1, 2);
    }
    return { first: results[0], second: results[1] };
  },
};

/** Mind the Gap Fig. 3: CLIP loss vs gap shift λ for several temperatures. */
export const landscape: Experiment = {
  name: "landscape",
  summary: "CLIP loss vs gap shift λ for several temperatures, on an embedding file",
  reproduces: "Mind the Gap, Fig. 3",
  params: {
    file: { kind: "pair", required: true, doc: "(2, N, d) embeddings" },
    temperatures: { ...TEMPERATURES, default: [0.01, 0.02, 0.1, 1] },
    lambdas: { ...LAMBDAS, default: LANDSCAPE_LAMBDAS, doc: "gap shifts λ (with unit: distances δ)" },
    unit: UNIT_PARAM,
  },
  async run(p, onProgress) {
    const { a, b } = p.file as Pair;
    return lossLandscape(a, b, {
      temperatures: p.temperatures as number[],
      lambdas: p.lambdas as number[],
      unit: p.unit as boolean,
      onProgress,
    });
  },
};

import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { readPairFile } from "../../src/io/files.js";
import { mnistPairs } from "../../src/io/mnist.js";
import { initBackends } from "../../src/node.js";
import { EXPERIMENTS, experiment } from "../../src/sim/index.js";
import { fixture } from "../helpers.js";

const X = fixture("experiments");
const FILE = new URL("../../../shared/data/mind-the-gap/features_clip.npy", import.meta.url).pathname;
const hasShared = existsSync(FILE);
if (!hasShared) console.warn(`skipping the landscape experiment test: ${FILE} is absent`);

/** Every parameter at its default, as the CLI would pass it. */
function defaults(name: string, overrides: Record<string, unknown> = {}) {
  const params = Object.fromEntries(
    Object.entries(EXPERIMENTS[name].params).map(([k, spec]) => [
      k,
      "default" in spec ? spec.default : undefined,
    ]),
  );
  return { ...params, ...overrides } as Parameters<(typeof EXPERIMENTS)[string]["run"]>[0];
}

// biome-ignore lint/suspicious/noExplicitAny: experiment results are plain JSON
const run = async (name: string, overrides: Record<string, unknown> = {}): Promise<any> =>
  experiment(name).run(defaults(name, overrides));

beforeAll(() => initBackends("js"));

describe("experiments reproduce Mind the Gap", () => {
  it("cone-mlp: the relu cone narrows with depth (layer 10 > 0.9 and above layer 1), deterministically", async () => {
    const small = { n: 300, dim: 128, models: 2 };
    const r = await run("cone-mlp", small);
    expect(r.layers[9].meanCosine).toBeGreaterThan(0.9);
    expect(r.layers[9].meanCosine).toBeGreaterThan(r.layers[0].meanCosine);
    expect(await run("cone-mlp", small)).toEqual(r);
    const linear = await run("cone-mlp", { ...small, activation: "none", bias: false });
    expect(linear.layers[9].meanCosine).toBeLessThan(0.2); // without a nonlinearity and bias there is no cone
  });

  it("cone-inits: each random init is its own narrow cone, far from the others", async () => {
    const r = await run("cone-inits", { n: 200, dim: 64, models: 5, pcaPoints: 20 });
    expect(r.meanCone).toBeGreaterThan(0.9);
    expect(r.meanCentroidCosineBetweenModels).toBeLessThan(r.meanCone);
    expect(r.pca).toHaveLength(100);
  });

  it("sphere: loss curves equal float64 numpy to 1e-6 at every θ and scale", async () => {
    const r = await run("sphere", { steps: 20 });
    for (const curve of r.curves) {
      const want = X.sphere[String(curve.scale)];
      for (const [i, point] of curve.points.entries())
        expect(Math.abs(point.loss - want[i])).toBeLessThanOrEqual(1e-6);
    }
    expect(r.training[0].gap.at(-1).centroidDistance).toBeLessThan(r.training[0].gap[0].centroidDistance);
  });

  it("mismatch: swapped labels at scales ≥ 50 make a gap optimal (|z| > 0.5); clean labels keep |z| ≤ 0.02", async () => {
    const r = await run("mismatch");
    for (const [i, runResult] of r.runs.entries()) {
      const want = X.mismatch[i];
      expect([runResult.swapped, runResult.scale]).toEqual([want.swapped, want.scale]);
      for (const [k, v] of runResult.loss.entries())
        expect(Math.abs(v - want.loss[k])).toBeLessThanOrEqual(1e-6);
      if (!runResult.swapped) expect(Math.abs(runResult.argminZ)).toBeLessThanOrEqual(0.02);
      else if (runResult.scale >= 50) expect(Math.abs(runResult.argminZ)).toBeGreaterThan(0.5);
    }
  });

  it("shift-eval and fairness run on synthetic data; the planted bias shows and shrinks as the gap closes", async () => {
    const s = await run("shift-eval", { lambdas: [-0.5, 0, 0.5, 1] });
    expect(s.source).toBe("synthetic");
    expect(s.sweep).toHaveLength(4);
    expect(s.chosenOnValidation.testAccuracy).toBeGreaterThanOrEqual(0);
    const f = await run("fairness", { lambdas: [0, 1] });
    expect(f.sweep[0].disparity).toBeGreaterThan(0.05);
    expect(f.sweep[1].disparity).toBeLessThan(f.sweep[0].disparity);
  });

  it.skipIf(!hasShared)("landscape on features_clip: argmin λ at τ = 0.01 within 0.05 of 0", async () => {
    const r = await run("landscape", { file: await readPairFile(FILE), temperatures: [0.01, 0.1] });
    expect(Math.abs(r.argminLambda[0])).toBeLessThanOrEqual(0.05);
    expect(r.argminLambda[1]).toBeGreaterThan(0.3);
  });
});

describe("training experiments on the built-in MNIST pairs", () => {
  const data = mnistPairs(1000, 0);

  it("train-temperature: a lower fixed τ keeps a larger gap after training", async () => {
    const r = await run("train-temperature", { data, temperatures: [0.01, 0.1], epochs: 6 });
    expect(r.runs[0].gap).toBeGreaterThan(r.runs[1].gap + 0.3);
    expect(r.runs[1].zeroShotAccuracy).toBeGreaterThan(0.5);
  });

  it("bind: A↔B agreement emerges through the hub, far above chance and above the untrained B tower", async () => {
    const r = await run("bind", { data, epochs: 6 });
    expect(r.emergent.aToB).toBeGreaterThan(0.5);
    expect(r.emergent.aToB).toBeGreaterThan(r.untrainedB.aToB + 0.3);
  });
});

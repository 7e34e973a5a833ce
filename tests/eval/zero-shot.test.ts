import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { fromRows } from "../../src/core/matrix.js";
import { zeroShot } from "../../src/eval/zero-shot.js";
import { fixture, fromFixture } from "../helpers.js";

const z = fixture("zero-shot");

describe("zeroShot", () => {
  it("matches numpy with template-averaged class embeddings", async () => {
    const r = await zeroShot(fromFixture(z.images), z.templates.map(fromFixture), z.labels);
    expect(Array.from(r.predictions)).toEqual(z.predictions);
    expect(r.accuracy).toBeCloseTo(z.accuracy, 12);
    expect(r.confusion).toEqual(z.confusion);
    expect(r.perClass).toEqual(z.perClass);
  });

  it("accepts one embedding per class and rejects bad labels and shapes", async () => {
    const images = fromRows([
      [1, 0],
      [0, 1],
    ]);
    const classes = fromRows([
      [1, 0.1],
      [0.1, 1],
    ]);
    expect((await zeroShot(images, classes, [0, 1])).accuracy).toBe(1);
    await expect(zeroShot(images, classes, [0, 2])).rejects.toThrow(
      /labels: expected integers in \[0, 2\); got 2 at 1/,
    );
    await expect(zeroShot(images, classes, [0])).rejects.toThrow(/one label per image/);
    await expect(zeroShot(images, fromRows([[1, 0, 0]]), [0, 0])).rejects.toThrow(InputError);
    await expect(zeroShot(images, [], [0, 0])).rejects.toThrow(/at least one class/);
  });
});

import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { matrix, sliceRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { gaussianOf } from "../../src/gap/discrepancy.js";
import {
  anisotropyProfile,
  biasStability,
  jointFrame,
  parseFrame,
  shapeAfterAlignment,
  shapeOfStats,
  w2Split,
} from "../../src/gap/shape.js";
import { mergeStats, pairStats } from "../../src/gap/stats.js";
import { readPairFile } from "../../src/io/files.js";
import { gapkit, isUserError, scratchDir, writeMetricsPair } from "../cli/run.js";
import { expectClose, expectFields, fixture, fromFixture } from "../helpers.js";

const SHARED = new URL("../../../shared/data/mind-the-gap/features_clip.npy", import.meta.url).pathname;
const hasShared = existsSync(SHARED);
if (!hasShared) console.warn(`skipping the shape tests on features_clip: ${SHARED} is absent`);
const reference = fixture("shape");
const path = scratchDir("gapkit-shape-");

/** Axes equal up to 1e-8 (the fixture's pivot signs are gapkit's). */
function expectAxes(axes: number[][], expected: number[][], tol: number): void {
  expect(axes).toHaveLength(expected.length);
  for (const [k, axis] of axes.entries()) expectClose(axis, expected[k], tol);
}

describe("the gap's shape", () => {
  it("splits W₂² into bias and Bures shape, with numpy's frame and profile, on samples of two Gaussians", async () => {
    const { a, b, reference: ref } = reference.gaussians;
    const [ga, gb] = [gaussianOf(fromFixture(a)), gaussianOf(fromFixture(b))];
    expectFields(await w2Split(ga, gb), ref.w2, 1e-12);
    const frame = jointFrame(ga, gb, 5);
    expectAxes(frame.axes, ref.axes, 1e-10);
    expectFields(anisotropyProfile(ga, gb, frame), ref.profile, 1e-12);
  });

  it("recovers a known bias and shape from 200,000 rows (commuting covariances: B² = Σ(√λa − √λb)²)", async () => {
    const rng = createRng(4);
    const [n, d] = [200_000, 4];
    const [mu, sdA, sdB] = [
      [1, 0, 0.5, 0],
      [1, 1, 0.5, 0.2],
      [0.5, 1.5, 0.5, 0.1],
    ];
    const draw = (mean: number[], sd: number[]) =>
      matrix(
        n,
        d,
        Float32Array.from({ length: n * d }, (_, k) => mean[k % d] + sd[k % d] * rng.normal()),
      );
    const split = await w2Split(gaussianOf(draw(mu, sdA)), gaussianOf(draw([0, 0, 0, 0], sdB)));
    const bias = mu.reduce((s, m) => s + m * m, 0);
    const shape = sdA.reduce((s, x, j) => s + (x - sdB[j]) ** 2, 0);
    // sampling error: each mean component ±0.003, so the bias ±0.01; the shape's standard deviations ±0.002
    expect(Math.abs(split.bias - bias) / bias).toBeLessThan(0.02);
    expect(Math.abs(split.shape - shape) / shape).toBeLessThan(0.02);
    expect(split.biasShare + split.shapeShare).toBeCloseTo(1, 12);
  });

  it("gives the same shape from merged shards' statistics as from the whole set (1e-9)", async () => {
    const rng = createRng(5);
    const a = rng.normalMatrix(300, 16);
    const b = matrix(
      300,
      16,
      a.data.map((x, k) => x * (1 + (k % 16) / 8) + rng.normal() + (k % 16 === 0 ? 2 : 0)),
    );
    const whole = (await shapeOfStats(await pairStats(a, b))).shape;
    const parts = await Promise.all(
      [
        [0, 70],
        [70, 71],
        [71, 300],
      ].map(([s, e]) => pairStats(sliceRows(a, s, e), sliceRows(b, s, e))),
    );
    const merged = (await shapeOfStats(mergeStats(...parts))).shape;
    expectFields(merged, whole, 1e-9);
  });

  it("profiles in a frame supplied as JSON, and refuses one that is not orthonormal", async () => {
    const { a, b } = reference.gaussians;
    const [ga, gb] = [gaussianOf(fromFixture(a)), gaussianOf(fromFixture(b))];
    const frame = jointFrame(ga, gb, 3);
    const read = parseFrame(JSON.stringify(frame), "frame.json");
    expect(anisotropyProfile(ga, gb, read)).toEqual(anisotropyProfile(ga, gb, frame));
    const skewed = { ...frame, axes: [frame.axes[0], frame.axes[0]] };
    expect(() => parseFrame(JSON.stringify(skewed), "f.json")).toThrow(
      /f\.json: expected orthonormal axes; got axes 0 and 1/,
    );
    expect(() => parseFrame('{"kind": "gapkit.frame"}', "f.json")).toThrow(InputError);
    expect(() => anisotropyProfile(ga, gb, { ...frame, dim: 4 })).toThrow(
      /expected a frame of dimension 5; got 4/,
    );
  });

  it("bias stability: near 1 for a real gap, near 0 when the means differ by noise only", () => {
    const rng = createRng(6);
    const noise = rng.normalMatrix(400, 32);
    const other = rng.normalMatrix(400, 32);
    const none = biasStability(noise, other, { seed: 1 });
    // halves of one sample share its (chance) mean difference: the cosines scatter around a small value
    expect(none.ci[0]).toBeLessThan(0);
    expect(none.mean).toBeLessThan(0.5);
    const shifted = matrix(
      400,
      32,
      other.data.map((x, k) => x + (k % 32 === 3 ? 3 : 0)),
    );
    const real = biasStability(noise, shifted, { seed: 1 });
    expect(real.mean).toBeGreaterThan(0.9);
    expect(real.ci[0]).toBeGreaterThan(0.8);
    expect(real.ci[1]).toBeGreaterThanOrEqual(real.mean);
    expect(biasStability(noise, shifted, { seed: 2 }).mean).not.toBe(real.mean);
  });

  it("refuses --frame without --shape, and --shape on statistics without second moments", async () => {
    await writeMetricsPair(path("pair.npy"));
    const orphan = await gapkit("stats", path("pair.npy"), "--frame", path("frame.json"));
    expect(isUserError(orphan), orphan.stderr).toBe(true);
    expect(orphan.stderr).toMatch(/--frame: expected --shape with it; got no --shape/);
    const flat = await gapkit("stats", path("pair.npy"), "--no-moments", "--shape");
    expect(isUserError(flat), flat.stderr).toBe(true);
    expect(flat.stderr).toMatch(/shape: expected statistics with second moments/);
  });

  describe.skipIf(!hasShared)("on features_clip", () => {
    it("matches numpy: the split, the joint frame, the profile and the halves' stability", async () => {
      const { a, b } = await readPairFile(SHARED);
      const ref = reference.features_clip;
      const { shape, frame } = await shapeOfStats(await pairStats(a, b));
      // the Bures term takes √ of the covariances' ≈ 0 eigenvalues (500 rows in 512 dimensions): rounding of
      // 1e-17 there is 3e-9 in the sum
      expectFields(shape.w2, ref.w2, 1e-7);
      expectAxes(frame.axes, ref.axes, 1e-8);
      expectFields(shape.profile, ref.profile, 1e-9);
      expectFields(biasStability(a, b), ref.stability, 1e-12);
    });

    it("measure --shape prints it; stats merge of shards gives the whole file's shape", async () => {
      const measured = JSON.parse(
        (await gapkit("measure", SHARED, "--shape", "--json", "--save-frame", path("frame.json"))).stdout,
      );
      expect(measured.shape.frame).toBe("joint");
      expect(Object.keys(measured.shape.afterAlignment.methods)).toEqual([
        "none",
        "shift",
        "realign",
        "realign-aniso",
      ]);
      expectFields(measured.shape.stability, reference.features_clip.stability, 1e-12);
      for (const [range, part] of [
        ["0:123", "p1.json"],
        ["123:500", "p2.json"],
      ])
        expect((await gapkit("stats", SHARED, "--rows", range, "-o", path(part))).code).toBe(0);
      const merged = await gapkit("stats", "merge", path("p1.json"), path("p2.json"), "--shape", "--json");
      expectFields(
        JSON.parse(merged.stdout).shape,
        { w2: measured.shape.w2, profile: measured.shape.profile },
        1e-9,
      );
      // a frozen frame: the same profile when the frame given is the one saved
      const framed = await gapkit(
        "stats",
        "merge",
        path("p1.json"),
        path("p2.json"),
        "--shape",
        "--frame",
        path("frame.json"),
        "--json",
      );
      expect(JSON.parse(framed.stdout).shape.frame).toBe("given");
      expectFields(JSON.parse(framed.stdout).shape.profile, measured.shape.profile, 1e-9);
    });

    it("an isotropic fix closes the bias and leaves the shape; realign-aniso shrinks the shape (held-out)", async () => {
      const { a, b } = await readPairFile(SHARED);
      const { methods } = await shapeAfterAlignment(a, b);
      for (const m of ["shift", "realign", "realign-aniso"])
        expect(methods[m].bias).toBeLessThan(0.05 * methods.none.bias);
      expect(methods["realign-aniso"].shape).toBeLessThan(0.8 * methods.realign.shape);
      expect(methods.realign.shape).toBeGreaterThan(0.8 * methods.none.shape);
    });
  });
});

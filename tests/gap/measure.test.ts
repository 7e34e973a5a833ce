import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { fromRows, matrix, selectRows } from "../../src/core/matrix.js";
import { createRng, uniformSampleRows } from "../../src/core/rng.js";
import { measure, measureUpTo } from "../../src/gap/measure.js";
import { readPairFile, writeNpyFile } from "../../src/io/files.js";
import { initBackends } from "../../src/node.js";
import { gapkit } from "../cli/run.js";
import { expectFields, fixture, fromFixture } from "../helpers.js";

const SHARED = new URL("../../../shared/data/mind-the-gap/", import.meta.url).pathname;
const hasShared = existsSync(SHARED);
if (!hasShared) console.warn(`skipping the Mind the Gap golden tests: ${SHARED} is absent`);

beforeAll(() => initBackends());

describe("measure", () => {
  it("matches the float64 numpy reference on a small set with ties", async () => {
    const { a, b, ranks: _ranks, ...reference } = fixture("metrics");
    for (const backend of ["js", "ort"]) {
      const result = await measure(fromFixture(a), fromFixture(b), { backend });
      expectFields(result, reference, 1e-6);
      expect(Object.keys(result)).toEqual(Object.keys(reference));
    }
  });

  it("gives the same numbers however the score matrix is blocked", async () => {
    const { a, b } = fixture("metrics");
    const whole = await measure(fromFixture(a), fromFixture(b), { backend: "js" });
    for (const maxBlockElements of [1, 61, 600, 1e9]) {
      expect(await measure(fromFixture(a), fromFixture(b), { backend: "js", maxBlockElements })).toEqual(
        whole,
      );
    }
  });

  it("includes the gap vector only when asked and reports progress up to the total", async () => {
    const rng = createRng(3);
    const a = rng.normalMatrix(30, 5);
    const b = rng.normalMatrix(30, 5);
    const seen: [number, number][] = [];
    const r = await measure(a, b, {
      vectors: true,
      maxBlockElements: 100,
      onProgress: (d, t) => seen.push([d, t]),
    });
    expect(r.gap.vector).toHaveLength(5);
    expect(Math.hypot(...(r.gap.vector ?? []))).toBeCloseTo(r.gap.l2m, 12);
    expect((await measure(a, b)).gap.vector).toBeUndefined();
    expect(seen.at(-1)).toEqual([91, 91]);
    expect(seen.every(([d], i) => i === 0 || d >= seen[i - 1][0])).toBe(true);
  });

  it("measureUpTo samples the pairwise metrics and the spectrum beyond K pairs, as measure --pairwise-max does", async () => {
    const rng = createRng(9);
    const [n, d] = [300, 12];
    const a = rng.normalMatrix(n, d);
    const b = matrix(
      n,
      d,
      a.data.map((x, i) => x + rng.normal() + (i % d === 0 ? 1.5 : 0)),
    );
    expect(await measureUpTo(a, b, { pairwiseMax: n, seed: 0 })).toEqual(await measure(a, b));
    const file = join(mkdtempSync(join(tmpdir(), "gapkit-up-to-")), "pairs.npy");
    await writeNpyFile(file, { shape: [2, n, d], data: Float32Array.from([...a.data, ...b.data]) });
    for (const seed of [0, 5]) {
      const sampled = await measureUpTo(a, b, { pairwiseMax: 40, seed });
      const rows = uniformSampleRows(n, 40, seed);
      expect(rows).toHaveLength(40);
      const onSample = await measure(selectRows(a, rows), selectRows(b, rows), { bootstrap: { seed } });
      const exact = await measure(a, b);
      expect(sampled.sample).toEqual({
        pairs: 40,
        of: n,
        seed,
        estimated: ["uniformity", "retrieval", "spectrum"],
      });
      expectFields(
        sampled,
        { gap: exact.gap, cone: exact.cone, pairedCos: exact.pairedCos, alignment: exact.alignment },
        1e-12,
      );
      expectFields(
        sampled,
        { uniformity: onSample.uniformity, retrieval: onSample.retrieval, spectrum: onSample.spectrum },
        1e-12,
      );
      // the same sample as the streamed CLI's: its pairwise numbers agree
      const cli = await gapkit("measure", file, "--pairwise-max", "40", "--seed", String(seed), "--json");
      const streamed = JSON.parse(cli.stdout);
      expect(streamed.retrieval).toEqual(sampled.retrieval);
      expectFields(sampled.uniformity, streamed.uniformity, 1e-7);
    }
  });

  it("rejects bad input with InputError", async () => {
    const ok = fromRows([
      [1, 0],
      [0, 1],
    ]);
    await expect(measure(ok, fromRows([[1, 0]]))).rejects.toThrow(/the same number of rows N/);
    await expect(measure(ok, matrix(2, 3, Float32Array.from([1, 0, 0, 0, 1, 0])))).rejects.toThrow(
      /the same dimension d/,
    );
    await expect(measure(fromRows([[1, 0]]), fromRows([[0, 1]]))).rejects.toThrow(/at least 2 pairs; got 1/);
    await expect(
      measure(
        ok,
        fromRows([
          [1, Number.NaN],
          [0, 1],
        ]),
      ),
    ).rejects.toThrow(/B: expected finite values; got NaN at row 0/);
    await expect(
      measure(
        fromRows([
          [0, 0],
          [0, 1],
        ]),
        ok,
      ),
    ).rejects.toThrow(/A: expected rows with a finite, non-zero norm/);
    const names = { a: "img.npy", b: "txt.npy" };
    await expect(
      measure(
        fromRows([
          [0, 0],
          [1, 1],
        ]),
        ok,
        { names },
      ),
    ).rejects.toThrow(
      /^img\.npy: expected rows with a finite, non-zero norm; got 1 row\(s\) without one, the first is row 0/,
    );
    await expect(measure(ok, fromRows([[1, 0]]), { names })).rejects.toThrow(InputError);
  });

  describe.skipIf(!hasShared)("on the Mind the Gap features (../shared/data)", () => {
    const golden = fixture("mind-the-gap");
    for (const name of ["features_clip", "features_clip_random"]) {
      it(`${name} matches numpy float64 within 1e-4 in every field`, async () => {
        const { a, b } = await readPairFile(`${SHARED}${name}.npy`);
        expectFields(await measure(a, b), golden[name], 1e-4);
      });
    }

    it("features_clip shows the paper's numbers", async () => {
      const { a, b } = await readPairFile(`${SHARED}features_clip.npy`);
      const r = await measure(a, b);
      expect(r.gap.l2m).toBeCloseTo(0.8514, 4);
      expect(r.pairedCos).toBeCloseTo(0.31, 2);
      expect(r.retrieval.aToB.r1).toBeCloseTo(0.552, 3);
    });
  });
});

import { readFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { kernelsModule } from "../../scripts/build-wasm.mjs";
import { scoreTopK } from "../../src/core/blocks.js";
import { InputError } from "../../src/core/errors.js";
import { getBackend, matmul, matmulSync } from "../../src/core/gemm/index.js";
import { createWasmBackend } from "../../src/core/gemm/wasm.js";
import { type Matrix, matrix, sliceRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { createWorkerPool } from "../../src/core/workers.js";
import { spawnNodeWorker } from "../../src/node.js";

const js = getBackend("js");
const backends = [await createWasmBackend(), await createWasmBackend({ threads: 3, spawn: spawnNodeWorker })];
afterAll(() => Promise.all(backends.map((b) => b.dispose?.())));

function abs(m: Matrix): Matrix {
  return matrix(m.rows, m.cols, m.data.map(Math.abs));
}

/** |got − exact| ≤ (k + 2)·2⁻²⁴·Σ|a||b| entry by entry: the float32 accumulation bound of a k-term dot product. */
function expectFloat32Rounding(got: Float32Array, exact: Float32Array, bound: Float32Array, k: number): void {
  const u = (k + 2) * 2 ** -24;
  let worst = 0;
  for (let i = 0; i < got.length; i++)
    worst = Math.max(worst, Math.abs(got[i] - exact[i]) / (u * bound[i] + 1e-30));
  expect(worst).toBeLessThanOrEqual(1);
}

describe.each(backends.map((b) => [b.threads, b] as const))("wasm backend on %i thread(s)", (_, wasm) => {
  it("runs SIMD kernels", () => {
    expect(["simd128", "relaxed-simd"]).toContain(wasm.instructions);
  });

  it("equals the js backend to float32 rounding on random shapes, edges and blocking boundaries (property)", async () => {
    const size = fc.oneof(
      fc.constant(1),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 250, max: 600 }),
    );
    await fc.assert(
      fc.asyncProperty(
        size,
        size,
        size,
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
        async (m, k, n, offset, transB) => {
          const rng = createRng(m * 1_000_003 + k * 1009 + n);
          const a = sliceRows(rng.normalMatrix(m + offset, k), offset, m + offset);
          const b = transB ? rng.normalMatrix(n, k) : rng.normalMatrix(k, n);
          const got = await matmul(a, b, { backend: wasm, transB });
          expect([got.rows, got.cols]).toEqual([m, n]);
          const exact = matmulSync(a, b, { transB });
          expectFloat32Rounding(got.data, exact.data, matmulSync(abs(a), abs(b), { transB }).data, k);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("crosses every cache block: more than KC deep, NC wide and MC tall", async () => {
    const rng = createRng(11);
    const [a, b] = [rng.normalMatrix(261, 517), rng.normalMatrix(1031, 517)];
    const got = await matmul(a, b, { backend: wasm, transB: true });
    const exact = matmulSync(a, b, { transB: true });
    expectFloat32Rounding(got.data, exact.data, matmulSync(abs(a), abs(b), { transB: true }).data, 517);
  });

  it("computes float64 cross products as the js backend does, to float64 rounding", async () => {
    const rng = createRng(5);
    for (const [rows, kx, ky] of [
      [1, 1, 1],
      [7, 3, 5],
      [700, 67, 130],
    ]) {
      const x = rng.normalMatrix(rows, kx);
      const y = rng.normalMatrix(rows, ky);
      for (const [got, want] of [
        [await wasm.gramF64(x), await js.gramF64(x)],
        [await wasm.gramF64(x, y), await js.gramF64(x, y)],
      ]) {
        expect(got.length).toBe(want.length);
        for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-12 * rows);
      }
    }
    expect(await wasm.gramF64(matrix(0, 3))).toEqual(new Float64Array(9));
  });

  it("keeps the k highest scores per row, as the blocked js top-k does", async () => {
    const rng = createRng(9);
    for (const [m, n, d, k] of [
      [1, 1, 1, 1],
      [5, 9, 3, 9],
      [300, 1300, 40, 10],
      [37, 600, 520, 1],
    ]) {
      const [q, g] = [rng.normalMatrix(m, d), rng.normalMatrix(n, d)];
      const got = await scoreTopK(q, g, k, { backend: wasm });
      const want = await scoreTopK(q, g, k, { backend: js, maxBlockElements: 4096 });
      expect(got.indices).toEqual(want.indices);
      expectClose32(got.values, want.values, d);
    }
    // no depth: every score is 0, so the first k columns win
    const flat = await scoreTopK(matrix(2, 0), matrix(4, 0), 3, { backend: wasm });
    expect([...flat.indices]).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it("finds the nearest gallery rows by cosine, normalising inside the kernel as normalizeRows does", async () => {
    const rng = createRng(13);
    const q = rng.normalMatrix(150, 64);
    // 70,000 × 64 gallery rows: enough to normalise them on the workers
    const g = matrix(
      70_000,
      64,
      rng.normalMatrix(70_000, 64).data.map((x, i) => x * (1 + (i % 7))),
    );
    const got = await scoreTopK(q, g, 5, { backend: wasm, cosine: true });
    const want = await scoreTopK(q, g, 5, { backend: js, cosine: true });
    expect(got.indices).toEqual(want.indices);
    expectClose32(got.values, want.values, 64);
    const zero = matrix(3, 64, q.data.slice(0, 192).fill(0, 64, 128));
    await expect(scoreTopK(zero, g, 5, { backend: wasm, cosine: true })).rejects.toThrow(
      "scoreTopK queries: expected rows with a finite, non-zero norm; got 1 row(s) without one, the first is row 1 (norm 0)",
    );
  });

  it("rejects a k outside [1, gallery rows]", async () => {
    await expect(scoreTopK(matrix(2, 3), matrix(4, 3), 5, { backend: wasm })).rejects.toThrow(InputError);
  });
});

function expectClose32(got: Float32Array, want: Float32Array, k: number): void {
  for (let i = 0; i < got.length; i++)
    expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(
      (k + 2) * 2 ** -24 * Math.max(1, Math.abs(want[i])) * k,
    );
}

describe("the kernels' build", () => {
  it("is reproducible: `npm run build:wasm` writes exactly the committed module", async () => {
    const committed = readFileSync(new URL("../../src/core/gemm/wasm-binary.ts", import.meta.url), "utf8");
    expect(await kernelsModule()).toBe(committed);
  });
});

describe("worker pools", () => {
  it("answer in order, spread messages over workers and report a handler's error", async () => {
    const pool = createWorkerPool(
      2,
      `(m) => { if (m === "boom") throw new Error("boom"); return m * 2; }`,
      spawnNodeWorker,
    );
    try {
      expect(await pool.run([1, 2, 3, 4, 5])).toEqual([2, 4, 6, 8, 10]);
      expect(await pool.broadcast(21)).toEqual([42, 42]);
      await expect(pool.run(["boom"])).rejects.toThrow(/worker: Error: boom/);
    } finally {
      await pool.dispose();
    }
  });
});

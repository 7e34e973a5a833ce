import fc from "fast-check";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import {
  deferredBackend,
  type GemmBackend,
  getBackend,
  matmul,
  matmulSync,
  mulF64,
} from "../../src/core/gemm/index.js";
import { createJsBackend } from "../../src/core/gemm/js.js";
import { createOrtBackend, type OrtModule } from "../../src/core/gemm/ort.js";
import { createWasmBackend } from "../../src/core/gemm/wasm.js";
import { matrix, sliceRows } from "../../src/core/matrix.js";
import { createRng } from "../../src/core/rng.js";
import { initBackends, spawnNodeWorker } from "../../src/node.js";
import { expectClose, fixture, fromFixture } from "../helpers.js";

const products = fixture("core").matmul;
const backends: GemmBackend[] = [
  getBackend("js"),
  createJsBackend({ threads: 3, spawn: spawnNodeWorker }),
  createOrtBackend(ort as unknown as OrtModule, 2),
  await createWasmBackend(),
  await createWasmBackend({ threads: 3, spawn: spawnNodeWorker }),
];
afterAll(() => Promise.all(backends.map((b) => b.dispose?.())));

describe.each(backends.map((b, i) => [`${b.name}#${i}`, b] as const))("gemm backend %s", (_, backend) => {
  it("matches numpy float64 for A·B and A·Bᵀ", async () => {
    for (const p of products) {
      const a = fromFixture(p.a);
      expectClose((await matmul(a, fromFixture(p.b), { backend })).data, p.ab.data, 1e-5);
      expectClose((await matmul(a, fromFixture(p.bt), { backend, transB: true })).data, p.abt.data, 1e-5);
    }
  });

  it("gramF64 of split matrices (data + lo) is their float64 XᵀY, to ≈ 2⁻⁴⁸ relative", async () => {
    const rng = createRng(11);
    const [n, p, q] = [37, 6, 5];
    // float64 values, each kept as a float32 part and its rounding remainder
    const split = (cols: number) => {
      const values = Float64Array.from({ length: n * cols }, () => rng.normal());
      const data = Float32Array.from(values);
      return {
        values,
        m: { ...matrix(n, cols, data), lo: Float32Array.from(values, (v, k) => v - data[k]) },
      };
    };
    const [x, y] = [split(p), split(q)];
    const exact = (u: Float64Array, v: Float64Array, cols: number) =>
      Float64Array.from({ length: p * cols }, (_, k) => {
        let s = 0;
        for (let r = 0; r < n; r++) s += u[r * p + Math.floor(k / cols)] * v[r * cols + (k % cols)];
        return s;
      });
    expectClose(await backend.gramF64(x.m, y.m), exact(x.values, y.values, q), 1e-13);
    expectClose(await backend.gramF64(x.m), exact(x.values, x.values, p), 1e-13);
    // the float32 parts alone are off by float32 rounding: the remainders are used
    const rounded = await backend.gramF64(matrix(n, p, x.m.data));
    expect(Math.max(...rounded.map((v, k) => Math.abs(v - exact(x.values, x.values, p)[k])))).toBeGreaterThan(
      1e-9,
    );
  });

  it("agrees with the synchronous kernel on random shapes, including views (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        async (m, k, n, offset, transB) => {
          const rng = createRng(m * 10007 + k * 101 + n);
          const a = sliceRows(rng.normalMatrix(m + offset, k), offset, m + offset);
          const b = transB ? rng.normalMatrix(n, k) : rng.normalMatrix(k, n);
          const got = await matmul(a, b, { backend, transB });
          expect([got.rows, got.cols]).toEqual([m, n]);
          expectClose(got.data, matmulSync(a, b, { transB }).data, 1e-5);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("splits a large product over the pool without changing a digit of the js result", async () => {
    const rng = createRng(7);
    const a = rng.normalMatrix(301, 64);
    const b = rng.normalMatrix(257, 64);
    const got = await matmul(a, b, { backend, transB: true });
    const want = matmulSync(a, b, { transB: true });
    if (backend.name === "js") expect(got.data).toEqual(want.data);
    else expectClose(got.data, want.data, 1e-5);
  });
});

describe("matmul", () => {
  it("rejects mismatched inner dimensions and handles empty products", async () => {
    await expect(matmul(matrix(2, 3), matrix(4, 2))).rejects.toThrow(
      /matmul: expected inner dimensions to agree/,
    );
    expect(() => matmulSync(matrix(2, 3), matrix(2, 4), { transB: true })).toThrow(InputError);
    const empty = await matmul(matrix(0, 3), matrix(3, 5));
    expect([empty.rows, empty.cols]).toEqual([0, 5]);
  });

  it("selects backends by name and rejects unknown ones", async () => {
    expect(await initBackends("js")).toBe("js");
    expect(await initBackends("ort")).toBe("ort");
    expect(await initBackends("wasm")).toBe("wasm");
    expect(await initBackends("auto")).toBe("ort"); // onnxruntime-node is installed here
    await expect(initBackends("cuda")).rejects.toThrow(
      /GAPKIT_BACKEND: expected one of auto, js, ort, wasm; got "cuda"/,
    );
    expect(() => getBackend("nope")).toThrow(InputError);
    await initBackends("js");
  });
});

describe("deferredBackend", () => {
  /** A js backend that records the multiply-adds of each product it runs. */
  function recording(log: number[]): GemmBackend {
    const js = getBackend("js");
    return {
      name: "recording",
      gemm: (a, b, transB) => {
        log.push(a.rows * a.cols * (transB ? b.rows : b.cols));
        return js.gemm(a, b, transB);
      },
      gramF64: (x, y = x) => {
        log.push(x.rows * x.cols * y.cols);
        return js.gramF64(x, y);
      },
    };
  }

  it("runs products on the small backend until the budget is spent, then creates and keeps the large one", async () => {
    const [small, large]: number[][] = [[], []];
    let created = 0;
    const backend = deferredBackend(
      "both",
      recording(small),
      async () => {
        created++;
        return recording(large);
      },
      1000,
    );
    const rng = createRng(3);
    const a = rng.normalMatrix(4, 10); // 4·10·5 = 200 multiply-adds per product with a 10×5 B
    const b = rng.normalMatrix(10, 5);
    for (let i = 0; i < 4; i++) await matmul(a, b, { backend }); // 800 spent: all small
    expect([small.length, large.length, created]).toEqual([4, 0, 0]);
    await backend.gramF64(a); // 4·10·10 = 400, counted 4×: over budget
    await matmul(a, b, { backend });
    expect([small.length, large.length, created]).toEqual([4, 2, 1]);
    expectClose((await matmul(a, b, { backend })).data, matmulSync(a, b).data, 1e-6);
  });

  it("sends a product that alone exceeds the budget to the large backend at once", async () => {
    const [small, large]: number[][] = [[], []];
    const backend = deferredBackend("both", recording(small), async () => recording(large), 100);
    const rng = createRng(4);
    await matmul(rng.normalMatrix(5, 5), rng.normalMatrix(5, 5), { backend });
    expect([small, large]).toEqual([[], [125]]);
  });
});

describe("mulF64", () => {
  it.each(backends.map((b, i) => [`${b.name}#${i}`, b] as const))(
    "is the float64 product on %s (onnxruntime's DGEMM, else dense64), with and without Bᵀ",
    async (_, backend) => {
      const rng = createRng(8);
      const [m, k, n] = [7, 33, 5];
      const x = Float64Array.from(rng.normalMatrix(m, k).data, (v) => v / 3);
      const y = Float64Array.from(rng.normalMatrix(k, n).data, (v) => v / 7);
      const want = new Float64Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++)
          for (let p = 0; p < k; p++) want[i * n + j] += x[i * k + p] * y[p * n + j];
      expectClose(await mulF64(x, y, m, k, n, { backend }), want, 1e-14);
      const yt = new Float64Array(n * k).map((_, at) => y[(at % k) * n + Math.floor(at / k)]);
      expectClose(await mulF64(x, yt, m, k, n, { backend, transB: true }), want, 1e-14);
      await expect(mulF64(x, y, m, k + 1, n, { backend })).rejects.toThrow(InputError);
    },
  );
});

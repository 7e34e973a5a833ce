/**
 * Symmetric eigendecomposition with eigenvectors in float64: Householder tridiagonalisation with the
 * transform accumulated (EISPACK tred2's job) and the implicit QL iteration (tql2), in one call of the
 * WebAssembly kernel `symmetricEigenSystem` (assembly/kernels.ts), which runs its row loops in SIMD — the
 * same loops in JS took ≈ 2× as long warm, more in a short process that V8 had not yet optimised.
 * Internal to linalg.ts.
 *
 * Hand-written rather than ml-matrix's EigenvalueDecomposition, which stores arrays of arrays of JS
 * numbers and runs its inner loops down columns: 1–2 s at n = 512.
 * symmetricEigenvaluesOf (tridiagonal.ts) is the faster path when no vectors are needed.
 */
import { pivotSign } from "./dense64.js";
import { check } from "./errors.js";
import { ensureMemory, RESERVED_BYTES, requiredKernels } from "./gemm/wasm.js";

/** Eigenvalues, descending, and eigenvectors as the rows of `vectors` (n×n, row-major: Vᵀ). */
export interface SymmetricEigenSystem {
  readonly values: Float64Array;
  /** Row j is the unit eigenvector for values[j], its largest-magnitude entry (first on ties) positive. */
  readonly vectors: Float64Array;
}

/** Eigenvalues and eigenvectors of the symmetric n×n matrix whose lower triangle is in row-major `s`. */
export function symmetricEigenSystem(s: Float32Array | Float64Array, n: number): SymmetricEigenSystem {
  const { kernels, memory } = requiredKernels("symmetric eigendecomposition");
  // in the kernels' memory: a (the full matrix, scaled), vt (n² each), d (n), then 6n of scratch
  const at = (element: number) => RESERVED_BYTES + 8 * element;
  const [va, vvt, vd, work] = [at(0), at(n * n), at(2 * n * n), at(2 * n * n + n)];
  ensureMemory(memory, at(2 * n * n + 7 * n), "symmetric eigendecomposition");
  const a = new Float64Array(memory.buffer, va, n * n);
  let max = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const x = s[i * n + j];
      a[i * n + j] = x;
      a[j * n + i] = x;
      max = Math.max(max, Math.abs(x));
    }
  check(Number.isFinite(max), "symmetric eigendecomposition", "finite values", () => String(max));
  // scaled by a power of two (exactly) to a max-norm in [1, 2): no step below can then overflow, and what
  // underflows is far below the rounding error of the result
  // (a subnormal max-norm stays below 1: 2^1074 would overflow)
  const scale = max > 0 ? 2 ** -Math.max(Math.floor(Math.log2(max)), -1020) : 1;
  for (let k = 0; k < a.length; k++) a[k] *= scale;
  if (kernels.symmetricEigenSystem(va, n, vd, vvt, work) !== 0)
    throw new Error("symmetric eigendecomposition: QL found no convergence in 30·n iterations");
  const d = new Float64Array(memory.buffer, vd, n);
  const vt = new Float64Array(memory.buffer, vvt, n * n);
  const order = Array.from(d, (_, i) => i).sort((x, y) => d[y] - d[x] || x - y);
  const values = Float64Array.from(order, (i) => d[i] / scale);
  const vectors = new Float64Array(n * n);
  order.forEach((from, j) => {
    const row = vt.subarray(from * n, (from + 1) * n);
    const sign = pivotSign(row);
    for (let k = 0; k < n; k++) vectors[j * n + k] = sign * row[k];
  });
  return { values, vectors };
}

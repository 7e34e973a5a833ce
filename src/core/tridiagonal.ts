/**
 * Eigenvalues of dense symmetric matrices in float64: Householder tridiagonalisation (LAPACK dsytd2 with
 * uplo = 'U', values only) followed by the root-free Pal–Walker–Kahan QL iteration (LAPACK dsterf), both
 * in one call of the WebAssembly kernel `symmetricEigenvalues` (assembly/kernels.ts). The reduction's O(n³)
 * work runs there in SIMD, ≈ 3× the best plain-JS version, which V8 neither vectorises nor frees of bounds
 * checks; and the O(n²) rest, in JS, paid V8's warm-up in every short process. Internal to linalg.ts and
 * spectrum.ts.
 */
import { ensureMemory, RESERVED_BYTES, requiredKernels } from "./gemm/wasm.js";

/** Eigenvalues of the symmetric n×n matrix whose lower triangle is in row-major `m`, ascending. */
export function symmetricEigenvaluesOf(m: Float32Array | Float64Array, n: number): Float64Array {
  const { kernels, memory } = requiredKernels("symmetric eigenvalues");
  // the packed lower triangle (row r at element r(r+1)/2), four work vectors, then d (the n eigenvalues)
  // and e (n − 1 scratch)
  const triangle = (n * (n + 1)) / 2;
  const at = (element: number) => RESERVED_BYTES + 8 * element;
  ensureMemory(memory, at(triangle + 6 * n), "symmetric eigenvalues");
  const work = new Float64Array(memory.buffer, RESERVED_BYTES, triangle);
  for (let i = 0; i < n; i++) work.set(m.subarray(i * n, i * n + i + 1), (i * (i + 1)) / 2);
  const [d, e] = [at(triangle + 4 * n), at(triangle + 5 * n)];
  if (kernels.symmetricEigenvalues(RESERVED_BYTES, n, d, e) !== 0)
    throw new Error("symmetric eigenvalues: QL found no convergence in 30·n iterations");
  return new Float64Array(memory.buffer, d, n).slice().sort();
}

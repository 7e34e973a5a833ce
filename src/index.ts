/** gapkit, browser-safe entry: the numeric core, metrics and everything else that needs no file system. */
export * from "./align/evaluate.js";
export * from "./align/index.js";
export * from "./core/blocks.js";
export * from "./core/compensated.js";
export * from "./core/errors.js";
export * from "./core/gemm/index.js";
export { createJsBackend, type KernelJob, type KernelPool } from "./core/gemm/js.js";
export { createOrtBackend, gemmModel, type OrtModule } from "./core/gemm/ort.js";
export * from "./core/linalg.js";
export * from "./core/matrix.js";
export * from "./core/rng.js";
export * from "./eval/bootstrap.js";
export * from "./eval/retrieval.js";
export * from "./eval/zero-shot.js";
export * from "./gap/measure.js";
export * from "./gap/metrics.js";
export * from "./gap/spectrum.js";
export * from "./gap/stats.js";
export * from "./io/npy.js";
export * from "./io/npz.js";
export * from "./losses/index.js";
export * from "./sim/cone-pair.js";
export * from "./sim/index.js";
export * from "./sim/random-mlp.js";
export * from "./train/layers.js";
export * from "./train/optim.js";
/** Reverse-mode autodiff on float64 matrices (ops share names with the core, hence the namespace). */
export * as tape from "./train/tape.js";

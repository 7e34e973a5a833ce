/** Compiles one variant of assembly/kernels.ts and returns its bytes. */
export function compileKernels(variant: { relaxed: boolean; shared: boolean }): Promise<Uint8Array>;
/** The text of src/core/gemm/wasm-binary.ts. */
export function kernelsModule(): Promise<string>;

import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { getBackend, listBackends } from "../../core/gemm/index.js";
import type { WasmBackend } from "../../core/gemm/wasm.js";
import { backendOption, initCliBackends } from "../options.js";
import { printResult } from "../output.js";

/** The wasm backend's instruction set ("relaxed-simd" or "simd128"), or null where it is missing. */
function wasmInstructions(): string | null {
  return listBackends().includes("wasm") ? (getBackend("wasm") as WasmBackend).instructions : null;
}

/** `gapkit info`: versions, threads and the matrix-multiply backends this machine offers. */
export function registerInfo(program: Command): void {
  backendOption(
    program.command("info").description("show versions, threads and the available matmul backends"),
  )
    .option("--json", "print JSON")
    .action(async (opts: { backend?: string; json?: boolean }) => {
      await initCliBackends(opts.backend);
      const result = {
        version: program.version(),
        node: process.versions.node,
        threads: availableParallelism(),
        backends: listBackends(),
        backend: getBackend().name,
        wasm: wasmInstructions(),
      };
      printResult(result, opts.json, () =>
        [
          `gapkit ${result.version} on Node ${result.node}, ${result.threads} thread(s)`,
          `matmul backends: ${result.backends.join(", ")} (selected: ${result.backend})`,
          `wasm kernels: ${result.wasm ?? "unavailable (no WebAssembly SIMD)"}`,
        ].join("\n"),
      );
    });
}

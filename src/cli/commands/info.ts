import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { getBackend, listBackends } from "../../core/gemm/index.js";
import { initBackends } from "../../node.js";
import { printResult } from "../output.js";

/** `gapkit info`: versions, threads and the matrix-multiply backends this machine offers. */
export function registerInfo(program: Command): void {
  program
    .command("info")
    .description("show versions, threads and the available matmul backends")
    .option(
      "--backend <name>",
      "matmul backend to select: js or ort (default: GAPKIT_BACKEND, else ort if installed)",
    )
    .option("--json", "print JSON")
    .action(async (opts: { backend?: string; json?: boolean }) => {
      await initBackends(opts.backend);
      const result = {
        version: program.version(),
        node: process.versions.node,
        threads: availableParallelism(),
        backends: listBackends(),
        backend: getBackend().name,
      };
      printResult(result, opts.json, () =>
        [
          `gapkit ${result.version} on Node ${result.node}, ${result.threads} thread(s)`,
          `matmul backends: ${result.backends.join(", ")} (selected: ${result.backend})`,
        ].join("\n"),
      );
    });
}

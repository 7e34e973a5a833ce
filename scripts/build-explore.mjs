// `npm run build` (after tsc): bundles the explorer's page (src/explore/page.ts) and its worker
// (src/explore/worker.ts) with esbuild into dist/explore/, so `gapkit explore` serves or inlines them as
// they are and the installed package needs no bundler. Run from source (tests), the CLI bundles in memory.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The page's and the worker's scripts, minified, each one self-contained file. */
export async function bundleExplore() {
  const { build } = await import("esbuild");
  const bundle = async (entry, format) => {
    const result = await build({
      entryPoints: [join(ROOT, "src/explore", entry)],
      bundle: true,
      format,
      minify: true,
      target: "es2022",
      write: false,
      legalComments: "none",
      // the page loads transformers.js from its server, only when a query is typed
      external: ["@huggingface/transformers"],
      logLevel: "error",
    });
    return result.outputFiles[0].text;
  };
  const [page, worker] = await Promise.all([bundle("page.ts", "esm"), bundle("worker.ts", "iife")]);
  return { page, worker };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { page, worker } = await bundleExplore();
  mkdirSync(join(ROOT, "dist/explore"), { recursive: true });
  writeFileSync(join(ROOT, "dist/explore/page.js"), page);
  writeFileSync(join(ROOT, "dist/explore/worker.js"), worker);
}

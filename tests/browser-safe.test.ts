import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = new URL("../src/", import.meta.url).pathname;
// packages the browser entry may use: pure JavaScript, no Node built-ins
const BROWSER_PACKAGES = new Set([
  "fflate",
  "zod",
  "@huggingface/transformers",
  "munkres",
  "fast-png",
  "umap-js",
]);

/** Every module statically or dynamically imported from `entry`, with the bare specifiers it names. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, "utf8");
    for (const [, spec] of source.matchAll(/(?:from|import\()\s*["']([^"']+)["']/g)) {
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
      else packages.add(spec);
    }
  };
  visit(join(SRC, entry));
  return { files, packages };
}

describe("the browser entry (src/index.ts)", () => {
  it("reaches no node: module, no Node-only package and no file outside core/domain folders", () => {
    const { files, packages } = importGraph("index.ts");
    expect([...packages].filter((p) => !BROWSER_PACKAGES.has(p))).toEqual([]);
    const outside = [...files].filter((f) => /\/src\/(cli|io\/files|node)/.test(f));
    expect(outside).toEqual([]);
  });

  it("the check itself sees Node imports where they are", () => {
    expect([...importGraph("node.ts").packages]).toContain("node:worker_threads");
  });
});

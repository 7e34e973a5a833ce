import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./cli/run.js";

// The README's contract: it starts with the two set-up commands, stays short, links only to files that
// exist, and its tour (the code block under "## Tour": `$ ` command lines, each followed by lines of its
// output, `…` for lines left out) runs as written and prints what it shows.

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const README = join(ROOT, "README.md");
const readme = readFileSync(README, "utf8");
const SHARED = resolve(ROOT, "../shared/data");
const hasShared = existsSync(SHARED);
const ELIDED = "…";

/** A tour step: the command line as written and the output lines the README shows for it. */
interface Step {
  line: string;
  shown: string[];
}

/** The `$ ` command lines of the fenced block under `## Tour`, each with the output lines shown below it. */
function tourSteps(markdown: string): Step[] {
  const section = markdown.split(/^## Tour[ \t]*$/m)[1]?.split(/^## /m)[0];
  if (section === undefined) throw new Error("README.md: expected a `## Tour` section");
  const block = /^```[^\n]*\n([\s\S]*?)^```/m.exec(section)?.[1];
  if (block === undefined) throw new Error("README.md: expected a fenced code block under `## Tour`");
  const steps: Step[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("$ ")) steps.push({ line: line.slice(2).trim(), shown: [] });
    else if (steps.length === 0) {
      if (line.trim()) throw new Error(`README.md tour: output before the first \`$ \` command: ${line}`);
    } else if (line.trim()) steps[steps.length - 1].shown.push(line);
  }
  return steps;
}

/**
 * Splits a command line into words as a POSIX shell would for plain commands: blanks separate words,
 * '…' quotes literally, "…" quotes with \" \\ \$ \` escapes, and \ escapes outside quotes. Anything that
 * needs a real shell (pipes, redirections, variables, globs, substitutions) is refused, so every tour
 * line stays a single command that runs as written.
 */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === " " || c === "\t") {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= "";
      for (i++; ; i++) {
        if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
        const d = line[i];
        if (d === '"') break;
        if (d === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) word += line[++i];
        else if (d === "$" || d === "`") throw new Error(`a tour command needs no shell expansion: ${line}`);
        else word += d;
      }
    } else if (c === "\\") {
      if (i + 1 >= line.length) throw new Error(`trailing \\ in: ${line}`);
      word = (word ?? "") + line[++i];
    } else if ("|&;<>()$`*?[]{}~#".includes(c)) {
      throw new Error(`a tour command must be one plain command (no ${c}): ${line}`);
    } else word = (word ?? "") + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** A line compared with blanks collapsed: column widths may change without the content changing. */
const squeeze = (line: string) => line.trim().replace(/\s+/g, " ");

/** The shown lines (other than `…`) that the real output lacks, in order: each must follow the one before. */
function missingLines(shown: string[], output: string): string[] {
  const lines = output.split("\n").map(squeeze);
  const missing: string[] = [];
  let at = 0;
  for (const line of shown) {
    if (line.trim() === ELIDED) continue;
    const found = lines.indexOf(squeeze(line), at);
    if (found < 0) missing.push(line);
    else at = found + 1;
  }
  return missing;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, blanks as hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");

/** Markdown without fenced code blocks and inline code spans (neither holds links or headings). */
const prose = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");

/** The anchors of a Markdown file's headings (repeated headings get -1, -2 … as on GitHub). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of markdown.replace(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6} +(.+)$/gm)) {
    const base = slug(heading.replace(/`/g, ""));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

/** Every relative link of a Markdown file that points to no file, or to no heading of it. */
function brokenLinks(file: string): string[] {
  const broken: string[] = [];
  for (const [, target] of prose(readFileSync(file, "utf8")).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: …
    const [path, anchor] = target.split("#");
    const to = path ? resolve(dirname(file), path) : file;
    if (!existsSync(to)) broken.push(`${target} (no such file)`);
    else if (anchor && to.endsWith(".md") && !anchors(readFileSync(to, "utf8")).has(anchor))
      broken.push(`${target} (no such heading)`);
  }
  return broken;
}

describe("README.md", () => {
  it("starts with the two set-up commands: install and run the demo, then the tests", () => {
    const first = /^```[^\n]*\n([\s\S]*?)^```/m.exec(readme)?.[1];
    expect(first?.trim().split("\n")).toEqual(["npm ci && npx gapkit demo", "npm test"]);
  });

  it("is at most 10 KB", () => {
    expect(statSync(README).size).toBeLessThanOrEqual(10_000);
  });

  it("links only to files and headings that exist (and so do the docs/ pages)", () => {
    const docs = readdirSync(join(ROOT, "docs"))
      .filter((name) => name.endsWith(".md"))
      .map((name) => join(ROOT, "docs", name));
    expect(docs.length).toBeGreaterThan(0);
    for (const file of [README, ...docs]) expect(brokenLinks(file), file).toEqual([]);
  });
});

describe("the shell-word splitter", () => {
  it("splits plain words and quotes as a shell does", () => {
    expect(shellWords(`npx gapkit report a.npy --title 'the "gap"' -o "my report.html" x\\ y`)).toEqual([
      "npx",
      "gapkit",
      "report",
      "a.npy",
      "--title",
      'the "gap"',
      "-o",
      "my report.html",
      "x y",
    ]);
    expect(shellWords(`a "" '' "\\"\\\\"`)).toEqual(["a", "", "", '"\\']);
  });

  it("refuses what would need a shell", () => {
    for (const line of ["a | b", "a > f", "a $HOME", 'a "$HOME"', "a *.npy", "a; b", "a 'open"])
      expect(() => shellWords(line), line).toThrow();
  });
});

describe("the README's tour", () => {
  const steps = tourSteps(readme);
  const dir = mkdtempSync(join(tmpdir(), "gapkit-readme-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // node --import <tsx> src/cli/main.ts: tsx named by its file URL, since the commands run outside the repo
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const node = cli.map((arg) => (arg === "tsx" ? tsx : arg));
  const run = promisify(execFile);
  if (!hasShared)
    console.warn(`skipping the README tour's commands that read ../shared: ${SHARED} is absent`);

  it("has commands, each of them `npx gapkit …` with some output shown", () => {
    expect(steps.length).toBeGreaterThanOrEqual(3);
    for (const step of steps) {
      expect(shellWords(step.line).slice(0, 2), step.line).toEqual(["npx", "gapkit"]);
      expect(step.shown.filter((line) => line.trim() !== ELIDED).length, step.line).toBeGreaterThan(0);
    }
  });

  for (const step of steps) {
    const args = shellWords(step.line).slice(2);
    const needsShared = args.some((arg) => arg.startsWith("../shared/"));
    const skip = needsShared && !hasShared;
    it.skipIf(skip)(
      `${step.line}${skip ? " [skipped: ../shared/data is absent]" : ""}`,
      async () => {
        // paths into ../shared are the repository's; everything else (outputs) lands in the scratch folder
        const argv = args.map((arg) => (arg.startsWith("../shared/") ? resolve(ROOT, arg) : arg));
        let result: { code: number; stdout: string; stderr: string };
        try {
          const { stdout, stderr } = await run(process.execPath, [...node, ...argv], {
            cwd: dir,
            timeout: 110_000,
            maxBuffer: 64 * 1024 * 1024,
          });
          result = { code: 0, stdout, stderr };
        } catch (error) {
          const e = error as { code: number; stdout: string; stderr: string };
          result = { code: e.code, stdout: e.stdout, stderr: e.stderr };
        }
        expect(result.code, result.stderr).toBe(0);
        expect(
          missingLines(step.shown, result.stdout),
          `README output of \`${step.line}\` vs its real output:\n${result.stdout}`,
        ).toEqual([]);
      },
      120_000,
    );
  }
});

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeNpyFile } from "../../src/io/files.js";
import { fixture } from "../helpers.js";
import { gapkit, isUserError } from "./run.js";

const dir = mkdtempSync(join(tmpdir(), "gapkit-report-cli-"));
const path = (name: string) => join(dir, name);
const metrics = fixture("metrics");

beforeAll(async () => {
  const { a, b } = metrics;
  await writeNpyFile(path("pair.npy"), {
    shape: [2, a.rows, a.cols],
    data: Float32Array.from([...a.data, ...b.data]),
  });
  writeFileSync(path("short.json"), JSON.stringify(["only one"]));
});

describe("gapkit report", () => {
  it("writes one self-contained file and prints its path", async () => {
    const r = await gapkit("report", path("pair.npy"), "-o", path("r.html"), "--title", "<b>t</b>");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(path("r.html"));
    const html = readFileSync(path("r.html"), "utf8");
    expect(html).toContain("&lt;b&gt;t&lt;/b&gt;");
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(3);
  });

  it.each([
    [
      ["--labels", "short.json"],
      /short\.json: expected a JSON array of 60 strings \(one per pair\); got 1 items/,
    ],
    [
      ["--experiments", "mismatch"],
      /--experiments: expected a list of cone-mlp, landscape, sphere; got "mismatch"/,
    ],
    [["--align", "nope"], /align method: expected one of center/],
  ])("%j exits 2 and writes nothing", async (args, message) => {
    const r = await gapkit(
      "report",
      path("pair.npy"),
      "-o",
      path("never.html"),
      ...args.map((x) => (x.endsWith(".json") ? path(x) : x)),
    );
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(message);
    expect(existsSync(path("never.html"))).toBe(false);
  });
});

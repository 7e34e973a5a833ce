import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { gapkit, isUserError, scratchDir, writeMetricsPair } from "./run.js";

const path = scratchDir("gapkit-report-cli-");

beforeAll(async () => {
  await writeMetricsPair(path("pair.npy"));
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

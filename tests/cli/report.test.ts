import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { pngDataUri } from "../../src/core/png.js";
import { gapkit, isUserError, scratchDir, writeMetricsPair } from "./run.js";

const path = scratchDir("gapkit-report-cli-");

beforeAll(async () => {
  await writeMetricsPair(path("pair.npy"));
  writeFileSync(path("short.json"), JSON.stringify(["only one"]));
  // a saved `experiment albef -o` result (its numbers made up: the section only shows them)
  const x = (mean: number) => ({ mean, sd: 0.01 });
  const direction = { r1: x(0.08), r5: x(0.2) };
  const variant = (itm: boolean, r1: number) => ({
    itc: { i2t: direction, t2i: { r1: x(r1), r5: x(0.2) } },
    reranked: { i2t: direction, t2i: direction },
    itmAccuracy: itm ? x(0.52) : null,
    mlmAccuracy: null,
    gap: x(0.32),
    cones: { image: x(0.48), text: x(0.5) },
    seconds: x(100),
  });
  const result = {
    chance: { i2t: 0.0085, t2i: 0.0085 },
    variants: { itc: variant(false, 0.067), "itc+itm": variant(true, 0.092) },
    curves: {
      itc: [
        { step: 10, loss: 5 },
        { step: 20, loss: 4 },
      ],
      "itc+itm": [
        { step: 10, loss: 6 },
        { step: 20, loss: 5 },
      ],
    },
    heldOut: { images: 708, captions: 2124 },
  };
  writeFileSync(path("albef.json"), JSON.stringify({ experiment: "albef", result }));
  // a saved `experiment decode -o` result (made-up numbers)
  const scores = (bleu: number) => ({
    bleu4: x(bleu),
    tokenF1: x(0.3),
    exact: x(0.05),
    clipScore: x(0.4),
    gapFed: x(0.5),
  });
  const decode = {
    methods: { prefix: scores(0.12), naive: scores(0.02), realign: scores(0.06) },
    examples: [
      {
        image: 3,
        name: "red <heart>",
        png: pngDataUri(new Float32Array(48).fill(0.5), [3, 4, 4]),
        captions: { prefix: "red heart", naive: "a", realign: "heart" },
      },
      {
        image: 4,
        name: "not a picture",
        png: "javascript:alert(1)",
        captions: { prefix: "x", naive: "y", realign: "z" },
      },
    ],
    heldOut: { images: 708, captions: 2124 },
  };
  writeFileSync(path("decode.json"), JSON.stringify({ experiment: "decode", result: decode }));
  // two saved `experiment transfer -o` results, one per target (made-up numbers)
  const method = (accuracy: number, probe: number) => ({
    accuracy: x(accuracy),
    sourceProbeError: x(probe),
    discrepancy: x(1.5),
    gap: x(0.5),
    gapBefore: x(0.9),
    seconds: x(10),
  });
  const transfer = (target: string, best: number) => ({
    target,
    shots: 20,
    methods: { vanilla: method(0.6, 0.05), mona: method(best, 0.041) },
    source: { accuracy: x(0.97), probeError: x(0.039) },
    classes: 10,
    testRows: 2000,
  });
  for (const [target, best] of [
    ["fashion", 0.64],
    ["signal", 0.72],
  ] as const)
    writeFileSync(
      path(`${target}.json`),
      JSON.stringify({ experiment: "transfer", result: transfer(target, best) }),
    );
});

describe("gapkit report", () => {
  it("writes one self-contained file and prints its path", async () => {
    const r = await gapkit("report", path("pair.npy"), "-o", path("r.html"), "--title", "<b>t</b>");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(path("r.html"));
    const html = readFileSync(path("r.html"), "utf8");
    expect(html).toContain("&lt;b&gt;t&lt;/b&gt;");
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(3);
    // the gap's shape: the split before and after the isotropic and anisotropic fixes, and its profile
    expect(html).toContain("<h2>The gap&#39;s shape</h2>");
    for (const row of ["as they are", "after shift", "after realign", "after realign-aniso"])
      expect(html).toContain(`<td>${row}</td>`);
    expect(html).toContain("The anisotropy profile on the top 10 joint axes");
  });

  it("includes a saved albef result: its table, loss curves, reading and the Twemoji credit", async () => {
    const r = await gapkit(
      "report",
      path("pair.npy"),
      "-o",
      path("albef.html"),
      "--results",
      path("albef.json"),
    );
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(path("albef.html"), "utf8");
    expect(html).toContain("ALBEF-mini on the built-in emoji set");
    expect(html).toContain("highest for itc+itm: 0.092 by ITC, where chance is 0.0085");
    expect(html).toMatch(/<td>itc<\/td>(<td>[^<]*<\/td>){4}<td>—<\/td>/);
    expect(html).toContain("Twemoji graphics by Twitter");
  });

  it("includes a saved decode result: its scores, a reading and the examples, escaped", async () => {
    const r = await gapkit(
      "report",
      path("pair.npy"),
      "-o",
      path("decode.html"),
      "--results",
      path("decode.json"),
    );
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(path("decode.html"), "utf8");
    expect(html).toContain("Decoding emoji embeddings back to captions");
    expect(html).toContain(
      "prefix has the highest BLEU-4 (0.120); of the decoders trained on text alone, realign (0.060)",
    );
    expect(html).toContain("<td>red &lt;heart&gt;</td><td>red heart</td><td>a</td><td>heart</td>");
    // the picture as a PNG data URI; anything else is left out
    expect(html).toMatch(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+" alt="red &lt;heart&gt;"/);
    expect(html).not.toContain("javascript:");
  });

  it("gathers saved transfer results, one per target, into one section with a plot", async () => {
    const r = await gapkit(
      "report",
      path("pair.npy"),
      "-o",
      path("transfer.html"),
      "--results",
      `${path("fashion.json")},${path("signal.json")}`,
    );
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(path("transfer.html"), "utf8");
    expect(html).toContain("Cross-modality transfer from MNIST");
    expect(html).toContain("On fashion (20 examples per class), mona is the most accurate (0.640)");
    expect(html).toContain("On signal (20 examples per class), mona is the most accurate (0.720)");
    expect(html).toMatch(/<td>signal<\/td><td>vanilla<\/td><td>0\.600 ± 0\.010<\/td>/);
    expect(html).toContain("Target accuracy against the distortion of source knowledge");
  });

  it.each([
    [["--results", "short.json"], /short\.json: expected an experiment's result/],
    [
      ["--labels", "short.json"],
      /short\.json: expected a JSON array of 60 strings or numbers \(one per pair\); got 1 items/,
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

/**
 * Hostile inputs (issue 23): special files where a file is expected, numbers that only look like numbers,
 * damaged archives, Windows text files, control characters in what error messages repeat, ragged maps.
 * Every special file here is made in a temporary folder (a FIFO with no writer); no system path is opened.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { serializeNpz } from "../../src/io/npz.js";
import { fixture } from "../helpers.js";
import { gapkit, isUserError, scratchDir, writeMetricsPair } from "./run.js";

const path = scratchDir("gapkit-hostile-");
const CLIP = new URL("../fixtures/clip-tiny", import.meta.url).pathname;
const IMAGE = join(CLIP, "images", "img0.png");
const mkfifo = (name: string) => {
  execFileSync("mkfifo", [path(name)]);
  return path(name);
};

/** A 4 × 2 pair as CSV text with a header, lines ended by `eol`. */
const pairCsv = (eol: string) =>
  ["a,b", '"1 0","0.5 0.5"', '"0 1","1 0"', '"0.5 0.25","0 1"', '"1 1","0.25 0.5"', ""].join(eol);

beforeAll(async () => {
  await writeMetricsPair(path("pair.npy"));
  writeFileSync(path("texts.txt"), "a cat\na dog\n");
});

describe("special files where a file is expected", () => {
  it.each([
    ["measure FILE", "m.npy", (f: string) => ["measure", f]],
    ["stats FILE", "s.npy", (f: string) => ["stats", f]],
    ["measure --a", "a.npy", (f: string) => ["measure", "--a", f, "--b", path("pair.npy")]],
    ["stats merge PART", "part.json", (f: string) => ["stats", "merge", f]],
    [
      "align apply STATE",
      "state.json",
      (f: string) => ["align", "apply", f, path("pair.npy"), "-o", path("o.npy")],
    ],
    ["measure --groups", "groups.json", (f: string) => ["measure", path("pair.npy"), "--groups", f]],
  ])("%s naming a FIFO is refused at once, not waited on", async (_, name, args) => {
    const fifo = mkfifo(name);
    const r = await gapkit(...args(fifo));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(`${fifo}: expected a regular file; got a FIFO`);
  });

  it("a FIFO named .parquet, .csv or .jsonl is refused too", async () => {
    for (const ext of ["parquet", "csv", "jsonl"]) {
      const fifo = mkfifo(`fifo.${ext}`);
      const r = await gapkit("measure", fifo);
      expect(isUserError(r), r.stderr).toBe(true);
      expect(r.stderr).toContain(`${fifo}: expected a regular file; got a FIFO`);
    }
  });

  it("a text table with a line longer than any row is refused at the line bound", async () => {
    writeFileSync(path("endless.jsonl"), "[1, 2]\n");
    truncateSync(path("endless.jsonl"), 2 ** 25 + 2 ** 23); // sparse zeros: one line of 40 MiB
    writeFileSync(path("two.jsonl"), "[1, 2]\n[2, 1]\n");
    const r = await gapkit("measure", "--a", path("endless.jsonl"), "--b", path("two.jsonl"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(`endless.jsonl row 1: expected a line of at most ${2 ** 25} bytes`);
  });

  it("a directory named like a table is refused", async () => {
    mkdirSync(path("dir.npy"));
    const r = await gapkit("measure", path("dir.npy"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(`${path("dir.npy")}: expected a regular file; got a directory`);
  });

  it("embed refuses a FIFO as --texts, as an image of a folder or list, and an image over 64 MiB", async () => {
    const texts = mkfifo("captions.txt");
    const embed = (...args: string[]) => gapkit("embed", "--model", CLIP, "-o", path("e.npy"), ...args);
    let r = await embed("--texts", texts);
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(`${texts}: expected a regular file; got a FIFO`);

    mkdirSync(path("imgs"));
    copyFileSync(IMAGE, path("imgs/a.png"));
    const fifo = mkfifo("imgs/b.png");
    r = await embed("--images", path("imgs"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(`${fifo}: expected a regular file; got a FIFO`);

    writeFileSync(path("list.txt"), `${IMAGE}\n${fifo}\n`);
    r = await embed("--images", path("list.txt"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(`${fifo}: expected a regular file; got a FIFO`);

    writeFileSync(path("huge.png"), "");
    truncateSync(path("huge.png"), 64 * 2 ** 20 + 1); // sparse: no disk space used
    writeFileSync(path("huge.txt"), `${path("huge.png")}\n`);
    r = await embed("--images", path("huge.txt"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(`${path("huge.png")}: expected a file of at most 67108864 bytes`);
  });

  it("embed refuses a model folder with a FIFO among its files", async () => {
    const model = path("model");
    mkdirSync(join(model, "onnx"), { recursive: true });
    for (const f of ["config.json", "tokenizer_config.json", "onnx/text_model.onnx"])
      copyFileSync(join(CLIP, f), join(model, f));
    const fifo = mkfifo("model/tokenizer.json");
    const r = await gapkit("embed", "--model", model, "--texts", path("texts.txt"), "-o", path("m.npy"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(`${fifo}: expected a regular file; got a FIFO`);
  });
});

describe("numbers are numbers", () => {
  it("a JSONL number given as a string is refused, naming file, row and column", async () => {
    const rows = [
      { a: [1, 0], b: [0, 1] },
      { a: [0, 1], b: ["1", 0] },
    ];
    writeFileSync(path("strings.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n"));
    const r = await gapkit("measure", path("strings.jsonl"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(
      `strings.jsonl row 1, column "b" element 0: expected a finite number; got "1"`,
    );
  });

  it.each(["0x10", "1e", "Infinity", " 1", "1 ", "+1", ".5", "1.", "1e999", "0b1", "1_000"])(
    "a CSV cell %j is refused, naming file, row and field",
    async (cell) => {
      writeFileSync(path("cells.csv"), `1,2\n2,"${cell}"\n0,1\n`);
      writeFileSync(path("ok.csv"), "1,2\n2,1\n0,1\n");
      const r = await gapkit("measure", "--a", path("cells.csv"), "--b", path("ok.csv"));
      expect(isUserError(r), r.stderr).toBe(true);
      expect(r.stderr).toContain(`cells.csv row 1 field 1: expected a finite decimal number`);
    },
  );

  it("a deeply nested JSONL line is a user error, not a crash", async () => {
    writeFileSync(path("deep.jsonl"), `${"[".repeat(100_000)}${"]".repeat(100_000)}\n[1]\n`);
    writeFileSync(path("flat.jsonl"), "[1]\n[2]\n");
    const r = await gapkit("measure", "--a", path("deep.jsonl"), "--b", path("flat.jsonl"));
    expect(isUserError(r), r.stderr).toBe(true);
  });
});

describe("damaged archives", () => {
  it("an .npz whose member fails its CRC is refused, naming the member", async () => {
    const { a, b } = fixture("metrics");
    const data = Float32Array.from([...a.data, ...b.data]);
    const zip = serializeNpz({ pair: { shape: [2, a.rows, a.cols], data } });
    const at = zip.length - 200; // inside the member's data, well before the central directory
    zip[at] ^= 0x10;
    writeFileSync(path("crc.npz"), zip);
    const r = await gapkit("measure", path("crc.npz"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(`${path("crc.npz")}/pair.npy: expected data with the CRC-32`);
  });
});

describe("Windows text files", () => {
  it("CSV with CRLF line ends or a UTF-8 byte-order mark reads as the plain file", async () => {
    writeFileSync(path("plain.csv"), pairCsv("\n"));
    writeFileSync(path("crlf.csv"), pairCsv("\r\n"));
    writeFileSync(path("bom.csv"), `\ufeff${pairCsv("\r\n")}`);
    writeFileSync(path("bom-bare.csv"), "\ufeff1,0\n0,1\n0.5,0.25\n1,1\n");
    writeFileSync(path("bare.csv"), "1,0\n0,1\n0.5,0.25\n1,1\n");
    const plain = await gapkit("measure", path("plain.csv"), "--json");
    expect(plain.code, plain.stderr).toBe(0);
    for (const name of ["crlf.csv", "bom.csv"]) {
      const r = await gapkit("measure", path(name), "--json");
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(JSON.parse(plain.stdout));
    }
    const bare = await gapkit("measure", "--a", path("bare.csv"), "--b", path("bare.csv"), "--json");
    const bom = await gapkit("measure", "--a", path("bom-bare.csv"), "--b", path("bare.csv"), "--json");
    expect(bom.code, bom.stderr).toBe(0);
    expect(JSON.parse(bom.stdout)).toEqual(JSON.parse(bare.stdout));
  });
});

describe("control characters in error messages", () => {
  it("are escaped, from paths and from file contents, and the message stays one line", async () => {
    const name = path("evil\x1b[2J\r\nname\x07.npy");
    let r = await gapkit("measure", name);
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain("evil\\x1b[2J\\r\\nname\\x07.npy");
    expect(r.stderr.trimEnd()).not.toMatch(/\p{Cc}/u);

    writeFileSync(path("evil.jsonl"), `[1, 2]\n[1, \x1b]0;title\x07\x9b2J]\n`);
    r = await gapkit("measure", "--a", path("evil.jsonl"), "--b", path("evil.jsonl"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain("\\x1b");
    expect(r.stderr.trimEnd()).not.toMatch(/\p{Cc}/u);

    r = await gapkit("measure", "--x\x1b[31m");
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain("unknown option '--x\\x1b[31m'");
  });
});

describe("embed --pairs", () => {
  it("a ragged map is a user error naming the row", async () => {
    mkdirSync(path("two"));
    copyFileSync(IMAGE, path("two/x.png"));
    copyFileSync(IMAGE, path("two/y.png"));
    writeFileSync(path("map.csv"), "image,text\nx.png,0\ny.png,1,extra\n");
    const r = await gapkit(
      "embed",
      "--model",
      CLIP,
      "--images",
      path("two"),
      "--texts",
      path("texts.txt"),
      "--pairs",
      path("map.csv"),
      "-o",
      path("p.npy"),
    );
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(`${path("map.csv")} row 3: expected valid CSV`);
  });
});

import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, gapkit, isUserError, scratchDir, writeMetricsPair } from "./run.js";

// Every output target here is made by the test in its own temporary folder: a failing test must never
// touch the machine's /dev entries (as root, the old code replaced /dev/null when asked to write to it).
const path = scratchDir("gapkit-outputs-");
const pairs = path("pairs.npy");
const fit = ["align", "fit", pairs, "--method", "center", "-o"];
const STALE = "11111111-2222-4333-8444-555555555555";
const FRESH = "66666666-7777-4888-9999-aaaaaaaaaaaa";

beforeAll(async () => {
  await writeMetricsPair(pairs);
});

/** The state `align fit --method center` writes for the pairs, as written to a plain file. */
async function expectedState(): Promise<string> {
  const r = await gapkit(...fit, path("plain.json"));
  expect(r.code).toBe(0);
  return readFileSync(path("plain.json"), "utf8");
}

/** Whether this machine lets a test mount a tmpfs in a private mount namespace and mknod in it. */
function privateMounts(): boolean {
  const dir = path("probe");
  mkdirSync(dir);
  const probe = `mount -t tmpfs none '${dir}' && mknod '${dir}/null' c 1 3`;
  return spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", probe]).status === 0;
}

const mounts = privateMounts();
if (!mounts)
  console.warn(
    "outputs.test.ts: skipping the character-device test: unshare --mount or mknod is unavailable",
  );

describe("output targets", () => {
  it("a symlink is followed: the file it points to is replaced, the link stays", async () => {
    writeFileSync(path("target.json"), "old\n");
    symlinkSync("target.json", path("link.json"));
    const r = await gapkit(...fit, path("link.json"));
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(path("link.json")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path("link.json"))).toBe("target.json");
    expect(readFileSync(path("target.json"), "utf8")).toBe(await expectedState());
  });

  it("a symlink to a missing file is refused", async () => {
    symlinkSync("missing.json", path("dangling.json"));
    const r = await gapkit(...fit, path("dangling.json"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/dangling\.json: expected a file path; got a symbolic link to the missing/);
    expect(existsSync(path("missing.json"))).toBe(false);
  });

  it("a FIFO is written through, not replaced", async () => {
    const fifo = path("fifo");
    execFileSync("mkfifo", [fifo]);
    const reader = spawn("cat", [fifo]);
    const closed = new Promise((done) => reader.on("close", done));
    let received = "";
    reader.stdout.on("data", (chunk) => {
      received += chunk;
    });
    try {
      const r = await gapkit(...fit, fifo);
      expect(r.code, r.stderr).toBe(0);
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      await closed;
      expect(received).toBe(await expectedState());
    } finally {
      reader.kill();
    }
  });

  it("-o - writes the output on stdout (stats: instead of the summary)", async () => {
    const r = await gapkit(...fit, "-");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(await expectedState());
    const stats = await gapkit("stats", pairs, "-o", "-");
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ n: 60, dim: 12 });
    expect(existsSync("-")).toBe(false);
  });

  it("a directory is refused, before any work", async () => {
    mkdirSync(path("dir"));
    for (const args of [fit, ["report", pairs, "--experiments", "cone-mlp", "-o"]]) {
      const r = await gapkit(...args, path("dir"));
      expect(isUserError(r), r.stderr).toBe(true);
      expect(r.stderr).toMatch(/dir: expected a file path; got a directory/);
      expect(readdirSync(path("dir"))).toEqual([]);
    }
  });

  it.skipIf(!mounts)(
    "a character device is written through, not replaced; a full disk fails first (needs unshare -m and mknod: skipped where missing)",
    () => {
      // a private mount namespace: the tmpfs, its null device and its full disk vanish with it
      const dir = path("ns");
      mkdirSync(dir);
      const node = `${process.execPath} ${cli.map((a) => `'${a}'`).join(" ")}`;
      const script = [
        `mount -t tmpfs none '${dir}'`,
        `mknod '${dir}/null' c 1 3`,
        `${node} align fit '${pairs}' --method center -o '${dir}/null'`,
        `test -c '${dir}/null' && echo device-kept`,
        `mkdir '${dir}/full' && mount -t tmpfs -o size=64k none '${dir}/full'`,
        `(cat /dev/zero > '${dir}/full/fill' 2>/dev/null || true)`,
        `${node} align fit '${pairs}' --method center -o '${dir}/full/x.json' 2>&1; echo "exit $?"`,
      ].join(" && ");
      const out = execFileSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", script], {
        encoding: "utf8",
      });
      expect(out).toMatch(/device-kept/);
      expect(out).toMatch(/x\.json: expected a file path on a disk with room; got a full disk\nexit 2/);
    },
  );
});

describe("interrupted writes", () => {
  it("a run removes this output's temporary files left by killed runs, once stale, and no others", async () => {
    const stale = path(`.state.json.${STALE}.tmp`);
    const fresh = path(`.state.json.${FRESH}.tmp`);
    const other = path(`.other.json.${STALE}.tmp`);
    for (const file of [stale, fresh, other]) writeFileSync(file, "partial");
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const file of [stale, other]) utimesSync(file, hourAgo, hourAgo);
    const r = await gapkit(...fit, path("state.json"));
    expect(r.code, r.stderr).toBe(0);
    expect([existsSync(stale), existsSync(fresh), existsSync(other)]).toEqual([false, true, true]);
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("%s stops a run with exit %d and leaves no temporary files", async (signal, code) => {
    const dir = path(`signal-${signal}`);
    const run = spawn(process.execPath, [
      ...cli,
      "train",
      pairs,
      "--widths",
      "8",
      "--batch",
      "16",
      "--epochs",
      "100000",
      "--checkpoint",
      dir,
    ]);
    // killed once training reports progress: the handler is installed and checkpoints are being written
    run.stderr.once("data", () => run.kill(signal));
    const exit = await new Promise<number | null>((done) => run.on("exit", done));
    expect(exit).toBe(code);
    expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });
});

describe("fail before working", () => {
  it("demo with a bad --real file or an -o in a missing folder fails before training", async () => {
    writeFileSync(path("bad.npy"), "not an array");
    for (const args of [
      ["--real", path("bad.npy")],
      ["-o", path("nodir/x.html")],
    ]) {
      const r = await gapkit("demo", ...args);
      expect(isUserError(r), r.stderr).toBe(true);
      expect(r.stderr).not.toMatch(/demo: /); // no progress line: nothing was trained
    }
    const r = await gapkit("demo", "-o", path("nodir/x.html"));
    expect(r.stderr).toMatch(/x\.html: expected a file path in an existing folder; got no folder/);
  });

  it("embed checks both of its outputs before writing either", async () => {
    mkdirSync(path("e"));
    mkdirSync(path("e/o.json"));
    writeFileSync(path("captions.txt"), "a cat\n");
    const r = await gapkit(
      "embed",
      "--model",
      path("no-model"),
      "--texts",
      path("captions.txt"),
      "-o",
      path("e/o.npy"),
    );
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/o\.json: expected a file path; got a directory/);
    expect(existsSync(path("e/o.npy"))).toBe(false);
  });
});

describe("train checkpoints and metrics", () => {
  const train = ["train", pairs, "--widths", "8", "--batch", "16", "--json"];
  const epochs = (file: string) =>
    readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line).epoch);

  it("--checkpoint naming a file is a user error", async () => {
    writeFileSync(path("a-file"), "");
    const r = await gapkit(...train, "--epochs", "1", "--checkpoint", path("a-file"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/a-file: expected a folder for the checkpoint; got a file/);
  });

  it("a checkpoint torn between its files (new weights, old state) is refused on --resume", async () => {
    for (const n of ["2", "3"]) {
      const r = await gapkit(...train, "--epochs", n, "--checkpoint", path(`ck${n}`));
      expect(r.code, r.stderr).toBe(0);
    }
    copyFileSync(path("ck3/weights.npz"), path("ck2/weights.npz"));
    const r = await gapkit(...train, "--epochs", "4", "--resume", path("ck2"));
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/ck2: expected the weights its metadata records .*torn by an interrupted write/);
  });

  it("--metrics with --resume appends to the earlier epochs (dropping those past the checkpoint)", async () => {
    const metrics = path("m.jsonl");
    const first = await gapkit(...train, "--epochs", "3", "--metrics", metrics, "--checkpoint", path("ckm"));
    expect(first.code, first.stderr).toBe(0);
    // a crash after epoch 4's metrics line, before its checkpoint
    writeFileSync(metrics, `${readFileSync(metrics, "utf8")}{"epoch":4}\n`);
    // --epochs 5, the default's value, given explicitly: the run is extended to it
    const more = await gapkit(...train, "--epochs", "5", "--resume", path("ckm"), "--metrics", metrics);
    expect(more.code, more.stderr).toBe(0);
    expect(epochs(metrics)).toEqual([1, 2, 3, 4, 5]);
    expect(readFileSync(metrics, "utf8")).not.toMatch(/^\{"epoch":4\}$/m);
  });
});

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fitAlign } from "../../src/align/index.js";
import { matrix } from "../../src/core/matrix.js";
import { finalizeStats, pairStats } from "../../src/gap/stats.js";
import { rowBinary } from "../../src/io/clickhouse.js";
import { readPairFile, writeNpyFile } from "../../src/io/files.js";
import { gapkit, isUserError } from "../cli/run.js";
import { expectFields, fixture, fromFixture } from "../helpers.js";

const SCRIPT = new URL("../../scripts/clickhouse-cluster.sh", import.meta.url).pathname;
const SHARED = new URL("../../../shared/data/mind-the-gap/features_clip.npy", import.meta.url).pathname;
const installed = (() => {
  try {
    execFileSync("sh", ["-c", "command -v clickhouse-server"]);
    return true;
  } catch {
    return false;
  }
})();
if (!installed)
  console.warn(
    "skipping the ClickHouse cluster tests: clickhouse-server is not installed (apt-get install -y clickhouse-server)",
  );

describe("RowBinary rows", () => {
  it("encode id, then each array as a varint length and little-endian float32 values", () => {
    const bytes = rowBinary(matrix(1, 2, Float32Array.of(1, -2)), matrix(1, 2, Float32Array.of(0.5, 3)), 7);
    const view = new DataView(bytes.buffer);
    expect(bytes.length).toBe(8 + 2 * (1 + 8));
    expect(view.getBigUint64(0, true)).toBe(7n);
    expect([bytes[8], view.getFloat32(9, true), view.getFloat32(13, true)]).toEqual([2, 1, -2]);
    expect([bytes[17], view.getFloat32(18, true), view.getFloat32(22, true)]).toEqual([2, 0.5, 3]);
  });
});

describe.skipIf(!installed)("a 2-shard ClickHouse cluster on loopback", () => {
  const dir = mkdtempSync(join(tmpdir(), "gapkit-clickhouse-"));
  let url = "";
  // the shared CLIP features where present, else the metrics fixture pair
  let file = SHARED;

  beforeAll(async () => {
    url = execFileSync(SCRIPT, ["start", join(dir, "cluster")], { encoding: "utf8" })
      .trim()
      .split("\n")
      .at(-1)!;
    if (!existsSync(SHARED)) {
      const ref = fixture("metrics");
      const [a, b] = [fromFixture(ref.a), fromFixture(ref.b)];
      file = join(dir, "pair.npy");
      const data = new Float32Array(2 * a.data.length);
      data.set(a.data);
      data.set(b.data, a.data.length);
      await writeNpyFile(file, { shape: [2, a.rows, a.cols], data });
    }
  }, 60_000);
  afterAll(() => {
    execFileSync(SCRIPT, ["stop", join(dir, "cluster")]);
  });

  it("loads a set across both shards and gives the in-process numbers and ReAlign state", async () => {
    const loaded = await gapkit(
      "load",
      "--clickhouse",
      url,
      "--table",
      "emb",
      "--create",
      "--cluster",
      "two_shards",
      file,
      "--chunk-rows",
      "100",
      "--json",
    );
    expect(loaded.code, loaded.stderr).toBe(0);
    const { a, b } = await readPairFile(file);
    expect(JSON.parse(loaded.stdout)).toMatchObject({ rows: a.rows, dim: a.cols });
    // every shard holds part of the rows
    const shardCounts = readFileSync(join(dir, "cluster", "n2", "config.xml"), "utf8").match(
      /<http_port>(\d+)</,
    )![1];
    const second = await fetch(
      `http://127.0.0.1:${shardCounts}/?query=${encodeURIComponent("SELECT count() FROM emb_local")}`,
    );
    const onSecond = Number(await second.text());
    expect(onSecond).toBeGreaterThan(0);
    expect(onSecond).toBeLessThan(a.rows);

    const measured = await gapkit("measure", "--clickhouse", url, "--table", "emb", "--json");
    expect(measured.code, measured.stderr).toBe(0);
    const inProcess = finalizeStats(await pairStats(a, b));
    const { gap, pairedCos, alignment, cone, spectrum } = inProcess;
    expectFields(
      JSON.parse(measured.stdout),
      { gap, pairedCos, alignment, cone, spectrum: { gapVarianceFraction: spectrum!.gapVarianceFraction } },
      1e-6,
    );

    const statePath = join(dir, "realign.json");
    const fitted = await gapkit(
      "align",
      "fit",
      "--clickhouse",
      url,
      "--table",
      "emb",
      "--method",
      "realign",
      "-o",
      statePath,
    );
    expect(fitted.code, fitted.stderr).toBe(0);
    expectFields(
      JSON.parse(readFileSync(statePath, "utf8")),
      JSON.parse(JSON.stringify(await fitAlign("realign", a, b))),
      1e-6,
    );
  }, 120_000);

  it.each([["x; DROP TABLE emb"], ["emb`"], ['a" OR 1']])(
    "refuses the table name %j with exit 2, before touching any server",
    async (table) => {
      // a closed port: the error must come from the name check, not from a connection
      const r = await gapkit("measure", "--clickhouse", "http://127.0.0.1:9", "--table", table, "--json");
      expect(isUserError(r)).toBe(true);
      expect(r.stderr).toContain("--table: expected a name of letters, digits and _");
      const load = await gapkit("load", "--clickhouse", "http://127.0.0.1:9", "--table", table, file);
      expect(isUserError(load), load.stderr).toBe(true);
    },
  );

  it("names a server that cannot be reached, and a missing table, as user errors", async () => {
    const closed = await gapkit("measure", "--clickhouse", "http://127.0.0.1:9", "--table", "emb", "--json");
    expect(isUserError(closed)).toBe(true);
    const missing = await gapkit("measure", "--clickhouse", url, "--table", "nope", "--json");
    expect(isUserError(missing)).toBe(true);
    expect(missing.stderr).toContain("--clickhouse");
  });
});

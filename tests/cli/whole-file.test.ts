import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { npyHeaderBytes } from "../../src/io/npy.js";
import { gapkit, isUserError, scratchDir } from "./run.js";

const path = scratchDir("gapkit-whole-file-");

describe("commands that hold the whole file", () => {
  it.each([
    [
      ["align", "eval"],
      ["--method", "center"],
    ],
    [["score", "eval"], []],
    [["shift"], []],
    [["train"], []],
  ])("%j refuses a table over 2 GiB from its header, before reading it", async (command, flags) => {
    // a sparse (2, 600000, 512) float32 .npy: 2.46 GB stated, nothing on disk
    const file = path(`big-${command.join("-")}.npy`);
    const header = npyHeaderBytes([2, 600_000, 512], "f4");
    const fd = openSync(file, "w");
    writeSync(fd, header);
    ftruncateSync(fd, header.length + 2 * 600_000 * 512 * 4);
    closeSync(fd);
    const r = await gapkit(...command, file, ...flags);
    expect(isUserError(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(
      /expected at most 2147483648 bytes of rows to hold in memory .*; got 600000 rows of 4096 bytes/,
    );
  });
});

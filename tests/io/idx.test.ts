import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { fashionMnist, parseIdx } from "../../src/io/idx.js";

/** An IDX file of unsigned bytes: magic 0x00000803-style header, big-endian dimensions, the elements. */
function idx(dims: number[], data: number[]): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint8(2, 0x08);
  header.setUint8(3, dims.length);
  for (const [k, d] of dims.entries()) header.setUint32(4 + 4 * k, d);
  return Uint8Array.from([...new Uint8Array(header.buffer), ...data]);
}

describe("IDX files", () => {
  it("parses the dimensions and the bytes", () => {
    const { dims, data } = parseIdx(idx([2, 1, 3], [0, 1, 2, 253, 254, 255]), "t");
    expect(dims).toEqual([2, 1, 3]);
    expect(Array.from(data)).toEqual([0, 1, 2, 253, 254, 255]);
  });

  it("refuses another element type, and a length that does not fit the dimensions", () => {
    const floats = idx([1], [0]);
    floats[2] = 0x0d;
    expect(() => parseIdx(floats, "t")).toThrow(
      /t: expected an IDX file of unsigned bytes.*; got 00 00 0d 01/,
    );
    expect(() => parseIdx(idx([2, 2], [1, 2, 3]), "t")).toThrow(
      /expected 4 elements for dimensions 2×2; got 3/,
    );
  });

  it("reads a Fashion-MNIST split from a folder, pixels scaled to [0, 1]; a missing one names the package", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gapkit-idx-"));
    await expect(fashionMnist("t10k", dir)).rejects.toThrow(/apt-get install dataset-fashion-mnist/);
    await expect(fashionMnist("t10k", dir)).rejects.toBeInstanceOf(InputError);
    writeFileSync(
      join(dir, "t10k-images-idx3-ubyte.gz"),
      gzipSync(idx([2, 2, 2], [0, 51, 102, 255, 1, 2, 3, 4])),
    );
    writeFileSync(join(dir, "t10k-labels-idx1-ubyte.gz"), gzipSync(idx([2], [7, 3])));
    const set = await fashionMnist("t10k", dir);
    expect(Array.from(set.labels)).toEqual([7, 3]);
    expect([set.height, set.width]).toEqual([2, 2]);
    const rows = set.images([1, 0]);
    expect(Array.from(rows.data)).toEqual([1, 2, 3, 4, 0, 51, 102, 255].map((v) => Math.fround(v / 255)));
    expect(() => set.images([2])).toThrow(/rows in \[0, 2\)/);
  });
});

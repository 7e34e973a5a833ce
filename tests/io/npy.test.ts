import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { strToU8, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { matrix } from "../../src/core/matrix.js";
import {
  readArrayFile,
  readMatrixFile,
  readNpyFile,
  readPairFile,
  writeFileAtomic,
  writeNpyFile,
  writeNpzFile,
} from "../../src/io/files.js";
import {
  fromMatrix,
  type NdArray,
  type NpyData,
  type NpyReadOptions,
  parseNpy,
  serializeNpy,
  toMatrix,
  toPair,
} from "../../src/io/npy.js";
import { parseNpz, serializeNpz } from "../../src/io/npz.js";

type Value = number | string;
interface Expected {
  shape: number[];
  dtype: string;
  values: Value[];
}
type Entry = Expected | { arrays: Record<string, Expected> };

const FIXTURES = new URL("../fixtures/npy/", import.meta.url);
const manifest: Record<string, Entry> = JSON.parse(readFileSync(new URL("manifest.json", FIXTURES), "utf8"));
const fixture = (file: string) => new Uint8Array(readFileSync(new URL(file, FIXTURES)));
const npyFixtures = Object.keys(manifest).filter((f) => f.endsWith(".npy"));
const npzFixtures = Object.keys(manifest).filter((f) => f.endsWith(".npz"));

/** The manifest's encoding of values: NaN/±inf as strings, integers beyond 2**53 as decimal strings. */
function plain(data: NpyData): Value[] {
  const big = 2n ** 53n;
  return Array.from(data as ArrayLike<number | bigint>, (x) => {
    if (typeof x === "bigint") return x > big || x < -big ? String(x) : Number(x);
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    return x;
  });
}

function expectArray(arr: NdArray, expected: Expected): void {
  expect(arr.shape).toEqual(expected.shape);
  expect(arr.dtype).toBe(expected.dtype);
  expect(plain(arr.data)).toEqual(expected.values);
}

const bytesOf = (d: NpyData) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

describe("reading numpy's files", () => {
  it("covers every dtype, both byte orders, both memory orders and versions 1.0-3.0", () => {
    const entries = npyFixtures.map(
      (f) => manifest[f] as Expected & { descr: string; fortran_order: boolean },
    );
    expect(new Set(entries.map((e) => e.dtype))).toEqual(
      new Set(["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]),
    );
    expect(new Set(entries.map((e) => e.descr[0]))).toEqual(new Set(["<", ">", "|"]));
    expect(entries.some((e) => e.fortran_order)).toBe(true);
    expect(new Set(npyFixtures.map((f) => f.match(/_v(\d)/)?.[1]))).toEqual(new Set(["1", "2", "3"]));
  });

  it.each(npyFixtures)("%s", (file) => {
    expectArray(parseNpy(fixture(file), file), manifest[file] as Expected);
  });

  it.each(npzFixtures)("%s", (file) => {
    const arrays = parseNpz(fixture(file), file);
    const expected = (manifest[file] as { arrays: Record<string, Expected> }).arrays;
    expect([...arrays.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [key, arr] of arrays) expectArray(arr, expected[key]);
  });

  it("reads from a Uint8Array at an odd offset in a larger buffer", () => {
    const file = "f8_be_F_r3_v1.npy";
    const bytes = fixture(file);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 1);
    expectArray(parseNpy(shifted.subarray(1, bytes.length + 1), file), manifest[file] as Expected);
    // a small Buffer lives at an offset in Node's shared pool, and its slice() is a view, not a copy
    expectArray(parseNpy(Buffer.from(bytes), file), manifest[file] as Expected);
  });
});

/** An .npy file with the given header text (padded to 64 bytes with a final newline unless `newline` is false). */
function npy(
  header: string,
  dataBytes: number,
  o: {
    version?: [number, number];
    headerLength?: number;
    magic?: string;
    newline?: boolean;
    raw?: number[];
  } = {},
): Uint8Array {
  const [major, minor] = o.version ?? [1, 0];
  const preamble = major === 1 ? 10 : 12;
  const text =
    o.newline === false
      ? header
      : `${header.padEnd(63 - ((preamble + header.length) % 64) + header.length)}\n`;
  const h = o.raw ? Uint8Array.from(o.raw) : Uint8Array.from(text, (c) => c.charCodeAt(0));
  const out = new Uint8Array(preamble + h.length + dataBytes);
  out.set(Uint8Array.from(o.magic ?? "\x93NUMPY", (c) => c.charCodeAt(0)));
  out.set([major, minor], 6);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, o.headerLength ?? h.length, true);
  else view.setUint32(8, o.headerLength ?? h.length, true);
  out.set(h, preamble);
  return out;
}

const dict = (descr = "'<f4'", fortran = "False", shape = "(2, 3)") =>
  `{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Asserts an InputError whose message is "<name>: " followed by something matching `problem`. */
function expectRejected(parse: () => unknown, name: string, problem: RegExp): void {
  expect(parse).toThrow(InputError);
  expect(parse).toThrow(new RegExp(`^${escapeRe(name)}: ${problem.source}`));
}

describe("rejecting malformed .npy files", () => {
  const valid = npy(dict(), 24);
  const cases: [string, Uint8Array, RegExp, NpyReadOptions?][] = [
    [
      "an empty file",
      new Uint8Array(0),
      /expected a \.npy file starting with the magic string .*; got an empty file$/,
    ],
    [
      "a file shorter than the magic",
      valid.subarray(0, 3),
      /expected a \.npy file .*magic.*; got b'\\x93NU'$/,
    ],
    [
      "a corrupt magic string",
      npy(dict(), 24, { magic: "\x93NUMPZ" }),
      /expected a \.npy file starting with the magic string .*; got b'\\x93NUMPZ'$/,
    ],
    [
      "a zip file given as .npy",
      strToU8("PK\x03\x04rest of a zip"),
      /expected a \.npy file starting with the magic string .*; got b'PK\\x03\\x04re'$/,
    ],
    ["the magic string alone", valid.subarray(0, 6), /expected a 2-byte format version .*; got end of file$/],
    [
      "version 9.0",
      npy(dict(), 24, { version: [9, 0] }),
      /expected \.npy format version 1\.0, 2\.0 or 3\.0; got 9\.0$/,
    ],
    [
      "version 1.1",
      npy(dict(), 24, { version: [1, 1] }),
      /expected \.npy format version 1\.0, 2\.0 or 3\.0; got 1\.1$/,
    ],
    [
      "a cut header length field",
      npy(dict(), 0, { version: [2, 0] }).subarray(0, 11),
      /expected a 4-byte header length field at byte 8; got a file of only 11 bytes$/,
    ],
    [
      "a header length past the end",
      npy(dict(), 24, { headerLength: 1000 }),
      /expected a header of 1000 bytes .*; got only 142 bytes after the 10-byte preamble$/,
    ],
    [
      "a v2 header length of 2**32-1",
      npy(dict(), 24, { version: [2, 0], headerLength: 0xffffffff }),
      /expected a header of 4294967295 bytes .*; got only 140 bytes after the 12-byte preamble$/,
    ],
    [
      "a header without the final newline",
      npy(`${dict()}    `, 24, { newline: false }),
      /expected the header to end with a newline; got ".*\s{4}"$/,
    ],
    ["an empty header", npy("", 0, { newline: false }), /expected the header to end with a newline; got ""$/],
    [
      "a header that is a list",
      npy("[1, 2, 3]", 24),
      /expected a Python dict literal starting with '\{' at header offset 0; got "\[1, 2, 3\]/,
    ],
    [
      "a header that is a bare string",
      npy("'descr'", 24),
      /expected a Python dict literal starting with '\{' at header offset 0/,
    ],
    [
      "an unterminated string",
      npy("{'descr': '<f4}", 0),
      /expected a string closed by ' at header offset 10; got "'<f4}/,
    ],
    [
      "a backslash escape in a string",
      npy(dict("'<f\\x34'"), 24),
      /expected a string without backslash escapes at header offset 13/,
    ],
    [
      "an unquoted key",
      npy("{descr: '<f4'}", 24),
      /expected a quoted key or '\}' at header offset 1; got "descr/,
    ],
    ["a missing colon", npy("{'descr' '<f4'}", 24), /expected ':' after a key at header offset 9/],
    [
      "a missing comma between entries",
      npy("{'descr': '<f4' 'shape': (2, 3)}", 24),
      /expected ',' or '\}' after a value at header offset 16/,
    ],
    [
      "an unclosed dict",
      npy("{'descr': '<f4', ", 24),
      /expected a quoted key or '\}' at header offset \d+; got the end of the header$/,
    ],
    [
      "text after the dict",
      npy(`${dict()} x`, 24),
      /expected nothing but whitespace after the header dict at header offset \d+; got "x/,
    ],
    [
      "a nested dict value",
      npy(dict("{}"), 24),
      /expected a string, True, False, a number or a tuple at header offset 10; got "\{\}/,
    ],
    [
      "an object dtype '|O'",
      npy(dict("'|O'"), 8),
      /expected descr to be a numeric dtype such as '<f4' .*; got '\|O' \(object arrays are not supported\)$/,
    ],
    [
      "a structured dtype",
      npy(dict("[('a', '<f4'), ('b', '<i4')]"), 24),
      /expected a dtype string, not a list \(structured dtypes are not supported\) at header offset 10/,
    ],
    ["a complex dtype '<c8'", npy(dict("'<c8'"), 48), /expected descr to be a numeric dtype .*; got '<c8'$/],
    ["a unicode dtype '<U5'", npy(dict("'<U5'"), 120), /expected descr to be a numeric dtype .*; got '<U5'$/],
    [
      "an unknown size '<f1'",
      npy(dict("'<f1'"), 6),
      /expected descr to be one of f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 with a byte order; got '<f1'$/,
    ],
    [
      "a descr that is not a string",
      npy(dict("4"), 24),
      /expected descr to be a dtype string such as '<f4'; got 4$/,
    ],
    [
      "fortran_order 'maybe'",
      npy(dict("'<f4'", "'maybe'"), 24),
      /expected fortran_order to be True or False; got 'maybe'$/,
    ],
    [
      "fortran_order true (lower case)",
      npy(dict("'<f4'", "true"), 24),
      /expected fortran_order to be True or False; got true$/,
    ],
    [
      "a missing 'shape' key",
      npy("{'descr': '<f4', 'fortran_order': False}", 24),
      /expected the keys 'descr', 'fortran_order', 'shape'; got no 'shape'$/,
    ],
    [
      "a missing 'descr' key",
      npy("{'fortran_order': False, 'shape': (6,)}", 24),
      /expected the keys .*; got no 'descr'$/,
    ],
    [
      "an extra key",
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'foo': 1}", 24),
      /expected only the keys 'descr', 'fortran_order', 'shape'; got an extra key 'foo'$/,
    ],
    [
      "a repeated key",
      npy("{'shape': (6,), 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", 24),
      /expected each key once, but 'shape' repeats at header offset 56/,
    ],
    [
      "a shape that is a parenthesised int",
      npy(dict("'<f4'", "False", "(6)"), 24),
      /expected shape to be a tuple of non-negative integers; got 6$/,
    ],
    [
      "a shape that is a list",
      npy(dict("'<f4'", "False", "[2, 3]"), 24),
      /expected a value, not a list at header offset \d+; got "\[2, 3\]/,
    ],
    [
      "an unclosed shape tuple",
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}", 24),
      /expected ',' or '\)' in a tuple at header offset 55; got "\}/,
    ],
    [
      "a nested tuple in the shape",
      npy(dict("'<f4'", "False", "((2, 3),)"), 24),
      /expected a tuple entry, not a nested tuple at header offset 51; got "\(2, 3\),\)/,
    ],
    [
      "100000 nested parentheses",
      npy(dict("'<f4'", "False", `${"(".repeat(100000)}6,${")".repeat(100000)}`), 24, { version: [2, 0] }),
      /expected a tuple entry, not a nested tuple at header offset 51/,
    ],
    [
      "a negative dimension",
      npy(dict("'<f4'", "False", "(-1, 3)"), 24),
      /expected shape to be a tuple of non-negative integers; got a negative entry -1 in \(-1, 3\)$/,
    ],
    [
      "a fractional dimension",
      npy(dict("'<f4'", "False", "(2.5,)"), 24),
      /expected shape to be a tuple of non-negative integers; got an invalid entry 2\.5 in \(2\.5,\)$/,
    ],
    [
      "a dimension with a leading zero",
      npy(dict("'<f4'", "False", "(06,)"), 24),
      /expected shape to be a tuple of non-negative integers; got an invalid entry 06 in \(06,\)$/,
    ],
    [
      "a Python 2 long dimension",
      npy(dict("'<f4'", "False", "(6L,)"), 24),
      /expected shape to be a tuple of non-negative integers; got an invalid entry 6L in \(6L,\)$/,
    ],
    [
      "a string dimension",
      npy(dict("'<f4'", "False", "('6',)"), 24),
      /expected shape to be a tuple of non-negative integers; got an invalid entry '6' in \('6',\)$/,
    ],
    [
      "dimensions of 10**12",
      npy(dict("'<f4'", "False", "(1000000000000, 1000000000000)"), 24),
      /expected an array of at most 2147483648 bytes .*; got shape \(1000000000000, 1000000000000\) float32 \(4000000000000000000000000 bytes\)$/,
    ],
    [
      "a dimension past 2**53 beside a zero",
      npy(dict("'<f4'", "False", "(0, 100000000000000000000)"), 0),
      /expected an array of at most 2147483648 bytes with dimensions below 2\*\*53; got shape \(0, 100000000000000000000\) float32 \(0 bytes\)$/,
    ],
    [
      "more bytes than a custom limit",
      npy(dict("'<f8'", "False", "(5,)"), 40),
      /expected an array of at most 32 bytes .*; got shape \(5,\) float64 \(40 bytes\)$/,
      { maxBytes: 32 },
    ],
    [
      "a truncated data section",
      npy(dict("'<f4'", "False", "(10, 100)"), 3996),
      /expected a data section of 4000 bytes for shape \(10, 100\) float32; got 3996 bytes$/,
    ],
    [
      "trailing bytes after the data",
      npy(dict("'<i2'", "False", "(2, 3)"), 13),
      /expected a data section of 12 bytes for shape \(2, 3\) int16; got 13 bytes$/,
    ],
    [
      "a 0-d scalar of the wrong size",
      npy(dict("'<f8'", "False", "()"), 4),
      /expected a data section of 8 bytes for shape \(\) float64; got 4 bytes$/,
    ],
    [
      "data in a zero-size array",
      npy(dict("'|b1'", "False", "(0, 3)"), 1),
      /expected a data section of 0 bytes for shape \(0, 3\) bool; got 1 bytes$/,
    ],
    [
      "a v3 header that is not UTF-8",
      npy("", 0, { version: [3, 0], raw: [0x7b, 0xff, 0x7d, 0x0a] }),
      /expected a UTF-8 header \(format 3\.0\); got invalid UTF-8$/,
    ],
  ];

  it("has at least 30 distinct cases", () => {
    expect(new Set(cases.map((c) => c[0])).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)("rejects %s", (_title, bytes, problem, limits) => {
    expectRejected(() => parseNpy(bytes, "bad.npy", limits), "bad.npy", problem);
  });

  it("accepts what Python would: double quotes, any key order, no trailing comma, '=' and '|' orders", () => {
    const header = `{"shape": (2,3), "fortran_order": True , "descr": "=i2"}`;
    const bytes = npy(header, 12);
    new DataView(bytes.buffer).setInt16(bytes.length - 12, -2, true);
    const arr = parseNpy(bytes, "ok.npy");
    expect(arr).toMatchObject({ shape: [2, 3], dtype: "i2" });
    expect(Array.from(arr.data as Int16Array)).toEqual([-2, 0, 0, 0, 0, 0]);
    expect(parseNpy(npy(dict("'|u1'", "False", "(3,)"), 3), "ok.npy").dtype).toBe("u1");
  });

  it("accepts a header padded to 16 bytes, as numpy < 1.9 wrote", () => {
    const header = `${dict("'<f4'", "False", "(1,)")}`;
    const text = `${header.padEnd(header.length + 15 - ((10 + header.length) % 16))}\n`;
    const bytes = npy(text, 4, { newline: false });
    expect((10 + text.length) % 16).toBe(0);
    expect(parseNpy(bytes, "old.npy").shape).toEqual([1]);
  });
});

describe("serializeNpy", () => {
  it("writes numpy's exact header for an f4 (2, 3) array", () => {
    const bytes = serializeNpy({ shape: [2, 3], data: new Float32Array(6) });
    const header = new TextDecoder().decode(bytes.subarray(10, 128));
    expect(header).toBe(`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }${" ".repeat(58)}\n`);
    expect(Array.from(bytes.subarray(0, 10))).toEqual([0x93, 78, 85, 77, 80, 89, 1, 0, 118, 0]);
    expect(bytes.length).toBe(128 + 24);
  });

  it("reproduces numpy's little-endian C-order files byte for byte", () => {
    const files = npyFixtures.filter((f) => /_(le|na)_C_.*_v1\.npy$/.test(f));
    expect(files.length).toBeGreaterThan(40);
    for (const file of files)
      expect(serializeNpy(parseNpy(fixture(file), file)), file).toEqual(fixture(file));
  });

  it("round-trips every fixture exactly (f2 via float32, bool as 0/1)", () => {
    for (const file of npyFixtures) {
      const arr = parseNpy(fixture(file), file);
      expectArray(parseNpy(serializeNpy(arr), file), manifest[file] as Expected);
    }
  });

  it("switches to format 2.0 when the header outgrows 65535 bytes", () => {
    const shape = new Array(22000).fill(1);
    const bytes = serializeNpy({ shape, data: Float64Array.of(Math.PI) });
    expect(bytes[6]).toBe(2);
    const headerLength = new DataView(bytes.buffer).getUint32(8, true);
    expect((12 + headerLength) % 64).toBe(0);
    expect(parseNpy(bytes, "big.npy")).toMatchObject({ shape, dtype: "f8", data: Float64Array.of(Math.PI) });
  });

  it("is the identity under parse for random f4/f8/i4 arrays (fast-check)", () => {
    const sized = <T>(shape: number[], make: (n: number) => fc.Arbitrary<T>) =>
      make(shape.reduce((a, b) => a * b, 1)).map((data) => ({ shape, data }));
    const arrays = fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }).chain((shape) =>
      fc.oneof(
        sized(shape, (n) => fc.float32Array({ minLength: n, maxLength: n })),
        sized(shape, (n) => fc.float64Array({ minLength: n, maxLength: n })),
        sized(shape, (n) => fc.int32Array({ minLength: n, maxLength: n })),
      ),
    );
    fc.assert(
      fc.property(arrays, ({ shape, data }) => {
        const bytes = serializeNpy({ shape, data });
        const dataStart = bytes.length - data.byteLength;
        expect(dataStart % 64).toBe(0);
        expect(bytes[dataStart - 1]).toBe(0x0a);
        const back = parseNpy(bytes, "prop.npy");
        expect(back.shape).toEqual(shape);
        expect(back.data.constructor).toBe(data.constructor);
        expect(bytesOf(back.data)).toEqual(bytesOf(data));
      }),
      { numRuns: 300 },
    );
  });

  const allHalves = () => {
    const halves = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const bytes = npy(dict("'<f2'", "False", "(65536,)"), 0);
    const file = new Uint8Array(bytes.length + halves.byteLength);
    file.set(bytes);
    file.set(new Uint8Array(halves.buffer), bytes.length);
    return { halves, floats: parseNpy(file, "halves.npy").data as Float32Array };
  };
  const halfBits = (file: Uint8Array) => new Uint16Array(file.slice(-2).buffer)[0];

  it("round-trips all 65536 float16 bit patterns exactly, NaN payloads included", () => {
    const { halves, floats } = allHalves();
    expect(floats[0x3c00]).toBe(1);
    expect(floats[0x0001]).toBe(2 ** -24);
    expect(floats[0xfbff]).toBe(-65504);
    const out = serializeNpy({ shape: [65536], data: floats, dtype: "f2" });
    expect(new Uint16Array(out.slice(out.length - 131072).buffer)).toEqual(halves);
  });

  it("rounds float32 to the nearest float16, ties to even (fast-check)", () => {
    const { floats } = allHalves();
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        const h = halfBits(serializeNpy({ shape: [], data: Float32Array.of(x), dtype: "<f2" }));
        const y = floats[h];
        if (!Number.isFinite(y)) return Math.abs(x) >= 65520;
        for (const n of [h - 1, h + 1]) {
          if (n < 0 || n > 0xffff || n >> 15 !== h >> 15 || !Number.isFinite(floats[n])) continue;
          const [dy, dn] = [Math.abs(x - y), Math.abs(x - floats[n])];
          if (dn < dy || (dn === dy && h & 1)) return false;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
    const half = (x: number) => halfBits(serializeNpy({ shape: [1], data: Float32Array.of(x), dtype: "f2" }));
    expect(half(1 + 2 ** -11)).toBe(0x3c00);
    expect(half(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(half(65519.99)).toBe(0x7bff);
    expect(half(65520)).toBe(0x7c00);
    expect(half(2 ** -25)).toBe(0);
    expect(half(2 ** -25 * 1.5)).toBe(1);
    expect(half(Number.NaN)).toBe(0x7e00);
  });

  it("rejects a dtype that does not match the data, a bad shape and a wrong value count", () => {
    expectRejected(
      () => serializeNpy({ shape: [2], data: new Float32Array(2), dtype: "f8" }),
      "serializeNpy",
      /expected data of type Float64Array for dtype f8; got Float32Array$/,
    );
    expectRejected(
      () => serializeNpy({ shape: [2], data: new Float32Array(2), dtype: "c8" }),
      "serializeNpy",
      /expected a dtype among .*; got 'c8'$/,
    );
    expectRejected(
      () => serializeNpy({ shape: [-2], data: new Float32Array(2) }),
      "serializeNpy",
      /expected a shape of non-negative integers; got \(-2,\)$/,
    );
    expectRejected(
      () => serializeNpy({ shape: [2, 2], data: new Float32Array(3) }),
      "serializeNpy",
      /expected 4 values for shape \(2, 2\); got 3$/,
    );
  });
});

describe("npz", () => {
  const arrays = {
    x: { shape: [2, 2], data: Float32Array.of(1, -2, 3.5, Number.NaN) },
    flags: { shape: [3], data: Uint8Array.of(1, 0, 1), dtype: "b1" },
    ids: { shape: [], data: BigInt64Array.of(-(2n ** 63n)) },
  };

  it.each([false, true])("round-trips (compress: %s)", (compress) => {
    const back = parseNpz(serializeNpz(arrays, { compress }), "a.npz");
    expect([...back.keys()]).toEqual(["x", "flags", "ids"]);
    expect(back.get("x")).toMatchObject({ shape: [2, 2], dtype: "f4", data: arrays.x.data });
    expect(back.get("flags")).toMatchObject({ shape: [3], dtype: "b1", data: arrays.flags.data });
    expect(back.get("ids")).toMatchObject({ shape: [], dtype: "i8", data: arrays.ids.data });
  });

  it("reads an empty archive as no arrays", () => {
    expect(parseNpz(serializeNpz({}), "e.npz").size).toBe(0);
  });

  it("rejects data that is not a zip archive", () => {
    expectRejected(
      () => parseNpz(strToU8("definitely not a zip"), "bad.npz"),
      "bad.npz",
      /expected a zip archive \(\.npz\); got invalid zip data$/,
    );
    expectRejected(() => parseNpz(new Uint8Array(0), "bad.npz"), "bad.npz", /expected a zip archive/);
  });

  it("rejects a member that is not .npy, naming it", () => {
    const zip = zipSync({ "x.npy": serializeNpy(arrays.x), "notes.txt": strToU8("hi") });
    expectRejected(
      () => parseNpz(zip, "bad.npz"),
      "bad.npz/notes.txt",
      /expected only \.npy members in an \.npz; got notes\.txt$/,
    );
  });

  it("rejects a member holding a corrupt .npy, naming it", () => {
    const zip = zipSync({ "x.npy": serializeNpy(arrays.x).subarray(0, 140) });
    expectRejected(
      () => parseNpz(zip, "bad.npz"),
      "bad.npz/x.npy",
      /expected a data section of 16 bytes .*; got 12 bytes$/,
    );
  });

  it("rejects a corrupt deflate stream, naming the member", () => {
    const zip = serializeNpz(
      { x: { shape: [1000], data: new Float64Array(1000).fill(1) } },
      { compress: true },
    );
    const at = 30 + "x.npy".length; // the stream starts after the 30-byte local header and the name
    zip.fill(0xff, at, at + 8);
    expectRejected(() => parseNpz(zip, "bad.npz"), "bad.npz/x.npy", /expected a readable zip member; got /);
  });

  it("checks a member's declared size before inflating it", () => {
    const zip = serializeNpz({ x: arrays.x }, { compress: true });
    const view = new DataView(zip.buffer);
    const central = zip.findLastIndex(
      (_, i) => i + 4 <= zip.length && view.getUint32(i, true) === 0x02014b50,
    );
    view.setUint32(central + 24, 0xfffffff0, true);
    expectRejected(
      () => parseNpz(zip, "bomb.npz"),
      "bomb.npz/x.npy",
      /expected at most 2147483648 bytes of array data; got 4294967280 bytes$/,
    );
  });
});

describe("matrices and pairs", () => {
  it("converts any numeric rank-2 array to a float32 Matrix", () => {
    expect(
      toMatrix({ shape: [2, 2], dtype: "i8", data: BigInt64Array.of(1n, -2n, 3n, 4n) }, "m.npy"),
    ).toEqual(matrix(2, 2, Float32Array.of(1, -2, 3, 4)));
    expect(toMatrix({ shape: [1, 3], dtype: "b1", data: Uint8Array.of(1, 0, 1) }, "m.npy").data).toEqual(
      Float32Array.of(1, 0, 1),
    );
    const f4 = new Float32Array(6);
    expect(toMatrix({ shape: [3, 2], dtype: "f4", data: f4 }, "m.npy").data).toBe(f4);
  });

  it("rejects a non-2-d array for a matrix", () => {
    const arr = parseNpy(fixture("f4_le_C_r3_v1.npy"), "m.npy");
    expectRejected(
      () => toMatrix(arr, "m.npy"),
      "m.npy",
      /expected a 2-d array of shape \(N, d\); got shape \(2, 3, 4\)$/,
    );
  });

  it("splits (2, N, d) into modalities A and B", () => {
    const { a, b } = toPair(
      { shape: [2, 2, 3], dtype: "f8", data: Float64Array.from({ length: 12 }, (_, i) => i) },
      "p.npy",
    );
    expect(a).toEqual(matrix(2, 3, Float32Array.of(0, 1, 2, 3, 4, 5)));
    expect(b).toEqual(matrix(2, 3, Float32Array.of(6, 7, 8, 9, 10, 11)));
  });

  it.each([
    [[3, 4, 2], /\(3, 4, 2\)/],
    [[2, 6], /\(2, 6\), one modality \(stack A and B into one \(2, N, d\) array\)/],
    [[2, 1, 2, 3], /\(2, 1, 2, 3\)/],
  ])("rejects shape %j for a pair", (shape, got) => {
    const n = shape.reduce((x, y) => x * y, 1);
    const arr: NdArray = { shape, dtype: "f4", data: new Float32Array(n) };
    expectRejected(
      () => toPair(arr, "p.npy"),
      "p.npy",
      new RegExp(`expected shape \\(2, N, d\\); got ${got.source}$`),
    );
  });

  it("fromMatrix gives an f4 array sharing the storage", () => {
    const m = matrix(2, 3, Float32Array.of(1, 2, 3, 4, 5, 6));
    const arr = fromMatrix(m);
    expect(arr).toEqual({ shape: [2, 3], dtype: "f4", data: m.data });
    expect(toMatrix(parseNpy(serializeNpy(arr), "m.npy"), "m.npy")).toEqual(m);
  });
});

describe("files", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gapkit-npy-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes and reads .npy and single-array .npz files", async () => {
    const m = matrix(2, 2, Float32Array.of(1, 2, 3, 4));
    await writeNpyFile(join(dir, "m.npy"), fromMatrix(m));
    await writeNpzFile(join(dir, "m.npz"), { m: fromMatrix(m) }, { compress: true });
    expect(await readMatrixFile(join(dir, "m.npy"))).toEqual(m);
    expect(await readMatrixFile(join(dir, "m.npz"))).toEqual(m);
    expect((await readNpyFile(join(dir, "m.npy"))).dtype).toBe("f4");
  });

  it("reads a pair file", async () => {
    await writeNpyFile(join(dir, "pair.npy"), { shape: [2, 1, 2], data: Float32Array.of(1, 2, 3, 4) });
    const { a, b } = await readPairFile(join(dir, "pair.npy"));
    expect([a.data, b.data]).toEqual([Float32Array.of(1, 2), Float32Array.of(3, 4)]);
  });

  it("names the file in read errors", async () => {
    const missing = join(dir, "missing.npy");
    await expect(readArrayFile(missing)).rejects.toThrow(InputError);
    await expect(readArrayFile(missing)).rejects.toThrow(new RegExp(`^${escapeRe(missing)}: no such file$`));
    const csv = join(dir, "m.csv");
    await expect(readArrayFile(csv)).rejects.toThrow(
      /m\.csv: expected a file name ending in \.npy or \.npz; got '\.csv'$/,
    );
    const two = join(dir, "two.npz");
    await writeNpzFile(two, {
      a: { shape: [1], data: Float32Array.of(1) },
      b: { shape: [1], data: Int32Array.of(1) },
    });
    await expect(readArrayFile(two)).rejects.toThrow(
      /two\.npz: expected an \.npz holding exactly one array; got 2 \(a, b\)$/,
    );
    const bad = join(dir, "bad.npy");
    await writeFile(bad, "not numpy");
    await expect(readMatrixFile(bad)).rejects.toThrow(
      new RegExp(`^${escapeRe(bad)}: expected a \\.npy file starting with`),
    );
  });

  it("writeFileAtomic replaces the file by rename and leaves no temporary file", async () => {
    const sub = join(dir, "atomic");
    await mkdir(sub);
    const target = join(sub, "out.bin");
    await writeFileAtomic(target, strToU8("first"));
    const before = await stat(target);
    const reader = await open(target, "r");
    try {
      await writeFileAtomic(target, strToU8("second, longer"));
      // a reader that opened the old file still sees it whole: the new content arrived as a new inode
      expect(new TextDecoder().decode(await reader.readFile())).toBe("first");
    } finally {
      await reader.close();
    }
    expect((await stat(target)).ino).not.toBe(before.ino);
    expect(await readFile(target, "utf8")).toBe("second, longer");
    expect(await readdir(sub)).toEqual(["out.bin"]);
  });

  it("writeFileAtomic refuses a directory and a missing folder with an InputError, leaving nothing", async () => {
    const sub = join(dir, "blocked");
    await mkdir(join(sub, "target"), { recursive: true });
    await expect(writeFileAtomic(join(sub, "target"), strToU8("x"))).rejects.toThrow(
      /target: expected a file path; got a directory/,
    );
    expect(await readdir(sub)).toEqual(["target"]);
    await expect(writeFileAtomic(join(dir, "no", "such", "dir.npy"), strToU8("x"))).rejects.toThrow(
      InputError,
    );
  });
});

const numpy = spawnSync("python3", ["-c", "import numpy"], { encoding: "utf8" });
const noNumpy = numpy.status !== 0;
const skipped = noNumpy ? " [skipped: python3 with numpy is not available]" : "";

describe("numpy reads what we write", () => {
  it.skipIf(noNumpy)(`bit-exactly, byte-identical to np.save${skipped}`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "gapkit-verify-"));
    try {
      for (const file of npyFixtures)
        await writeFile(join(dir, file), serializeNpy(parseNpy(fixture(file), file)));
      for (const file of npzFixtures) {
        const arrays = Object.fromEntries(parseNpz(fixture(file), file));
        await writeFile(join(dir, file), serializeNpz(arrays, { compress: file.startsWith("compressed") }));
      }
      const script = fileURLToPath(new URL("../../scripts/make_npy_fixtures.py", import.meta.url));
      const run = spawnSync("python3", [script, "--verify", dir], { encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      const report: Record<string, Entry & { identical?: boolean; error?: string }> = JSON.parse(run.stdout);
      expect(Object.keys(report).sort()).toEqual(Object.keys(manifest).sort());
      for (const [file, got] of Object.entries(report)) {
        expect(got.error, file).toBeUndefined();
        const want = manifest[file];
        if ("arrays" in want && "arrays" in got) {
          for (const [key, arr] of Object.entries(got.arrays)) {
            expect(arr, `${file}/${key}`).toMatchObject({ ...want.arrays[key], identical: true });
          }
        } else {
          const { shape, dtype, values } = want as Expected;
          expect(got, file).toMatchObject({ shape, dtype, values, identical: true });
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("parseNpy with owned bytes", () => {
  it("uses aligned data in place and copies unaligned data", () => {
    const bytes = serializeNpy({ shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    const shared = parseNpy(bytes, "owned.npy", { owned: true });
    expect(Array.from(shared.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((shared.data as Float32Array).buffer).toBe(bytes.buffer);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const copied = parseNpy(shifted.subarray(1), "shifted.npy", { owned: true });
    expect(Array.from(copied.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((copied.data as Float32Array).buffer).not.toBe(shifted.buffer);
    expect((parseNpy(bytes, "copy.npy").data as Float32Array).buffer).not.toBe(bytes.buffer);
  });
});

describe("readNpyFile on big-endian Fortran-order data", () => {
  it("reorders and swaps in place on the file's own buffer", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gapkit-be-"));
    try {
      // 2×3 float64, big-endian, Fortran order: memory holds columns (1, 4), (2, 5), (3, 6)
      const header = "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }";
      const padded = `${header}${" ".repeat(64 - ((10 + header.length + 1) % 64))}\n`;
      const bytes = new Uint8Array(10 + padded.length + 48);
      bytes.set([0x93, 78, 85, 77, 80, 89, 1, 0]);
      new DataView(bytes.buffer).setUint16(8, padded.length, true);
      for (let i = 0; i < padded.length; i++) bytes[10 + i] = padded.charCodeAt(i);
      const view = new DataView(bytes.buffer, 10 + padded.length);
      for (const [i, v] of [1, 4, 2, 5, 3, 6].entries()) view.setFloat64(8 * i, v, false);
      await writeFile(join(dir, "be.npy"), bytes);
      const arr = await readNpyFile(join(dir, "be.npy"));
      expect(arr.shape).toEqual([2, 3]);
      expect(Array.from(arr.data as Float64Array)).toEqual([1, 2, 3, 4, 5, 6]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { InputError } from "../core/errors.js";
import { type Matrix, matrix } from "../core/matrix.js";

/** The simple NumPy element types gapkit reads and writes, as kind letter plus item size. */
export type NpyDtype = "f2" | "f4" | "f8" | "i1" | "i2" | "i4" | "i8" | "u1" | "u2" | "u4" | "u8" | "b1";

/** The typed arrays an NdArray may hold. */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** An n-d array in C order and native byte order (f2 is widened to Float32Array, b1 is a Uint8Array of 0/1). */
export interface NdArray {
  shape: number[];
  dtype: NpyDtype;
  data: NpyData;
}

/** What serializeNpy accepts: `dtype` (e.g. "f4" or "<f4") defaults to the one matching `data`. */
export interface NpyInput {
  readonly shape: readonly number[];
  readonly data: NpyData;
  readonly dtype?: string;
}

/** How to parse untrusted files. */
export interface NpyReadOptions {
  /** Largest data section (bytes) a file may declare; default 2**31. */
  maxBytes?: number;
  /** The caller hands `bytes` over: aligned data is used in place instead of copied (halves peak memory). */
  owned?: boolean;
}

/** The default for NpyReadOptions.maxBytes. */
export const DEFAULT_MAX_BYTES = 2 ** 31;

interface DtypeInfo {
  size: number;
  label: string;
  ctor: abstract new (...args: never[]) => NpyData;
}

const DTYPES: Record<NpyDtype, DtypeInfo> = {
  f2: { size: 2, label: "float16", ctor: Float32Array },
  f4: { size: 4, label: "float32", ctor: Float32Array },
  f8: { size: 8, label: "float64", ctor: Float64Array },
  i1: { size: 1, label: "int8", ctor: Int8Array },
  i2: { size: 2, label: "int16", ctor: Int16Array },
  i4: { size: 4, label: "int32", ctor: Int32Array },
  i8: { size: 8, label: "int64", ctor: BigInt64Array },
  u1: { size: 1, label: "uint8", ctor: Uint8Array },
  u2: { size: 2, label: "uint16", ctor: Uint16Array },
  u4: { size: 4, label: "uint32", ctor: Uint32Array },
  u8: { size: 8, label: "uint64", ctor: BigUint64Array },
  b1: { size: 1, label: "bool", ctor: Uint8Array },
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGN = 64;
// numpy leaves room for the growth axis to reach 21 digits, so the header can be rewritten in place
const GROWTH_AXIS_MAX_DIGITS = 21;
const HOST_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const DESCR = /^([<>=|]?)([fiub][1248])$/;
const DTYPE_LIST = Object.keys(DTYPES).join(" ");

/** The parsed header of a .npy file: where its data starts and how to read it. */
export interface NpyHeader {
  shape: number[];
  dtype: NpyDtype;
  little: boolean;
  fortranOrder: boolean;
  /** Byte offset of the data section. */
  dataStart: number;
  /** Elements in the array. */
  count: number;
}

/** Parses the header at the start of `bytes` (the whole file or just its first bytes). */
export function parseNpyHeader(bytes: Uint8Array, name: string, options: NpyReadOptions = {}): NpyHeader {
  const { text, dataStart } = readHeader(bytes, name);
  const header = parseHeaderDict(text, name);
  const { dtype, little } = parseDescr(header.descr, name);
  const { shape, count } = parseShape(header.shape, dtype, name, options.maxBytes ?? DEFAULT_MAX_BYTES);
  return { shape, dtype, little, fortranOrder: header.fortranOrder, dataStart, count };
}

/** Bytes per element of a dtype. */
export function npyItemSize(dtype: NpyDtype): number {
  return DTYPES[dtype].size;
}

/**
 * Elements of a C-order slice of a .npy data section as float32 in native byte order. `raw` is handed
 * over: aligned native float32 data is used in place, anything else is converted into a new array.
 */
export function decodeNpyFloats(raw: Uint8Array, header: Pick<NpyHeader, "dtype" | "little">): Float32Array {
  if (header.dtype === "f4" && header.little === HOST_LITTLE && raw.byteOffset % 4 === 0)
    return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const own = new Uint8Array(raw);
  if (header.little !== HOST_LITTLE) byteSwap(own, DTYPES[header.dtype].size);
  return toFloat32(wrap(own, header.dtype));
}

/** Parses a .npy file (format 1.0, 2.0 or 3.0); every defect is an InputError naming `name`. */
export function parseNpy(bytes: Uint8Array, name: string, options: NpyReadOptions = {}): NdArray {
  const { shape, dtype, little, fortranOrder, dataStart, count } = parseNpyHeader(bytes, name, options);
  const info = DTYPES[dtype];
  const expected = count * info.size;
  const actual = bytes.length - dataStart;
  if (actual !== expected) {
    throw new InputError(
      name,
      `a data section of ${expected} bytes for shape ${shapeRepr(shape)} ${info.label}`,
      `${actual} bytes`,
    );
  }
  // Unless the bytes are ours and aligned, copy: an aligned buffer of our own, whatever the header length
  // and the caller's byteOffset (not bytes.slice: on a Node Buffer that is a view into a shared pool).
  const inPlace = options.owned && (bytes.byteOffset + dataStart) % info.size === 0;
  let raw: Uint8Array = inPlace ? bytes.subarray(dataStart) : new Uint8Array(bytes.subarray(dataStart));
  if (little !== HOST_LITTLE) byteSwap(raw, info.size);
  if (fortranOrder) raw = fortranToC(raw, shape, info.size);
  return { shape, dtype, data: wrap(raw, dtype) };
}

/** Serializes to .npy bytes exactly as `np.save` does: format 1.0 (2.0 if needed), little-endian, C order. */
export function serializeNpy(arr: NpyInput): Uint8Array {
  const where = "serializeNpy";
  const dtype = arr.dtype === undefined ? dtypeOf(arr.data) : normaliseDtype(arr.dtype, where);
  const info = DTYPES[dtype];
  if (!(arr.data instanceof info.ctor)) {
    throw new InputError(
      where,
      `data of type ${info.ctor.name} for dtype ${dtype}`,
      arr.data.constructor.name,
    );
  }
  const shape = [...arr.shape];
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InputError(where, "a shape of non-negative integers", shapeRepr(shape));
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) {
    throw new InputError(where, `${count} values for shape ${shapeRepr(shape)}`, `${arr.data.length}`);
  }
  const head = npyHeaderBytes(shape, dtype);
  const payload = littleEndianBytes(arr.data, dtype);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

/**
 * The .npy header (magic, version, padded dict) of a C-order array of `shape` and `dtype`: what precedes
 * the little-endian data, for a writer that streams the data after it.
 */
export function npyHeaderBytes(shape: readonly number[], dtype: NpyDtype): Uint8Array {
  const descr = `${DTYPES[dtype].size === 1 ? "|" : "<"}${dtype}`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length) header += " ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  // numpy pads with ALIGN spaces (not 0) when the header is already aligned; we must match byte for byte
  const pad = (preamble: number) =>
    `${header}${" ".repeat(ALIGN - ((preamble + header.length + 1) % ALIGN))}\n`;
  let [version, preamble, padded] = [1, 10, pad(10)];
  if (padded.length > 0xffff) [version, preamble, padded] = [2, 12, pad(12)];
  const out = new Uint8Array(preamble + padded.length);
  out.set(MAGIC);
  out[6] = version;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  for (let i = 0; i < padded.length; i++) out[preamble + i] = padded.charCodeAt(i);
  return out;
}

/** float32 values as the little-endian bytes of an .npy's data (a copy). */
export function float32Bytes(data: Float32Array): Uint8Array {
  return littleEndianBytes(data, "f4");
}

/** A rank-2 array as a float32 Matrix (other numeric dtypes are converted; f4 data is shared, not copied). */
export function toMatrix(arr: NdArray, name: string): Matrix {
  if (arr.shape.length !== 2) {
    throw new InputError(name, "a 2-d array of shape (N, d)", `shape ${shapeRepr(arr.shape)}`);
  }
  return matrix(arr.shape[0], arr.shape[1], toFloat32(arr.data));
}

/** Splits an array of shape (2, N, d) into modality A (index 0) and modality B (index 1). */
export function toPair(arr: NdArray, name: string): { a: Matrix; b: Matrix } {
  const [two, n, d] = arr.shape;
  if (arr.shape.length !== 3 || two !== 2) {
    const single = arr.shape.length === 2 ? ", one modality (stack A and B into one (2, N, d) array)" : "";
    throw new InputError(name, "shape (2, N, d)", `${shapeRepr(arr.shape)}${single}`);
  }
  const data = toFloat32(arr.data);
  return { a: matrix(n, d, data.subarray(0, n * d)), b: matrix(n, d, data.subarray(n * d)) };
}

/** A Matrix as an f4 NdArray sharing its storage. */
export function fromMatrix(m: Matrix): NdArray {
  return { shape: [m.rows, m.cols], dtype: "f4", data: m.data };
}

/** Python's repr of a shape tuple: "()", "(5,)", "(2, 3)". */
export function shapeRepr(shape: readonly (number | bigint | string)[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

function readHeader(bytes: Uint8Array, name: string): { text: string; dataStart: number } {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) {
    const got = bytes.length === 0 ? "an empty file" : `${bytesRepr(bytes.subarray(0, MAGIC.length))}`;
    throw new InputError(name, "a .npy file starting with the magic string b'\\x93NUMPY'", got);
  }
  if (bytes.length < 8) {
    throw new InputError(name, "a 2-byte format version after the magic string", "end of file");
  }
  const [major, minor] = [bytes[6], bytes[7]];
  if (major < 1 || major > 3 || minor !== 0) {
    throw new InputError(name, ".npy format version 1.0, 2.0 or 3.0", `${major}.${minor}`);
  }
  const preamble = major === 1 ? 10 : 12;
  if (bytes.length < preamble) {
    throw new InputError(
      name,
      `a ${preamble - 8}-byte header length field at byte 8`,
      `a file of only ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const available = bytes.length - preamble;
  if (length > available) {
    throw new InputError(
      name,
      `a header of ${length} bytes (as its length field says)`,
      `only ${available} bytes after the ${preamble}-byte preamble`,
    );
  }
  const raw = bytes.subarray(preamble, preamble + length);
  const text = major === 3 ? decodeUtf8(raw, name) : latin1(raw);
  if (!text.endsWith("\n")) {
    throw new InputError(name, "the header to end with a newline", JSON.stringify(text.slice(-20)));
  }
  return { text, dataStart: preamble + length };
}

function decodeUtf8(raw: Uint8Array, name: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new InputError(name, "a UTF-8 header (format 3.0)", "invalid UTF-8");
  }
}

// TextDecoder("latin1") is really windows-1252, so decode by hand
function latin1(raw: Uint8Array): string {
  let s = "";
  for (let i = 0; i < raw.length; i += 8192) s += String.fromCharCode(...raw.subarray(i, i + 8192));
  return s;
}

function bytesRepr(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes)
    s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  return `b'${s}'`;
}

// ---- the header: a tiny parser for the Python dict literal numpy writes ----

type Literal =
  | { kind: "str"; value: string }
  | { kind: "bool"; value: boolean }
  | { kind: "atom"; value: string }
  | { kind: "tuple"; items: Literal[] };

interface Header {
  descr: Literal;
  fortranOrder: boolean;
  shape: Literal;
}

const KEYS = ["descr", "fortran_order", "shape"];
const WS = /[ \t\n\r\f\v]/;
const ATOM = /[A-Za-z0-9_.+-]/;

function parseHeaderDict(text: string, name: string): Header {
  let pos = 0;
  const fail = (expected: string): never => {
    const got = pos >= text.length ? "the end of the header" : JSON.stringify(text.slice(pos, pos + 16));
    throw new InputError(name, `${expected} at header offset ${pos}`, got);
  };
  const skip = () => {
    while (pos < text.length && WS.test(text[pos])) pos++;
  };
  const str = (): string => {
    const quote = text[pos];
    const start = pos++;
    while (pos < text.length && text[pos] !== quote && text[pos] !== "\n") {
      if (text[pos] === "\\") fail("a string without backslash escapes");
      pos++;
    }
    if (text[pos] !== quote) {
      pos = start;
      fail(`a string closed by ${quote}`);
    }
    return text.slice(start + 1, pos++);
  };
  const value = (key: string): Literal => {
    const c = text[pos];
    if (c === "'" || c === '"') return { kind: "str", value: str() };
    if (c === "(") return tuple(key);
    if (c === "[") {
      fail(
        key === "descr"
          ? "a dtype string, not a list (structured dtypes are not supported)"
          : "a value, not a list",
      );
    }
    const start = pos;
    while (pos < text.length && ATOM.test(text[pos])) pos++;
    if (pos === start) fail("a string, True, False, a number or a tuple");
    const atom = text.slice(start, pos);
    return atom === "True" || atom === "False"
      ? { kind: "bool", value: atom === "True" }
      : { kind: "atom", value: atom };
  };
  const tuple = (key: string): Literal => {
    pos++;
    const items: Literal[] = [];
    let comma = false;
    for (skip(); text[pos] !== ")"; skip()) {
      // no shape needs nesting, and refusing it bounds the recursion on hostile headers
      if (text[pos] === "(") fail("a tuple entry, not a nested tuple");
      items.push(value(key));
      skip();
      comma = text[pos] === ",";
      if (comma) pos++;
      else if (text[pos] !== ")") fail("',' or ')' in a tuple");
    }
    pos++;
    // as in Python, "(5)" is just 5 in parentheses; a one-element tuple needs the trailing comma
    return items.length === 1 && !comma ? items[0] : { kind: "tuple", items };
  };

  skip();
  if (text[pos] !== "{") fail("a Python dict literal starting with '{'");
  pos++;
  const entries = new Map<string, Literal>();
  for (;;) {
    skip();
    if (text[pos] === "}") break;
    if (text[pos] !== "'" && text[pos] !== '"') fail("a quoted key or '}'");
    const keyAt = pos;
    const key = str();
    if (entries.has(key)) {
      pos = keyAt;
      fail(`each key once, but '${key}' repeats`);
    }
    skip();
    if (text[pos] !== ":") fail("':' after a key");
    pos++;
    skip();
    entries.set(key, value(key));
    skip();
    if (text[pos] === ",") pos++;
    else if (text[pos] !== "}") fail("',' or '}' after a value");
  }
  pos++;
  skip();
  if (pos < text.length) fail("nothing but whitespace after the header dict");

  const extra = [...entries.keys()].find((k) => !KEYS.includes(k));
  if (extra !== undefined)
    throw new InputError(name, "only the keys 'descr', 'fortran_order', 'shape'", `an extra key '${extra}'`);
  const missing = KEYS.find((k) => !entries.has(k));
  if (missing !== undefined)
    throw new InputError(name, "the keys 'descr', 'fortran_order', 'shape'", `no '${missing}'`);
  const fortran = entries.get("fortran_order")!;
  if (fortran.kind !== "bool") {
    throw new InputError(name, "fortran_order to be True or False", literalRepr(fortran));
  }
  return { descr: entries.get("descr")!, fortranOrder: fortran.value, shape: entries.get("shape")! };
}

function literalRepr(lit: Literal): string {
  switch (lit.kind) {
    case "str":
      return `'${lit.value}'`;
    case "bool":
      return lit.value ? "True" : "False";
    case "atom":
      return lit.value;
    case "tuple":
      return shapeRepr(lit.items.map(literalRepr));
  }
}

function parseDescr(descr: Literal, name: string): { dtype: NpyDtype; little: boolean } {
  if (descr.kind !== "str") {
    throw new InputError(name, "descr to be a dtype string such as '<f4'", literalRepr(descr));
  }
  const m = DESCR.exec(descr.value);
  if (!m) {
    const why = /^[<>=|]?O/.test(descr.value) ? " (object arrays are not supported)" : "";
    throw new InputError(
      name,
      `descr to be a numeric dtype such as '<f4' (one of ${DTYPE_LIST}, byte order < > = or |)`,
      `'${descr.value}'${why}`,
    );
  }
  if (!(m[2] in DTYPES)) {
    throw new InputError(name, `descr to be one of ${DTYPE_LIST} with a byte order`, `'${descr.value}'`);
  }
  return { dtype: m[2] as NpyDtype, little: m[1] !== ">" };
}

function parseShape(
  lit: Literal,
  dtype: NpyDtype,
  name: string,
  maxBytes: number,
): { shape: number[]; count: number } {
  if (lit.kind !== "tuple") {
    throw new InputError(name, "shape to be a tuple of non-negative integers", literalRepr(lit));
  }
  const dims = lit.items.map((item) => {
    if (item.kind !== "atom" || !/^(0|[1-9][0-9]*)$/.test(item.value)) {
      const what = item.kind === "atom" && /^-[0-9]+$/.test(item.value) ? "a negative" : "an invalid";
      throw new InputError(
        name,
        "shape to be a tuple of non-negative integers",
        `${what} entry ${literalRepr(item)} in ${literalRepr(lit)}`,
      );
    }
    return BigInt(item.value);
  });
  // BigInt so that no product of dimensions can overflow before we compare it with the limit
  const size = BigInt(DTYPES[dtype].size);
  const bytes = dims.reduce((a, b) => a * b, size);
  const limit = Number.isFinite(maxBytes) ? BigInt(Math.floor(maxBytes)) : bytes;
  if (bytes > limit || dims.some((d) => d > BigInt(Number.MAX_SAFE_INTEGER))) {
    throw new InputError(
      name,
      `an array of at most ${limit} bytes with dimensions below 2**53`,
      `shape ${shapeRepr(dims)} ${DTYPES[dtype].label} (${bytes} bytes)`,
    );
  }
  return { shape: dims.map(Number), count: Number(bytes / size) };
}

// ---- data ----

function normaliseDtype(dtype: string, where: string): NpyDtype {
  const m = DESCR.exec(dtype);
  if (!m || !(m[2] in DTYPES)) {
    throw new InputError(where, `a dtype among ${DTYPE_LIST} (optionally with a byte order)`, `'${dtype}'`);
  }
  return m[2] as NpyDtype;
}

function dtypeOf(data: NpyData): NpyDtype {
  // b1 and f2 share their typed arrays with u1 and f4, so they are never inferred
  const found = (Object.keys(DTYPES) as NpyDtype[]).find(
    (d) => d !== "b1" && d !== "f2" && data instanceof DTYPES[d].ctor,
  );
  if (found === undefined)
    throw new InputError("serializeNpy", "a numeric typed array", Object.prototype.toString.call(data));
  return found;
}

function wrap(raw: Uint8Array, dtype: NpyDtype): NpyData {
  const view = <T>(ctor: new (b: ArrayBuffer, offset: number, length: number) => T, size: number) =>
    new ctor(raw.buffer as ArrayBuffer, raw.byteOffset, raw.byteLength / size);
  switch (dtype) {
    case "f2":
      return halvesToFloats(view(Uint16Array, 2));
    case "f4":
      return view(Float32Array, 4);
    case "f8":
      return view(Float64Array, 8);
    case "i1":
      return view(Int8Array, 1);
    case "i2":
      return view(Int16Array, 2);
    case "i4":
      return view(Int32Array, 4);
    case "i8":
      return view(BigInt64Array, 8);
    case "u1":
      return raw;
    case "u2":
      return view(Uint16Array, 2);
    case "u4":
      return view(Uint32Array, 4);
    case "u8":
      return view(BigUint64Array, 8);
    case "b1":
      return raw.map((b) => (b ? 1 : 0));
  }
}

function littleEndianBytes(data: NpyData, dtype: NpyDtype): Uint8Array {
  if (dtype === "f2") {
    const halves = floatsToHalves(data as Float32Array);
    const out = new Uint8Array(halves.buffer);
    if (!HOST_LITTLE) byteSwap(out, 2);
    return out;
  }
  if (dtype === "b1") return (data as Uint8Array).map((b) => (b ? 1 : 0));
  const out = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (!HOST_LITTLE) byteSwap(out, DTYPES[dtype].size);
  return out;
}

function byteSwap(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let lo = i, hi = i + size - 1; lo < hi; lo++, hi--) {
      const t = bytes[lo];
      bytes[lo] = bytes[hi];
      bytes[hi] = t;
    }
  }
}

/** Reorders Fortran-order items into C order, moving whole items as 8-, 16- or 32-bit words. */
function fortranToC(src: Uint8Array, shape: number[], size: number): Uint8Array {
  const out = new Uint8Array(src.length);
  const words = size % 4 === 0 ? size / 4 : 1;
  const view = (b: Uint8Array) =>
    size % 4 === 0
      ? new Uint32Array(b.buffer, b.byteOffset, b.length / 4)
      : size === 2
        ? new Uint16Array(b.buffer, b.byteOffset, b.length / 2)
        : b;
  const [from, to] = [view(src), view(out)];
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, words));
  const index = shape.map(() => 0);
  const count = src.length / size;
  // walk the source in memory order (first axis fastest) and keep the C offset of the current index
  let c = 0;
  for (let f = 0; f < count; f++) {
    for (let w = 0; w < words; w++) to[c + w] = from[f * words + w];
    for (let k = 0; k < shape.length; k++) {
      c += strides[k];
      if (++index[k] < shape[k]) break;
      c -= strides[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

function toFloat32(data: NpyData): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float32Array.from(data, Number);
  return Float32Array.from(data);
}

// ---- float16, bit-exact both ways (NaN payloads kept, round to nearest even) ----

function halvesToFloats(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) bits[i] = halfToFloatBits(halves[i]);
  return out;
}

function floatsToHalves(floats: Float32Array): Uint16Array {
  const bits = new Uint32Array(floats.buffer, floats.byteOffset, floats.length);
  return Uint16Array.from(bits, floatBitsToHalf);
}

function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

function floatBitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    // as numpy: keep the top payload bits, but never let a NaN collapse into infinity
    const h = 0x7c00 | (mant >>> 13);
    return sign | (mant !== 0 && h === 0x7c00 ? 0x7c01 : h);
  }
  const e = exp - 112;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    return sign | roundShift(mant | 0x800000, 14 - e);
  }
  // a carry out of the mantissa correctly bumps the exponent, up to infinity
  return sign | roundShift((e << 23) | mant, 13);
}

function roundShift(v: number, shift: number): number {
  const q = v >>> shift;
  const rem = v - q * 2 ** shift;
  const half = 2 ** (shift - 1);
  return q + (rem > half || (rem === half && q & 1) ? 1 : 0);
}

import { type UnzipFileInfo, unzipSync, ZipPassThrough, type Zippable, zipSync } from "fflate";
import { InputError } from "../core/errors.js";
import {
  DEFAULT_MAX_BYTES,
  type NdArray,
  type NpyInput,
  type NpyReadOptions,
  parseNpy,
  serializeNpy,
} from "./npy.js";

// room for the .npy header on top of the data limit
const HEADER_ROOM = 2 ** 20;

/** Parses an .npz archive (stored or deflated members `x.npy`) into arrays keyed `x`. */
export function parseNpz(
  bytes: Uint8Array,
  name: string,
  options: NpyReadOptions = {},
): Map<string, NdArray> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const members = listMembers(bytes, name);
  const seen = new Set<string>();
  let total = 0;
  for (const m of members) {
    const where = `${name}/${m.name}`;
    if (!m.name.endsWith(".npy")) throw new InputError(where, "only .npy members in an .npz", m.name);
    if (seen.has(m.name)) throw new InputError(where, "each member once", "a second copy");
    seen.add(m.name);
    // fflate allocates the declared size up front, so check it before inflating anything
    total += m.originalSize;
    if (m.originalSize > maxBytes + HEADER_ROOM || total > maxBytes + HEADER_ROOM * seen.size) {
      throw new InputError(where, `at most ${maxBytes} bytes of array data`, `${m.originalSize} bytes`);
    }
  }
  let current = name;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        current = `${name}/${f.name}`;
        return true;
      },
    });
  } catch (e) {
    throw new InputError(current, "a readable zip member", errorText(e));
  }
  const out = new Map<string, NdArray>();
  for (const m of members) {
    const where = `${name}/${m.name}`;
    const found = crc32(files[m.name]);
    if (found !== m.crc)
      throw new InputError(where, `data with the CRC-32 its zip entry records (${hex(m.crc)})`, hex(found));
    out.set(m.name.slice(0, -4), parseNpy(files[m.name], where, options));
  }
  return out;
}

/** Serializes arrays as an .npz archive, member `key.npy` per entry, deflated when `compress` is set. */
export function serializeNpz(
  entries: Record<string, NpyInput>,
  options: { compress?: boolean } = {},
): Uint8Array {
  const files: Zippable = {};
  for (const [key, arr] of Object.entries(entries)) {
    if (key === "") throw new InputError("serializeNpz", "non-empty array names", "''");
    files[`${key}.npy`] = [serializeNpy(arr), { level: options.compress ? 6 : 0 }];
  }
  return zipSync(files);
}

/** The archive's entries in central-directory order, with the CRC-32 each records. */
function listMembers(bytes: Uint8Array, name: string): (UnzipFileInfo & { crc: number })[] {
  const members: UnzipFileInfo[] = [];
  let crcs: number[];
  try {
    unzipSync(bytes, {
      filter: (f) => {
        members.push(f);
        return false;
      },
    });
    crcs = centralCrcs(bytes);
  } catch (e) {
    throw new InputError(name, "a zip archive (.npz)", errorText(e));
  }
  return members.map((m, i) => ({ ...m, crc: crcs[i] })).filter((m) => !m.name.endsWith("/"));
}

/**
 * The CRC-32 of each central-directory entry, found as fflate's unzipSync finds the entries (it reads
 * but does not check them): the end record, the zip64 one if present, then entry after entry.
 */
function centralCrcs(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  let end = bytes.length - 22;
  while (u32(end) !== 0x06054b50) end--;
  let [count, offset] = [u16(end + 8), u32(end + 16)];
  if (end >= 20 && u32(end - 20) === 0x07064b50) {
    const zip64 = u32(end - 12);
    if (u32(zip64) === 0x06064b50) [count, offset] = [u32(zip64 + 32), u32(zip64 + 48)];
  }
  const crcs: number[] = [];
  for (let i = 0; i < count; i++) {
    crcs.push(u32(offset + 16));
    offset += 46 + u16(offset + 28) + u16(offset + 30) + u16(offset + 32);
  }
  return crcs;
}

/** The CRC-32 of `data`, computed by fflate: a ZipPassThrough takes its input's CRC as it passes. */
function crc32(data: Uint8Array): number {
  const pass = new ZipPassThrough("");
  pass.ondata = () => {};
  pass.push(data, true);
  return pass.crc >>> 0;
}

const hex = (crc: number) => `0x${crc.toString(16).padStart(8, "0")}`;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

import { type UnzipFileInfo, unzipSync, type Zippable, zipSync } from "fflate";
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
  for (const m of members)
    out.set(m.name.slice(0, -4), parseNpy(files[m.name], `${name}/${m.name}`, options));
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

function listMembers(bytes: Uint8Array, name: string): UnzipFileInfo[] {
  const members: UnzipFileInfo[] = [];
  try {
    unzipSync(bytes, {
      filter: (f) => {
        members.push(f);
        return false;
      },
    });
  } catch (e) {
    throw new InputError(name, "a zip archive (.npz)", errorText(e));
  }
  return members.filter((m) => !m.name.endsWith("/"));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

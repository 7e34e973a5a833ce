import { randomUUID } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { InputError } from "../core/errors.js";
import type { Matrix } from "../core/matrix.js";
import {
  DEFAULT_MAX_BYTES,
  type NdArray,
  type NpyInput,
  type NpyReadOptions,
  parseNpy,
  serializeNpy,
  toMatrix,
  toPair,
} from "./npy.js";

// a file may exceed the data limit by its header (and, for .npz, zip overhead)
const FILE_ROOM = 2 ** 24;

/** Reads and parses a .npy file. */
export async function readNpyFile(path: string, options: NpyReadOptions = {}): Promise<NdArray> {
  return parseNpy(await readBytes(path, options), path, { ...options, owned: true });
}

/** Reads and parses an .npz file into arrays keyed by member name without ".npy". */
export async function readNpzFile(path: string, options: NpyReadOptions = {}): Promise<Map<string, NdArray>> {
  // loaded on demand: fflate is only needed for .npz, and start-up time counts for a CLI
  return (await import("./npz.js")).parseNpz(await readBytes(path, options), path, options);
}

/** Reads a .npy file, or an .npz file holding exactly one array. */
export async function readArrayFile(path: string, options: NpyReadOptions = {}): Promise<NdArray> {
  const ext = extname(path).toLowerCase();
  if (ext === ".npy") return readNpyFile(path, options);
  if (ext !== ".npz") throw new InputError(path, "a file name ending in .npy or .npz", `'${ext}'`);
  const arrays = await readNpzFile(path, options);
  if (arrays.size !== 1) {
    const keys = [...arrays.keys()].join(", ");
    throw new InputError(path, "an .npz holding exactly one array", `${arrays.size} (${keys})`);
  }
  return [...arrays.values()][0];
}

/** Reads a rank-2 array file (.npy or single-array .npz) as a float32 Matrix. */
export async function readMatrixFile(path: string, options: NpyReadOptions = {}): Promise<Matrix> {
  return toMatrix(await readArrayFile(path, options), path);
}

/** Reads an array file of shape (2, N, d) as the paired embeddings of modalities A and B. */
export async function readPairFile(
  path: string,
  options: NpyReadOptions = {},
): Promise<{ a: Matrix; b: Matrix }> {
  return toPair(await readArrayFile(path, options), path);
}

/** Reads a UTF-8 text file (e.g. a JSON state); a missing or unreadable file is an InputError. */
export async function readTextFile(path: string, maxBytes = 2 ** 30): Promise<string> {
  return new TextDecoder().decode(await readBytes(path, { maxBytes }));
}

/** Writes `bytes` to a temporary file beside `path`, then renames it over `path`. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    const handle = await open(temp, "wx");
    try {
      await handle.writeFile(bytes);
      // without the sync, a crash soon after the rename can leave an empty file under the final name
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw new InputError(path, "a writable file location", errorText(e));
  }
}

/** Writes an array as a .npy file, atomically. */
export async function writeNpyFile(path: string, arr: NpyInput): Promise<void> {
  await writeFileAtomic(path, serializeNpy(arr));
}

/** Writes arrays as an .npz file, atomically. */
export async function writeNpzFile(
  path: string,
  entries: Record<string, NpyInput>,
  options: { compress?: boolean } = {},
): Promise<void> {
  await writeFileAtomic(path, (await import("./npz.js")).serializeNpz(entries, options));
}

async function readBytes(path: string, options: NpyReadOptions): Promise<Uint8Array> {
  const maxBytes = (options.maxBytes ?? DEFAULT_MAX_BYTES) + FILE_ROOM;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, "r");
    const { size } = await handle.stat();
    if (size > maxBytes) throw new InputError(path, `a file of at most ${maxBytes} bytes`, `${size} bytes`);
    // a buffer of our own (readFile may hand out a slice of Node's shared pool for small files)
    const bytes = new Uint8Array(size);
    for (let done = 0; done < size; ) {
      const { bytesRead } = await handle.read(bytes, done, size - done, done);
      if (bytesRead === 0)
        throw new InputError(path, `${size} bytes (its size)`, `the end of the file after ${done}`);
      done += bytesRead;
    }
    return bytes;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(path, "a readable file", errorText(e));
  } finally {
    await handle?.close();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

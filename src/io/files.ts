import { randomUUID } from "node:crypto";
import { constants, rmSync, type Stats } from "node:fs";
import {
  access,
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  statfs,
  writeFile,
} from "node:fs/promises";
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
  return parseNpy(await readBytes(path, arrayFileLimit(options)), path, { ...options, owned: true });
}

/** Reads and parses an .npz file into arrays keyed by member name without ".npy". */
export async function readNpzFile(path: string, options: NpyReadOptions = {}): Promise<Map<string, NdArray>> {
  // loaded on demand: fflate is only needed for .npz, and start-up time counts for a CLI
  return (await import("./npz.js")).parseNpz(await readBytes(path, arrayFileLimit(options)), path, options);
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
  return new TextDecoder().decode(await readBytes(path, maxBytes));
}

/** A file's bytes, or undefined where there is no file at `path` (a cache's miss). */
export async function readCachedFile(path: string, maxBytes = 2 ** 30): Promise<Uint8Array | undefined> {
  const exists = await lstat(path).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return false;
      throw new InputError(path, "a readable file", errorText(e));
    },
  );
  return exists ? readBytes(path, maxBytes) : undefined;
}

/** The largest image file `embed` reads: far beyond any photo, far below what would exhaust memory. */
export const MAX_IMAGE_BYTES = 64 * 2 ** 20;

/** Reads an image file (a regular file of at most MAX_IMAGE_BYTES) as a Blob for embedImages. */
export async function readImageFile(path: string): Promise<Blob> {
  return new Blob([await readBytes(path, MAX_IMAGE_BYTES)]);
}

/**
 * Opens a file for reading, refusing anything but a regular file: a FIFO or a device would block or
 * never end. The open does not block and the check is on the open handle, so no swap can slip between.
 */
export async function openRegularFile(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw (e as NodeJS.ErrnoException).code === "ENOENT"
      ? new InputError(path, "no such file")
      : new InputError(path, "a readable file", errorText(e));
  }
  const stat = await handle.stat().catch(async (e) => {
    await handle.close();
    throw new InputError(path, "a readable file", errorText(e));
  });
  if (stat.isFile()) return handle;
  await handle.close();
  throw new InputError(path, "a regular file", fileKind(stat));
}

function fileKind(stat: Stats): string {
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  if (stat.isSocket()) return "a socket";
  return "another kind of file";
}

/** Our temporary files being written now: removed by removeTempFiles when a signal stops the process. */
const tempFiles = new Set<string>();

// a temporary file is `.NAME.UUID.tmp` beside NAME; one of ours left by a killed run is removed by the
// next checkOutputPath of NAME once untouched this long (a live writer's fsync of a large file can
// leave its mtime still for minutes)
const TEMP_NAME = /^\.(.+)\.[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.tmp$/;
const STALE_TEMP_MS = 10 * 60_000;

// an open file of this process, whatever it is: replacing it would detach it from the process
const OPEN_FILE = /^\/(dev\/(stdout|stderr|fd\/\d+)|proc\/self\/fd\/\d+)$/;

/** Where bytes for `path` go: stdout ("-"), written through (an open file, FIFO or device), or a file. */
type Target = { kind: "stdout" } | { kind: "through"; path: string } | { kind: "file"; path: string };

/**
 * The target of an output path: a symlink is followed (the file it points to is replaced); a FIFO, a
 * character device or /dev/stdout-like path is written through; a directory or other special file is refused.
 */
async function outputTarget(path: string): Promise<Target> {
  if (path === "-") return { kind: "stdout" };
  const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw new InputError(path, "a file path", errorText(e));
  });
  if (!info) {
    const link = await lstat(path).catch(() => undefined);
    if (link?.isSymbolicLink())
      throw new InputError(path, "a file path", `a symbolic link to the missing ${await readlink(path)}`);
    return { kind: "file", path };
  }
  if (info.isFIFO() || info.isCharacterDevice() || OPEN_FILE.test(path)) return { kind: "through", path };
  if (!info.isFile()) throw new InputError(path, "a file path", fileKind(info));
  return { kind: "file", path: await realpath(path) };
}

/**
 * Checks, before the work that produces it, that an output can be written at `path` (see writeFileAtomic):
 * not a directory, in an existing writable folder on a disk with room; and removes this path's
 * temporary files left by killed runs. `flag` names the option; `stdout` false refuses "-".
 */
export async function checkOutputPath(path: string, flag: string, { stdout = true } = {}): Promise<void> {
  if (path === "-" && !stdout) throw new InputError(flag, "a file path", "- (stdout)");
  const target = await outputTarget(path);
  if (target.kind !== "file") return;
  const folder = dirname(target.path);
  const room = await statfs(folder).catch((e: NodeJS.ErrnoException) => {
    const missing = e.code === "ENOENT" || e.code === "ENOTDIR";
    throw new InputError(
      path,
      "a file path in an existing folder",
      missing ? `no folder ${folder}` : errorText(e),
    );
  });
  await access(folder, constants.W_OK).catch((e: NodeJS.ErrnoException) => {
    throw new InputError(path, "a file path in a writable folder", `${folder}: ${errorText(e)}`);
  });
  if (room.bavail === 0) throw new InputError(path, "a file path on a disk with room", "a full disk");
  await removeStaleTemps(target.path);
}

async function removeStaleTemps(path: string): Promise<void> {
  const folder = dirname(path);
  const name = basename(path);
  for (const entry of await readdir(folder).catch(() => [])) {
    if (TEMP_NAME.exec(entry)?.[1] !== name) continue;
    const temp = join(folder, entry);
    const info = await lstat(temp).catch(() => undefined);
    if (info?.isFile() && Date.now() - info.mtimeMs > STALE_TEMP_MS) await rm(temp, { force: true });
  }
}

/**
 * Writes `bytes` to `path` whole or not at all: into a temporary file beside it, then renamed over it. A
 * symlink is followed (its target is replaced); a FIFO, character device or /dev/stdout is written
 * through; "-" is stdout; a directory is refused.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await writeChunksAtomic(path, [bytes]);
}

/** writeFileAtomic for bytes produced chunk by chunk, each written as it comes (never all in memory). */
export async function writeChunksAtomic(
  path: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<void> {
  const target = await outputTarget(path);
  if (target.kind === "stdout") {
    try {
      for await (const chunk of chunks)
        await new Promise<void>((done, fail) => process.stdout.write(chunk, (e) => (e ? fail(e) : done())));
    } catch (e) {
      throw systemError(e) ? new InputError("stdout", "a writable stream", errorText(e)) : e;
    }
    return;
  }
  const temp =
    target.kind === "file"
      ? join(dirname(target.path), `.${basename(target.path)}.${randomUUID()}.tmp`)
      : undefined;
  if (temp) tempFiles.add(temp);
  try {
    // written through: appended (after what a redirected stdout holds), never created, not synced
    const handle = await open(temp ?? target.path, temp ? "wx" : constants.O_WRONLY | constants.O_APPEND);
    try {
      for await (const chunk of chunks)
        for (let done = 0; done < chunk.length; ) done += (await handle.write(chunk, done)).bytesWritten;
      // without the sync, a crash soon after the rename can leave an empty file under the final name
      if (temp) await handle.sync();
    } finally {
      await handle.close();
    }
    if (temp) await rename(temp, target.path);
  } catch (e) {
    if (temp) await rm(temp, { force: true });
    // a failing write is the user's (disk full, permissions); an error of the chunks' producer is its own
    throw systemError(e) ? new InputError(path, "a writable file location", errorText(e)) : e;
  } finally {
    if (temp) tempFiles.delete(temp);
  }
}

const systemError = (e: unknown) => e instanceof Error && "syscall" in e;

/** Creates an output folder (before the work, so that a bad path fails first) and checks its files' paths. */
export async function outputFolder(
  dir: string,
  files: readonly string[],
  flag: string,
  what: string,
): Promise<void> {
  await mkdir(dir, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw new InputError(dir, `a folder for ${what}`, e.code === "EEXIST" ? "a file" : e.message);
  });
  for (const name of files) await checkOutputPath(join(dir, name), flag);
}

/**
 * Writes a folder of files (by name) whole or not at all: into a temporary folder beside `path`, then
 * renamed into place — replacing a folder already there (an earlier run's) only once the new one is complete.
 */
export async function writeFolderAtomic(path: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  const old = `${temp}.old`;
  tempFiles.add(temp);
  try {
    await mkdir(temp);
    for (const [name, bytes] of files) await writeFile(join(temp, name), bytes);
    const existing = await lstat(path).catch(() => undefined);
    if (existing && !existing.isDirectory())
      throw new InputError(path, "a folder (or nothing) to write into", fileKind(existing));
    if (existing) await rename(path, old);
    await rename(temp, path);
    if (existing) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw systemError(e) ? new InputError(path, "a writable folder location", errorText(e)) : e;
  } finally {
    tempFiles.delete(temp);
  }
}

/** Removes the temporary files of writes in flight (synchronously: for a signal handler about to exit). */
export function removeTempFiles(): void {
  for (const temp of tempFiles) rmSync(temp, { recursive: true, force: true });
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

function arrayFileLimit(options: NpyReadOptions): number {
  return (options.maxBytes ?? DEFAULT_MAX_BYTES) + FILE_ROOM;
}

/** A regular file's bytes (at most maxBytes, else an InputError), in a buffer of its own. */
export async function readBytes(path: string, maxBytes = 2 ** 30): Promise<Uint8Array<ArrayBuffer>> {
  const handle = await openRegularFile(path);
  try {
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
    await handle.close();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

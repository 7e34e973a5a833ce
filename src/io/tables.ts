/**
 * Embedding tables in the formats real corpora live in — .npy/.npz, Parquet, Arrow IPC/Feather, JSONL and
 * CSV — read in row chunks. A table is opened on the main thread, which resolves its columns and cuts it
 * into raw chunks cheaply (bytes, row ranges); `openChunkDecoder` turns a chunk into float32 rows and may
 * run in a worker, so the expensive part (parsing text, decoding Parquet pages) spreads over cores.
 */
import type { FileHandle } from "node:fs/promises";
import { extname } from "node:path";
import { check, describeValue as describe, InputError } from "../core/errors.js";
import { type Matrix, matrix } from "../core/matrix.js";
import { checkPairShapes } from "../gap/metrics.js";
import { openRegularFile, readArrayFile } from "./files.js";
import {
  DEFAULT_MAX_BYTES,
  decodeNpyFloats,
  type NpyHeader,
  npyItemSize,
  parseNpyHeader,
  shapeRepr,
  toMatrix,
  toPair,
} from "./npy.js";

/** The file formats gapkit reads embeddings from. */
export type TableFormat = "npy" | "parquet" | "arrow" | "jsonl" | "csv";

const FORMATS: Record<string, TableFormat> = {
  ".npy": "npy",
  ".npz": "npy",
  ".parquet": "parquet",
  ".pq": "parquet",
  ".arrow": "arrow",
  ".feather": "arrow",
  ".ipc": "arrow",
  ".arrows": "arrow",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".csv": "csv",
};

/** The format a file name stands for. */
export function tableFormat(path: string): TableFormat {
  const format = FORMATS[extname(path).toLowerCase()];
  if (!format)
    throw new InputError(path, `a file ending in ${Object.keys(FORMATS).join(", ")}`, `'${extname(path)}'`);
  return format;
}

/** Where one modality's vectors are in a table. */
export type ColumnLayout =
  /** One column holding a list of d numbers per row. */
  | { kind: "list"; name: string }
  /** One numeric column per dimension: NAME_0 … NAME_{d−1}. */
  | { kind: "wide"; names: string[] }
  /** The whole row: a CSV of numbers, a JSONL line that is an array, an (N, d) .npy. */
  | { kind: "row" }
  /** Index i of the leading axis of a (2, N, d) .npy. */
  | { kind: "block"; index: number };

/** A resolved table: everything a decoder (possibly in a worker) needs; structured-cloneable. */
export interface TableSpec {
  path: string;
  format: TableFormat;
  /** One layout per requested column, in request order. */
  columns: ColumnLayout[];
  dim: number;
  /** Rows, when the format says without reading the data. */
  rows?: number;
  npy?: NpyHeader;
  /** How errors name each column, where the path and column name do not say it. */
  labels?: string[];
  /** CSV column names from its header line (null: no header) and the header's byte length. */
  csv?: { header: string[] | null; headerBytes: number };
}

/** A piece of a table, cut on the main thread: rows [first, first + rows) in some raw form. */
export interface RawChunk {
  first: number;
  rows: number;
  /** Already decoded rows, one array (rows × dim) per column. */
  floats?: Float32Array[];
  /** .npy: the raw bytes of each column's rows. */
  bytes?: Uint8Array[];
  /** JSONL/CSV: the chunk's lines, each ending in a newline. */
  text?: Uint8Array;
}

/** An open table: its spec and a way to cut it into chunks of at most `chunkRows` rows. */
export interface TableReader {
  readonly spec: TableSpec;
  /**
   * The table in chunks of at most `chunkRows` rows; `allocate` supplies the byte buffers of raw .npy
   * chunks (so a caller can recycle them instead of leaving gigabytes of garbage behind).
   */
  chunks(chunkRows: number, allocate?: (bytes: number) => Uint8Array): AsyncIterable<RawChunk>;
  close(): Promise<void>;
}

/** Turns raw chunks of one table into matrices, one per requested column. */
export interface ChunkDecoder {
  decode(chunk: RawChunk): Promise<Matrix[]>;
  close(): Promise<void>;
}

/**
 * Opens a table and resolves `columns` (one name per modality; undefined = the table's only embedding).
 * A name is a column of lists, or the prefix of one column per dimension (NAME_0, NAME_1, …).
 */
export async function openTable(path: string, columns: (string | undefined)[]): Promise<TableReader> {
  const format = tableFormat(path);
  const handle = await openRegularFile(path);
  try {
    if (format === "parquet") return await openParquet(handle, path, format, pairColumns(columns));
    if (format === "npy") return await openNpy(handle, path, columns);
    if (format === "arrow") return await openArrow(handle, path, format, pairColumns(columns));
    return await openText(handle, path, format, pairColumns(columns));
  } catch (e) {
    await handle.close().catch(() => {});
    throw e;
  }
}

/** A paired table names its modalities' columns a and b unless told otherwise. */
function pairColumns(columns: (string | undefined)[]): (string | undefined)[] {
  return columns.length === 2 ? columns.map((c, i) => c ?? ["a", "b"][i]) : columns;
}

/** Flags that name a paired set: FILE, or --a/--b with one modality each; --a-col/--b-col pick columns. */
export interface PairTableFlags {
  a?: string;
  b?: string;
  aCol?: string;
  bCol?: string;
}

/**
 * The paired table named by FILE (both modalities in one file: a (2, N, d) .npy or a table with columns
 * a and b) or by --a/--b (one modality each, read whole, rows paired by index); chunks hold [A, B].
 */
export async function openPairTable(
  file: string | undefined,
  flags: PairTableFlags,
  command: string,
): Promise<TableReader> {
  if (file && (flags.a || flags.b))
    throw new InputError(command, "either FILE or --a/--b, not both", `${file} and --a/--b`);
  if (file) return openTable(file, [flags.aCol, flags.bCol]);
  if (!(flags.a && flags.b))
    throw new InputError(
      command,
      "FILE.npy of shape (2, N, d) or a table with columns a and b, or both --a A and --b B",
      "neither",
    );
  const a = await readTable(flags.a, [flags.aCol]);
  const b = await readTable(flags.b, [flags.bCol]);
  const [ma, mb] = [a.columns[0], b.columns[0]];
  checkPairShapes(ma, mb, { a: flags.a, b: flags.b });
  const spec: TableSpec = {
    path: `${flags.a} + ${flags.b}`,
    labels: [flags.a, flags.b],
    format: a.spec.format,
    columns: [...a.spec.columns, ...b.spec.columns],
    dim: ma.cols,
  };
  return memoryTable(spec, [ma, mb]);
}

/** How errors name the two modalities of a paired table. */
export function pairNames(spec: TableSpec): { a: string; b: string } {
  const name = (layout: ColumnLayout, i: number) =>
    spec.labels?.[i] ??
    (layout.kind === "block" ? `${spec.path}[${layout.index}]` : `${spec.path} column ${columnName(layout)}`);
  return { a: name(spec.columns[0], 0), b: name(spec.columns[1], 1) };
}

/** A decoder for chunks of the table `spec` (opens the file itself where the format needs it). */
export async function openChunkDecoder(spec: TableSpec): Promise<ChunkDecoder> {
  const toMatrices = (arrays: Float32Array[]) =>
    arrays.map((data) => matrix(data.length / spec.dim, spec.dim, data));
  if (spec.format === "parquet") {
    const handle = await openRegularFile(spec.path);
    const parquet = await parquetFile(handle, spec.path).catch(async (e) => {
      await handle.close();
      throw e;
    });
    return {
      decode: async (chunk) =>
        chunk.floats ? toMatrices(chunk.floats) : toMatrices(await parquet.read(spec, chunk)),
      close: parquet.close,
    };
  }
  const parse = spec.format === "csv" ? (await import("csv-parse/sync")).parse : undefined;
  return {
    decode: async (chunk) => {
      if (chunk.floats) return toMatrices(chunk.floats);
      if (chunk.bytes && spec.npy) {
        const header = spec.npy;
        return toMatrices(chunk.bytes.map((raw) => decodeNpyFloats(raw, header)));
      }
      if (chunk.text) return toMatrices(parse ? decodeCsv(spec, chunk, parse) : decodeJsonl(spec, chunk));
      throw new Error(`openChunkDecoder: a chunk without data for ${spec.format}`);
    },
    close: async () => {},
  };
}

/** Reads every row of the requested columns into memory. */
export async function readTable(
  path: string,
  columns: (string | undefined)[],
): Promise<{ spec: TableSpec; columns: Matrix[] }> {
  return readAll(await openTable(path, columns));
}

/** Reads every chunk of an open table into one matrix per column, and closes it. */
export async function readAll(reader: TableReader): Promise<{ spec: TableSpec; columns: Matrix[] }> {
  const decoder = await openChunkDecoder(reader.spec);
  const parts: Matrix[][] = [];
  const perRow = reader.spec.dim * reader.spec.columns.length * 4;
  // where the format states its rows, a table too large to hold is refused before any of it is read
  const fits = (rows: number, found: () => string) =>
    check(
      rows * perRow <= DEFAULT_MAX_BYTES,
      reader.spec.path,
      `at most ${DEFAULT_MAX_BYTES} bytes of rows to hold in memory (a single paired file streams without limit)`,
      found,
    );
  let rows = 0;
  try {
    const stated = reader.spec.rows;
    if (stated !== undefined) fits(stated, () => `${stated} rows of ${perRow} bytes`);
    for await (const chunk of reader.chunks(65536)) {
      rows += chunk.rows;
      fits(rows, () => `more than ${rows - chunk.rows} rows`);
      parts.push(await decoder.decode(chunk));
    }
  } finally {
    await reader.close();
    await decoder.close();
  }
  const dim = reader.spec.dim;
  const columns = reader.spec.columns.map((_, c) => {
    const data = new Float32Array(rows * dim);
    let offset = 0;
    for (const p of parts) {
      data.set(p[c].data, offset);
      offset += p[c].data.length;
    }
    return matrix(rows, dim, data);
  });
  return { spec: { ...reader.spec, rows }, columns };
}

// ---------------------------------------------------------------- shared helpers

const where = (path: string, row: number, column?: string) =>
  `${path} row ${row}${column === undefined ? "" : `, column ${JSON.stringify(column)}`}`;

function columnName(layout: ColumnLayout): string | undefined {
  return layout.kind === "list"
    ? layout.name
    : layout.kind === "wide"
      ? layout.names[0].replace(/_0$/, "")
      : undefined;
}

/**
 * Resolves a requested name against the table's columns: a column of that name, else NAME_0…NAME_{d−1};
 * with no name, the table's only list column, or (when every column is numeric) the whole row.
 */
export function resolveColumn(
  path: string,
  available: string[],
  requested: string | undefined,
  isList: (name: string) => boolean,
  flag: string,
): ColumnLayout {
  const listColumns = available.filter(isList);
  if (requested === undefined) {
    if (listColumns.length === 1) return { kind: "list", name: listColumns[0] };
    if (listColumns.length === 0) return { kind: "row" };
    throw new InputError(
      path,
      `one embedding column, or ${flag} naming one`,
      `${listColumns.length} (${listColumns.join(", ")})`,
    );
  }
  if (available.includes(requested)) {
    check(
      isList(requested),
      `${path} column ${JSON.stringify(requested)}`,
      "a list of numbers in each row",
      () => "a column of another kind",
    );
    return { kind: "list", name: requested };
  }
  const names: string[] = [];
  while (available.includes(`${requested}_${names.length}`)) names.push(`${requested}_${names.length}`);
  if (names.length) return { kind: "wide", names };
  throw new InputError(
    `${path} ${flag}`,
    `a column named ${JSON.stringify(requested)} (a list per row) or ${requested}_0, ${requested}_1, … (one per dimension); the file has ${preview(available)}`,
    "none",
  );
}

function preview(names: string[]): string {
  const shown = names.slice(0, 8).map((n) => JSON.stringify(n));
  return `${names.length} column(s): ${shown.join(", ")}${names.length > 8 ? ", …" : ""}`;
}

function number(value: unknown, at: () => string): number {
  if (typeof value !== "number" || !Number.isFinite(value))
    throw new InputError(at(), "a finite number", describe(value));
  return value;
}

// JSON's number grammar: no hex, no "Infinity", no blanks or signs a typo might leave
const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A CSV cell as a number: a decimal like -1.5e-3 (JSON's grammar), finite. */
function decimal(cell: string | undefined, at: () => string): number {
  const value = cell !== undefined && DECIMAL.test(cell) ? Number(cell) : Number.NaN;
  if (!Number.isFinite(value))
    throw new InputError(at(), "a finite decimal number like -1.5e-3", describe(cell));
  return value;
}

/** Copies a list of d numbers into out at offset, with errors naming the row and column. */
function putList(value: unknown, dim: number, out: Float32Array, offset: number, at: () => string): void {
  if (!Array.isArray(value) && !ArrayBuffer.isView(value))
    throw new InputError(at(), `a list of ${dim} numbers`, describe(value));
  const list = value as ArrayLike<unknown>;
  if (list.length !== dim)
    throw new InputError(at(), `a list of ${dim} numbers (the first row's length)`, `${list.length}`);
  for (let j = 0; j < dim; j++) out[offset + j] = number(list[j], () => `${at()} element ${j}`);
}

function dimOf(path: string, layout: ColumnLayout, first: (name: string) => unknown, flag: string): number {
  if (layout.kind === "wide") return layout.names.length;
  if (layout.kind !== "list") throw new Error("dimOf: list or wide layouts only");
  const value = first(layout.name);
  const length = Array.isArray(value) || ArrayBuffer.isView(value) ? (value as ArrayLike<unknown>).length : 0;
  check(length > 0, where(path, 0, layout.name), `a non-empty list of numbers (${flag})`, () =>
    describe(value),
  );
  return length;
}

function sameDims(path: string, dims: number[], columns: ColumnLayout[]): number {
  const names = columns.map((c) => columnName(c) ?? "row");
  check(
    dims.every((d) => d === dims[0]),
    path,
    `columns of one dimension d (${names[0]} has ${dims[0]})`,
    () => names.map((n, i) => `${n}: ${dims[i]}`).join(", "),
  );
  return dims[0];
}

const FLAGS = ["--a-col", "--b-col"];

// ---------------------------------------------------------------- .npy / .npz

const NPY_HEADER_BYTES = 65536 + 12;

async function openNpy(
  handle: FileHandle,
  path: string,
  columns: (string | undefined)[],
): Promise<TableReader> {
  const named = columns.find((c) => c !== undefined);
  if (named !== undefined)
    throw new InputError(path, "no --a-col/--b-col for a .npy/.npz file", JSON.stringify(named));
  const head = new Uint8Array(NPY_HEADER_BYTES);
  const { bytesRead } = await handle.read(head, 0, head.length, 0);
  const { size } = await handle.stat();
  const header =
    extname(path).toLowerCase() === ".npy"
      ? parseNpyHeader(head.subarray(0, bytesRead), path, { maxBytes: Infinity })
      : undefined;
  const layouts: ColumnLayout[] =
    columns.length === 2
      ? [
          { kind: "block", index: 0 },
          { kind: "block", index: 1 },
        ]
      : [{ kind: "row" }];
  const shape = header?.shape;
  if (
    !header ||
    header.fortranOrder ||
    header.count * npyItemSize(header.dtype) !== size - header.dataStart
  ) {
    // .npz, Fortran order or a size mismatch: the whole-file reader handles (or reports) these
    await handle.close();
    const arr = await readArrayFile(path);
    const columns = layouts.length === 2 ? Object.values(toPair(arr, path)) : [toMatrix(arr, path)];
    return memoryTable({ path, format: "npy", columns: layouts, dim: columns[0].cols }, columns);
  }
  checkShape(path, shape ?? [], layouts);
  const [rows, dim] =
    layouts.length === 2 ? [header.shape[1], header.shape[2]] : [header.shape[0], header.shape[1]];
  const item = npyItemSize(header.dtype);
  const spec: TableSpec = { path, format: "npy", columns: layouts, dim, rows, npy: header };
  return {
    spec,
    async *chunks(chunkRows, allocate = (bytes) => new Uint8Array(bytes)) {
      for (let first = 0; first < rows; first += chunkRows) {
        const count = Math.min(chunkRows, rows - first);
        const bytes = await Promise.all(
          layouts.map(async (_, block) => {
            const out = allocate(count * dim * item);
            const start = header.dataStart + (block * rows + first) * dim * item;
            await readFully(handle, out, start, path);
            return out;
          }),
        );
        yield { first, rows: count, bytes };
      }
    },
    close: () => handle.close(),
  };
}

function checkShape(path: string, shape: number[], layouts: ColumnLayout[]): void {
  if (layouts.length === 2)
    check(shape.length === 3 && shape[0] === 2, path, "shape (2, N, d): modality A at index 0, B at 1", () =>
      shape.length === 2
        ? `${shapeRepr(shape)}, one modality (give it as --a ${path} and its partner as --b FILE)`
        : shapeRepr(shape),
    );
  else check(shape.length === 2, path, "a 2-d array of shape (N, d)", () => `shape ${shapeRepr(shape)}`);
}

async function readFully(handle: FileHandle, out: Uint8Array, position: number, path: string): Promise<void> {
  for (let done = 0; done < out.length; ) {
    const { bytesRead } = await handle.read(out, done, out.length - done, position + done);
    if (bytesRead === 0)
      throw new InputError(
        path,
        `${out.length} bytes at offset ${position}`,
        `the end of the file after ${done}`,
      );
    done += bytesRead;
  }
}

/** Rows already in memory (an .npz, a Fortran-order .npy, two files read whole), served in chunks. */
function memoryTable(spec: TableSpec, columns: Matrix[]): TableReader {
  const { dim } = spec;
  const rows = columns[0].rows;
  return {
    spec: { ...spec, rows },
    async *chunks(chunkRows) {
      for (let first = 0; first < rows; first += chunkRows) {
        const count = Math.min(chunkRows, rows - first);
        yield {
          first,
          rows: count,
          floats: columns.map((m) => m.data.slice(first * dim, (first + count) * dim)),
        };
      }
    },
    close: async () => {},
  };
}

// ---------------------------------------------------------------- Parquet (hyparquet)

async function parquetFile(handle: FileHandle, path: string) {
  const { parquetMetadataAsync, parquetReadObjects, parquetSchema } = await import("hyparquet");
  const { compressors } = await import("hyparquet-compressors");
  const { size } = await handle.stat();
  const file = {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const out = new Uint8Array(Math.max(0, Math.min(end, size) - start));
      await readFully(handle, out, start, path);
      return out.buffer;
    },
  };
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new InputError(path, "a Parquet file", (e as Error).message);
  }
  const fields = parquetSchema(metadata).children;
  /** Rows [rowStart, rowEnd) of the named columns, as objects. */
  const readRows = async (columns: string[], rowStart: number, rowEnd: number) => {
    try {
      return await parquetReadObjects({ file, metadata, columns, rowStart, rowEnd, compressors });
    } catch (e) {
      throw new InputError(
        `${path} rows ${rowStart}–${rowEnd - 1}`,
        "readable Parquet data",
        (e as Error).message,
      );
    }
  };
  return {
    rows: Number(metadata.num_rows),
    groups: metadata.row_groups.map((g) => Number(g.num_rows)),
    names: fields.map((f) => f.element.name),
    isList: (name: string) => (fields.find((f) => f.element.name === name)?.children.length ?? 0) > 0,
    readRows,
    close: () => handle.close(),
    /** The chunk's rows of every requested column, decoded. */
    async read(spec: TableSpec, chunk: RawChunk): Promise<Float32Array[]> {
      const names = spec.columns.flatMap((l) =>
        l.kind === "list" ? [l.name] : l.kind === "wide" ? l.names : [],
      );
      const rows = await readRows(names, chunk.first, chunk.first + chunk.rows);
      return spec.columns.map((layout) => {
        const out = new Float32Array(chunk.rows * spec.dim);
        rows.forEach((record, i) => {
          const at = (name: string) => () => where(spec.path, chunk.first + i, name);
          if (layout.kind === "list")
            putList(record[layout.name], spec.dim, out, i * spec.dim, at(layout.name));
          else if (layout.kind === "wide")
            layout.names.forEach((name, j) => {
              out[i * spec.dim + j] = number(record[name], at(name));
            });
        });
        return out;
      });
    },
  };
}

async function openParquet(
  handle: FileHandle,
  path: string,
  format: TableFormat,
  columns: (string | undefined)[],
): Promise<TableReader> {
  const parquet = await parquetFile(handle, path);
  const layouts = columns.map((c, i) => resolveColumn(path, parquet.names, c, parquet.isList, FLAGS[i]));
  check(
    layouts.every((l) => l.kind !== "row"),
    path,
    "a column of lists, or --a-col/--b-col naming the embedding columns",
    () => preview(parquet.names),
  );
  check(parquet.rows > 0, path, "at least one row", () => "0");
  const firstValues = await Promise.all(
    layouts.map((l) => (l.kind === "list" ? parquet.readRows([l.name], 0, 1) : [])),
  );
  const dims = layouts.map((l, i) => dimOf(path, l, (name) => firstValues[i][0]?.[name], FLAGS[i]));
  const spec: TableSpec = {
    path,
    format,
    columns: layouts,
    dim: sameDims(path, dims, layouts),
    rows: parquet.rows,
  };
  return {
    spec,
    async *chunks(chunkRows) {
      // a chunk is a run of whole row groups, or a piece of one larger than chunkRows: never part of a
      // group plus part of another, so no group's pages are decoded twice
      let first = 0;
      let rows = 0;
      for (const groupRows of parquet.groups) {
        if (rows > 0 && rows + groupRows > chunkRows) {
          yield { first, rows };
          first += rows;
          rows = 0;
        }
        if (groupRows <= chunkRows) rows += groupRows;
        else {
          for (let start = 0; start < groupRows; start += chunkRows)
            yield { first: first + start, rows: Math.min(chunkRows, groupRows - start) };
          first += groupRows;
        }
      }
      if (rows > 0) yield { first, rows };
    },
    close: parquet.close,
  };
}

// ---------------------------------------------------------------- Arrow IPC / Feather (apache-arrow)

async function openArrow(
  handle: FileHandle,
  path: string,
  format: TableFormat,
  columns: (string | undefined)[],
): Promise<TableReader> {
  const arrow = await import("apache-arrow");
  const notArrow = (e: unknown) =>
    new InputError(path, "an Arrow IPC file or stream (Feather v2)", (e as Error)?.message ?? String(e));
  let reader: Awaited<ReturnType<typeof arrow.RecordBatchReader.from>>;
  try {
    reader = await arrow.RecordBatchReader.from(readBudget(handle, (await handle.stat()).size));
    await reader.open();
    if (!reader.schema) throw new Error("no schema");
  } catch (e) {
    throw notArrow(e);
  }
  // apache-arrow reports damaged batches with plain Errors (or TypeErrors from half-read metadata)
  const nextBatch = async () => {
    try {
      return await iterator.next();
    } catch (e) {
      throw notArrow(e);
    }
  };
  const fields = reader.schema.fields;
  const names = fields.map((f) => f.name);
  const typeOf = (name: string) => fields.find((f) => f.name === name)?.type;
  const isList = (name: string) =>
    arrow.DataType.isList(typeOf(name)) || arrow.DataType.isFixedSizeList(typeOf(name));
  const layouts = columns.map((c, i) => resolveColumn(path, names, c, isList, FLAGS[i]));
  check(
    layouts.every((l) => l.kind !== "row"),
    path,
    "a column of lists, or --a-col/--b-col naming the embedding columns",
    () => preview(names),
  );
  for (const layout of layouts) {
    const typed =
      layout.kind === "list"
        ? [[layout.name, typeOf(layout.name)?.children[0]?.type] as const]
        : layout.kind === "wide"
          ? layout.names.map((n) => [n, typeOf(n)] as const)
          : [];
    for (const [name, type] of typed)
      check(
        (arrow.DataType.isFloat(type) && type.precision !== arrow.Precision.HALF) ||
          arrow.DataType.isInt(type),
        `${path} column ${JSON.stringify(name)}`,
        "numbers (float32, float64 or an int type)",
        () => String(type),
      );
  }
  const iterator = reader[Symbol.asyncIterator]();
  const firstBatch = await nextBatch();
  const dims = layouts.map((l, i) => {
    const type = l.kind === "list" ? typeOf(l.name) : undefined;
    if (arrow.DataType.isFixedSizeList(type)) return type.listSize;
    return dimOf(
      path,
      l,
      (name) => (firstBatch.done ? undefined : firstBatch.value.getChild(name)?.get(0)?.toArray()),
      FLAGS[i],
    );
  });
  const dim = sameDims(path, dims, layouts);
  const spec: TableSpec = { path, format, columns: layouts, dim };
  const batchFloats = (batch: InstanceType<typeof arrow.RecordBatch>, first: number) =>
    layouts.map((layout) => {
      const out = new Float32Array(batch.numRows * dim);
      const names = layout.kind === "list" ? [layout.name] : layout.kind === "wide" ? layout.names : [];
      for (const [j, name] of names.entries()) {
        const vector = batch.getChild(name);
        if (!vector)
          throw new InputError(
            path,
            `column ${JSON.stringify(name)} in every record batch`,
            "a batch without it",
          );
        check(
          vector.nullCount === 0,
          `${path} column ${JSON.stringify(name)}`,
          "no null values",
          () => `${vector.nullCount} in the batch at row ${first}`,
        );
        if (layout.kind === "wide") {
          const values = vector.toArray() as ArrayLike<number>;
          for (let i = 0; i < batch.numRows; i++)
            out[i * dim + j] = number(values[i], () => where(path, first + i, name));
        } else if (arrow.DataType.isFixedSizeList(vector.type)) {
          // slicing a FixedSizeList slices its child too, so the child's offset is absolute
          const child = vector.data[0].children[0];
          const values = child.values as ArrayLike<number>;
          const start = child.offset;
          for (let k = 0; k < out.length; k++)
            out[k] = number(values[start + k], () => where(path, first + Math.floor(k / dim), name));
        } else {
          for (let i = 0; i < batch.numRows; i++)
            putList(vector.get(i)?.toArray(), dim, out, i * dim, () => where(path, first + i, name));
        }
      }
      return out;
    });
  return {
    spec,
    async *chunks(chunkRows) {
      // small record batches are gathered into chunks of chunkRows rows, large ones cut into several
      const pending: Float32Array[][] = [];
      let pendingRows = 0;
      let first = 0;
      const take = (rows: number): RawChunk => {
        const floats = layouts.map(() => new Float32Array(rows * dim));
        for (let filled = 0; filled < rows; ) {
          const batch = pending[0];
          const available = batch[0].length / dim;
          const n = Math.min(available, rows - filled);
          batch.forEach((f, c) => {
            floats[c].set(f.subarray(0, n * dim), filled * dim);
          });
          if (n === available) pending.shift();
          else pending[0] = batch.map((f) => f.subarray(n * dim));
          filled += n;
        }
        const chunk = { first, rows, floats };
        first += rows;
        pendingRows -= rows;
        return chunk;
      };
      for (let next = firstBatch; !next.done; next = await nextBatch()) {
        pending.push(batchFloats(next.value, first + pendingRows));
        pendingRows += next.value.numRows;
        while (pendingRows >= chunkRows) yield take(chunkRows);
      }
      if (pendingRows > 0) yield take(pendingRows);
    },
    close: () => handle.close(),
  };
}

/**
 * The FileHandle for apache-arrow, refusing to read more than a few times the file's size in all: some
 * damaged files send its reader round a loop of reads that never ends (found by fuzzing).
 */
function readBudget(handle: FileHandle, size: number): FileHandle {
  let bytesLeft = 4 * size + 2 ** 20;
  let callsLeft = size / 4 + 1000; // one loop re-reads the same 4-byte length prefix forever
  const read = (buffer: Uint8Array, offset: number, length: number, position: number) => {
    bytesLeft -= length;
    if (bytesLeft < 0 || --callsLeft < 0)
      throw new Error("its reader asked for far more than the file holds");
    return handle.read(buffer, offset, length, position);
  };
  return {
    fd: handle.fd,
    stat: () => handle.stat(),
    close: () => handle.close(),
    read,
  } as unknown as FileHandle;
}

// ---------------------------------------------------------------- JSONL and CSV

const TEXT_BLOCK = 1 << 22;
/** The longest line read: a row of 1,000,000 numbers in full float64 precision. */
const MAX_LINE_BYTES = 2 ** 25;

/** Lines of a text file, cut into chunks of `chunkRows` complete lines (a last line without "\n" counts). */
async function* textChunks(
  handle: FileHandle,
  path: string,
  start: number,
  chunkRows: number,
): AsyncGenerator<RawChunk> {
  let data: Uint8Array = new Uint8Array(0);
  let first = 0;
  let position = start;
  let lines = 0; // complete lines in data before `scan`
  let scan = 0;
  for (;;) {
    const block = new Uint8Array(TEXT_BLOCK);
    const { bytesRead } = await handle.read(block, 0, block.length, position);
    position += bytesRead;
    data = concat(data, block.subarray(0, bytesRead));
    let cut = 0;
    for (let nl = data.indexOf(10, scan); nl >= 0; nl = data.indexOf(10, scan)) {
      scan = nl + 1;
      if (++lines === chunkRows) {
        yield { first, rows: lines, text: data.slice(cut, scan) };
        first += lines;
        cut = scan;
        lines = 0;
      }
    }
    if (bytesRead === 0) {
      const partial = data.length > scan; // a last line without its newline
      if (lines > 0 || partial)
        yield {
          first,
          rows: lines + (partial ? 1 : 0),
          text: partial ? concat(data.subarray(cut), Uint8Array.of(10)) : data.slice(cut),
        };
      return;
    }
    data = data.slice(cut);
    scan -= cut;
    check(
      data.length - scan <= MAX_LINE_BYTES,
      `${path} row ${first + lines}`,
      `a line of at most ${MAX_LINE_BYTES} bytes`,
      () => `more than ${data.length - scan}`,
    );
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

function linesOf(chunk: RawChunk): string[] {
  const lines = decoder.decode(chunk.text).split("\n");
  lines.pop();
  return lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
}

function parseJsonLine(line: string, path: string, row: number): unknown {
  try {
    return JSON.parse(line);
  } catch (e) {
    throw new InputError(
      where(path, row),
      "a JSON value on each line",
      line.trim() === "" ? "an empty line" : (e as Error).message,
    );
  }
}

function decodeJsonl(spec: TableSpec, chunk: RawChunk): Float32Array[] {
  const { dim, path } = spec;
  const outs = spec.columns.map(() => new Float32Array(chunk.rows * dim));
  linesOf(chunk).forEach((line, i) => {
    const row = chunk.first + i;
    const value = parseJsonLine(line, path, row);
    spec.columns.forEach((layout, c) => {
      if (layout.kind === "row") {
        putList(value, dim, outs[c], i * dim, () => where(path, row));
        return;
      }
      if (typeof value !== "object" || value === null || Array.isArray(value))
        throw new InputError(where(path, row), "a JSON object", describe(value));
      const record = value as Record<string, unknown>;
      if (layout.kind === "list")
        putList(record[layout.name], dim, outs[c], i * dim, () => where(path, row, layout.name));
      else if (layout.kind === "wide")
        layout.names.forEach((name, j) => {
          outs[c][i * dim + j] = number(record[name], () => where(path, row, name));
        });
    });
  });
  return outs;
}

/** Parses CSV lines with csv-parse (quoting, escaping); a list cell holds "[x, y, …]" or "x y …". */
function csvRecords(text: string, path: string, firstRow: number, parse: CsvParse): string[][] {
  try {
    // both line ends, even mixed: a CRLF file's last line may have gained a bare "\n" (textChunks)
    const options = { relax_column_count: true, skip_empty_lines: false, record_delimiter: ["\r\n", "\n"] };
    return parse(text, options) as string[][];
  } catch (e) {
    throw new InputError(`${path} near row ${firstRow}`, "valid CSV", (e as Error).message);
  }
}

function listCell(cell: string | undefined, at: () => string): unknown {
  if (cell === undefined) return undefined;
  const text = cell.trim();
  if (text.startsWith("[")) {
    try {
      return JSON.parse(text);
    } catch {
      throw new InputError(at(), "a list like [0.1, 0.2, …]", describe(cell));
    }
  }
  return text === "" ? [] : text.split(/[\s;,]+/).map((x, j) => decimal(x, () => `${at()} element ${j}`));
}

type CsvParse = typeof import("csv-parse/sync").parse;

function decodeCsv(spec: TableSpec, chunk: RawChunk, parse: CsvParse): Float32Array[] {
  const { dim, path } = spec;
  const header = spec.csv?.header ?? null;
  const records = csvRecords(decoder.decode(chunk.text), path, chunk.first, parse);
  check(
    records.length === chunk.rows,
    `${path} near row ${chunk.first}`,
    `${chunk.rows} CSV records (one per line)`,
    () => `${records.length}`,
  );
  const outs = spec.columns.map(() => new Float32Array(chunk.rows * dim));
  const index = (name: string) => header?.indexOf(name) ?? -1;
  records.forEach((record, i) => {
    const row = chunk.first + i;
    const width = header?.length ?? dim;
    check(
      record.length === width,
      where(path, row),
      `${width} fields (${header ? "as the header has" : "the first row's count"})`,
      () => String(record.length),
    );
    spec.columns.forEach((layout, c) => {
      if (layout.kind === "row")
        for (let j = 0; j < dim; j++)
          outs[c][i * dim + j] = decimal(record[j], () => `${where(path, row)} field ${j}`);
      else if (layout.kind === "list")
        putList(
          listCell(record[index(layout.name)], () => where(path, row, layout.name)),
          dim,
          outs[c],
          i * dim,
          () => where(path, row, layout.name),
        );
      else if (layout.kind === "wide")
        layout.names.forEach((name, j) => {
          outs[c][i * dim + j] = decimal(record[index(name)], () => where(path, row, name));
        });
    });
  });
  return outs;
}

async function openText(
  handle: FileHandle,
  path: string,
  format: TableFormat,
  columns: (string | undefined)[],
): Promise<TableReader> {
  const firstLines: string[] = [];
  let firstLineBytes = 0; // with its line end and any byte-order mark, which linesOf drops
  for await (const chunk of textChunks(handle, path, 0, 2)) {
    firstLines.push(...linesOf(chunk));
    firstLineBytes = (chunk.text?.indexOf(10) ?? 0) + 1;
    break;
  }
  check(firstLines.length > 0, path, "at least one line", () => "an empty file");
  let spec: TableSpec;
  if (format === "jsonl") {
    const first = parseJsonLine(firstLines[0], path, 0);
    const record =
      typeof first === "object" && first !== null && !Array.isArray(first)
        ? (first as Record<string, unknown>)
        : {};
    const keys = Object.keys(record);
    const isList = (k: string) => Array.isArray(record[k]);
    const layouts = columns.map((c, i) =>
      Array.isArray(first) && c === undefined
        ? ({ kind: "row" } as const)
        : resolveColumn(path, keys, c, isList, FLAGS[i]),
    );
    const dims = layouts.map((l, i) =>
      l.kind === "row"
        ? dimOf(path, { kind: "list", name: "" }, () => first, FLAGS[i])
        : dimOf(path, l, (k) => record[k], FLAGS[i]),
    );
    spec = { path, format, columns: layouts, dim: sameDims(path, dims, layouts) };
  } else {
    const { parse } = await import("csv-parse/sync");
    const [head, second] = csvRecords(firstLines.slice(0, 2).join("\n"), path, 0, parse);
    check(head !== undefined, path, "a CSV header or data row on the first line", () =>
      JSON.stringify(firstLines[0]),
    );
    // a header has no cell that even looks like a number: "0x10,2" is a data row with a bad cell
    const numeric = head.some((cell) => cell.trim() !== "" && Number.isFinite(Number(cell)));
    const header = numeric ? null : head.map((h) => h.trim());
    const data = numeric ? head : second;
    check(data !== undefined, path, "a data row after the CSV header", () => "only the header");
    const names = header ?? [];
    const isList = (name: string) => /[[\s;]/.test(data[names.indexOf(name)]?.trim() ?? "");
    const layouts = columns.map((c, i) =>
      header ? resolveColumn(path, names, c, isList, FLAGS[i]) : ({ kind: "row" } as const),
    );
    check(
      header !== null || layouts.length === 1,
      path,
      "a header naming the two modalities' columns (a CSV without one holds one modality: use --a/--b)",
      () => "no header",
    );
    const dims = layouts.map((l, i) =>
      l.kind === "row"
        ? data.length
        : dimOf(path, l, (name) => listCell(data[names.indexOf(name)], () => where(path, 0, name)), FLAGS[i]),
    );
    const headerBytes = header ? firstLineBytes : 0;
    spec = {
      path,
      format,
      columns: layouts,
      dim: sameDims(path, dims, layouts),
      csv: { header, headerBytes },
    };
  }
  const start = spec.csv?.headerBytes ?? 0;
  return {
    spec,
    chunks: (chunkRows) => textChunks(handle, path, start, chunkRows),
    close: () => handle.close(),
  };
}

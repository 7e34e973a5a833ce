import type { Command } from "commander";
import { type Matrix, sliceRows } from "../core/matrix.js";
import { openPairTable, type PairTableFlags, pairNames, readAll } from "../io/tables.js";
import { parseRowRange } from "./options.js";

/** The flags that name a paired embedding set. */
export interface PairFlags extends PairTableFlags {
  rows?: string;
}

/** Paired embeddings and the names errors should use for them. */
export interface LoadedPair {
  a: Matrix;
  b: Matrix;
  names: { a: string; b: string };
}

/** Adds `[file]`, `--a`, `--b`, `--a-col`, `--b-col` and `--rows` to a command that reads a paired set. */
export function pairOptions(command: Command): Command {
  return command
    .argument(
      "[file]",
      "paired embeddings: .npy/.npz of shape (2, N, d), or Parquet/Arrow/JSONL/CSV with columns a and b",
    )
    .option("--a <file>", "modality A alone: (N, d) .npy/.npz, or a table (with --b)")
    .option("--b <file>", "modality B alone (with --a); rows are paired by index")
    .option("--a-col <name>", "modality A's column: a list per row, or NAME_0…NAME_{d-1} (default a)")
    .option("--b-col <name>", "modality B's column (default b)")
    .option("--rows <start:end>", "use only rows START..END-1 of both modalities");
}

/** Loads the pair named by FILE or `--a A --b B` into memory, restricted to `--rows`. */
export async function loadPair(
  file: string | undefined,
  flags: PairFlags,
  command: string,
): Promise<LoadedPair> {
  const {
    spec,
    columns: [a, b],
  } = await readAll(await openPairTable(file, flags, command));
  const pair = { a, b, names: pairNames(spec) };
  if (!flags.rows) return pair;
  const [start, end] = parseRowRange(flags.rows, pair.a.rows);
  return { ...pair, a: sliceRows(pair.a, start, end), b: sliceRows(pair.b, start, end) };
}

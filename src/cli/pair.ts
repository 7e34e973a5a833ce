import type { Command } from "commander";
import { InputError } from "../core/errors.js";
import { type Matrix, sliceRows } from "../core/matrix.js";
import { readMatrixFile, readPairFile } from "../io/files.js";
import { parseRowRange } from "./options.js";

/** The flags that name a paired embedding set. */
export interface PairFlags {
  a?: string;
  b?: string;
  rows?: string;
}

/** Paired embeddings and the names errors should use for them. */
export interface LoadedPair {
  a: Matrix;
  b: Matrix;
  names: { a: string; b: string };
}

/** Adds `[file]`, `--a`, `--b` and `--rows` to a command that reads a paired set. */
export function pairOptions(command: Command): Command {
  return command
    .argument("[file]", ".npy/.npz of shape (2, N, d): row 0 modality A, row 1 modality B, paired by index")
    .option("--a <file>", "modality A as (N, d) .npy/.npz (with --b)")
    .option("--b <file>", "modality B as (N, d) .npy/.npz (with --a)")
    .option("--rows <start:end>", "use only rows START..END-1 of both modalities");
}

/** Loads the pair named by FILE or `--a A --b B`, restricted to `--rows`. */
export async function loadPair(
  file: string | undefined,
  flags: PairFlags,
  command: string,
): Promise<LoadedPair> {
  if (file && (flags.a || flags.b))
    throw new InputError(command, "either FILE or --a/--b, not both", `${file} and --a/--b`);
  let pair: LoadedPair;
  if (file) pair = { ...(await readPairFile(file)), names: { a: `${file}[0]`, b: `${file}[1]` } };
  else if (flags.a && flags.b)
    pair = {
      a: await readMatrixFile(flags.a),
      b: await readMatrixFile(flags.b),
      names: { a: flags.a, b: flags.b },
    };
  else
    throw new InputError(command, "FILE.npy of shape (2, N, d), or both --a A.npy and --b B.npy", "neither");
  if (!flags.rows) return pair;
  const [start, end] = parseRowRange(flags.rows, pair.a.rows);
  return { ...pair, a: sliceRows(pair.a, start, end), b: sliceRows(pair.b, start, end) };
}

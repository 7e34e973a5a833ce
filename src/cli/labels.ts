import { InputError, parseJson } from "../core/errors.js";
import { readTextFile } from "../io/files.js";
import type { ModalityNames } from "../report/specs.js";

/** Reads --labels: a JSON array with one string (or number, read as its text) per pair. */
export async function readLabels(path: string, rows: number): Promise<string[]> {
  const labels = parseJson(await readTextFile(path), path);
  const valid = (l: unknown) => typeof l === "string" || (typeof l === "number" && Number.isFinite(l));
  if (!Array.isArray(labels) || labels.length !== rows || !labels.every(valid))
    throw new InputError(
      path,
      `a JSON array of ${rows} strings or numbers (one per pair)`,
      Array.isArray(labels) ? `${labels.length} items` : typeof labels,
    );
  return labels.map(String);
}

/** Parses --names: two distinct, non-empty names separated by a comma ("images,captions"). */
export function parseNames(text: string): ModalityNames {
  const names = text.split(",").map((n) => n.trim());
  if (names.length !== 2 || !names[0] || !names[1] || names[0] === names[1])
    throw new InputError(
      "--names",
      "two different names separated by a comma, e.g. images,captions",
      JSON.stringify(text),
    );
  return { a: names[0], b: names[1] };
}

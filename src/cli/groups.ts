import type { Command } from "commander";
import { InputError, parseJson } from "../core/errors.js";
import { groupIds } from "../eval/retrieval.js";
import { readArrayFile, readTextFile } from "../io/files.js";

/** The flags that name retrieval groups. */
export interface GroupFlags {
  groups?: string;
  groupBy?: string;
}

/** Adds `--groups FILE` and `--group-by FIELD` (multi-positive retrieval) to a command. */
export function groupOptions(command: Command): Command {
  return command
    .option(
      "--groups <file>",
      "one group id per pair (.npy, a .json array, embed's pairs.json, or one per line): retrieval counts any gallery item of the query's group as a hit",
    )
    .option(
      "--group-by <field>",
      "with embed's pairs.json: group pairs by their image or text (caption id)",
      "image",
    );
}

/** The group ids of a file: .npy/.npz (integers), a JSON array, embed's pairs.json record, or one per line. */
async function readGroupValues(path: string, groupBy: string): Promise<(string | number)[]> {
  if (/\.np[yz]$/i.test(path)) {
    const { shape, data } = await readArrayFile(path);
    if (shape.length !== 1)
      throw new InputError(path, "a 1-D array of group ids", `shape (${shape.join(", ")})`);
    return Array.from(data as ArrayLike<number | bigint>, Number);
  }
  const text = await readTextFile(path);
  if (!/\.json$/i.test(path))
    return text.split(/\r?\n/).filter((line, i, lines) => line || i < lines.length - 1);
  const json = parseJson(text, path);
  const field = { image: "image", text: "textId" }[groupBy];
  if (!field) throw new InputError("--group-by", "image or text", JSON.stringify(groupBy));
  const values = Array.isArray(json)
    ? json
    : json !== null && typeof json === "object" && Array.isArray((json as { pairs?: unknown }).pairs)
      ? (json as { pairs: Record<string, unknown>[] }).pairs.map((p) => p?.[field])
      : undefined;
  if (!values)
    throw new InputError(path, "a JSON array of group ids, or embed's record with pairs", "another value");
  const bad = values.findIndex(
    (v) => typeof v !== "string" && !(typeof v === "number" && Number.isFinite(v)),
  );
  if (bad >= 0)
    throw new InputError(
      path,
      "group ids that are strings or finite numbers",
      `${JSON.stringify(values[bad]) ?? "nothing"} at pair ${bad}`,
    );
  return values as (string | number)[];
}

/**
 * The groups of the pairs at table rows `rows` (all `tableRows` pairs where omitted), from `--groups`;
 * undefined without it. The file holds one id per pair of the whole table.
 */
export async function readPairGroups(
  flags: GroupFlags,
  tableRows: number | undefined,
  rows?: ArrayLike<number>,
): Promise<Int32Array | undefined> {
  if (!flags.groups) return undefined;
  const ids = groupIds(await readGroupValues(flags.groups, flags.groupBy ?? "image"));
  if (tableRows !== undefined && ids.length !== tableRows)
    throw new InputError(flags.groups, `one group id per pair (${tableRows})`, String(ids.length));
  if (!rows) return ids;
  return Int32Array.from(rows, (row) => {
    if (!(row < ids.length))
      throw new InputError(flags.groups!, `a group id for pair ${row}`, `${ids.length} ids`);
    return ids[row];
  });
}

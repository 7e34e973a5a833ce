import type { z } from "zod";

/** A problem with what the user supplied (file, flag, shape, value): the CLI exits 2 with its message. */
export class InputError extends Error {
  override readonly name = "InputError";

  /**
   * Builds the message "<where>: expected <expected>; got <actual>", or "<where>: <expected>" where there is
   * no `actual` (a fact needing no contrast, as "no such file"); control characters escaped.
   */
  constructor(
    readonly where: string,
    readonly expected: string,
    readonly actual?: string,
  ) {
    // paths and file contents end up in a terminal: no escape sequences, and the message stays one line
    super(
      escapeControls(
        actual === undefined ? `${where}: ${expected}` : `${where}: expected ${expected}; got ${actual}`,
      ),
    );
  }
}

const CONTROL_NAMES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** `text` with C0/C1 control characters and DEL written as \n, \r, \t or \xHH. */
export function escapeControls(text: string): string {
  return text.replace(
    /\p{Cc}/gu,
    (c) => CONTROL_NAMES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** A value found in the input, rendered short for an error message (even when too deep to stringify). */
export function describeValue(value: unknown): string {
  if (value === undefined) return "no value";
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  // JSON would show NaN and ±Infinity as null, and has no bigints
  else if (typeof value !== "object" || value === null) text = String(value);
  else
    try {
      text = JSON.stringify(value);
    } catch {
      text = `${Array.isArray(value) ? "a list" : "an object"} too deeply nested (or holding bigints) to show`;
    }
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** Throws an InputError unless `ok` holds. */
export function check(ok: boolean, where: string, expected: string, actual: () => string): asserts ok {
  if (!ok) throw new InputError(where, expected, actual());
}

/** JSON.parse, with a syntax error reported as an InputError naming `where` and describing `what`. */
export function parseJson(text: string, where: string, what = "JSON text"): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(where, what, `invalid JSON (${(error as Error).message})`);
  }
}

/** `value` checked against a zod schema; the first problem becomes an InputError at its path. */
export function validated<T>(schema: z.ZodType<T>, value: unknown, where: string, expected: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new InputError(
    `${where}${issue.path.length ? ` at ${issue.path.join(".")}` : ""}`,
    expected,
    issue.message,
  );
}

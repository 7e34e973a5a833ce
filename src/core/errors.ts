import type { z } from "zod";

/** A problem with what the user supplied (file, flag, shape, value): the CLI exits 2 with its message. */
export class InputError extends Error {
  override readonly name = "InputError";

  /** Builds the message "<where>: expected <expected>; got <actual>". */
  constructor(
    readonly where: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${where}: expected ${expected}; got ${actual}`);
  }
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

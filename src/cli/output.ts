/** Prints `result` as JSON (`--json`) or as the human-readable text `render` builds, on stdout. */
export function printResult<T>(result: T, json: boolean | undefined, render: (r: T) => string): void {
  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${render(result)}\n`);
}

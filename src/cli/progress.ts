/**
 * A progress reporter for stderr that stays silent for the first second, then redraws one line on a
 * terminal, or prints a line per 10% step when stderr is a file or pipe.
 */
export function stderrProgress(
  label: string,
  delayMs = 1000,
): (done: number, total: number, detail?: string) => void {
  const start = Date.now();
  let lastDecile = -1;
  return (done, total, detail) => {
    if (Date.now() - start < delayMs) return;
    const percent = Math.min(100, Math.floor((100 * done) / Math.max(total, 1)));
    const suffix = detail ? `  ${detail}` : "";
    if (process.stderr.isTTY) {
      process.stderr.write(
        `\r${label} ${String(percent).padStart(3)}%${suffix}\x1b[K${done >= total ? "\n" : ""}`,
      );
    } else if (Math.floor(percent / 10) > lastDecile) {
      lastDecile = Math.floor(percent / 10);
      process.stderr.write(`${label} ${percent}%${suffix}\n`);
    }
  };
}

/** Writes a line worth keeping (an epoch's loss) on stderr, over a progress line a terminal is redrawing. */
export function stderrLine(line: string): void {
  process.stderr.write(`${process.stderr.isTTY ? "\r\x1b[K" : ""}${line}\n`);
}

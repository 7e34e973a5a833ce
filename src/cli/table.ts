/** Options of `table`: the header row, how many leading columns are text (left-aligned), lines under it. */
export interface TableOptions {
  header?: string[];
  /** Leading columns aligned left (labels); the rest are numbers, aligned right. Default 0. */
  textColumns?: number;
  /** Lines printed under the table, e.g. the legend of a marker. */
  notes?: string[];
}

/** Rows as a column-aligned table: each column as wide as its widest cell, two spaces between columns. */
export function table(rows: string[][], { header, textColumns = 0, notes = [] }: TableOptions = {}): string {
  const all = header ? [header, ...rows] : rows;
  const widths = all[0].map((_, j) => Math.max(...all.map((row) => row[j].length)));
  const line = (row: string[]) =>
    row
      .map((cell, j) => (j < textColumns ? cell.padEnd(widths[j]) : cell.padStart(widths[j])))
      .join("  ")
      .trimEnd();
  return [...all.map(line), ...notes].join("\n");
}

/** The marker of a table's optimum rows, explained by a note under the table. */
export const MARK = "*";

/** A number cell with room for the marker, so marked and unmarked cells keep their digits aligned. */
export const marked = (text: string, on: boolean): string => `${text}${on ? MARK : " "}`;

// "-0.000" would suggest a sign the rounded value does not have
const unsigned = (text: string) => (/^-[0.]+$/.test(text) ? text.slice(1) : text);

/** `x` to `digits` decimals (a cosine, a distance). */
export const fixed = (x: number, digits = 4): string => unsigned(x.toFixed(digits));

/**
 * A column of numbers (losses) to at least `digits` significant digits, all with the same decimals so that
 * their points line up: as many as the smallest magnitude needs (at most 8).
 */
export function sigColumn(values: number[], digits = 4): string[] {
  const decimals = Math.max(
    0,
    ...values.map((x) => Math.min(8, digits - 1 - Math.floor(Math.log10(Math.abs(x) || 1)))),
  );
  return values.map((x) => fixed(x, decimals));
}

/** A fraction in [0, 1] (an accuracy, a rate, R@k) to three decimals, never a percent. */
export const fraction = (x: number): string => fixed(x, 3);

/** A parameter value (λ, τ, a scale) as short as it reads exactly to four significant digits: 0.05, not 0.05000. */
export const short = (x: number): string => String(Number(x.toPrecision(4)));

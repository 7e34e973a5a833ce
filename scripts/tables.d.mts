/** Writes one paired embedding set in every table layout gapkit reads (see tables.mjs). */
export function writeTables(
  a: { rows: number; cols: number; data: Float32Array },
  b: { rows: number; cols: number; data: Float32Array },
  dir: string,
): Promise<void>;

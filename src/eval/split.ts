import { check } from "../core/errors.js";

/**
 * The fit part of a fit / held-out split of `n` pairs: round(fit·n) rows (halves up), checked to leave at
 * least 2 pairs on each side. `align eval` and `score eval` split by this one rule.
 */
export function fitRowCount(n: number, fit: number): number {
  check(fit > 0 && fit < 1, "--fit", "a fraction in (0, 1)", () => String(fit));
  return checkedSplit(n, Math.round(fit * n), "--fit");
}

/** `fitRows` of `n` pairs, checked to leave at least 2 pairs on each side of the split (`flag` set it). */
export function checkedSplit(n: number, fitRows: number, flag: string): number {
  check(
    fitRows >= 2 && n - fitRows >= 2,
    flag,
    `a split leaving ≥ 2 pairs on each side of ${n}`,
    () => `${fitRows} and ${n - fitRows}`,
  );
  return fitRows;
}

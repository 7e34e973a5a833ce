import { describe, expect, it } from "vitest";
import { float64ToBase64 } from "../../src/core/compensated.js";
import { InputError } from "../../src/core/errors.js";
import { sliceRows } from "../../src/core/matrix.js";
import { pairStats, statsToJson } from "../../src/gap/stats.js";
import { parseStats } from "../../src/gap/stats-json.js";
import { fixture, fromFixture } from "../helpers.js";

const { a, b } = fixture("metrics");

/** A part's JSON with sum `name` replaced by `values` (lo parts zero). */
function withSum(part: Record<string, unknown>, name: string, values: number[]): Record<string, unknown> {
  const sums = part.sums as Record<string, { hi: string; lo: string }>;
  const encoded = {
    hi: float64ToBase64(Float64Array.from(values)),
    lo: float64ToBase64(new Float64Array(values.length)),
  };
  return { ...part, sums: { ...sums, [name]: encoded } };
}

describe("parseStats refuses parts whose sums no unit rows could give", async () => {
  const stats = await pairStats(sliceRows(fromFixture(a), 0, 5), sliceRows(fromFixture(b), 0, 5));
  const part = statsToJson(stats) as Record<string, unknown>;
  const d = stats.dim;
  const diagonalOf = (k: number) => Array.from({ length: d * d }, (_, i) => (i === 0 ? k : 0));
  it.each([
    [
      "n 0 with the sums of 5 pairs",
      { ...part, n: 0 },
      /sums\.squaresA: expected a sum of squared norms in \[0, n\]; got 5 with n = 0/,
    ],
    [
      "a negative sum of squares",
      withSum(part, "squaresB", [-1]),
      /sums\.squaresB: expected a sum of squared norms in \[0, n\]; got -1/,
    ],
    [
      "a paired cosine sum beyond n",
      withSum(part, "pairedCos", [7]),
      /sums\.pairedCos: expected a sum of cosines in \[−n, n\]; got 7/,
    ],
    [
      "a vector sum longer than n",
      withSum(
        part,
        "a",
        Array.from({ length: d }, () => 10),
      ),
      /sums\.a: expected a sum of unit rows, of norm at most n/,
    ],
    [
      "a negative second-moment diagonal",
      withSum(part, "aa", diagonalOf(-2)),
      /sums\.aa: expected a second moment with a diagonal ≥ 0; got -2/,
    ],
    [
      "a second moment whose trace is not the squares",
      withSum(part, "bb", diagonalOf(1)),
      /sums\.bb: expected a second moment whose trace is sums\.squaresB \(5[.0-9]*\); got 1/,
    ],
  ])("%s", (_, input, message) => {
    const text = JSON.stringify(input);
    expect(() => parseStats(text, "part.json")).toThrow(InputError);
    expect(() => parseStats(text, "part.json")).toThrow(message);
  });

  it("still reads a consistent part", () => {
    expect(parseStats(JSON.stringify(part), "part.json").n).toBe(5);
  });
});

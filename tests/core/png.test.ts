import { decode } from "fast-png";
import { describe, expect, it } from "vitest";
import { pngDataUri } from "../../src/core/png.js";

const bytesOf = (uri: string) => Uint8Array.from(atob(uri.split(",")[1]), (c) => c.charCodeAt(0));

describe("pngDataUri", () => {
  it("writes channel-major RGB rows as RGBA pixels, clamped to [0, 1]", () => {
    // 2×2: R plane, G plane, B plane
    const row = [0, 1, 0.5, 2, 0, 0, 1, 0, 1, 0, 0, -1];
    const uri = pngDataUri(row, [3, 2, 2]);
    expect(uri).toMatch(/^data:image\/png;base64,/);
    const png = decode(bytesOf(uri));
    expect([png.width, png.height, png.channels]).toEqual([2, 2, 4]);
    expect(Array.from(png.data)).toEqual([0, 0, 255, 255, 255, 0, 0, 255, 128, 255, 0, 255, 255, 0, 0, 255]);
  });

  it("repeats a grey plane in R, G and B, and refuses a row of the wrong length", () => {
    const png = decode(bytesOf(pngDataUri([0.2, 0.4], [1, 1, 2])));
    expect(Array.from(png.data)).toEqual([51, 51, 51, 255, 102, 102, 102, 255]);
    expect(() => pngDataUri([1, 2, 3], [1, 2, 2])).toThrow(
      /pngDataUri: expected 1 or 3 planes of 2×2 values; got 3/,
    );
  });
});

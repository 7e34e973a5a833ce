/** Pixel rows as PNG data URIs (fast-png: pure JS, browser-safe), for pictures inside a self-contained page. */
import { encode } from "fast-png";
import { check } from "./errors.js";

/**
 * A channel-major image row (`channels` planes of height × width values in [0, 1]; 1 channel: grey,
 * 3: RGB) as a `data:image/png;base64,…` URI.
 */
export function pngDataUri(
  row: ArrayLike<number>,
  [channels, height, width]: readonly [number, number, number],
): string {
  check(
    (channels === 1 || channels === 3) && row.length === channels * height * width,
    "pngDataUri",
    `1 or 3 planes of ${height}×${width} values`,
    () => `${row.length} values for ${channels} channels`,
  );
  const plane = height * width;
  const data = new Uint8Array(plane * 4);
  for (let k = 0; k < plane; k++) {
    for (let c = 0; c < 3; c++) {
      const v = row[(channels === 3 ? c : 0) * plane + k];
      data[4 * k + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
    data[4 * k + 3] = 255;
  }
  const bytes = encode({ width, height, data, channels: 4, depth: 8 });
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:image/png;base64,${btoa(binary)}`;
}

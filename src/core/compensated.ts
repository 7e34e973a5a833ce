import { check } from "./errors.js";

/**
 * A vector of float64 sums carried as unevaluated pairs hi + lo (double-double): adding two of them with
 * Knuth's two-sum loses only ~2⁻¹⁰⁴ relative, so merging partial sums in any order or grouping gives the
 * same value to the last bit of hi in practice.
 */
export interface CompensatedSum {
  readonly hi: Float64Array;
  readonly lo: Float64Array;
}

/** A compensated sum whose value is exactly `values`. */
export function compensated(values: Float64Array): CompensatedSum {
  return { hi: values, lo: new Float64Array(values.length) };
}

/** The compensated sum x + y, as new arrays. */
export function addCompensated(x: CompensatedSum, y: CompensatedSum): CompensatedSum {
  check(x.hi.length === y.hi.length, "addCompensated", `sums of equal length ${x.hi.length}`, () =>
    String(y.hi.length),
  );
  const hi = new Float64Array(x.hi.length);
  const lo = new Float64Array(x.hi.length);
  for (let k = 0; k < hi.length; k++) {
    const a = x.hi[k];
    const b = y.hi[k];
    const s = a + b;
    const bVirtual = s - a;
    const error = a - (s - bVirtual) + (b - bVirtual);
    const tail = error + x.lo[k] + y.lo[k];
    hi[k] = s + tail;
    lo[k] = tail - (hi[k] - s);
  }
  return { hi, lo };
}

/** hi + lo of each entry, rounded once to float64. */
export function compensatedValue(x: CompensatedSum): Float64Array {
  // a loop, not map(): V8 runs a typed array's map with a callback ≈ 5× slower (9 ms for 512²)
  const value = new Float64Array(x.hi.length);
  for (let k = 0; k < value.length; k++) value[k] = x.hi[k] + x.lo[k];
  return value;
}

/**
 * Little-endian bytes of the values as base64: an exact, compact JSON form of long vectors — float64, or
 * float32 with `width` 4 (exact for float32 values).
 */
export function float64ToBase64(values: ArrayLike<number>, width: 4 | 8 = 8): string {
  const bytes = new Uint8Array(values.length * width);
  const view = new DataView(bytes.buffer);
  for (let k = 0; k < values.length; k++)
    if (width === 8) view.setFloat64(k * 8, values[k], true);
    else view.setFloat32(k * 4, values[k], true);
  let binary = "";
  for (let k = 0; k < bytes.length; k += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
  return btoa(binary);
}

/** Inverse of float64ToBase64 (same `width`); `where` names the field in errors. */
export function base64ToFloat64(text: string, length: number, where: string, width: 4 | 8 = 8): Float64Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    binary = "";
  }
  check(
    binary.length === length * width,
    where,
    `base64 of ${length} little-endian float${width * 8} values`,
    () => (binary.length ? `${binary.length} bytes` : "not base64"),
  );
  const view = new DataView(new ArrayBuffer(binary.length));
  for (let k = 0; k < binary.length; k++) view.setUint8(k, binary.charCodeAt(k));
  return Float64Array.from({ length }, (_, k) =>
    width === 8 ? view.getFloat64(k * 8, true) : view.getFloat32(k * 4, true),
  );
}

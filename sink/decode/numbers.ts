// Floating-point values of the registry formats as JSON numbers, one rule for
// all of them. A 32-bit float is written as the shortest decimal that reads back
// as the same float32 (0.1f -> 0.1, as Java's Float.toString and Kafka Connect's
// converters write it), not as the double it widens to (0.10000000149011612).
// A negative zero keeps its sign as -0.0 (JSON can say it; Jackson and Java read it
// back as -0.0); NaN and the infinities, which JSON cannot hold, become null.

const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** -0.0 as JSON text (JSON.stringify writes the number -0 as 0). Frozen, so one value serves every document. */
export const NEGATIVE_ZERO: unknown = rawJSON('-0.0');

const MIN_NORMAL_FLOAT32 = 1.1754943508222875e-38;

/** A float32 (already widened to a double, as readers return it) as a JSON value. */
export function float32(v: number): unknown {
  if (!Number.isFinite(v)) return null;
  if (v === 0) return Object.is(v, -0) ? NEGATIVE_ZERO : 0;
  // fast path: integers up to 2^24, and sixteenths below 4096 (1.25, 0.5, 99.0625): exact in a few
  // digits, and a float32's half-ulp there is below any shorter decimal's distance
  if (Math.abs(v) < 4096 ? Number.isInteger(v * 16) : Number.isInteger(v) && Math.abs(v) <= 16777216) return v;
  // 6 digits reach any shorter decimal of a normal float32; subnormals have fewer digits of precision
  for (let p = Math.abs(v) < MIN_NORMAL_FLOAT32 ? 1 : 6; p < 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return Number(v.toPrecision(9));
}

/** A double as a JSON value. */
export function float64(v: number): unknown {
  if (v === 0) return Object.is(v, -0) ? NEGATIVE_ZERO : 0;
  return Number.isFinite(v) ? v : null;
}

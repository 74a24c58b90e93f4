// Avro payloads (Confluent-framed; the caller strips the framing and fetches
// the writer schema) decoded straight into Rockset documents.
//
// avsc parses and validates the writer schema (names, namespaces, references,
// unions, logical-type annotations); the bytes are then read by a tree of
// closures compiled once per schema, which builds the Rockset form directly:
// no intermediate avsc values, no per-long Buffer, no schema walk per value.
//
// | Avro (writer schema) | JSON in the Rockset document |
// |---|---|
// | null | null |
// | boolean | true / false (a byte other than 0 or 1 is a decode error) |
// | int | number |
// | long | number when a safe integer (abs <= 2^53-1), else its exact digits (JSON.rawJSON, e.g. 9223372036854775807) |
// | float, double | number; a float is the shortest decimal that reads back as the same float32 (0.1f -> 0.1), as Java's Float.toString writes it and as Protobuf floats are (sink/decode/numbers.ts); -0.0 stays -0.0; NaN, Infinity, -Infinity -> null (JSON cannot hold them) |
// | string | string (invalid UTF-8 becomes U+FFFD, as in avsc and Java) |
// | bytes, fixed | base64 string |
// | enum | the symbol (string) |
// | array | array |
// | map | object (a key repeated in the payload: the last one wins) |
// | record, error | object with every field in schema order; a null field stays present as null |
// | union | the chosen branch's value, mapped by that branch's rules; the null branch -> null |
// | timestamp-millis (long) | {"__rockset_type":"timestamp","value":µs}, µs = ms × 1000 exactly |
// | timestamp-micros (long) | {"__rockset_type":"timestamp","value":µs} |
// | timestamp-nanos (long) | {"__rockset_type":"timestamp","value":µs}, µs = floor(ns / 1000) (toward negative infinity: -1 ns -> -1 µs) |
// | local-timestamp-millis, -micros, -nanos (long) | {"__rockset_type":"datetime","value":"YYYY-MM-DDTHH:MM:SS.ffffff"} (no zone, always 6 fraction digits, nanos floored) |
// | date (int) | {"__rockset_type":"date","value":"YYYY-MM-DD"} |
// | time-millis (int) | {"__rockset_type":"time","value":"HH:MM:SS.mmm"}; outside [0, 24 h): decode error (bad record) |
// | time-micros (long) | {"__rockset_type":"time","value":"HH:MM:SS.ffffff"}; outside [0, 24 h): decode error (bad record) |
// | decimal (bytes or fixed) | string with exactly `scale` fraction digits: "123.45", "-0.005", "0.00", "42" (scale 0) |
// | uuid (string) | the string as is |
// | uuid (fixed 16) | "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lowercase hex |
// | other logicalTypes (duration, big-decimal, custom), invalid ones (timestamp-millis on an int, decimal scale > precision...) | the underlying type's mapping |
//
// Timestamp values (µs) beyond 2^53, e.g. 9999-12-31 in timestamp-millis,
// are written as their exact digits too. Decimals are strings because they
// must stay exact: a JSON number would be read as a double by Rockset; the
// precision is not enforced on read (as in Java). A logicalType on a named
// type (a decimal fixed) also applies where that name is referenced; one on
// a record field rather than on its type is ignored, as the spec says.
//
// Dates and times come from integer civil-from-days arithmetic (Howard
// Hinnant's algorithm), never from Date or the local time zone: the result
// does not depend on TZ, and pre-1970 values are floored (-1 ms is
// 1969-12-31T23:59:59.999000). Years outside 0000..9999 are written as
// Date#toISOString writes them: a sign and six digits (+010000-01-01).
//
// Bytes that do not decode with the schema throw AvroDecodeError: truncated
// data, trailing bytes, a union or enum index out of range, a varint longer
// than its type (int: 32 bits, long: 64 bits), a negative length, a block
// count larger than the bytes left could hold (so garbage cannot make the
// decoder spin or allocate), more than 1,000,000 items in an array or map
// whose items take no bytes (null, empty records), a time of day out of
// range. A value nesting so deep that the readers run out of stack throws
// NestingTooDeep (a bad record at the map stage, like any value nesting deeper
// than MAX_NESTING_DEPTH).
import avro from 'avsc';
import type { Type as AvroType, types as avroTypes } from 'avsc';
import { NestingTooDeep, isStackOverflow } from './depth.ts';
import { float32, float64 } from './numbers.ts';

export class AvroDecodeError extends Error {
  override name = 'AvroDecodeError';
}

/** The writer schema cannot be used: not JSON, or not a valid Avro schema. */
export class AvroSchemaError extends Error {
  override name = 'AvroSchemaError';
}

const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

// ---------------------------------------------------------------------------
// Reading state. Decoding is synchronous and never re-entered, so the buffer
// and position live in module scope: the compiled readers need no arguments.
const EMPTY = Buffer.alloc(0);
let B: Buffer = EMPTY;
let P = 0;
let END = 0;

type Reader = () => unknown;

function corrupt(what: string): AvroDecodeError {
  return new AvroDecodeError(`${what} (at byte ${P} of ${END})`);
}

function truncated(): AvroDecodeError {
  return new AvroDecodeError(`truncated payload: the schema needs more than the ${END} byte(s) given`);
}

function need(n: number): void {
  if (n > END - P) throw truncated();
}

/** An Avro int: zig-zag varint of at most 5 bytes holding 32 bits. */
function readInt(): number {
  let n = 0;
  let shift = 0;
  let b: number;
  do {
    if (P >= END) throw truncated();
    b = B[P++]!;
    if (shift === 28 && b > 0x0f) throw corrupt('invalid int: varint longer than 32 bits');
    n |= (b & 0x7f) << shift;
    shift += 7;
  } while (b >= 0x80);
  return (n >>> 1) ^ -(n & 1);
}

const TWO_53 = 2 ** 53;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * An Avro long: a number when it is a safe integer, else a bigint. Up to 4
 * bytes in int arithmetic, up to 8 in exact double arithmetic (below 2^53),
 * beyond that (|v| > 2^52) BigInt.
 */
function readLong(): number | bigint {
  const start = P;
  let n = 0;
  let shift = 0;
  let b: number;
  do {
    if (P >= END) throw truncated();
    b = B[P++]!;
    n |= (b & 0x7f) << shift;
    shift += 7;
  } while (b >= 0x80 && shift < 28);
  if (b < 0x80) return (n >>> 1) ^ -(n & 1);
  let f = n;
  let mul = 268435456; // 2^28
  do {
    if (P >= END) throw truncated();
    b = B[P++]!;
    f += (b & 0x7f) * mul;
    mul *= 128;
  } while (b >= 0x80 && mul < 72057594037927936); // 2^56: 8 bytes
  if (b < 0x80 && f < TWO_53) return f % 2 === 1 ? -(f + 1) / 2 : f / 2;
  return readLongBig(start);
}

function readLongBig(start: number): number | bigint {
  P = start;
  let u = 0n;
  let shift = 0n;
  let count = 0;
  let b: number;
  do {
    if (P >= END) throw truncated();
    b = B[P++]!;
    if (count === 9 && b > 1) throw corrupt('invalid long: varint longer than 64 bits');
    u |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    count++;
  } while (b >= 0x80);
  const v = (u >> 1n) ^ -(u & 1n);
  return v <= MAX_SAFE_BIG && v >= -MAX_SAFE_BIG ? Number(v) : v;
}

/** A byte length (string, bytes, decimal) that the rest of the payload holds. */
function readLength(): number {
  const n = readLong();
  if (typeof n !== 'number' || n < 0) throw corrupt(`invalid length ${n}`);
  if (n > END - P) throw truncated();
  return n;
}

const MAX_EMPTY_ITEMS = 1_000_000;

/**
 * The item count of the next array/map block (0 ends the collection). Each item
 * takes at least minSize bytes, so a count the rest of the payload cannot hold
 * is corrupt; for items of no bytes at all, the total is capped.
 */
function readBlockCount(minSize: number, sofar: number): number {
  let n = readLong();
  if (typeof n !== 'number') throw corrupt(`invalid block count ${n}`);
  if (n < 0) {
    n = -n;
    const size = readLong(); // the block's byte size, which a reader may use to skip it
    if (typeof size !== 'number' || size < 0) throw corrupt(`invalid block size ${size}`);
  }
  if (minSize > 0 ? n * minSize > END - P : sofar + n > MAX_EMPTY_ITEMS) {
    throw corrupt(`invalid block count ${n}: more items than the payload can hold`);
  }
  return n;
}

// ---------------------------------------------------------------------------
// Primitive readers.

const readNull: Reader = () => null;

const readBoolean: Reader = () => {
  if (P >= END) throw truncated();
  const b = B[P++]!;
  if (b > 1) throw corrupt(`invalid boolean byte ${b}`);
  return b === 1;
};

const readIntValue: Reader = readInt;

const readLongValue: Reader = () => {
  const v = readLong();
  return typeof v === 'number' ? v : rawJSON(v.toString());
};

const readFloat: Reader = () => {
  need(4);
  const x = B.readFloatLE(P);
  P += 4;
  return float32(x);
};

const readDouble: Reader = () => {
  need(8);
  const x = B.readDoubleLE(P);
  P += 8;
  return float64(x);
};

// Short strings are everywhere in records (codes, enums-as-strings, keys): up to
// 8 ASCII bytes are built in JS (String.fromCharCode with the bytes as
// arguments), several times faster than a call into the native UTF-8 decoder.
const fcc = String.fromCharCode;

/** B[a, a+len) as a string when len <= 8 and every byte is ASCII, else null. */
function shortAscii(a: number, len: number): string | null {
  const b = B;
  if (len < 4) {
    if (len === 0) return '';
    const x0 = b[a]!;
    if (len === 1) return x0 < 0x80 ? fcc(x0) : null;
    const x1 = b[a + 1]!;
    if (len === 2) return (x0 | x1) < 0x80 ? fcc(x0, x1) : null;
    const x2 = b[a + 2]!;
    return (x0 | x1 | x2) < 0x80 ? fcc(x0, x1, x2) : null;
  }
  const x0 = b[a]!;
  const x1 = b[a + 1]!;
  const x2 = b[a + 2]!;
  const x3 = b[a + 3]!;
  if ((x0 | x1 | x2 | x3) >= 0x80) return null;
  if (len < 8) {
    if (len === 4) return fcc(x0, x1, x2, x3);
    const x4 = b[a + 4]!;
    if (len === 5) return x4 < 0x80 ? fcc(x0, x1, x2, x3, x4) : null;
    const x5 = b[a + 5]!;
    if (len === 6) return (x4 | x5) < 0x80 ? fcc(x0, x1, x2, x3, x4, x5) : null;
    const x6 = b[a + 6]!;
    return (x4 | x5 | x6) < 0x80 ? fcc(x0, x1, x2, x3, x4, x5, x6) : null;
  }
  const x4 = b[a + 4]!;
  const x5 = b[a + 5]!;
  const x6 = b[a + 6]!;
  const x7 = b[a + 7]!;
  return (x4 | x5 | x6 | x7) < 0x80 ? fcc(x0, x1, x2, x3, x4, x5, x6, x7) : null;
}

// Buffer#utf8Slice skips toString's argument handling (avsc relies on it too);
// toString where it does not exist.
const utf8Slice: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as { utf8Slice?: unknown }).utf8Slice === 'function'
    ? (buf, start, end) => (buf as unknown as { utf8Slice(s: number, e: number): string }).utf8Slice(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end);

function readStringValue(): string {
  const n = readLength();
  const start = P;
  P += n;
  if (n <= 8) {
    const s = shortAscii(start, n);
    if (s !== null) return s;
  }
  return utf8Slice(B, start, P);
}

const readString: Reader = readStringValue;

const readBytes: Reader = () => {
  const n = readLength();
  const start = P;
  P += n;
  return B.toString('base64', start, P);
};

function fixedReader(size: number): Reader {
  return () => {
    need(size);
    const start = P;
    P += size;
    return B.toString('base64', start, P);
  };
}

// ---------------------------------------------------------------------------
// Logical types: dates and times by integer arithmetic only.

const TWO_DIGITS: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : `${i}`));

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function yearText(y: number): string {
  if (y >= 0 && y <= 9999) return pad(y, 4);
  return (y < 0 ? '-' : '+') + pad(Math.abs(y), 6);
}

/** "YYYY-MM-DD" for a count of days since 1970-01-01 (Howard Hinnant's civil_from_days). */
function civilFromDays(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097; // [0, 146096]
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365); // [0, 399]
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // [0, 365]
  const mp = Math.floor((5 * doy + 2) / 153); // [0, 11], March first
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${yearText(y)}-${TWO_DIGITS[m]}-${TWO_DIGITS[d]}`;
}

/** "HH:MM:SS" for seconds in [0, 86400). */
function clockText(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const rest = seconds - h * 3600;
  const m = Math.floor(rest / 60);
  return `${TWO_DIGITS[h]}:${TWO_DIGITS[m]}:${TWO_DIGITS[rest - m * 60]}`;
}

const MICROS_PER_DAY = 86_400_000_000;
const MICROS_PER_DAY_BIG = 86_400_000_000n;

/** "YYYY-MM-DDTHH:MM:SS.ffffff" for microseconds since 1970-01-01T00:00 (floored). */
function datetimeText(us: number | bigint): string {
  let days: number;
  let ofDay: number;
  if (typeof us === 'number') {
    ofDay = us % MICROS_PER_DAY; // exact for integers; sign of us
    days = (us - ofDay) / MICROS_PER_DAY; // exact: a multiple of MICROS_PER_DAY
  } else {
    const r = us % MICROS_PER_DAY_BIG;
    days = Number((us - r) / MICROS_PER_DAY_BIG);
    ofDay = Number(r);
  }
  if (ofDay < 0) {
    ofDay += MICROS_PER_DAY;
    days -= 1;
  }
  const frac = ofDay % 1_000_000;
  return `${civilFromDays(days)}T${clockText((ofDay - frac) / 1_000_000)}.${pad(frac, 6)}`;
}

const SAFE_MILLIS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

function millisToMicros(ms: number | bigint): number | bigint {
  if (typeof ms === 'number' && ms <= SAFE_MILLIS && ms >= -SAFE_MILLIS) return ms * 1000;
  const us = BigInt(ms) * 1000n;
  return us <= MAX_SAFE_BIG && us >= -MAX_SAFE_BIG ? Number(us) : us;
}

function nanosToMicros(ns: number | bigint): number | bigint {
  if (typeof ns === 'number') {
    const r = ns % 1000;
    return (ns - r) / 1000 - (r < 0 ? 1 : 0);
  }
  const r = ns % 1000n;
  const us = (ns - r) / 1000n - (r < 0n ? 1n : 0n);
  return us <= MAX_SAFE_BIG && us >= -MAX_SAFE_BIG ? Number(us) : us;
}

const exact = (v: number | bigint): unknown => (typeof v === 'number' ? v : rawJSON(v.toString()));

const readTimestampMillis: Reader = () => ({ __rockset_type: 'timestamp', value: exact(millisToMicros(readLong())) });
const readTimestampMicros: Reader = () => ({ __rockset_type: 'timestamp', value: exact(readLong()) });
const readTimestampNanos: Reader = () => ({ __rockset_type: 'timestamp', value: exact(nanosToMicros(readLong())) });
const readLocalMillis: Reader = () => ({ __rockset_type: 'datetime', value: datetimeText(millisToMicros(readLong())) });
const readLocalMicros: Reader = () => ({ __rockset_type: 'datetime', value: datetimeText(readLong()) });
const readLocalNanos: Reader = () => ({ __rockset_type: 'datetime', value: datetimeText(nanosToMicros(readLong())) });
const readDate: Reader = () => ({ __rockset_type: 'date', value: civilFromDays(readInt()) });

const readTimeMillis: Reader = () => {
  const ms = readInt();
  if (ms < 0 || ms >= 86_400_000) throw corrupt(`time-millis ${ms} is not a time of day (0 to 86399999)`);
  const frac = ms % 1000;
  return { __rockset_type: 'time', value: `${clockText((ms - frac) / 1000)}.${pad(frac, 3)}` };
};

const readTimeMicros: Reader = () => {
  const us = readLong();
  if (typeof us !== 'number' || us < 0 || us >= MICROS_PER_DAY) throw corrupt(`time-micros ${us} is not a time of day (0 to 86399999999)`);
  const frac = us % 1_000_000;
  return { __rockset_type: 'time', value: `${clockText((us - frac) / 1_000_000)}.${pad(frac, 6)}` };
};

/** The decimal text of the two's-complement big-endian integer in B[start, end), scaled. */
function decimalText(start: number, end: number, scale: number): string {
  const len = end - start;
  let neg = false;
  let digits: string;
  if (len === 0) {
    digits = '0';
  } else if (len <= 6) {
    const v = B.readIntBE(start, len);
    neg = v < 0;
    digits = String(neg ? -v : v);
  } else {
    const v = BigInt.asIntN(len * 8, BigInt(`0x${B.toString('hex', start, end)}`));
    neg = v < 0n;
    digits = (neg ? -v : v).toString();
  }
  if (scale > 0) {
    if (digits.length <= scale) digits = '0'.repeat(scale + 1 - digits.length) + digits;
    const point = digits.length - scale;
    digits = `${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  return neg ? `-${digits}` : digits;
}

function decimalBytesReader(scale: number): Reader {
  return () => {
    const n = readLength();
    const start = P;
    P += n;
    return decimalText(start, P, scale);
  };
}

function decimalFixedReader(size: number, scale: number): Reader {
  return () => {
    need(size);
    const start = P;
    P += size;
    return decimalText(start, P, scale);
  };
}

const readUuidFixed: Reader = () => {
  need(16);
  const h = B.toString('hex', P, P + 16);
  P += 16;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

// ---------------------------------------------------------------------------
// Logical-type annotations, through avsc's logicalTypes hook: a constructor
// that throws makes avsc fall back to the underlying type, as the spec asks.

type LogicalSpec =
  | { kind: 'decimal'; scale: number }
  | { kind: 'uuid' }
  | { kind: 'date' | 'time-millis' | 'time-micros' }
  | { kind: 'timestamp-millis' | 'timestamp-micros' | 'timestamp-nanos' }
  | { kind: 'local-timestamp-millis' | 'local-timestamp-micros' | 'local-timestamp-nanos' };

/** The underlying type (typeName) each known logical type may annotate. */
const ANNOTATES: Record<string, readonly string[]> = {
  decimal: ['bytes', 'fixed'],
  uuid: ['string', 'fixed'],
  date: ['int'],
  'time-millis': ['int'],
  'time-micros': ['long'],
  'timestamp-millis': ['long'],
  'timestamp-micros': ['long'],
  'timestamp-nanos': ['long'],
  'local-timestamp-millis': ['long'],
  'local-timestamp-micros': ['long'],
  'local-timestamp-nanos': ['long'],
};

function logicalSpec(attrs: Record<string, unknown>, underlying: AvroType): LogicalSpec {
  const kind = String(attrs.logicalType);
  if (!ANNOTATES[kind]?.includes(underlying.typeName)) throw new Error(`${kind} cannot annotate ${underlying.typeName}`);
  if (kind === 'uuid' && underlying.typeName === 'fixed' && (underlying as avroTypes.FixedType).size !== 16) throw new Error('uuid needs fixed size 16');
  if (kind !== 'decimal') return { kind } as LogicalSpec;
  const precision = attrs.precision;
  const scale = attrs.scale ?? 0;
  if (!Number.isSafeInteger(precision) || (precision as number) <= 0) throw new Error('decimal needs a positive precision');
  if (!Number.isSafeInteger(scale) || (scale as number) < 0 || (scale as number) > (precision as number)) throw new Error('decimal scale must be in [0, precision]');
  if (underlying.typeName === 'fixed') {
    const size = (underlying as avroTypes.FixedType).size;
    if ((precision as number) > Math.floor(Math.log10(2) * (8 * size - 1))) throw new Error(`fixed(${size}) cannot hold decimal precision ${precision}`);
  }
  return { kind: 'decimal', scale: scale as number };
}

class KnownLogicalType extends avro.types.LogicalType {
  spec: LogicalSpec;

  constructor(schema: unknown, opts?: unknown) {
    super(schema as AvroType, opts);
    this.spec = logicalSpec(schema as Record<string, unknown>, this.underlyingType);
  }
}

const LOGICAL_TYPES = Object.fromEntries(Object.keys(ANNOTATES).map((k) => [k, KnownLogicalType]));

function logicalReader(spec: LogicalSpec, underlying: AvroType): Reader {
  switch (spec.kind) {
    case 'decimal':
      return underlying.typeName === 'fixed' ? decimalFixedReader((underlying as avroTypes.FixedType).size, spec.scale) : decimalBytesReader(spec.scale);
    case 'uuid':
      return underlying.typeName === 'fixed' ? readUuidFixed : readString;
    case 'date':
      return readDate;
    case 'time-millis':
      return readTimeMillis;
    case 'time-micros':
      return readTimeMicros;
    case 'timestamp-millis':
      return readTimestampMillis;
    case 'timestamp-micros':
      return readTimestampMicros;
    case 'timestamp-nanos':
      return readTimestampNanos;
    case 'local-timestamp-millis':
      return readLocalMillis;
    case 'local-timestamp-micros':
      return readLocalMicros;
    case 'local-timestamp-nanos':
      return readLocalNanos;
  }
}

// ---------------------------------------------------------------------------
// Complex types.

function arrayReader(item: Reader, minSize: number): Reader {
  return () => {
    const out: unknown[] = [];
    let n: number;
    while ((n = readBlockCount(minSize, out.length)) !== 0) {
      for (let i = 0; i < n; i++) out.push(item());
    }
    return out;
  };
}

function mapReader(value: Reader, minSize: number): Reader {
  return () => {
    const out: Record<string, unknown> = {};
    let count = 0;
    let n: number;
    while ((n = readBlockCount(minSize, count)) !== 0) {
      count += n;
      for (let i = 0; i < n; i++) {
        const key = readStringValue();
        if (key === '__proto__') Object.defineProperty(out, key, { value: value(), enumerable: true, writable: true, configurable: true });
        else out[key] = value();
      }
    }
    return out;
  };
}

function unionReader(branches: Reader[], names: string[]): Reader {
  if (branches.length === 2 && names[0] === 'null') {
    const other = branches[1]!;
    return () => {
      const i = readInt();
      if (i === 0) return null;
      if (i === 1) return other();
      throw corrupt(`invalid union index ${i} (the union has 2 branches)`);
    };
  }
  return () => {
    const i = readInt();
    const branch = branches[i];
    if (branch === undefined) throw corrupt(`invalid union index ${i} (the union has ${branches.length} branches)`);
    return branch();
  };
}

function enumReader(symbols: readonly string[]): Reader {
  return () => {
    const i = readInt();
    const s = symbols[i];
    if (s === undefined) throw corrupt(`invalid enum index ${i} (the enum has ${symbols.length} symbols)`);
    return s;
  };
}

/**
 * A record reader returning an object literal: one allocation with its final
 * shape, much faster than adding properties in a loop. Field names are Avro
 * names ([A-Za-z_][A-Za-z0-9_]*, checked by avsc) and quoted anyway; a field
 * named __proto__ uses a computed key so that it stays an own property.
 * (avsc itself generates code the same way, so it needs no fallback here.)
 */
function recordReader(names: string[], fields: Reader[]): Reader {
  const params = fields.map((_, i) => `r${i}`);
  const props = names.map((name, i) => `${name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name)}: r${i}()`);
  const make = new Function(...params, `return function readRecord() { return { ${props.join(', ')} }; };`) as (...readers: Reader[]) => Reader;
  return make(...fields);
}

interface Node {
  read: Reader;
  /** The fewest bytes a value of this type takes (0 while a record is being compiled: a safe lower bound). */
  minSize: number;
  done: boolean;
}

function compileType(root: AvroType): Reader {
  const nodes = new Map<AvroType, Node>();

  /** The reader to call for t; a record still being compiled (recursion) is called through its node. */
  function readerOf(t: AvroType): Node {
    const node = compile(t);
    if (node.done) return node;
    return { read: () => node.read(), minSize: 0, done: true };
  }

  function leaf(read: Reader, minSize: number): Node {
    return { read, minSize, done: true };
  }

  function compile(t: AvroType): Node {
    let node = nodes.get(t);
    if (node) return node;
    // A named type's logical annotation also applies where the name is referenced (avsc resolves the name to this wrapper).
    node = t instanceof KnownLogicalType ? leaf(logicalReader(t.spec, t.underlyingType), compile(t.underlyingType).minSize) : compilePlain(t);
    nodes.set(t, node);
    return node;
  }

  function compilePlain(t: AvroType): Node {
    switch (t.typeName) {
      case 'null':
        return leaf(readNull, 0);
      case 'boolean':
        return leaf(readBoolean, 1);
      case 'int':
        return leaf(readIntValue, 1);
      case 'long':
        return leaf(readLongValue, 1);
      case 'float':
        return leaf(readFloat, 4);
      case 'double':
        return leaf(readDouble, 8);
      case 'string':
        return leaf(readString, 1);
      case 'bytes':
        return leaf(readBytes, 1);
      case 'fixed': {
        const size = (t as avroTypes.FixedType).size;
        return leaf(fixedReader(size), size);
      }
      case 'enum':
        return leaf(enumReader((t as avroTypes.EnumType).symbols), 1);
      case 'array': {
        const items = readerOf((t as avroTypes.ArrayType).itemsType);
        return leaf(arrayReader(items.read, items.minSize), 1);
      }
      case 'map': {
        const values = readerOf((t as avroTypes.MapType).valuesType);
        return leaf(mapReader(values.read, 1 + values.minSize), 1);
      }
      case 'union:wrapped':
      case 'union:unwrapped': {
        const types = (t as avroTypes.WrappedUnionType).types;
        const branches = types.map(readerOf);
        return leaf(
          unionReader(
            branches.map((b) => b.read),
            types.map((b) => b.typeName),
          ),
          1 + Math.min(...branches.map((b) => b.minSize)),
        );
      }
      case 'record':
      case 'error': {
        const node: Node = { read: readNull, minSize: 0, done: false };
        nodes.set(t, node);
        const fields = (t as avroTypes.RecordType).fields;
        const readers = fields.map((f) => readerOf(f.type));
        node.read = recordReader(
          fields.map((f) => f.name),
          readers.map((r) => r.read),
        );
        node.minSize = readers.reduce((sum, r) => sum + r.minSize, 0);
        node.done = true;
        return node;
      }
      default:
        throw new AvroSchemaError(`unsupported Avro type ${t.typeName}`);
    }
  }

  return compile(root).read;
}

/**
 * Defaults fill fields a writer did not write, when a reader's schema resolves
 * against it; reading with the writer schema itself never uses them. avsc checks
 * them anyway and refuses what JSON.parse cannot hold exactly (a long default
 * beyond 2^53, valid for Java Avro and the registries), so they are left out.
 */
function withoutDefaults(key: string, value: unknown): unknown {
  return key === 'default' ? undefined : value;
}

/**
 * Compiles a writer schema once (the caller caches it per schema id); the
 * returned function decodes one payload to a JSON-ready value (see the table
 * above). Throws AvroSchemaError for a schema that is not valid Avro, and the
 * returned function throws AvroDecodeError for bytes that do not decode with it.
 */
export function compileAvroDecoder(schemaText: string): (payload: Buffer) => unknown {
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText, withoutDefaults);
  } catch (err) {
    throw new AvroSchemaError(`invalid Avro schema: not JSON (${(err as Error).message})`);
  }
  let type: AvroType;
  try {
    type = avro.Type.forSchema(schema as AvroType, { wrapUnions: true, logicalTypes: LOGICAL_TYPES });
  } catch (err) {
    throw new AvroSchemaError(`invalid Avro schema: ${(err as Error).message}`);
  }
  const read = compileType(type);
  return (payload: Buffer): unknown => {
    B = payload;
    P = 0;
    END = payload.length;
    try {
      const value = read();
      if (P !== END) throw new AvroDecodeError(`trailing data: the value ends at byte ${P} of ${END}`);
      return value;
    } catch (err) {
      if (err instanceof AvroDecodeError) throw err;
      // a recursive schema nesting so deep that the readers ran out of stack
      if (isStackOverflow(err)) throw new NestingTooDeep();
      throw new AvroDecodeError(`payload does not decode: ${(err as Error).message}`);
    } finally {
      B = EMPTY;
    }
  };
}


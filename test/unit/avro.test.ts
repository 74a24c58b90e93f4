// Avro payloads -> Rockset documents: every row of the mapping table in
// sink/decode/avro.ts, checked through JSON.stringify so that exact digits
// (longs beyond 2^53, microsecond timestamps, decimals) are what is compared.
// Values are encoded by avsc with a BigInt long (every long exact), or by hand.
// The whole file also runs again under TZ=Asia/Shanghai and
// TZ=America/Los_Angeles: nothing may depend on the local time zone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { Type as AvroType, types as avroTypes } from 'avsc';
import { AvroDecodeError, AvroSchemaError, compileAvroDecoder } from '../../sink/decode/avro.ts';
import { NestingTooDeep } from '../../sink/decode/depth.ts';
import { seededRandom } from './prng.ts';

// ---------------------------------------------------------------------------
// Writers: avsc types whose longs are BigInts (any safe-integer number too), so
// that 2^63-1 and friends can be written; logicalType annotations are ignored
// by the writer (the underlying value is given).

const bigLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint | number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (v: string | number) => BigInt(v),
  toJSON: (n: bigint) => n.toString(),
  isValid: (v: unknown) => typeof v === 'bigint' || Number.isSafeInteger(v),
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

function isLong(s: unknown): boolean {
  return s === 'long' || (typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'long');
}

function writer(schema: unknown): AvroType {
  return avro.Type.forSchema(schema as AvroType, { wrapUnions: true, typeHook: (s) => (isLong(s) ? bigLong : undefined) });
}

function encode(schema: unknown, value: unknown): Buffer {
  return writer(schema).toBuffer(value);
}

function decode(schema: unknown, payload: Buffer): unknown {
  return compileAvroDecoder(JSON.stringify(schema))(payload);
}

/** The document decoded from `value` written with `schema`, as JSON text. */
function roundTrip(schema: unknown, value: unknown): string {
  return JSON.stringify(decode(schema, encode(schema, value)));
}

/** A zig-zag varint of any 64-bit (or, to test rejection, wider) integer. */
function varint(v: bigint): number[] {
  let u = v >= 0n ? v << 1n : (-v << 1n) - 1n;
  const out: number[] = [];
  do {
    const b = Number(u & 0x7fn);
    u >>= 7n;
    out.push(u > 0n ? b | 0x80 : b);
  } while (u > 0n);
  return out;
}

const bytes = (...parts: (number | number[])[]): Buffer => Buffer.from(parts.flat());

const rawJSON = (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON;

interface Case {
  name: string;
  schema: unknown;
  value: unknown;
  json: string;
}

function runCases(cases: Case[]): void {
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(roundTrip(c.schema, c.value), c.json);
    });
  }
}

const ts = (logicalType: string) => ({ type: 'long', logicalType });
const dateType = { type: 'int', logicalType: 'date' };
const decimalBytes = (precision: number, scale: number) => ({ type: 'bytes', logicalType: 'decimal', precision, scale });
/** Two's-complement big-endian bytes of n, minimal length (what Java's BigInteger.toByteArray writes). */
function twos(n: bigint, size?: number): Buffer {
  let len = size ?? 1;
  if (size === undefined) while (n >= 1n << BigInt(8 * len - 1) || n < -(1n << BigInt(8 * len - 1))) len++;
  const u = BigInt.asUintN(8 * len, n);
  return Buffer.from(u.toString(16).padStart(2 * len, '0'), 'hex');
}

// ---------------------------------------------------------------------------

describe('primitives', () => {
  runCases([
    { name: 'null', schema: 'null', value: null, json: 'null' },
    { name: 'boolean true', schema: 'boolean', value: true, json: 'true' },
    { name: 'boolean false', schema: 'boolean', value: false, json: 'false' },
    { name: 'int 0', schema: 'int', value: 0, json: '0' },
    { name: 'int -1', schema: 'int', value: -1, json: '-1' },
    { name: 'int max', schema: 'int', value: 2147483647, json: '2147483647' },
    { name: 'int min', schema: 'int', value: -2147483648, json: '-2147483648' },
    { name: 'long 0', schema: 'long', value: 0n, json: '0' },
    { name: 'long -1', schema: 'long', value: -1n, json: '-1' },
    { name: 'long 2^28 (5-byte varint)', schema: 'long', value: 268435456n, json: '268435456' },
    { name: 'long 2^52', schema: 'long', value: 4503599627370496n, json: '4503599627370496' },
    { name: 'long -2^52-1', schema: 'long', value: -4503599627370497n, json: '-4503599627370497' },
    { name: 'long µs timestamp (8-byte varint)', schema: 'long', value: 1714564800123456n, json: '1714564800123456' },
    { name: 'long 2^53-1 (largest safe)', schema: 'long', value: 9007199254740991n, json: '9007199254740991' },
    { name: 'long -(2^53-1)', schema: 'long', value: -9007199254740991n, json: '-9007199254740991' },
    { name: 'long 2^53', schema: 'long', value: 9007199254740992n, json: '9007199254740992' },
    { name: 'long 9007199254740993 (exact)', schema: 'long', value: 9007199254740993n, json: '9007199254740993' },
    { name: 'long -9007199254740993 (exact)', schema: 'long', value: -9007199254740993n, json: '-9007199254740993' },
    { name: 'long 2^63-1', schema: 'long', value: 9223372036854775807n, json: '9223372036854775807' },
    { name: 'long -2^63', schema: 'long', value: -9223372036854775808n, json: '-9223372036854775808' },
    { name: 'float 1.5', schema: 'float', value: 1.5, json: '1.5' },
    { name: 'float 0.1 as its shortest float32 decimal (as Protobuf floats and Java write it)', schema: 'float', value: 0.1, json: '0.1' },
    { name: 'float 3.4028235e38 (largest) shortest', schema: 'float', value: 3.4028234663852886e38, json: '3.4028235e+38' },
    { name: 'float 16777217 rounds to the float32 16777216', schema: 'float', value: 16777217, json: '16777216' },
    { name: 'float smallest subnormal', schema: 'float', value: 1.401298464324817e-45, json: '1e-45' },
    { name: 'float -0 keeps its sign', schema: 'float', value: -0, json: '-0.0' },
    { name: 'float 0', schema: 'float', value: 0, json: '0' },
    { name: 'float NaN -> null', schema: 'float', value: NaN, json: 'null' },
    { name: 'float Infinity -> null', schema: 'float', value: Infinity, json: 'null' },
    { name: 'float -Infinity -> null', schema: 'float', value: -Infinity, json: 'null' },
    { name: 'double 19.99', schema: 'double', value: 19.99, json: '19.99' },
    { name: 'double 1e300', schema: 'double', value: 1e300, json: '1e+300' },
    { name: 'double -0 keeps its sign', schema: 'double', value: -0, json: '-0.0' },
    { name: 'double NaN -> null', schema: 'double', value: NaN, json: 'null' },
    { name: 'double Infinity -> null', schema: 'double', value: Infinity, json: 'null' },
    { name: 'double -Infinity -> null', schema: 'double', value: -Infinity, json: 'null' },
    { name: 'string empty', schema: 'string', value: '', json: '""' },
    { name: 'string ascii 1', schema: 'string', value: 'a', json: '"a"' },
    { name: 'string ascii 8', schema: 'string', value: 'abcdefgh', json: '"abcdefgh"' },
    { name: 'string ascii 9', schema: 'string', value: 'abcdefghi', json: '"abcdefghi"' },
    { name: 'string non-ascii short', schema: 'string', value: 'abcé', json: '"abcé"' },
    { name: 'string non-ascii in 8th byte', schema: 'string', value: 'abcdefé', json: '"abcdefé"' },
    { name: 'string unicode', schema: 'string', value: 'héllo 日本 🎉 "q" \\ \n', json: '"héllo 日本 🎉 \\"q\\" \\\\ \\n"' },
    { name: 'bytes -> base64', schema: 'bytes', value: Buffer.from([0, 1, 2, 255]), json: '"AAEC/w=="' },
    { name: 'bytes empty', schema: 'bytes', value: Buffer.alloc(0), json: '""' },
  ]);

  test('invalid UTF-8 in a string becomes U+FFFD (as avsc and Java)', () => {
    assert.equal(JSON.stringify(decode('string', bytes(varint(2n), 0xc3, 0x28))), '"\uFFFD("');
    assert.equal(JSON.stringify(decode('string', bytes(varint(10n), [...Buffer.from('abcdefghi')], 0xff))), '"abcdefghi\uFFFD"');
  });
});

describe('named and complex types', () => {
  const color = { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN', 'BLUE'] };
  const point = { type: 'record', name: 'Point', namespace: 'geo', fields: [{ name: 'x', type: 'double' }, { name: 'y', type: 'double' }] };
  runCases([
    { name: 'fixed -> base64', schema: { type: 'fixed', name: 'F4', size: 4 }, value: Buffer.from('deadbeef', 'hex'), json: '"3q2+7w=="' },
    { name: 'enum first symbol', schema: color, value: 'RED', json: '"RED"' },
    { name: 'enum last symbol', schema: color, value: 'BLUE', json: '"BLUE"' },
    { name: 'array of int', schema: { type: 'array', items: 'int' }, value: [1, -2, 3], json: '[1,-2,3]' },
    { name: 'array empty', schema: { type: 'array', items: 'string' }, value: [], json: '[]' },
    { name: 'array of long beyond 2^53', schema: { type: 'array', items: 'long' }, value: [1n, 9223372036854775807n], json: '[1,9223372036854775807]' },
    { name: 'map of string', schema: { type: 'map', values: 'string' }, value: { a: 'x', 'b c': 'y', 'ü': 'z' }, json: '{"a":"x","b c":"y","ü":"z"}' },
    { name: 'map empty', schema: { type: 'map', values: 'int' }, value: {}, json: '{}' },
    {
      name: 'map of arrays',
      schema: { type: 'map', values: { type: 'array', items: 'long' } },
      value: { a: [1n, 2n], b: [], c: [-9223372036854775808n] },
      json: '{"a":[1,2],"b":[],"c":[-9223372036854775808]}',
    },
    {
      name: 'array of maps of records',
      schema: { type: 'array', items: { type: 'map', values: point } },
      value: [{ p: { x: 1, y: 2.5 } }, {}],
      json: '[{"p":{"x":1,"y":2.5}},{}]',
    },
    {
      name: 'nested record, fields in schema order, named type reused by reference',
      schema: {
        type: 'record',
        name: 'Shape',
        namespace: 'geo',
        fields: [
          { name: 'name', type: 'string' },
          { name: 'color', type: color },
          { name: 'center', type: point },
          { name: 'corner', type: 'Point' },
          { name: 'tint', type: 'Color' },
          { name: 'meta', type: { type: 'record', name: 'Meta', fields: [{ name: 'tags', type: { type: 'array', items: 'string' } }, { name: 'attrs', type: { type: 'map', values: 'long' } }] } },
        ],
      },
      value: { name: 'sq', color: 'GREEN', center: { x: 0, y: -1 }, corner: { x: 2, y: 3 }, tint: 'RED', meta: { tags: ['a', 'b'], attrs: { big: 9007199254740993n } } },
      json: '{"name":"sq","color":"GREEN","center":{"x":0,"y":-1},"corner":{"x":2,"y":3},"tint":"RED","meta":{"tags":["a","b"],"attrs":{"big":9007199254740993}}}',
    },
    { name: 'record with no fields', schema: { type: 'record', name: 'Empty', fields: [] }, value: {}, json: '{}' },
    {
      name: 'error type decodes as a record',
      schema: { type: 'error', name: 'Oops', fields: [{ name: 'message', type: 'string' }] },
      value: { message: 'boom' },
      json: '{"message":"boom"}',
    },
    {
      name: 'recursive record (linked list)',
      schema: { type: 'record', name: 'Node', fields: [{ name: 'v', type: 'int' }, { name: 'next', type: ['null', 'Node'] }] },
      value: { v: 1, next: { Node: { v: 2, next: { Node: { v: 3, next: null } } } } },
      json: '{"v":1,"next":{"v":2,"next":{"v":3,"next":null}}}',
    },
  ]);

  test('a field or map key named __proto__ stays an own property; the prototype is untouched', () => {
    const schema = { type: 'record', name: 'P', fields: [{ name: '__proto__', type: 'int' }, { name: 'm', type: { type: 'map', values: 'int' } }] };
    const payload = bytes(varint(7n), varint(1n), varint(9n), [...Buffer.from('__proto__')], varint(8n), 0);
    const doc = decode(schema, payload) as Record<string, unknown>;
    assert.equal(JSON.stringify(doc), '{"__proto__":7,"m":{"__proto__":8}}');
    assert.equal(Object.getPrototypeOf(doc), Object.prototype);
    assert.equal(Object.getPrototypeOf(doc.m), Object.prototype);
    assert.deepEqual(Object.keys(doc), ['__proto__', 'm']);
  });

  test('a map key repeated across blocks: the last one wins', () => {
    const schema = { type: 'map', values: 'int' };
    const key = (k: string) => [...varint(BigInt(k.length)), ...Buffer.from(k)];
    // two blocks, the second with a negative count and a byte size (as Java's block writers do)
    const payload = bytes(varint(1n), key('a'), varint(1n), varint(-2n), varint(6n), key('b'), varint(2n), key('a'), varint(3n), 0);
    assert.equal(JSON.stringify(decode(schema, payload)), '{"a":3,"b":2}');
  });

  test('arrays written in several blocks (negative counts with byte sizes) concatenate', () => {
    const payload = bytes(varint(2n), varint(1n), varint(2n), varint(-1n), varint(1n), varint(3n), 0);
    assert.equal(JSON.stringify(decode({ type: 'array', items: 'int' }, payload)), '[1,2,3]');
  });
});

describe('unions', () => {
  const rec = { type: 'record', name: 'Rec', namespace: 'ns', fields: [{ name: 'a', type: 'int' }, { name: 'b', type: ['null', 'string'] }] };
  const multi = ['null', 'string', 'long', rec];
  runCases([
    { name: '["null","string","long",Rec]: null', schema: multi, value: null, json: 'null' },
    { name: '["null","string","long",Rec]: string', schema: multi, value: { string: 'x' }, json: '"x"' },
    { name: '["null","string","long",Rec]: long', schema: multi, value: { long: 42n }, json: '42' },
    { name: '["null","string","long",Rec]: long beyond 2^53', schema: multi, value: { long: 9007199254740993n }, json: '9007199254740993' },
    { name: '["null","string","long",Rec]: record', schema: multi, value: { 'ns.Rec': { a: 1, b: { string: 'y' } } }, json: '{"a":1,"b":"y"}' },
    { name: '["null","string","long",Rec]: record with a null field', schema: multi, value: { 'ns.Rec': { a: 1, b: null } }, json: '{"a":1,"b":null}' },
    { name: 'null last: ["string","null"] null', schema: ['string', 'null'], value: null, json: 'null' },
    { name: 'null last: ["string","null"] string', schema: ['string', 'null'], value: { string: 's' }, json: '"s"' },
    { name: '["int","long"] int', schema: ['int', 'long'], value: { int: 5 }, json: '5' },
    { name: '["int","long"] long', schema: ['int', 'long'], value: { long: -9223372036854775808n }, json: '-9223372036854775808' },
    { name: '["float","double"] NaN -> null', schema: ['float', 'double'], value: { double: NaN }, json: 'null' },
    {
      name: 'union of a logical type and its underlying type',
      schema: ['null', { type: 'int', logicalType: 'date' }, 'string'],
      value: { int: 19845 },
      json: '{"__rockset_type":"date","value":"2024-05-02"}',
    },
    { name: 'union of array and map', schema: [{ type: 'array', items: 'int' }, { type: 'map', values: 'int' }], value: { map: { k: 1 } }, json: '{"k":1}' },
  ]);

  test('null map, array, record and timestamp fields stay present as null', () => {
    const schema = {
      type: 'record',
      name: 'Nullable',
      fields: [
        { name: 'm', type: ['null', { type: 'map', values: 'string' }] },
        { name: 'a', type: ['null', { type: 'array', items: 'int' }] },
        { name: 'r', type: ['null', { type: 'record', name: 'Inner', fields: [{ name: 'x', type: 'int' }] }] },
        { name: 't', type: ['null', ts('timestamp-millis')] },
        { name: 'd', type: ['null', decimalBytes(10, 2)] },
        { name: 'e', type: ['null', { type: 'enum', name: 'E', symbols: ['A'] }] },
      ],
    };
    assert.equal(roundTrip(schema, { m: null, a: null, r: null, t: null, d: null, e: null }), '{"m":null,"a":null,"r":null,"t":null,"d":null,"e":null}');
    assert.equal(
      roundTrip(schema, { m: { map: { k: 'v' } }, a: { array: [1] }, r: { Inner: { x: 2 } }, t: { long: 1656495125234n }, d: { bytes: twos(12345n) }, e: { E: 'A' } }),
      '{"m":{"k":"v"},"a":[1],"r":{"x":2},"t":{"__rockset_type":"timestamp","value":1656495125234000},"d":"123.45","e":"A"}',
    );
  });
});

describe('logical types: timestamps', () => {
  runCases([
    { name: 'timestamp-millis 1656495125234', schema: ts('timestamp-millis'), value: 1656495125234n, json: '{"__rockset_type":"timestamp","value":1656495125234000}' },
    { name: 'timestamp-millis 2040-01-01', schema: ts('timestamp-millis'), value: 2208988800000n, json: '{"__rockset_type":"timestamp","value":2208988800000000}' },
    {
      name: 'timestamp-millis 9999-12-31T23:59:59.999Z (µs beyond 2^53, exact)',
      schema: ts('timestamp-millis'),
      value: 253402300799999n,
      json: '{"__rockset_type":"timestamp","value":253402300799999000}',
    },
    { name: 'timestamp-millis 0', schema: ts('timestamp-millis'), value: 0n, json: '{"__rockset_type":"timestamp","value":0}' },
    { name: 'timestamp-millis -1 ms (pre-1970)', schema: ts('timestamp-millis'), value: -1n, json: '{"__rockset_type":"timestamp","value":-1000}' },
    { name: 'timestamp-millis 0001-01-01', schema: ts('timestamp-millis'), value: -62135596800000n, json: '{"__rockset_type":"timestamp","value":-62135596800000000}' },
    { name: 'timestamp-millis 2^63-1', schema: ts('timestamp-millis'), value: 9223372036854775807n, json: '{"__rockset_type":"timestamp","value":9223372036854775807000}' },
    { name: 'timestamp-micros', schema: ts('timestamp-micros'), value: 1656495125234567n, json: '{"__rockset_type":"timestamp","value":1656495125234567}' },
    { name: 'timestamp-micros -1', schema: ts('timestamp-micros'), value: -1n, json: '{"__rockset_type":"timestamp","value":-1}' },
    { name: 'timestamp-micros 2^63-1', schema: ts('timestamp-micros'), value: 9223372036854775807n, json: '{"__rockset_type":"timestamp","value":9223372036854775807}' },
    { name: 'timestamp-nanos', schema: ts('timestamp-nanos'), value: 1656495125234567891n, json: '{"__rockset_type":"timestamp","value":1656495125234567}' },
    { name: 'timestamp-nanos 999 -> 0', schema: ts('timestamp-nanos'), value: 999n, json: '{"__rockset_type":"timestamp","value":0}' },
    { name: 'timestamp-nanos -1 -> -1 (floor)', schema: ts('timestamp-nanos'), value: -1n, json: '{"__rockset_type":"timestamp","value":-1}' },
    { name: 'timestamp-nanos -1000 -> -1', schema: ts('timestamp-nanos'), value: -1000n, json: '{"__rockset_type":"timestamp","value":-1}' },
    { name: 'timestamp-nanos -1001 -> -2', schema: ts('timestamp-nanos'), value: -1001n, json: '{"__rockset_type":"timestamp","value":-2}' },
    { name: 'timestamp-nanos -2^63 (floor, exact)', schema: ts('timestamp-nanos'), value: -9223372036854775808n, json: '{"__rockset_type":"timestamp","value":-9223372036854776}' },
    {
      name: 'local-timestamp-millis',
      schema: ts('local-timestamp-millis'),
      value: 1656495125234n,
      json: '{"__rockset_type":"datetime","value":"2022-06-29T09:32:05.234000"}',
    },
    { name: 'local-timestamp-millis 0', schema: ts('local-timestamp-millis'), value: 0n, json: '{"__rockset_type":"datetime","value":"1970-01-01T00:00:00.000000"}' },
    { name: 'local-timestamp-millis -1', schema: ts('local-timestamp-millis'), value: -1n, json: '{"__rockset_type":"datetime","value":"1969-12-31T23:59:59.999000"}' },
    {
      name: 'local-timestamp-millis 9999-12-31T23:59:59.999',
      schema: ts('local-timestamp-millis'),
      value: 253402300799999n,
      json: '{"__rockset_type":"datetime","value":"9999-12-31T23:59:59.999000"}',
    },
    {
      name: 'local-timestamp-millis 0001-01-01',
      schema: ts('local-timestamp-millis'),
      value: -62135596800000n,
      json: '{"__rockset_type":"datetime","value":"0001-01-01T00:00:00.000000"}',
    },
    {
      name: 'local-timestamp-micros',
      schema: ts('local-timestamp-micros'),
      value: 1656495125234567n,
      json: '{"__rockset_type":"datetime","value":"2022-06-29T09:32:05.234567"}',
    },
    {
      name: 'local-timestamp-micros 1900-01-01T12:30:00.000001',
      schema: ts('local-timestamp-micros'),
      value: -2208943799999999n,
      json: '{"__rockset_type":"datetime","value":"1900-01-01T12:30:00.000001"}',
    },
    {
      name: 'local-timestamp-micros 2^63-1 (BigInt path)',
      schema: ts('local-timestamp-micros'),
      value: 9223372036854775807n,
      json: '{"__rockset_type":"datetime","value":"+294247-01-10T04:00:54.775807"}',
    },
    { name: 'local-timestamp-nanos -1', schema: ts('local-timestamp-nanos'), value: -1n, json: '{"__rockset_type":"datetime","value":"1969-12-31T23:59:59.999999"}' },
    {
      name: 'local-timestamp-nanos',
      schema: ts('local-timestamp-nanos'),
      value: 1656495125234567891n,
      json: '{"__rockset_type":"datetime","value":"2022-06-29T09:32:05.234567"}',
    },
  ]);
});

describe('logical types: date and time', () => {
  const date = (days: number, text: string): Case => ({ name: `date ${text} (${days})`, schema: dateType, value: days, json: `{"__rockset_type":"date","value":"${text}"}` });
  runCases([
    date(0, '1970-01-01'),
    date(-1, '1969-12-31'),
    date(20087, '2024-12-30'),
    date(18627, '2020-12-31'),
    date(25567, '2040-01-01'),
    date(-25567, '1900-01-01'),
    date(2932896, '9999-12-31'),
    date(-719162, '0001-01-01'),
    date(11016, '2000-02-29'),
    date(-135080, '1600-03-01'),
    date(-719163, '0000-12-31'),
    date(2932897, '+010000-01-01'),
    date(-719529, '-000001-12-31'),
    date(2147483647, '+5881580-07-11'),
    date(-2147483648, '-5877641-06-23'),
    { name: 'time-millis 3723004', schema: { type: 'int', logicalType: 'time-millis' }, value: 3723004, json: '{"__rockset_type":"time","value":"01:02:03.004"}' },
    { name: 'time-millis 0', schema: { type: 'int', logicalType: 'time-millis' }, value: 0, json: '{"__rockset_type":"time","value":"00:00:00.000"}' },
    { name: 'time-millis 86399999', schema: { type: 'int', logicalType: 'time-millis' }, value: 86399999, json: '{"__rockset_type":"time","value":"23:59:59.999"}' },
    { name: 'time-micros 3723004005', schema: ts('time-micros'), value: 3723004005n, json: '{"__rockset_type":"time","value":"01:02:03.004005"}' },
    { name: 'time-micros 86399999999', schema: ts('time-micros'), value: 86399999999n, json: '{"__rockset_type":"time","value":"23:59:59.999999"}' },
  ]);

  test('every day from 1600-01-01 to 2500-12-31 matches Date.UTC', () => {
    const decodeDate = compileAvroDecoder(JSON.stringify(dateType));
    const dateWriter = writer(dateType);
    const first = Math.round(Date.UTC(1600, 0, 1) / 86_400_000);
    const last = Math.round(Date.UTC(2500, 11, 31) / 86_400_000);
    for (let days = first; days <= last; days++) {
      const expected = new Date(days * 86_400_000).toISOString().slice(0, 10);
      const got = (decodeDate(dateWriter.toBuffer(days)) as { value: string }).value;
      if (got !== expected) assert.fail(`day ${days}: got ${got}, expected ${expected}`);
    }
  });

  test('local timestamps agree with Date#toISOString (UTC) across eras', () => {
    const decodeLocal = compileAvroDecoder(JSON.stringify(ts('local-timestamp-millis')));
    const localWriter = writer(ts('local-timestamp-millis'));
    for (const ms of [-62135596800000, -2208988800001, -86400001, -1, 0, 1, 951782400000, 1656495125234, 4102444799999, 253402300799999]) {
      const got = (decodeLocal(localWriter.toBuffer(BigInt(ms))) as { value: string }).value;
      assert.equal(got, `${new Date(ms).toISOString().slice(0, 23)}000`, `ms ${ms}`);
    }
  });

  test('a time of day out of range is a decode error (bad record)', () => {
    const millis = { type: 'int', logicalType: 'time-millis' };
    for (const v of [-1, 86400000, 2147483647]) {
      assert.throws(() => decode(millis, encode(millis, v)), (err: Error) => err instanceof AvroDecodeError && /time-millis .* is not a time of day/.test(err.message), `time-millis ${v}`);
    }
    const micros = ts('time-micros');
    for (const v of [-1n, 86400000000n, 9223372036854775807n]) {
      assert.throws(() => decode(micros, encode(micros, v)), (err: Error) => err instanceof AvroDecodeError && /time-micros .* is not a time of day/.test(err.message), `time-micros ${v}`);
    }
  });
});

describe('logical types: decimal, uuid, fallbacks', () => {
  const fixedDecimal = { type: 'fixed', name: 'Money', size: 8, logicalType: 'decimal', precision: 18, scale: 4 };
  runCases([
    { name: 'decimal bytes 123.45 (precision 10, scale 2)', schema: decimalBytes(10, 2), value: twos(12345n), json: '"123.45"' },
    { name: 'decimal bytes -123.45', schema: decimalBytes(10, 2), value: twos(-12345n), json: '"-123.45"' },
    { name: 'decimal bytes -0.005 (scale 3)', schema: decimalBytes(10, 3), value: twos(-5n), json: '"-0.005"' },
    { name: 'decimal bytes 42 (scale 0)', schema: decimalBytes(10, 0), value: twos(42n), json: '"42"' },
    { name: 'decimal bytes 0.00', schema: decimalBytes(10, 2), value: twos(0n), json: '"0.00"' },
    { name: 'decimal bytes 1.28 (0x0080: sign byte)', schema: decimalBytes(10, 2), value: twos(128n), json: '"1.28"' },
    { name: 'decimal bytes -1.28 (0x80)', schema: decimalBytes(10, 2), value: twos(-128n), json: '"-1.28"' },
    { name: 'decimal bytes scale = precision', schema: decimalBytes(3, 3), value: twos(999n), json: '"0.999"' },
    { name: 'decimal bytes empty -> 0', schema: decimalBytes(4, 2), value: Buffer.alloc(0), json: '"0.00"' },
    { name: 'decimal bytes 6 bytes (largest fast path)', schema: decimalBytes(15, 2), value: twos(-140737488355328n), json: '"-1407374883553.28"' },
    {
      name: 'decimal bytes 38 digits',
      schema: decimalBytes(38, 10),
      value: twos(99999999999999999999999999999999999999n),
      json: '"9999999999999999999999999999.9999999999"',
    },
    {
      name: 'decimal bytes -38 digits',
      schema: decimalBytes(38, 38),
      value: twos(-12345678901234567890123456789012345678n),
      json: '"-0.12345678901234567890123456789012345678"',
    },
    { name: 'decimal fixed(8) -123456789.0123', schema: fixedDecimal, value: twos(-1234567890123n, 8), json: '"-123456789.0123"' },
    { name: 'decimal fixed(8) 0.0001', schema: fixedDecimal, value: twos(1n, 8), json: '"0.0001"' },
    { name: 'decimal fixed(8) max', schema: fixedDecimal, value: twos(9223372036854775807n, 8), json: '"922337203685477.5807"' },
    { name: 'decimal fixed(3) -1 (fast path)', schema: { type: 'fixed', name: 'D3', size: 3, logicalType: 'decimal', precision: 6, scale: 1 }, value: twos(-1n, 3), json: '"-0.1"' },
    {
      name: 'decimal fixed referenced by name keeps its logical type',
      schema: { type: 'record', name: 'Amounts', fields: [{ name: 'a', type: fixedDecimal }, { name: 'b', type: 'Money' }, { name: 'c', type: { type: 'array', items: 'Money' } }] },
      value: { a: twos(10000n, 8), b: twos(-25n, 8), c: [twos(5n, 8)] },
      json: '{"a":"1.0000","b":"-0.0025","c":["0.0005"]}',
    },
    { name: 'decimal without scale: scale 0', schema: { type: 'bytes', logicalType: 'decimal', precision: 5 }, value: twos(-42n), json: '"-42"' },
    { name: 'decimal scale > precision is invalid -> bytes', schema: decimalBytes(2, 3), value: twos(1n), json: '"AQ=="' },
    { name: 'decimal without precision is invalid -> bytes', schema: { type: 'bytes', logicalType: 'decimal', scale: 2 }, value: twos(1n), json: '"AQ=="' },
    {
      name: 'decimal precision too big for its fixed is invalid -> fixed',
      schema: { type: 'fixed', name: 'Tiny', size: 2, logicalType: 'decimal', precision: 5, scale: 0 },
      value: twos(1n, 2),
      json: '"AAE="',
    },
    { name: 'uuid string', schema: { type: 'string', logicalType: 'uuid' }, value: '0f8fad5b-d9cb-469f-a165-70867728950e', json: '"0f8fad5b-d9cb-469f-a165-70867728950e"' },
    {
      name: 'uuid fixed(16)',
      schema: { type: 'fixed', name: 'U', size: 16, logicalType: 'uuid' },
      value: Buffer.from('0F8FAD5BD9CB469FA16570867728950E', 'hex'),
      json: '"0f8fad5b-d9cb-469f-a165-70867728950e"',
    },
    { name: 'uuid on fixed(8) is invalid -> base64', schema: { type: 'fixed', name: 'U8', size: 8, logicalType: 'uuid' }, value: Buffer.alloc(8), json: '"AAAAAAAAAAA="' },
    { name: 'unknown logical type -> underlying string', schema: { type: 'string', logicalType: 'my-custom' }, value: 'x', json: '"x"' },
    { name: 'unknown logical type -> underlying long', schema: { type: 'long', logicalType: 'my-custom' }, value: 9007199254740993n, json: '9007199254740993' },
    { name: 'duration -> underlying fixed', schema: { type: 'fixed', name: 'Dur', size: 12, logicalType: 'duration' }, value: Buffer.alloc(12, 1), json: '"AQEBAQEBAQEBAQEB"' },
    { name: 'timestamp-millis on an int is invalid -> int', schema: { type: 'int', logicalType: 'timestamp-millis' }, value: 5, json: '5' },
    { name: 'date on a long is invalid -> long', schema: { type: 'long', logicalType: 'date' }, value: 5n, json: '5' },
    {
      name: 'logicalType on the field, not the type, is ignored (as the spec says)',
      schema: { type: 'record', name: 'F', fields: [{ name: 't', type: 'long', logicalType: 'timestamp-millis' }] },
      value: { t: 1n },
      json: '{"t":1}',
    },
  ]);
});

// ---------------------------------------------------------------------------

function assertDecodeError(schema: unknown, payload: Buffer, message: RegExp): void {
  assert.throws(
    () => decode(schema, payload),
    (err: Error) => {
      assert.ok(err instanceof AvroDecodeError, `expected AvroDecodeError, got ${err.name}: ${err.message}`);
      assert.equal(err.name, 'AvroDecodeError');
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('bytes that do not decode: AvroDecodeError', () => {
  const rec = {
    type: 'record',
    name: 'Order',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'n', type: 'long' },
      { name: 'when', type: ts('timestamp-millis') },
      { name: 'amount', type: decimalBytes(10, 2) },
      { name: 'tags', type: { type: 'array', items: 'string' } },
      { name: 'attrs', type: { type: 'map', values: 'double' } },
      { name: 'opt', type: ['null', 'string'] },
      { name: 'f', type: { type: 'fixed', name: 'F', size: 4 } },
    ],
  };
  const value = { id: 'order-1', n: 9223372036854775807n, when: 1656495125234n, amount: twos(12345n), tags: ['a', 'bb'], attrs: { x: 1.5 }, opt: { string: 'o' }, f: Buffer.alloc(4, 7) };
  const full = encode(rec, value);

  test('the full payload decodes', () => {
    assert.equal(
      JSON.stringify(decode(rec, full)),
      '{"id":"order-1","n":9223372036854775807,"when":{"__rockset_type":"timestamp","value":1656495125234000},"amount":"123.45","tags":["a","bb"],"attrs":{"x":1.5},"opt":"o","f":"BwcHBw=="}',
    );
  });

  test('every truncation of it', () => {
    const decoder = compileAvroDecoder(JSON.stringify(rec));
    for (let len = 0; len < full.length; len++) {
      assert.throws(() => decoder(full.subarray(0, len)), AvroDecodeError, `prefix of ${len} bytes`);
    }
    assertDecodeError(rec, full.subarray(0, full.length - 1), /truncated payload/);
  });

  test('trailing garbage', () => {
    assertDecodeError(rec, Buffer.concat([full, Buffer.from([0])]), /trailing data: the value ends at byte \d+ of \d+/);
    assertDecodeError('int', bytes(2, 0xff, 0xff), /trailing data: the value ends at byte 1 of 3/);
  });

  test('an empty payload: truncated, except for a schema that needs no bytes', () => {
    assertDecodeError('int', Buffer.alloc(0), /truncated/);
    assert.equal(JSON.stringify(decode('null', Buffer.alloc(0))), 'null');
    assert.equal(JSON.stringify(decode({ type: 'record', name: 'E', fields: [] }, Buffer.alloc(0))), '{}');
  });

  test('union index out of range', () => {
    assertDecodeError(['null', 'string'], bytes(varint(2n)), /invalid union index 2 \(the union has 2 branches\)/);
    assertDecodeError(['null', 'string'], bytes(varint(-1n)), /invalid union index -1/);
    assertDecodeError(['null', 'string', 'long'], bytes(varint(3n), 0), /invalid union index 3 \(the union has 3 branches\)/);
  });

  test('enum index out of range', () => {
    const e = { type: 'enum', name: 'E', symbols: ['A', 'B'] };
    assertDecodeError(e, bytes(varint(2n)), /invalid enum index 2/);
    assertDecodeError(e, bytes(varint(-1n)), /invalid enum index -1/);
  });

  test('a boolean byte other than 0 or 1', () => {
    assertDecodeError('boolean', bytes(2), /invalid boolean byte 2/);
  });

  test('varints longer than their type', () => {
    assertDecodeError('int', bytes(varint(2147483648n)), /invalid int: varint longer than 32 bits/);
    assertDecodeError('int', bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x00), /invalid int/);
    assertDecodeError('long', bytes(varint(1n << 63n)), /invalid long: varint longer than 64 bits/);
    assertDecodeError('long', bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00), /invalid long/);
    // non-minimal encodings within the limits are accepted (as Java does)
    assert.equal(JSON.stringify(decode('int', bytes(0x80, 0x80, 0x00))), '0');
  });

  test('negative and oversized lengths', () => {
    assertDecodeError('string', bytes(varint(-1n)), /invalid length -1/);
    assertDecodeError('bytes', bytes(varint(-3n)), /invalid length -3/);
    assertDecodeError('string', bytes(varint(5n), 0x41), /truncated/);
    assertDecodeError(decimalBytes(10, 2), bytes(varint(9n), 1), /truncated/);
    assertDecodeError('string', bytes(varint(9223372036854775807n)), /invalid length/);
  });

  test('block counts the payload cannot hold fail at once (no spin, no huge allocation)', () => {
    const started = process.hrtime.bigint();
    assertDecodeError({ type: 'array', items: 'string' }, bytes(varint(1_000_000_000n)), /invalid block count 1000000000/);
    assertDecodeError({ type: 'array', items: 'long' }, bytes(varint(4503599627370495n), 0), /invalid block count/);
    assertDecodeError({ type: 'map', values: 'null' }, bytes(varint(5n), 2, 0x41, 0), /invalid block count 5/);
    // items that take no bytes: a total over 1,000,000 is corrupt
    assertDecodeError({ type: 'array', items: 'null' }, bytes(varint(1n << 40n), 0), /invalid block count/);
    assertDecodeError({ type: 'array', items: { type: 'record', name: 'Nothing', fields: [] } }, bytes(varint(600_000n), varint(600_000n), 0), /invalid block count/);
    assert.ok(process.hrtime.bigint() - started < 1_000_000_000n, 'rejected quickly');
    assert.equal((decode({ type: 'array', items: 'null' }, bytes(varint(1_000_000n), 0)) as unknown[]).length, 1_000_000);
  });

  test('absurd nesting of a recursive schema throws NestingTooDeep (a bad record at the map stage), not a stack overflow escaping', () => {
    const node = { type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'] }] };
    const payload = Buffer.concat([Buffer.alloc(1_000_000, 2), Buffer.from([0])]);
    assert.throws(() => decode(node, payload), (err: unknown) => err instanceof NestingTooDeep && /more than 1000 levels deep/.test(err.message));
    // a reasonable depth decodes: the top record, then one more per union index 1
    const depth = 100;
    const ok = decode(node, Buffer.concat([Buffer.alloc(depth, 2), Buffer.from([0])]));
    assert.equal(JSON.stringify(ok), `${'{"next":'.repeat(depth + 1)}null${'}'.repeat(depth + 1)}`);
  });

  test('a decoder is reusable after an error', () => {
    const decoder = compileAvroDecoder(JSON.stringify(rec));
    assert.throws(() => decoder(full.subarray(0, 5)), AvroDecodeError);
    assert.equal(JSON.stringify((decoder(full) as { n: unknown }).n), '9223372036854775807');
  });
});

describe('invalid writer schemas: AvroSchemaError from compileAvroDecoder', () => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"type": "record", ', /^invalid Avro schema: not JSON/],
    ['unknown type', '{"type":"nope"}', /^invalid Avro schema: unknown type/],
    ['undefined named type', '{"type":"record","name":"R","fields":[{"name":"a","type":"com.example.Missing"}]}', /^invalid Avro schema: undefined type name: com\.example\.Missing/],
    ['duplicate union branch', '["string","string"]', /^invalid Avro schema: .*duplicate/],
    ['invalid field name', '{"type":"record","name":"R","fields":[{"name":"a-b","type":"int"}]}', /^invalid Avro schema: invalid field name: a-b/],
    ['enum without symbols', '{"type":"enum","name":"E"}', /^invalid Avro schema: /],
    ['fixed without size', '{"type":"fixed","name":"F"}', /^invalid Avro schema: /],
  ];
  for (const [name, text, message] of cases) {
    test(name, () => {
      assert.throws(
        () => compileAvroDecoder(text),
        (err: Error) => {
          assert.ok(err instanceof AvroSchemaError, `${err.name}: ${err.message}`);
          assert.equal(err.name, 'AvroSchemaError');
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test('defaults play no part in reading with the writer schema: a long default beyond 2^53 (valid for Java Avro) compiles', () => {
    const text = '{"type":"record","name":"R","fields":[{"name":"id","type":"long"},{"name":"max","type":"long","default":9223372036854775807},' +
      '{"name":"min","type":["long","null"],"default":-9223372036854775808},{"name":"e","type":{"type":"enum","name":"E","symbols":["A"],"default":"A"},"default":"A"}]}';
    const decoded = compileAvroDecoder(text)(bytes(varint(1n), varint(5n), varint(0n), varint(-1n), varint(0n)));
    assert.equal(JSON.stringify(decoded), '{"id":1,"max":5,"min":-1,"e":"A"}');
  });

  test('a primitive schema as JSON text (as the registry stores it)', () => {
    assert.equal(JSON.stringify(compileAvroDecoder('"string"')(bytes(varint(1n), 0x7a))), '"z"');
  });
});

// ---------------------------------------------------------------------------
// Differential and fuzz checks: avsc's own decoding, mapped by a slow generic
// walk written independently here, must agree with the compiled decoder on
// random values; random corruptions must either decode or throw AvroDecodeError.

function reference(t: AvroType, v: unknown): unknown {
  switch (t.typeName) {
    case 'null':
      return null;
    case 'boolean':
    case 'int':
    case 'string':
    case 'enum':
      return v;
    case 'abstract:long': {
      const n = v as bigint;
      return n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : rawJSON(n.toString());
    }
    case 'float': {
      // the fewest significant digits that read back as the same float32, by brute force
      const x = v as number;
      if (!Number.isFinite(x)) return null;
      if (Object.is(x, -0)) return rawJSON('-0.0');
      for (let p = 1; p <= 9; p++) if (Math.fround(Number(x.toPrecision(p))) === x) return Number(x.toPrecision(p));
      throw new Error(`no decimal reads back as the float ${x}`);
    }
    case 'double':
      return !Number.isFinite(v) ? null : Object.is(v, -0) ? rawJSON('-0.0') : v;
    case 'bytes':
    case 'fixed':
      return (v as Buffer).toString('base64');
    case 'array':
      return (v as unknown[]).map((x) => reference((t as avroTypes.ArrayType).itemsType, x));
    case 'map':
      return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, reference((t as avroTypes.MapType).valuesType, x)]));
    case 'record':
      return Object.fromEntries((t as avroTypes.RecordType).fields.map((f) => [f.name, reference(f.type, (v as Record<string, unknown>)[f.name])]));
    case 'union:wrapped': {
      if (v === null) return null;
      const [branch, inner] = Object.entries(v as object)[0]!;
      const bt = (t as avroTypes.WrappedUnionType).types.find((b) => b.branchName === branch)!;
      return reference(bt, inner);
    }
    default:
      throw new Error(`no reference mapping for ${t.typeName}`);
  }
}


describe('differential and fuzz', () => {
  const schema = {
    type: 'record',
    name: 'Fuzz',
    fields: [
      { name: 'b', type: 'boolean' },
      { name: 'i', type: 'int' },
      { name: 'l', type: 'long' },
      { name: 'f', type: 'float' },
      { name: 'd', type: 'double' },
      { name: 's', type: 'string' },
      { name: 'y', type: 'bytes' },
      { name: 'x', type: { type: 'fixed', name: 'X', size: 3 } },
      { name: 'e', type: { type: 'enum', name: 'En', symbols: ['P', 'Q', 'R'] } },
      { name: 'a', type: { type: 'array', items: ['null', 'long', 'string'] } },
      { name: 'm', type: { type: 'map', values: { type: 'array', items: 'int' } } },
      { name: 'u', type: ['null', 'string', 'long', { type: 'record', name: 'Sub', fields: [{ name: 'z', type: 'double' }, { name: 'k', type: ['null', 'Sub'] }] }] },
    ],
  };
  const type = writer(schema);
  const decoder = compileAvroDecoder(JSON.stringify(schema));
  const random = seededRandom(42);
  const longs = [0n, -1n, 1n << 31n, -(1n << 48n), (1n << 52n) + 1n, 9007199254740993n, -9007199254740993n, 9223372036854775807n, -9223372036854775808n];
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;

  function randomValue(): Record<string, unknown> {
    const v = type.random() as unknown as Record<string, unknown>;
    v.l = pick(longs);
    v.s = pick(['', 'a', 'abcdefgh', 'abcdefghi', 'é', '日本語テキスト', '🎉 emoji', String(v.s)]);
    v.f = pick([0, -1.5, 3.4028234663852886e38, NaN, Infinity, v.f as number]);
    v.d = pick([0, -0, 5e-324, Number.MAX_VALUE, -Infinity, NaN, v.d as number]);
    v.a = Array.from({ length: Math.floor(random() * 4) }, () => pick([null, { long: pick(longs) }, { string: 'xyz' }]));
    return v;
  }

  test('compiled decoder = avsc decode + reference mapping, on 2000 random records', () => {
    for (let i = 0; i < 2000; i++) {
      const buf = type.toBuffer(randomValue());
      const expected = JSON.stringify(reference(type, type.fromBuffer(buf)));
      assert.equal(JSON.stringify(decoder(buf)), expected, `record ${i}: ${buf.toString('hex')}`);
    }
  });

  test('random corruptions decode or throw AvroDecodeError, nothing else, quickly', () => {
    const started = process.hrtime.bigint();
    let decoded = 0;
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const buf = Buffer.from(type.toBuffer(randomValue()));
      const flips = 1 + Math.floor(random() * 3);
      for (let k = 0; k < flips; k++) buf[Math.floor(random() * buf.length)] = Math.floor(random() * 256);
      try {
        JSON.stringify(decoder(buf));
        decoded++;
      } catch (err) {
        if (!(err instanceof AvroDecodeError)) assert.fail(`${(err as Error).name}: ${(err as Error).message} for ${buf.toString('hex')}`);
        rejected++;
      }
    }
    assert.ok(rejected > 0 && decoded + rejected === 3000);
    assert.ok(process.hrtime.bigint() - started < 20_000_000_000n, 'no corruption makes decoding slow');
  });
});

// ---------------------------------------------------------------------------

const TZ_CHILD = 'AVRO_TEST_TZ_CHILD';

describe('independent of the local time zone', () => {
  for (const tz of ['Asia/Shanghai', 'America/Los_Angeles']) {
    test(`the whole file passes under TZ=${tz}`, { skip: process.env[TZ_CHILD] === '1' ? 'already a TZ run' : false }, () => {
      const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
        // without NODE_TEST_CONTEXT, which would make the child report to a parent runner instead of printing TAP
        env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), TZ: tz, [TZ_CHILD]: '1' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(run.status, 0, `TZ=${tz}:\n${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /fail 0/);
    });
  }

  test('this process has the zone it was given', { skip: process.env[TZ_CHILD] !== '1' }, () => {
    // Proof that the child really ran with a non-UTC zone (2024-01-01 is winter in both).
    const offset = new Date(Date.UTC(2024, 0, 1)).getTimezoneOffset();
    assert.equal(offset, process.env.TZ === 'Asia/Shanghai' ? -480 : 480);
  });
});

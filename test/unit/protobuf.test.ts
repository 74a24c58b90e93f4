// compileProtobufDecoder: Confluent-framed Protobuf payloads (message indexes +
// message) into Rockset documents. Payloads are encoded by protobufjs from the
// same schema text; every expectation is the exact JSON text a document becomes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import protobuf from 'protobufjs';
import protoSchemaModule from '@kafkajs/confluent-schema-registry/dist/ProtoSchema.js';
import { compileProtobufDecoder, ProtobufDecodeError, ProtobufSchemaError } from '../../sink/decode/protobuf.ts';

const SCHEMA = `syntax = "proto3";
package test.sink;

import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/any.proto";

// enums do not count in message indexes
enum Color {
  COLOR_UNSPECIFIED = 0;
  RED = 1;
  GREEN = 2;
}

message Event {                      // [0]
  enum Kind {
    KIND_UNSPECIFIED = 0;
    CLICK = 1;
  }
  message Item {                     // [0, 0]
    string name = 1;
    int32 qty = 2;
  }
  message Tag {                      // [0, 1]
    message Inner {                  // [0, 1, 0]
      sint64 z = 1;
    }
    string k = 1;
    Inner inner = 2;
  }
  string id = 1;
  google.protobuf.Timestamp at = 2;
  google.protobuf.Duration took = 3;
  repeated Item items = 4;
  map<string, int64> counts = 5;
  oneof payload {
    string text = 6;
    Item item = 7;
  }
  optional int32 maybe = 8;
  Item main = 9;
  google.protobuf.Struct attrs = 10;
  google.protobuf.Value anything = 11;
  google.protobuf.ListValue list = 12;
  google.protobuf.Empty nothing = 13;
  google.protobuf.Any extra = 14;
  repeated Color colors = 15;
  map<int64, string> by_id = 16;
  Kind kind = 17;
  map<string, Item> item_by_name = 18;
  repeated google.protobuf.Timestamp history = 19;
}

message Scalars {                    // [1]
  int32 i32 = 1;
  uint32 u32 = 2;
  sint32 s32 = 3;
  fixed32 f32 = 4;
  sfixed32 sf32 = 5;
  float fl = 6;
  double db = 7;
  bool b = 8;
  string s = 9;
  bytes by = 10;
  int64 i64 = 11;
  uint64 u64 = 12;
  sint64 s64 = 13;
  fixed64 f64 = 14;
  sfixed64 sf64 = 15;
  Color color = 16;
}

message Wrappers {                   // [2]
  google.protobuf.DoubleValue d = 1;
  google.protobuf.FloatValue f = 2;
  google.protobuf.Int64Value i64 = 3;
  google.protobuf.UInt64Value u64 = 4;
  google.protobuf.Int32Value i32 = 5;
  google.protobuf.UInt32Value u32 = 6;
  google.protobuf.BoolValue b = 7;
  google.protobuf.StringValue s = 8;
  google.protobuf.BytesValue by = 9;
}
`;

// ------------------------------------------------------------ producer side

function encoderRoot(text: string): protobuf.Root {
  const root = new protobuf.Root();
  const parsed = protobuf.parse(text, root, { keepCase: true });
  for (const file of parsed.imports ?? []) root.addJSON(protobuf.common.get(file)!.nested!);
  root.resolveAll();
  return root;
}

function zigzag(n: number): number[] {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

type Framing = 'short' | 'none' | number[];

/** Confluent message indexes + body: 'short' is the single 0 byte for [0]; 'none' is what @kafkajs/confluent-schema-registry writes. */
function frame(framing: Framing, body: Uint8Array | number[]): Buffer {
  const prefix = framing === 'short' ? [0] : framing === 'none' ? [] : [...zigzag(framing.length), ...framing.flatMap(zigzag)];
  return Buffer.concat([Buffer.from(prefix), Buffer.from(body)]);
}

const root = encoderRoot(SCHEMA);
function encode(typeName: string, value: Record<string, unknown>): Uint8Array {
  const type = root.lookupType(typeName);
  return type.encode(type.fromObject(value)).finish();
}

/** A 64-bit value as protobufjs takes it (Long-like bits), from exact digits. */
function long(digits: string, unsigned: boolean): { low: number; high: number; unsigned: boolean } {
  const bits = BigInt.asUintN(64, BigInt(digits));
  return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned };
}
const u64 = (digits: string) => long(digits, true);
const i64 = (digits: string) => long(digits, false);

function pick(doc: unknown, keys: string[] | undefined): unknown {
  if (!keys) return doc;
  const o = doc as Record<string, unknown>;
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

interface Row {
  name: string;
  type: string;
  framing: Framing;
  value: Record<string, unknown>;
  /** compare only these keys (in this order); all when absent */
  keys?: string[];
  expected: string;
}

const decode = compileProtobufDecoder(SCHEMA);

function run(rows: Row[]): void {
  for (const r of rows) {
    test(r.name, () => {
      const doc = decode(frame(r.framing, encode(r.type, r.value)));
      assert.equal(JSON.stringify(pick(doc, r.keys)), r.expected);
    });
  }
}

const SCALAR_DEFAULTS =
  '{"i32":0,"u32":0,"s32":0,"f32":0,"sf32":0,"fl":0,"db":0,"b":false,"s":"","by":"","i64":0,"u64":0,"s64":0,"f64":0,"sf64":0,"color":"COLOR_UNSPECIFIED"}';
const EVENT_DEFAULTS =
  '{"id":"","at":null,"took":null,"items":[],"counts":{},"maybe":null,"main":null,"attrs":null,"anything":null,"list":null,"nothing":null,"extra":null,"colors":[],"by_id":{},"kind":"KIND_UNSPECIFIED","item_by_name":{},"history":[]}';

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

describe('scalars', () => {
  run([
    { name: 'proto3 defaults: every field present with its default', type: 'test.sink.Scalars', framing: [1], value: {}, expected: SCALAR_DEFAULTS },
    {
      name: '32-bit integers, float, double, bool, string, bytes, enum',
      type: 'test.sink.Scalars',
      framing: [1],
      value: { i32: -5, u32: 4294967295, s32: -7, f32: 4294967295, sf32: -2147483648, fl: 0.1, db: 1.5, b: true, s: 'héllo ✓', by: Buffer.from([0, 1, 255]), color: 'GREEN' },
      keys: ['i32', 'u32', 's32', 'f32', 'sf32', 'fl', 'db', 'b', 's', 'by', 'color'],
      expected: '{"i32":-5,"u32":4294967295,"s32":-7,"f32":4294967295,"sf32":-2147483648,"fl":0.1,"db":1.5,"b":true,"s":"héllo ✓","by":"AAH/","color":"GREEN"}',
    },
    {
      name: 'float keeps float32 precision without noise digits',
      type: 'test.sink.Scalars',
      framing: [1],
      value: { fl: 3.4028234663852886e38, db: 0.1 },
      keys: ['fl', 'db'],
      expected: '{"fl":3.4028235e+38,"db":0.1}',
    },
    {
      name: 'a negative zero float or double keeps its sign, as in Avro',
      type: 'test.sink.Scalars',
      framing: [1],
      value: { fl: -0, db: -0 },
      keys: ['fl', 'db'],
      expected: '{"fl":-0.0,"db":-0.0}',
    },
    {
      name: 'NaN and Infinity become null',
      type: 'test.sink.Scalars',
      framing: [1],
      value: { fl: Number.POSITIVE_INFINITY, db: Number.NaN },
      keys: ['fl', 'db'],
      expected: '{"fl":null,"db":null}',
    },
    {
      name: '-Infinity double becomes null',
      type: 'test.sink.Scalars',
      framing: [1],
      value: { db: Number.NEGATIVE_INFINITY },
      keys: ['db'],
      expected: '{"db":null}',
    },
    {
      name: '64-bit integers beyond 2^53 keep every digit',
      type: 'test.sink.Scalars',
      framing: [1],
      value: {
        i64: i64('9007199254740993'),
        u64: u64('18446744073709551615'),
        s64: i64('-9223372036854775808'),
        f64: u64('18446744073709551615'),
        sf64: i64('-9223372036854775808'),
      },
      keys: ['i64', 'u64', 's64', 'f64', 'sf64'],
      expected: '{"i64":9007199254740993,"u64":18446744073709551615,"s64":-9223372036854775808,"f64":18446744073709551615,"sf64":-9223372036854775808}',
    },
    {
      name: '64-bit integers within 2^53 are plain numbers (int64 max and -1 too)',
      type: 'test.sink.Scalars',
      framing: [1],
      value: { i64: i64('-1'), u64: u64('9007199254740991'), s64: i64('-9007199254740991'), f64: u64('42'), sf64: i64('9223372036854775807') },
      keys: ['i64', 'u64', 's64', 'f64', 'sf64'],
      expected: '{"i64":-1,"u64":9007199254740991,"s64":-9007199254740991,"f64":42,"sf64":9223372036854775807}',
    },
    {
      name: 'an enum number the schema does not define stays a number',
      type: 'test.sink.Scalars',
      framing: [1],
      value: { color: 99 },
      keys: ['color'],
      expected: '{"color":99}',
    },
  ]);

  test('64-bit values are numbers in the document, exact digits only beyond 2^53', () => {
    const doc = decode(frame([1], encode('test.sink.Scalars', { i64: i64('12'), u64: u64('18446744073709551615') }))) as Record<string, unknown>;
    assert.equal(doc.i64, 12);
    assert.equal((JSON as unknown as { isRawJSON(v: unknown): boolean }).isRawJSON(doc.u64), true);
  });
});

describe('messages, repeated, maps, oneof, presence', () => {
  run([
    { name: 'unset message fields are null, repeated [] and maps {}, oneof absent', type: 'test.sink.Event', framing: 'short', value: {}, expected: EVENT_DEFAULTS },
    {
      name: 'nested message, repeated nested messages, repeated enum (packed, unknown number kept)',
      type: 'test.sink.Event',
      framing: 'short',
      value: { id: 'e1', main: { name: 'm', qty: 0 }, items: [{ name: 'a', qty: 1 }, { qty: -2 }, {}], colors: ['RED', 99, 'COLOR_UNSPECIFIED'], kind: 'CLICK' },
      keys: ['id', 'main', 'items', 'colors', 'kind'],
      expected: '{"id":"e1","main":{"name":"m","qty":0},"items":[{"name":"a","qty":1},{"name":"","qty":-2},{"name":"","qty":0}],"colors":["RED",99,"COLOR_UNSPECIFIED"],"kind":"CLICK"}',
    },
    {
      name: 'map<string, int64> and map<int64, string> (exact keys and values), map<string, Item>',
      type: 'test.sink.Event',
      framing: 'short',
      value: {
        counts: { a: i64('9223372036854775807'), b: i64('-1'), c: 0 },
        by_id: { '-5': 'neg', '9007199254740993': 'big', '18': 'small' },
        item_by_name: { x: { name: 'x', qty: 3 }, __proto__: { qty: 1 } },
      },
      keys: ['counts', 'by_id', 'item_by_name'],
      // integer-like keys ("18") come first in any JS object
      expected: '{"counts":{"a":9223372036854775807,"b":-1,"c":0},"by_id":{"18":"small","-5":"neg","9007199254740993":"big"},"item_by_name":{"x":{"name":"x","qty":3}}}',
    },
    {
      name: 'oneof: only the member that is set (string)',
      type: 'test.sink.Event',
      framing: 'short',
      value: { text: 'hi' },
      expected: EVENT_DEFAULTS.replace('"counts":{},', '"counts":{},"text":"hi",'),
    },
    {
      name: 'oneof: only the member that is set (message, even if empty)',
      type: 'test.sink.Event',
      framing: 'short',
      value: { item: {} },
      keys: ['text', 'item'],
      expected: '{"item":{"name":"","qty":0}}',
    },
    {
      name: 'proto3 optional: set to its default is 0, not null',
      type: 'test.sink.Event',
      framing: 'short',
      value: { maybe: 0 },
      keys: ['maybe'],
      expected: '{"maybe":0}',
    },
    {
      name: 'proto3 optional: set',
      type: 'test.sink.Event',
      framing: 'short',
      value: { maybe: -12 },
      keys: ['maybe'],
      expected: '{"maybe":-12}',
    },
  ]);

  test('a map entry with a message value but no value bytes gets the empty message', () => {
    // field 18 (item_by_name), entry = { key(1) = "k" } with no value(2)
    const entry = [0x0a, 0x01, 0x6b];
    const doc = decode(frame('short', [0x92, 0x01, entry.length, ...entry])) as Record<string, unknown>;
    assert.equal(JSON.stringify(doc.item_by_name), '{"k":{"name":"","qty":0}}');
  });

  test('a "__proto__" map key is an own key, not a prototype', () => {
    const entry = [0x0a, 0x09, ...Buffer.from('__proto__'), 0x10, 0x07];
    const doc = decode(frame('short', [0x2a, entry.length, ...entry])) as Record<string, Record<string, unknown>>;
    assert.equal(JSON.stringify(doc.counts), '{"__proto__":7}');
    assert.equal(Object.getPrototypeOf(doc.counts), Object.prototype);
  });
});

describe('well-known types', () => {
  run([
    {
      name: 'Timestamp: microseconds since the epoch',
      type: 'test.sink.Event',
      framing: 'short',
      value: { at: { seconds: seconds('2022-06-29T09:32:05Z'), nanos: 234_000_000 } },
      keys: ['at'],
      expected: '{"at":{"__rockset_type":"timestamp","value":1656495125234000}}',
    },
    {
      name: 'Timestamp before 1970 (seconds -1, nanos 500000000)',
      type: 'test.sink.Event',
      framing: 'short',
      value: { at: { seconds: -1, nanos: 500_000_000 } },
      keys: ['at'],
      expected: '{"at":{"__rockset_type":"timestamp","value":-500000}}',
    },
    {
      name: 'Timestamp: the epoch, sub-microsecond nanos truncated',
      type: 'test.sink.Event',
      framing: 'short',
      value: { at: { seconds: 0, nanos: 999 } },
      keys: ['at'],
      expected: '{"at":{"__rockset_type":"timestamp","value":0}}',
    },
    {
      name: 'Timestamp in year 9999 (beyond 2^53 microseconds): exact digits',
      type: 'test.sink.Event',
      framing: 'short',
      value: { at: { seconds: seconds('9999-12-31T23:59:59Z'), nanos: 999_999_999 } },
      keys: ['at'],
      expected: '{"at":{"__rockset_type":"timestamp","value":253402300799999999}}',
    },
    {
      name: 'Timestamp in year 0001 (pre-1970, beyond 2^53): exact digits',
      type: 'test.sink.Event',
      framing: 'short',
      value: { at: { seconds: seconds('0001-01-01T00:00:00Z'), nanos: 1000 } },
      keys: ['at'],
      expected: '{"at":{"__rockset_type":"timestamp","value":-62135596799999999}}',
    },
    {
      name: 'repeated Timestamp',
      type: 'test.sink.Event',
      framing: 'short',
      value: { history: [{ seconds: 1, nanos: 0 }, {}] },
      keys: ['history'],
      expected: '{"history":[{"__rockset_type":"timestamp","value":1000000},{"__rockset_type":"timestamp","value":0}]}',
    },
    {
      name: 'Duration 1.5s',
      type: 'test.sink.Event',
      framing: 'short',
      value: { took: { seconds: 1, nanos: 500_000_000 } },
      keys: ['took'],
      expected: '{"took":"1.500s"}',
    },
    {
      name: 'Duration negative, microseconds',
      type: 'test.sink.Event',
      framing: 'short',
      value: { took: { seconds: -3, nanos: -250_000 } },
      keys: ['took'],
      expected: '{"took":"-3.000250s"}',
    },
    {
      name: 'Duration nanoseconds',
      type: 'test.sink.Event',
      framing: 'short',
      value: { took: { seconds: 0, nanos: 1 } },
      keys: ['took'],
      expected: '{"took":"0.000000001s"}',
    },
    {
      name: 'Duration -0.5s (seconds 0)',
      type: 'test.sink.Event',
      framing: 'short',
      value: { took: { seconds: 0, nanos: -500_000_000 } },
      keys: ['took'],
      expected: '{"took":"-0.500s"}',
    },
    {
      name: 'Duration whole seconds; empty Duration',
      type: 'test.sink.Event',
      framing: 'short',
      value: { took: { seconds: 315576000000 } },
      keys: ['took'],
      expected: '{"took":"315576000000s"}',
    },
    {
      name: 'Struct with nested list, null, bool, number, string, struct',
      type: 'test.sink.Event',
      framing: 'short',
      value: {
        attrs: {
          fields: {
            n: { numberValue: 1.5 },
            s: { stringValue: 'x' },
            b: { boolValue: true },
            z: { nullValue: 0 },
            l: { listValue: { values: [{ numberValue: 1 }, { stringValue: 'a' }, { nullValue: 0 }, { structValue: { fields: { k: { boolValue: false } } } }, { listValue: {} }] } },
            o: { structValue: {} },
            none: {},
          },
        },
      },
      keys: ['attrs'],
      expected: '{"attrs":{"n":1.5,"s":"x","b":true,"z":null,"l":[1,"a",null,{"k":false},[]],"o":{},"none":null}}',
    },
    {
      name: 'Value and ListValue as fields',
      type: 'test.sink.Event',
      framing: 'short',
      value: { anything: { stringValue: 'v' }, list: { values: [{ boolValue: false }, { numberValue: -0.25 }] } },
      keys: ['anything', 'list'],
      expected: '{"anything":"v","list":[false,-0.25]}',
    },
    {
      name: 'Empty set is {}; Struct set but empty is {}',
      type: 'test.sink.Event',
      framing: 'short',
      value: { nothing: {}, attrs: {} },
      keys: ['nothing', 'attrs'],
      expected: '{"nothing":{},"attrs":{}}',
    },
    {
      name: 'Any: type URL and base64 of the packed bytes',
      type: 'test.sink.Event',
      framing: 'short',
      value: { extra: { type_url: 'type.googleapis.com/test.sink.Event.Item', value: Buffer.from([0x0a, 0x01, 0x61, 0x10, 0x02]) } },
      keys: ['extra'],
      expected: '{"extra":{"@type":"type.googleapis.com/test.sink.Event.Item","value":"CgFhEAI="}}',
    },
    { name: 'wrappers unset are null', type: 'test.sink.Wrappers', framing: [2], value: {}, expected: '{"d":null,"f":null,"i64":null,"u64":null,"i32":null,"u32":null,"b":null,"s":null,"by":null}' },
    {
      name: 'wrappers set',
      type: 'test.sink.Wrappers',
      framing: [2],
      value: {
        d: { value: 1.25 },
        f: { value: 0.1 },
        i64: { value: i64('9007199254740993') },
        u64: { value: u64('18446744073709551615') },
        i32: { value: -3 },
        u32: { value: 4294967295 },
        b: { value: true },
        s: { value: 'x' },
        by: { value: Buffer.from('hi') },
      },
      expected: '{"d":1.25,"f":0.1,"i64":9007199254740993,"u64":18446744073709551615,"i32":-3,"u32":4294967295,"b":true,"s":"x","by":"aGk="}',
    },
    {
      name: 'wrappers set to their defaults are the defaults, not null',
      type: 'test.sink.Wrappers',
      framing: [2],
      value: { d: {}, f: {}, i64: {}, u64: {}, i32: {}, u32: {}, b: {}, s: {}, by: {} },
      expected: '{"d":0,"f":0,"i64":0,"u64":0,"i32":0,"u32":0,"b":false,"s":"","by":""}',
    },
    {
      name: 'wrappers: Int64Value min, DoubleValue NaN',
      type: 'test.sink.Wrappers',
      framing: [2],
      value: { d: { value: Number.NaN }, i64: { value: i64('-9223372036854775808') } },
      keys: ['d', 'i64'],
      expected: '{"d":null,"i64":-9223372036854775808}',
    },
  ]);
});

describe('message indexes', () => {
  const item = encode('test.sink.Event.Item', { name: 'n', qty: 2 });
  const cases: { name: string; framing: Framing; bytes: Uint8Array; expected: string }[] = [
    { name: '[0] as the single byte 0', framing: 'short', bytes: encode('test.sink.Event', { id: 'a' }), expected: '"a"' },
    { name: '[0] spelled out', framing: [0], bytes: encode('test.sink.Event', { id: 'b' }), expected: '"b"' },
    { name: '[1] (second top-level message; the enum before it does not count)', framing: [1], bytes: encode('test.sink.Scalars', { s: 'c' }), expected: '"c"' },
    { name: 'nested [0, 0]', framing: [0, 0], bytes: item, expected: '{"name":"n","qty":2}' },
    { name: 'nested [0, 1] (the nested enum does not count)', framing: [0, 1], bytes: encode('test.sink.Event.Tag', { k: 't', inner: { z: -3 } }), expected: '{"k":"t","inner":{"z":-3}}' },
    { name: 'nested [0, 1, 0]', framing: [0, 1, 0], bytes: encode('test.sink.Event.Tag.Inner', { z: i64('-9223372036854775808') }), expected: '{"z":-9223372036854775808}' },
    { name: 'no indexes (@kafkajs/confluent-schema-registry encode): the first message type', framing: 'none', bytes: encode('test.sink.Event', { id: 'lib', maybe: 1 }), expected: '"lib"' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const doc = decode(frame(c.framing, c.bytes)) as Record<string, unknown>;
      const shown = 'id' in doc ? doc.id : 's' in doc ? doc.s : doc;
      assert.equal(JSON.stringify(shown), c.expected);
    });
  }

  test('an empty payload (a bare all-default message) is the first type with its defaults', () => {
    assert.equal(JSON.stringify(decode(Buffer.alloc(0))), EVENT_DEFAULTS);
    assert.equal(JSON.stringify(decode(Buffer.from([0]))), EVENT_DEFAULTS);
  });

  test('an empty nested message [0, 0] with no bytes after the indexes', () => {
    assert.equal(JSON.stringify(decode(frame([0, 0], []))), '{"name":"","qty":0}');
  });

  test('the same decoder serves every message type, repeatedly', () => {
    for (let i = 0; i < 3; i++) {
      assert.equal(JSON.stringify(decode(frame([0, 0], item))), '{"name":"n","qty":2}');
      assert.equal(JSON.stringify(decode(frame([2], []))), '{"d":null,"f":null,"i64":null,"u64":null,"i32":null,"u32":null,"b":null,"s":null,"by":null}');
    }
  });
});

describe('@kafkajs/confluent-schema-registry interop', () => {
  // its SchemaRegistry.encode() frames ProtoSchema.toBuffer(): the bare message, no message indexes
  type ProtoSchemaClass = new (schema: { schema: string }) => { toBuffer(payload: object): Buffer };
  const ProtoSchema = (protoSchemaModule as unknown as { default: ProtoSchemaClass }).default;
  // (no imports: the library's ProtoSchema cannot encode a schema importing google/protobuf/*.proto
  // unless the registry lists it as a reference: "no such Type or Enum 'google.protobuf.Timestamp'")
  const schema = `syntax = "proto3";
package test.formats;
message Event {
  message At { int64 seconds = 1; int32 nanos = 2; }
  int64 id = 1;
  string name = 2;
  At at = 3;
  repeated string tags = 4;
}
message Later { string x = 1; }`;
  const lib = new ProtoSchema({ schema });
  const ours = compileProtobufDecoder(schema);
  const rows: { name: string; value: object; expected: string }[] = [
    {
      name: 'a message the library encoded without message indexes',
      value: { id: 12, name: 'proto', at: { seconds: 1656495125, nanos: 234000000 }, tags: ['x', 'y'] },
      expected: '{"id":12,"name":"proto","at":{"seconds":1656495125,"nanos":234000000},"tags":["x","y"]}',
    },
    { name: 'an all-default message the library encoded as zero bytes', value: {}, expected: '{"id":0,"name":"","at":null,"tags":[]}' },
    { name: 'a message starting with a later field', value: { tags: ['only'] }, expected: '{"id":0,"name":"","at":null,"tags":["only"]}' },
    { name: 'a message starting with a 64-bit value', value: { id: i64('9007199254740993') }, expected: '{"id":9007199254740993,"name":"","at":null,"tags":[]}' },
  ];
  for (const r of rows) {
    test(r.name, () => {
      assert.equal(JSON.stringify(ours(lib.toBuffer(r.value))), r.expected);
    });
  }
});

describe('bad records', () => {
  const cases: { name: string; payload: Buffer; message: RegExp }[] = [
    { name: 'length beyond the end', payload: frame('short', [0x0a, 0xff, 0x01, 0x61]), message: /do not decode as test\.sink\.Event: index out of range: 3 \+ 255 > 4/ },
    { name: 'string length beyond the end of its message', payload: frame([0, 0], [0x0a, 0x05, 0x61]), message: /do not decode as test\.sink\.Event\.Item: index out of range/ },
    { name: 'truncated varint', payload: frame([1], [0x08, 0x80]), message: /do not decode as test\.sink\.Scalars/ },
    { name: 'invalid wire type', payload: frame([0, 1, 0], [0x08, 0x01, 0x17, 0x00]), message: /do not decode as test\.sink\.Event\.Tag\.Inner: invalid wire type 7/ },
    { name: 'nested message overruns its parent', payload: frame('short', [0x4a, 0x02, 0x0a, 0x05, 0x61]), message: /do not decode/ },
    { name: 'top-level index beyond the schema', payload: frame([5], encode('test.sink.Scalars', {})), message: /message indexes \[5\] name no message type \(the schema has 3 message types\)/ },
    { name: 'nested index in a message without nested types', payload: frame([1, 0], []), message: /message indexes \[1, 0\] name no message type \(\[1\] has 0 message types nested\)/ },
    { name: 'nested index beyond the nested types', payload: frame([0, 2], []), message: /\[0, 2\] name no message type \(\[0\] has 2 message types nested\)/ },
    { name: 'negative index', payload: frame([-1], []), message: /\[-1\] name no message type/ },
    { name: 'negative count', payload: Buffer.from([0x01, 0x00]), message: /message index count -1 is negative/ },
    { name: 'indexes cut short', payload: Buffer.from([0x04, 0x00, 0x80]), message: /message indexes \[0\]\.\.\. are truncated or malformed/ },
    { name: 'count larger than the payload', payload: Buffer.from([0x06, 0x00]), message: /message index count 3 is more than the 1 bytes after it/ },
    {
      name: 'bad indexes that look like a bare message which does not decode',
      payload: Buffer.from([0x0a, 0x09, 0x61]),
      message: /^the message index count 5 is more than the 2 bytes after it; read as a bare message without indexes, the bytes do not decode as test\.sink\.Event: index out of range/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(() => decode(c.payload), (err: Error) => {
        assert.ok(err instanceof ProtobufDecodeError, `${err.name}: ${err.message}`);
        assert.equal(err.name, 'ProtobufDecodeError');
        assert.match(err.message, c.message);
        return true;
      });
    });
  }
});

describe('proto2 schema without a package', () => {
  const schema = `syntax = "proto2";
message Legacy {
  optional int32 x = 1 [default = 5];
  required string r = 2;
  repeated int32 nums = 3 [packed = true];
  optional bytes raw = 4;
  optional int64 big = 5;
}
message Other { optional string o = 1; }`;
  const legacy = compileProtobufDecoder(schema);
  const type = encoderRoot(schema).lookupType('Legacy');
  const rows: { name: string; value: Record<string, unknown>; expected: string }[] = [
    { name: 'unset optional fields are null (declared defaults not applied)', value: { r: 'a' }, expected: '{"x":null,"r":"a","nums":[],"raw":null,"big":null}' },
    { name: 'set optional fields, packed repeated', value: { x: 0, r: '', nums: [1, -2], raw: Buffer.alloc(0), big: i64('-9007199254740993') }, expected: '{"x":0,"r":"","nums":[1,-2],"raw":"","big":-9007199254740993}' },
  ];
  for (const r of rows) {
    test(r.name, () => {
      assert.equal(JSON.stringify(legacy(frame('short', type.encode(type.fromObject(r.value)).finish()))), r.expected);
    });
  }
  test('a missing required field is a bad record', () => {
    assert.throws(() => legacy(frame('short', [0x08, 0x01])), (err: Error) => err instanceof ProtobufDecodeError && /missing required 'r'/.test(err.message));
  });
  test('[1] is the second message', () => {
    assert.equal(JSON.stringify(legacy(frame([1], [0x0a, 0x01, 0x6f]))), '{"o":"o"}');
  });
});

describe('schemas that do not compile', () => {
  const cases: { name: string; schema: string; message: RegExp }[] = [
    { name: 'syntax error', schema: 'syntax = "proto3";\nmessage { int32 x = 1; }', message: /^the Protobuf schema does not parse: illegal/ },
    { name: 'not a schema at all', schema: '{"type":"record"}', message: /does not parse/ },
    { name: 'unknown type', schema: 'syntax = "proto3";\nmessage A { Missing m = 1; }', message: /does not resolve: no such Type or Enum 'Missing'/ },
    { name: 'WKT used without its import', schema: 'syntax = "proto3";\nmessage A { google.protobuf.Timestamp t = 1; }', message: /does not resolve/ },
    {
      name: 'a schema reference (import of another subject)',
      schema: 'syntax = "proto3";\nimport "other/customer.proto";\nmessage A { int32 x = 1; }',
      message: /imports "other\/customer\.proto", a schema reference this sink does not resolve; supported imports: google\/protobuf\/any\.proto/,
    },
    { name: 'no message type', schema: 'syntax = "proto3";\npackage p;\nenum E { A = 0; }', message: /defines no message type/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(() => compileProtobufDecoder(c.schema), (err: Error) => {
        assert.ok(err instanceof ProtobufSchemaError, `${err.name}: ${err.message}`);
        assert.match(err.message, c.message);
        return true;
      });
    });
  }
});

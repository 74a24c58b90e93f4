// Record headers through kafkajs's wire format with the sink's header codec: a
// null value (as Java producers write with `new RecordHeader("k", null)`), repeated
// keys and the order between keys survive a decode and an encode.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { HEADER_LIST, headerEntries, headersOf, registerHeaderCodec, type HeaderEntry, type Headers } from '../../sink/kafka/headers.ts';

const require = createRequire(import.meta.url);
const protocol = path.join(path.dirname(require.resolve('kafkajs')), 'src/protocol');

type Codec = {
  encode(m: { key: Buffer | null; value: Buffer | null; headers: unknown }): { buffer: Buffer };
  decode(buf: Buffer): { key: Buffer | null; value: Buffer | null; headers: Headers };
};

function codec(): Codec {
  registerHeaderCodec();
  const Record = require(path.join(protocol, 'recordBatch/record/v0/index.js')) as Codec['encode'];
  const RecordDecoder = require(path.join(protocol, 'recordBatch/record/v0/decoder.js')) as (d: unknown, ctx: unknown) => ReturnType<Codec['decode']>;
  const Decoder = require(path.join(protocol, 'decoder.js')) as new (b: Buffer) => { readVarIntBytes(): Buffer; canReadBytes(n: number): boolean };
  return {
    encode: (m) => Record(m),
    decode: (buf) => {
      // as recordBatch/v0/decoder.js reads a record: its length prefix, then the body
      const d = new Decoder(buf);
      const body = d.readVarIntBytes();
      assert.equal(d.canReadBytes(1), false, 'the length prefix covers exactly the record');
      return RecordDecoder(new Decoder(body), { firstOffset: '0', firstTimestamp: '0' });
    },
  };
}

const wire: HeaderEntry[] = [
  ['trace', Buffer.from('t-1')],
  ['gone', null],
  ['dup', Buffer.from('a')],
  ['2', Buffer.from('numeric key, read back first by Object.keys')],
  ['dup', null],
  ['__proto__', Buffer.from('not a prototype')],
  ['dup', Buffer.from('c')],
];

test('a record with null header values, repeated keys and mixed key order encodes, and decodes to the same list in order', () => {
  const { encode, decode } = codec();
  const r = decode(encode({ key: Buffer.from('k'), value: null, headers: headersOf(wire) }).buffer);
  assert.deepEqual(r.key, Buffer.from('k'));
  assert.equal(r.value, null);
  assert.deepEqual(r.headers[HEADER_LIST], wire);
  assert.deepEqual(headerEntries(r.headers), wire);
});

test('decoded headers keep the object form kafkajs gives (arrays for repeated keys, null values), the list not enumerable', () => {
  const { encode, decode } = codec();
  const { headers } = decode(encode({ key: null, value: Buffer.from('{}'), headers: headersOf(wire) }).buffer);
  assert.deepEqual(Object.keys(headers), ['2', 'trace', 'gone', 'dup', '__proto__']);
  assert.deepEqual(headers['dup'], [Buffer.from('a'), null, Buffer.from('c')]);
  assert.equal(headers['gone'], null);
  assert.deepEqual(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value, Buffer.from('not a prototype'));
  assert.equal(Object.getPrototypeOf(headers), Object.prototype);
});

test('plain kafkajs header objects (no list) still encode as kafkajs does, and a null value no longer throws', () => {
  const { encode, decode } = codec();
  const r = decode(encode({ key: null, value: null, headers: { a: 'x', b: [Buffer.from('1'), '2'], n: null } }).buffer);
  assert.deepEqual(r.headers[HEADER_LIST], [['a', Buffer.from('x')], ['b', Buffer.from('1')], ['b', Buffer.from('2')], ['n', null]]);
});

test('a record without headers decodes to an empty object', () => {
  const { encode, decode } = codec();
  const r = decode(encode({ key: null, value: Buffer.from('v'), headers: {} }).buffer);
  assert.deepEqual(r.headers, {});
  assert.equal(r.headers[HEADER_LIST], undefined);
});

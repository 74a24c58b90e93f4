// mapRecord and friends: what Rockset document (or delete, skip, bad record) a
// Kafka record becomes. Everything asserted here is what a user would see in
// Rockset or in the dead-letter topic.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SinkConfig } from '../../sink/config/schema.ts';
import { DecodeError, decodeJsonValue } from '../../sink/decode/json.ts';
import { coordinatesId, keyToId, mapRecord, MappingError, toEventTimeMicros, type MapOptions } from '../../sink/map.ts';
import { jsonText, type Action, type SinkRecord } from '../../sink/record.ts';
import { validateConfig } from '../../sink/config/validate.ts';
import { mapOptions } from '../../sink/mapping/options.ts';

type Documents = SinkConfig['documents'];

const TIMESTAMP_MS = 1_714_564_800_123; // 2024-05-01T12:00:00.123Z

function record(over: Partial<SinkRecord> & { k?: string | Buffer | null; v?: string | Buffer | null } = {}): SinkRecord {
  const { k = 'user-1', v = '{"name":"ada"}', ...rest } = over;
  return {
    topic: 'orders',
    partition: 3,
    offset: '42',
    key: typeof k === 'string' ? Buffer.from(k) : k,
    value: typeof v === 'string' ? Buffer.from(v) : v,
    timestamp: String(TIMESTAMP_MS),
    headers: {},
    ...rest,
  };
}

function options(documents: Partial<Documents> = {}, extra: Partial<MapOptions> = {}): MapOptions {
  return {
    documents: { idSource: 'key', eventTime: 'timestamp', tombstones: 'delete', ...documents },
    collectionFor: () => 'orders_c',
    ...extra,
  };
}

/** The upsert, its document as text (a spliced document holds the record's own bytes). */
function upsert(a: Action): Extract<Action, { kind: 'upsert' }> & { json: string } {
  assert.equal(a.kind, 'upsert', `expected an upsert, got ${JSON.stringify(a)}`);
  const u = a as Extract<Action, { kind: 'upsert' }>;
  return { ...u, json: jsonText(u.json) };
}

function bad(a: Action): Extract<Action, { kind: 'bad' }> {
  assert.equal(a.kind, 'bad', `expected a bad record, got ${JSON.stringify(a)}`);
  return a as Extract<Action, { kind: 'bad' }>;
}

function doc(a: Action): Record<string, unknown> {
  return JSON.parse(upsert(a).json) as Record<string, unknown>;
}

describe('keyToId / coordinatesId', () => {
  const cases: { name: string; key: Buffer | null; want: string | undefined }[] = [
    { name: 'UTF-8 text', key: Buffer.from('user-1'), want: 'user-1' },
    { name: 'multi-byte UTF-8', key: Buffer.from('clé-€-😀'), want: 'clé-€-😀' },
    { name: 'binary (not UTF-8)', key: Buffer.from([0xff, 0x00, 0xfe]), want: `base64:${Buffer.from([0xff, 0x00, 0xfe]).toString('base64')}` },
    { name: 'truncated UTF-8 sequence', key: Buffer.from([0x61, 0xe2, 0x82]), want: 'base64:YeKC' },
    { name: 'empty', key: Buffer.alloc(0), want: undefined },
    { name: 'null', key: null, want: undefined },
  ];
  for (const c of cases) {
    test(`keyToId: ${c.name}`, () => assert.equal(keyToId(c.key), c.want));
  }

  test('keyToId: a key that is a byte-order mark only never becomes an empty _id', () => {
    const id = keyToId(Buffer.from([0xef, 0xbb, 0xbf]));
    assert.notEqual(id, '');
  });

  test('keyToId: a BOM-prefixed key does not collide with the same key without the BOM', () => {
    assert.notEqual(keyToId(Buffer.from('\uFEFFabc')), keyToId(Buffer.from('abc')));
  });

  test('keyToId: a binary key and a text key never share an _id; an _id starting with base64: is the base64 of the key bytes', () => {
    assert.equal(keyToId(Buffer.from([0x80])), 'base64:gA==');
    const text = Buffer.from('base64:gA==');
    assert.equal(keyToId(text), `base64:${text.toString('base64')}`);
    assert.equal(keyToId(Buffer.from('base64:')), `base64:${Buffer.from('base64:').toString('base64')}`);
    // text that merely contains the prefix, or spells it otherwise, keeps its id
    for (const k of ['x-base64:gA==', 'BASE64:gA==', 'base64', ' base64:gA==']) assert.equal(keyToId(Buffer.from(k)), k);
  });

  test('canonicalKey: a decoded string key starting with base64: is written as the base64 of its UTF-8, like a text key', async () => {
    const { canonicalKey } = await import('../../sink/decode/key.ts');
    assert.equal(canonicalKey('base64:gA=='), `base64:${Buffer.from('base64:gA==').toString('base64')}`);
    assert.equal(canonicalKey('base64:gA=='), keyToId(Buffer.from('base64:gA==')));
    assert.equal(canonicalKey('user-1'), 'user-1');
  });

  test('coordinatesId is <topic>-<partition>-<offset>', () => {
    assert.equal(coordinatesId(record({ topic: 'a.b-c', partition: 11, offset: '9223372036854775807' })), 'a.b-c-11-9223372036854775807');
  });
});

describe('mapRecord: _id', () => {
  const cases: { name: string; idSource: Documents['idSource']; key: string | Buffer | null; value: string; want: string }[] = [
    { name: 'keyed, idSource key', idSource: 'key', key: 'user-1', value: '{"a":1}', want: 'user-1' },
    { name: 'unkeyed, idSource key -> coordinates', idSource: 'key', key: null, value: '{"a":1}', want: 'orders-3-42' },
    { name: 'empty key -> coordinates', idSource: 'key', key: '', value: '{"a":1}', want: 'orders-3-42' },
    { name: 'binary key -> base64', idSource: 'key', key: Buffer.from([0xc3, 0x28]), value: '{"a":1}', want: 'base64:wyg=' },
    { name: 'keyed, idSource coordinates', idSource: 'coordinates', key: 'user-1', value: '{"a":1}', want: 'orders-3-42' },
    { name: "document's own _id ignored with idSource key", idSource: 'key', key: 'user-1', value: '{"_id":"doc-7"}', want: 'user-1' },
    { name: "document's own _id ignored with idSource coordinates", idSource: 'coordinates', key: 'user-1', value: '{"_id":"doc-7"}', want: 'orders-3-42' },
    { name: "document's own _id ignored when unkeyed with idSource key", idSource: 'key', key: null, value: '{"_id":"doc-7"}', want: 'orders-3-42' },
    { name: "document's own _id wins with idSource document", idSource: 'document', key: 'user-1', value: '{"_id":"doc-7"}', want: 'doc-7' },
    { name: 'idSource document without _id -> key', idSource: 'document', key: 'user-1', value: '{"a":1}', want: 'user-1' },
    { name: 'idSource document with empty _id -> key', idSource: 'document', key: 'user-1', value: '{"_id":""}', want: 'user-1' },
    { name: 'idSource document with numeric _id -> key', idSource: 'document', key: 'user-1', value: '{"_id":5}', want: 'user-1' },
    { name: 'idSource document, no _id, no key -> coordinates', idSource: 'document', key: null, value: '{"a":1}', want: 'orders-3-42' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const a = upsert(mapRecord(record({ k: c.key, v: c.value }), options({ idSource: c.idSource })));
      assert.equal(a.id, c.want);
      assert.equal(doc(a)._id, c.want, 'the _id written to Rockset is the action id');
    });
  }

  test('the same record maps to the same action every time (redelivery replaces)', () => {
    const r = record({ k: null });
    assert.deepEqual(mapRecord(r, options()), mapRecord(r, options()));
  });
});

describe('mapRecord: upsert shape', () => {
  test('offset, collection routing, json and bytes', () => {
    const seen: string[] = [];
    const a = upsert(
      mapRecord(record({ topic: 'payments', v: '{"name":"Ada","city":"Zürich","emoji":"😀"}' }), options({}, { collectionFor: (t) => (seen.push(t), `c_${t}`) })),
    );
    assert.deepEqual(seen, ['payments']);
    assert.equal(a.collection, 'c_payments');
    assert.equal(a.offset, '42');
    assert.deepEqual(JSON.parse(a.json), { name: 'Ada', city: 'Zürich', emoji: '😀', _id: 'user-1', _event_time: TIMESTAMP_MS * 1000 });
    assert.equal(a.bytes, Buffer.byteLength(a.json));
    assert.ok(a.bytes > a.json.length, 'multi-byte characters count as bytes, not UTF-16 units');
  });

  test('a one-object array is unwrapped to that object', () => {
    assert.deepEqual(doc(mapRecord(record({ v: '[{"a":1}]' }), options())), { a: 1, _id: 'user-1', _event_time: TIMESTAMP_MS * 1000 });
  });

  test('a UTF-8 BOM before the JSON is accepted, and left out of the document', () => {
    const a = upsert(mapRecord(record({ v: '\uFEFF{"a":1} \n' }), options({ eventTime: 'none' })));
    assert.equal(a.json, '{"a":1,"_id":"user-1"}');
    assert.equal(a.bytes, Buffer.byteLength(a.json));
  });

  test('an object without _id/_event_time keeps its own bytes: no copy of it waits for the request', () => {
    const value = Buffer.from('{"name":"Ada","n":1.0,"n":2}');
    const a = mapRecord(record({ v: value }), options({ eventTime: 'none' }));
    assert.equal(a.kind, 'upsert');
    const json = (a as Extract<Action, { kind: 'upsert' }>).json;
    assert.ok(typeof json !== 'string' && !(json instanceof Uint8Array) && json.head.buffer === value.buffer, 'the document is a view of the record value');
    // the producer's own spelling reaches Rockset
    assert.equal(jsonText(json), '{"name":"Ada","n":1.0,"n":2,"_id":"user-1"}');
  });

  test('big integers keep their digits in action.json', () => {
    const a = upsert(mapRecord(record({ v: '{"a":9007199254740993,"b":-9223372036854775808,"n":{"c":[12345678901234567890123]},"s":1700000000000000}' }), options({ eventTime: 'none' })));
    assert.ok(a.json.includes('"a":9007199254740993'), a.json);
    assert.ok(a.json.includes('"b":-9223372036854775808'), a.json);
    assert.ok(a.json.includes('"c":[12345678901234567890123]'), a.json);
    assert.ok(a.json.includes('"s":1700000000000000'), a.json);
    assert.equal(a.bytes, Buffer.byteLength(a.json));
  });

  test('a 16-digit safe integer stays a plain number (usable as an event time)', () => {
    const v = decodeJsonValue(Buffer.from('{"s":1700000000000000}')) as Record<string, unknown>;
    assert.equal(v.s, 1700000000000000);
    assert.equal(typeof v.s, 'number');
    // As an event-time field it is a number of milliseconds, so it converts (a raw big integer would not).
    const a = upsert(mapRecord(record({ v: '{"s":1700000000000000}' }), options({ eventTime: 'field', eventTimeField: 's' })));
    assert.ok(a.json.endsWith('"_event_time":1700000000000000000}'), a.json);
  });
});

describe('mapRecord: _event_time', () => {
  test('eventTime timestamp: the record timestamp in microseconds, replacing the document\'s', () => {
    assert.equal(doc(mapRecord(record({ v: '{"_event_time":5}' }), options({ eventTime: 'timestamp' })))._event_time, TIMESTAMP_MS * 1000);
  });

  test('eventTime timestamp with no record timestamp (-1): no _event_time added', () => {
    assert.equal('_event_time' in doc(mapRecord(record({ timestamp: '-1' }), options({ eventTime: 'timestamp' }))), false);
  });

  test("eventTime none leaves the document's _event_time alone", () => {
    assert.equal(doc(mapRecord(record({ v: '{"_event_time":"2024-01-01T00:00:00Z"}' }), options({ eventTime: 'none' })))._event_time, '2024-01-01T00:00:00Z');
    assert.equal('_event_time' in doc(mapRecord(record(), options({ eventTime: 'none' }))), false);
  });

  const at = (iso: string) => Date.parse(iso) * 1000;
  const fieldCases: { name: string; value: unknown; want: unknown }[] = [
    { name: 'epoch-ms number', value: TIMESTAMP_MS, want: TIMESTAMP_MS * 1000 },
    { name: 'epoch-ms 0', value: 0, want: 0 },
    { name: 'ISO Z', value: '2024-05-01T12:00:00Z', want: at('2024-05-01T12:00:00Z') },
    { name: 'ISO with micro fraction and +08:00', value: '2024-05-01T12:00:00.123456+08:00', want: Date.UTC(2024, 4, 1, 4, 0, 0) * 1000 + 123_456 },
    { name: 'ISO with -05:30 and one fraction digit', value: '2024-05-01T12:00:00.5-05:30', want: Date.UTC(2024, 4, 1, 17, 30, 0) * 1000 + 500_000 },
    { name: 'ISO with millis', value: '2024-05-01T12:00:00.123Z', want: at('2024-05-01T12:00:00Z') + 123_000 },
    { name: 'ISO with nanos (truncated to µs)', value: '2024-05-01T12:00:00.123456789Z', want: at('2024-05-01T12:00:00Z') + 123_456 },
    { name: 'ISO before 1970', value: '1969-12-31T23:59:59.250000Z', want: -750_000 },
    { name: 'Rockset timestamp object', value: { __rockset_type: 'timestamp', value: '2024-05-01T12:00:00.000000Z' }, want: { __rockset_type: 'timestamp', value: '2024-05-01T12:00:00.000000Z' } },
  ];
  for (const c of fieldCases) {
    test(`eventTime field: ${c.name}`, () => {
      const a = mapRecord(record({ v: JSON.stringify({ ts: c.value, a: 1 }) }), options({ eventTime: 'field', eventTimeField: 'ts' }));
      const d = doc(a);
      assert.deepEqual(d._event_time, c.want);
      assert.deepEqual(d.ts, c.value, 'the field itself is kept');
    });
  }

  const badCases: { name: string; value: string; mentions: string[] }[] = [
    { name: 'missing field', value: '{"a":1}', mentions: ['"ts"', 'eventTimeField'] },
    { name: 'garbage string', value: '{"ts":"yesterday"}', mentions: ['"yesterday"', 'ISO-8601'] },
    { name: 'ISO without a zone', value: '{"ts":"2024-05-01T12:00:00"}', mentions: ['2024-05-01T12:00:00', 'zone'] },
    { name: 'impossible month', value: '{"ts":"2024-13-01T00:00:00Z"}', mentions: ['2024-13-01'] },
    { name: 'negative number', value: '{"ts":-5}', mentions: ['-5', 'epoch milliseconds'] },
    { name: 'null', value: '{"ts":null}', mentions: ['null'] },
    { name: 'boolean', value: '{"ts":true}', mentions: ['true'] },
    { name: 'other object', value: '{"ts":{"when":1}}', mentions: ['{"when":1}'] },
  ];
  for (const c of badCases) {
    test(`eventTime field: ${c.name} -> bad record (map)`, () => {
      const b = bad(mapRecord(record({ v: c.value }), options({ eventTime: 'field', eventTimeField: 'ts' })));
      assert.equal(b.stage, 'map');
      assert.equal(b.errorClass, 'MappingError');
      assert.equal(b.offset, '42');
      for (const m of c.mentions) assert.ok(b.message.includes(m), `message ${JSON.stringify(b.message)} should mention ${m}`);
    });
  }

  test('toEventTimeMicros throws MappingError naming what it converts', () => {
    assert.throws(() => toEventTimeMicros('nope', 'field "when"'), (err: unknown) => err instanceof MappingError && err.message.includes('field "when"'));
    assert.equal(toEventTimeMicros(1.5, 'x'), 1500);
  });
});

describe('mapRecord: tombstones', () => {
  test('with a key -> delete by that key', () => {
    const a = mapRecord(record({ v: null, k: 'user-1' }), options({}, { collectionFor: (t) => `c_${t}` }));
    assert.deepEqual(a, { kind: 'delete', offset: '42', collection: 'c_orders', id: 'user-1', json: '{"_id":"user-1"}', bytes: 16 });
  });

  test('with a binary key -> delete by the base64 id the upsert used', () => {
    const key = Buffer.from([0xff, 0xfe]);
    const del = mapRecord(record({ v: null, k: key }), options());
    const up = mapRecord(record({ k: key }), options());
    assert.equal(del.kind, 'delete');
    assert.equal((del as { id: string }).id, upsert(up).id);
    assert.equal((del as { json: string }).json, JSON.stringify({ _id: upsert(up).id }));
  });

  test('a text key spelling a binary key\'s id deletes its own document, not the binary key\'s', () => {
    const binary = Buffer.from([0x80]);
    const text = Buffer.from('base64:gA==');
    assert.notEqual(upsert(mapRecord(record({ k: binary }), options())).id, upsert(mapRecord(record({ k: text }), options())).id);
    assert.equal((mapRecord(record({ v: null, k: text }), options()) as { id: string }).id, upsert(mapRecord(record({ k: text }), options())).id);
  });

  test('with a multi-byte key: bytes count UTF-8 bytes', () => {
    const a = mapRecord(record({ v: null, k: 'ü😀' }), options());
    assert.equal(a.kind, 'delete');
    const d = a as Extract<Action, { kind: 'delete' }>;
    assert.equal(d.bytes, Buffer.byteLength(jsonText(d.json)));
  });

  const skips: { name: string; k: string | null; tombstones: Documents['tombstones']; reason: string }[] = [
    { name: 'without a key -> skip', k: null, tombstones: 'delete', reason: 'tombstone-without-key' },
    { name: 'with an empty key -> skip', k: '', tombstones: 'delete', reason: 'tombstone-without-key' },
    { name: 'tombstones=ignore, keyed -> skip', k: 'user-1', tombstones: 'ignore', reason: 'tombstone' },
    { name: 'tombstones=ignore, unkeyed -> skip', k: null, tombstones: 'ignore', reason: 'tombstone' },
  ];
  for (const c of skips) {
    test(c.name, () => {
      assert.deepEqual(mapRecord(record({ v: null, k: c.k }), options({ tombstones: c.tombstones })), { kind: 'skip', offset: '42', reason: c.reason });
    });
  }
});

describe("mapRecord: keys of Java's number serializers (format.key long, integer, short)", () => {
  const optionsFor = (key: 'long' | 'integer' | 'short') =>
    mapOptions(validateConfig({ kafka: { brokers: ['k:9092'], groupId: 'g', topics: ['orders'] }, rockset: { apiServer: 'https://r', collection: 'orders' }, format: { key } }), undefined);
  const long = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    return b;
  };

  test('the key is its decimal digits, as a JSON or Avro key of the same number: every long exact, negatives two\'s complement', () => {
    const cases: [bigint, string][] = [[200n, '200'], [1n, '1'], [0n, '0'], [-5n, '-5'], [9223372036854775807n, '9223372036854775807'], [-9223372036854775808n, '-9223372036854775808']];
    for (const [n, id] of cases) assert.equal(upsert(mapRecord(record({ k: long(n) }), optionsFor('long'))).id, id);
    assert.equal(upsert(mapRecord(record({ k: Buffer.from([0xff, 0xff, 0xff, 0x38]) }), optionsFor('integer'))).id, '-200');
    assert.equal(upsert(mapRecord(record({ k: Buffer.from([0x80, 0x00]) }), optionsFor('short'))).id, '-32768');
  });

  test('a tombstone deletes the document its key named', () => {
    assert.deepEqual(mapRecord(record({ k: long(200n), v: null }), optionsFor('long')), { kind: 'delete', offset: '42', collection: 'orders', id: '200', json: '{"_id":"200"}', bytes: 13 });
  });

  test('a key of another length is a bad record naming format.key, the serializer and the fix (upsert and tombstone alike)', () => {
    for (const v of ['{"a":1}', null]) {
      const a = mapRecord(record({ k: Buffer.from([0, 0, 0, 7]), v }), optionsFor('long'));
      assert.deepEqual(a, {
        kind: 'bad',
        offset: '42',
        stage: 'decode',
        errorClass: 'DecodeError',
        message: 'key: format.key is "long" (Java\'s LongSerializer, 8 bytes), but this key is 4 bytes. Set format.key to what the producer\'s key serializer writes (string for StringSerializer)',
      });
    }
  });

  test('no key: the record\'s coordinates, as with any format', () => {
    assert.equal(upsert(mapRecord(record({ k: null }), optionsFor('long'))).id, 'orders-3-42');
  });
});

describe('mapRecord: bad values', () => {
  const cases: { name: string; value: string | Buffer; stage: 'decode' | 'map'; errorClass: string; mentions: string[] }[] = [
    { name: 'two-object array', value: '[{},{}]', stage: 'map', errorClass: 'MappingError', mentions: ['array of 2'] },
    { name: 'empty array', value: '[]', stage: 'map', errorClass: 'MappingError', mentions: ['array of 0'] },
    { name: 'array of a number', value: '[1]', stage: 'map', errorClass: 'MappingError', mentions: ['array of 1'] },
    { name: 'nested one-array', value: '[[{}]]', stage: 'map', errorClass: 'MappingError', mentions: ['array of 1'] },
    { name: 'string', value: '"str"', stage: 'map', errorClass: 'MappingError', mentions: ['JSON string', 'not an object'] },
    { name: 'number', value: '42', stage: 'map', errorClass: 'MappingError', mentions: ['JSON number', 'not an object'] },
    { name: 'boolean', value: 'true', stage: 'map', errorClass: 'MappingError', mentions: ['JSON boolean'] },
    { name: 'JSON null', value: 'null', stage: 'map', errorClass: 'MappingError', mentions: ['JSON null'] },
    { name: 'invalid JSON', value: '{"a":', stage: 'decode', errorClass: 'DecodeError', mentions: ['not valid JSON'] },
    { name: 'empty value', value: '', stage: 'decode', errorClass: 'DecodeError', mentions: ['not valid JSON'] },
    { name: 'trailing garbage', value: '{"a":1} x', stage: 'decode', errorClass: 'DecodeError', mentions: ['not valid JSON'] },
    { name: 'invalid UTF-8', value: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), stage: 'decode', errorClass: 'DecodeError', mentions: ['UTF-8'] },
    { name: 'invalid JSON with a big integer', value: '{"a":12345678901234567890,}', stage: 'decode', errorClass: 'DecodeError', mentions: ['not valid JSON'] },
  ];
  for (const c of cases) {
    test(`${c.name} -> bad (${c.stage})`, () => {
      const b = bad(mapRecord(record({ v: c.value }), options()));
      assert.equal(b.stage, c.stage);
      assert.equal(b.errorClass, c.errorClass);
      assert.equal(b.offset, '42');
      for (const m of c.mentions) assert.ok(b.message.includes(m), `message ${JSON.stringify(b.message)} should mention ${JSON.stringify(m)}`);
    });
  }

  test('a top-level big integer is reported as a number, not as an object', () => {
    const b = bad(mapRecord(record({ v: '9007199254740993' }), options()));
    assert.ok(b.message.includes('JSON number'), b.message);
  });
});

describe('mapRecord: custom decode', () => {
  test('receives the value and the record; its document is used', () => {
    const calls: [string, string][] = [];
    const a = mapRecord(
      record({ v: Buffer.from([0, 0, 0, 0, 7, 1]) }),
      options({}, { decode: (value, r) => (calls.push([value.toString('hex'), r.offset]), { fromRegistry: true }) }),
    );
    assert.deepEqual(calls, [['000000000701', '42']]);
    assert.equal(doc(a).fromRegistry, true);
  });

  test('a DecodeError becomes a bad record at stage decode', () => {
    const b = bad(mapRecord(record(), options({}, { decode: () => { throw new DecodeError('unknown schema id 7'); } })));
    assert.deepEqual(b, { kind: 'bad', offset: '42', stage: 'decode', errorClass: 'DecodeError', message: 'unknown schema id 7' });
  });

  test('a JSON value that is not UTF-8 is a bad record at stage decode naming the encoding, whatever the event time', () => {
    // an object the byte scan would accept, but for one byte that no UTF-8 has
    const value = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    for (const eventTime of ['timestamp', 'none', 'field'] as const) {
      const b = bad(mapRecord(record({ v: value }), options({ eventTime, eventTimeField: 'a' })));
      assert.deepEqual([b.stage, b.errorClass, b.message], ['decode', 'DecodeError', 'the value is not valid UTF-8, so it cannot be JSON'], eventTime);
    }
  });

  test('a MappingError becomes a bad record at stage map', () => {
    const b = bad(mapRecord(record(), options({}, { decode: () => { throw new MappingError('no'); } })));
    assert.equal(b.stage, 'map');
  });

  test('any other error propagates (a schema-registry outage is not a bad record)', () => {
    const outage = new Error('connect ECONNREFUSED schema-registry:8081');
    assert.throws(() => mapRecord(record(), options({}, { decode: () => { throw outage; } })), (err: unknown) => err === outage);
    const typeError = new TypeError('fetch failed');
    assert.throws(() => mapRecord(record(), options({}, { decode: () => { throw typeError; } })), (err: unknown) => err === typeError);
  });

  test('a decoded non-object is still a bad record', () => {
    assert.equal(bad(mapRecord(record(), options({}, { decode: () => 'text' }))).stage, 'map');
  });
});

describe('nested event-time fields and decoded keys', () => {
  const documents = { idSource: 'key' as const, eventTime: 'field' as const, eventTimeField: 'meta.at', tombstones: 'delete' as const };
  const rec = (value: string, key: Buffer | null = Buffer.from('k')) => ({ topic: 't', partition: 0, offset: '5', key, value: Buffer.from(value), timestamp: '0', headers: {} });

  test('a dotted eventTimeField reads a nested field', () => {
    const a = mapRecord(rec('{"meta":{"at":1700000000000}}'), { documents, collectionFor: () => 'c' });
    assert.equal(a.kind, 'upsert');
    assert.equal(JSON.parse(upsert(a).json)._event_time, 1700000000000000);
  });

  test('a field whose name holds the dots wins over the path', () => {
    const a = mapRecord(rec('{"meta.at":1000,"meta":{"at":2000}}'), { documents, collectionFor: () => 'c' });
    assert.equal(JSON.parse(upsert(a).json)._event_time, 1000000);
  });

  test('a missing nested field is a bad record naming it', () => {
    const a = mapRecord(rec('{"meta":{}}'), { documents, collectionFor: () => 'c' });
    assert.equal(a.kind, 'bad');
    assert.match((a as { message: string }).message, /no field "meta\.at"/);
  });

  test('keyId decides the _id; its DecodeError makes a bad record, also for tombstones', () => {
    const keyId = (k: Buffer) => {
      if (k[0] === 0) return `decoded-${k.length}`;
      throw new DecodeError('key: not framed');
    };
    const opts = { documents: { ...documents, eventTime: 'none' as const }, collectionFor: () => 'c', keyId };
    const ok = mapRecord(rec('{}', Buffer.from([0, 1, 2])), opts);
    assert.equal((ok as { id: string }).id, 'decoded-3');
    assert.equal(mapRecord(rec('{}', Buffer.from('x')), opts).kind, 'bad');
    const tomb = mapRecord({ ...rec('{}', Buffer.from('x')), value: null }, opts);
    assert.equal(tomb.kind, 'bad');
  });
});

describe('mapRecord: values nesting too deep', () => {
  const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);
  const tooDeep = (b: Extract<Action, { kind: 'bad' }>) => {
    assert.equal(b.stage, 'map');
    assert.equal(b.errorClass, 'NestingTooDeep');
    assert.equal(b.offset, '42');
    assert.match(b.message, /more than 1000 levels deep/);
  };

  test('a JSON value thousands of levels deep is a bad record at stage map, whether or not it has an _id', () => {
    for (const v of [`{"_id":"x","a":${nested(5000)}}`, `{"a":${nested(5000)}}`, `{"a":${nested(100_000)}}`, `[{"a":${nested(5000)}}]`]) {
      tooDeep(bad(mapRecord(record({ v }), options())));
    }
  });

  test('one level past the limit is a bad record, the limit itself is written', () => {
    // {"a": plus 999 arrays: 1000 levels; one more array: 1001
    assert.equal(upsert(mapRecord(record({ v: `{"a":${nested(999)}}` }), options())).kind, 'upsert');
    assert.equal(upsert(mapRecord(record({ v: `{"_id":"x","a":${nested(999)}}` }), options())).kind, 'upsert');
    tooDeep(bad(mapRecord(record({ v: `{"a":${nested(1000)}}` }), options())));
    tooDeep(bad(mapRecord(record({ v: `{"_id":"x","a":${nested(1000)}}` }), options())));
  });

  test('brackets inside strings do not count as nesting', () => {
    const s = JSON.stringify('[{'.repeat(3000) + '\\"[');
    assert.equal(upsert(mapRecord(record({ v: `{"s":${s}}` }), options())).kind, 'upsert');
    assert.equal(upsert(mapRecord(record({ v: `{"_id":"x","s":${s}}` }), options())).kind, 'upsert');
  });

  test('a deep value read with the big-integer reviver (eventTime field) is a bad record, not invalid JSON', () => {
    const v = `{"at":1700000000000,"n":12345678901234567890,"a":${nested(5000)}}`;
    tooDeep(bad(mapRecord(record({ v }), options({ eventTime: 'field', eventTimeField: 'at' }))));
  });

  test('a decoded value nesting too deep is a bad record at stage map', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    tooDeep(bad(mapRecord(record(), options({}, { decode: () => ({ a: deep }) }))));
    let deeper: unknown = 1;
    for (let i = 0; i < 1000; i++) deeper = { n: deeper };
    tooDeep(bad(mapRecord(record(), options({}, { decode: () => ({ a: deeper }) }))));
  });

  test('a decoded key nesting too deep is a bad record at stage map, for upserts and tombstones', async () => {
    const { canonicalKey } = await import('../../sink/decode/key.ts');
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = { k: deep };
    const opts = options({}, { keyId: () => canonicalKey(deep) });
    tooDeep(bad(mapRecord(record(), opts)));
    tooDeep(bad(mapRecord(record({ v: null }), opts)));
  });
});

describe('registry-decoded values nesting too deep', () => {
  const avroList = JSON.stringify({ type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'] }] });
  // union branch 1 (Node), `depth` times, then branch 0 (null)
  const avroPayload = (depth: number) => Buffer.concat([Buffer.alloc(depth, 0x02), Buffer.from([0x00])]);

  test('an Avro value of a recursive schema, deeper than the limit or than the stack, is a bad record at stage map', async () => {
    const { compileAvroDecoder } = await import('../../sink/decode/avro.ts');
    const decode = compileAvroDecoder(avroList);
    assert.equal(upsert(mapRecord(record(), options({}, { decode: () => decode(avroPayload(998)) }))).kind, 'upsert');
    for (const depth of [1000, 200_000]) {
      const b = bad(mapRecord(record(), options({}, { decode: () => decode(avroPayload(depth)) })));
      assert.deepEqual([b.stage, b.errorClass], ['map', 'NestingTooDeep'], `depth ${depth}: ${b.message}`);
    }
  });

  test('a JSON Schema value deeper than the limit is a bad record at stage map, also when it holds a big integer', async () => {
    const { compileJsonSchemaDecoder } = await import('../../sink/decode/jsonschema.ts');
    const decode = compileJsonSchemaDecoder('{"type":"object"}');
    for (const v of [`{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`, `{"n":12345678901234567890,"a":${'['.repeat(5000)}${']'.repeat(5000)}}`]) {
      const b = bad(mapRecord(record(), options({}, { decode: () => decode(Buffer.from(v)) })));
      assert.deepEqual([b.stage, b.errorClass], ['map', 'NestingTooDeep'], b.message);
    }
  });
});

describe('negative zero', () => {
  test('a JSON value\'s -0.0 keeps its sign in the document, whichever path writes it', () => {
    for (const v of ['{"a":-0.0,"b":-0,"c":-0.5,"d":-0e2,"e":0,"s":"-0"}', '{"_id":"x","a":-0.0,"b":-0,"c":-0.5,"d":-0e2,"e":0,"s":"-0"}']) {
      const text = upsert(mapRecord(record({ v }), options())).json;
      assert.match(text, /"a":-0\.0,"b":-0,"c":-0\.5,"d":-0e2,"e":0,"s":"-0"/, text);
    }
  });

  test('a JSON Schema value\'s -0.0 keeps its sign', async () => {
    const { compileJsonSchemaDecoder } = await import('../../sink/decode/jsonschema.ts');
    const decode = compileJsonSchemaDecoder('{"type":"object"}');
    assert.match(upsert(mapRecord(record(), options({}, { decode: () => decode(Buffer.from('{"a":-0.0,"n":[-0]}')) }))).json, /"a":-0\.0,"n":\[-0\]/);
  });
});

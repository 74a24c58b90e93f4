// What crosses to a mapping thread and back (sink/mapping/wire.ts) must be the batch
// the main thread would have planned itself: the same records, the same requests
// with byte-identical bodies, the same documents when a request is retried in part.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planBatch, requestBodyBytes, requestsBefore, splitRequest } from '../../sink/batch.ts';
import { jsonText, type Action, type SinkRecord } from '../../sink/record.ts';
import { packBatch, packRecords, unpackBatch, unpackRecords } from '../../sink/mapping/wire.ts';

function record(offset: string, key: string | Buffer | null, value: string | Buffer | null): SinkRecord {
  const b = (x: string | Buffer | null) => (x === null ? null : Buffer.isBuffer(x) ? x : Buffer.from(x));
  return { topic: 't', partition: 3, offset, key: b(key), value: b(value), timestamp: String(1_700_000_000_000 + Number(offset)), headers: { h: 'v' } };
}

const LIMITS = { maxDocuments: 3, maxBytes: 1024 * 1024 };

describe('records to a mapping thread', () => {
  test('arrive with their keys, values (null and empty kept apart), offsets and timestamps', () => {
    // a fetched buffer's views: the copies must not depend on where the bytes lived
    const fetched = Buffer.from('....{"a":"Zürich 😀"}....key-1');
    const records = [
      record('9223372036854775806', fetched.subarray(26), fetched.subarray(4, 22)),
      record('9223372036854775807', null, null),
      record('0', Buffer.alloc(0), Buffer.alloc(0)),
      record('12', Buffer.from([0, 255, 1]), Buffer.from([0, 0, 0, 0, 7, 2])),
    ];
    const { wire, transfer } = packRecords(records);
    assert.ok(transfer.every((t) => t instanceof ArrayBuffer && t.byteLength < 1024), 'small buffers of their own, never Node’s shared pool');
    const back = unpackRecords(structuredClone(wire, { transfer }));
    assert.deepEqual(
      back.map((r) => [r.topic, r.partition, r.offset, r.key, r.value, r.timestamp]),
      records.map((r) => [r.topic, r.partition, r.offset, r.key, r.value, r.timestamp]),
    );
  });

  test('an empty batch round-trips to no records', () => {
    assert.deepEqual(unpackRecords(packRecords([]).wire), []);
  });
});

describe('a mapped batch from a mapping thread', () => {
  const value = Buffer.from('{"city":"Zürich"}  ');
  const head = value.subarray(0, value.lastIndexOf(0x7d));
  const tail = ',"_id":"ü-1"}';
  const records = Array.from({ length: 9 }, (_, i) => record(String(100 + i), `k${i}`, '{}'));
  const actions: Action[] = [
    { kind: 'upsert', offset: '100', collection: 'c', id: 'ü-1', json: { head, tail }, bytes: head.length + Buffer.byteLength(tail) },
    { kind: 'upsert', offset: '101', collection: 'c', id: 'b', json: '{"_id":"b","emoji":"😀"}', bytes: Buffer.byteLength('{"_id":"b","emoji":"😀"}') },
    { kind: 'skip', offset: '102', reason: 'tombstone' },
    { kind: 'upsert', offset: '103', collection: 'c', id: 'c', json: '{"_id":"c"}', bytes: 11 },
    { kind: 'upsert', offset: '104', collection: 'c', id: 'd', json: '{"_id":"d"}', bytes: 11 },
    { kind: 'delete', offset: '105', collection: 'c', id: 'b', json: '{"_id":"b"}', bytes: 11 },
    { kind: 'bad', offset: '106', stage: 'decode', errorClass: 'DecodeError', message: 'not JSON' },
    { kind: 'upsert', offset: '107', collection: 'c', id: 'e', json: '{"_id":"e"}', bytes: 11 },
    { kind: 'upsert', offset: '108', collection: 'c', id: 'f', json: '{"_id":"f"}', bytes: 11 },
  ];
  const inline = planBatch(actions, LIMITS);
  const { wire, transfer } = packBatch(actions, planBatch(actions, LIMITS));
  const mapped = unpackBatch(structuredClone(wire, { transfer }), records, 'c');

  test('holds the requests the main thread would plan, bodies byte for byte', () => {
    assert.equal(mapped.requests.length, inline.requests.length);
    for (const [i, req] of mapped.requests.entries()) {
      const want = inline.requests[i]!;
      assert.deepEqual([req.method, req.collection, req.count, req.firstOffset, req.bytes, req.idBytes], [want.method, want.collection, want.count, want.firstOffset, want.bytes, want.idBytes]);
      assert.equal(Buffer.from(req.body!).toString('utf8'), requestBodyBytes(want.actions).toString('utf8'));
      assert.equal(req.body!.length, req.bytes);
    }
    assert.deepEqual(mapped.others, inline.others);
  });

  test('makes the same documents when a request is retried in part, split or cut', () => {
    for (const [i, req] of mapped.requests.entries()) {
      const want = inline.requests[i]!.actions;
      assert.deepEqual(
        req.actions.map((a) => [a.kind, a.offset, a.collection, a.id, jsonText(a.json), a.bytes]),
        want.map((a) => [a.kind, a.offset, a.collection, a.id, jsonText(a.json), a.bytes]),
      );
    }
    const [left, right] = splitRequest(mapped.requests[0]!)!;
    assert.equal(requestBodyBytes(left.actions).toString() + requestBodyBytes(right.actions).toString(), '{"data":[{"city":"Zürich","_id":"ü-1"},{"_id":"b","emoji":"😀"}]}{"data":[{"_id":"c"}]}');
    assert.deepEqual(requestsBefore(mapped.requests, '104').map((r) => r.actions.map((a) => a.offset)), [['100', '101', '103']]);
    assert.deepEqual(requestsBefore(mapped.requests, '107').map((r) => r.actions.map((a) => a.offset)), [['100', '101', '103'], ['104'], ['105']]);
  });

  test('a document whose size is not what its action says never goes out torn', () => {
    const wrong: Action[] = [{ kind: 'upsert', offset: '1', collection: 'c', id: 'x', json: '{"_id":"ü"}', bytes: 11 }];
    assert.throws(() => packBatch(wrong, planBatch(wrong, LIMITS)), /is 12 bytes, not the 11/);
  });
});

// deadLetterMessage: the message written to the dead-letter topic, with Kafka
// Connect's error headers so existing tooling can read it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deadLetterMessage, DLQ_HEADERS } from '../../sink/dlq.ts';
import type { DeadLetter } from '../../sink/pipeline.ts';
import type { SinkRecord } from '../../sink/record.ts';

function record(over: Partial<SinkRecord> = {}): SinkRecord {
  return {
    topic: 'orders',
    partition: 7,
    offset: '9223372036854775806',
    key: Buffer.from('user-1'),
    value: Buffer.from('{"a":'),
    timestamp: '1714564800123',
    headers: { 'trace-id': Buffer.from('abc'), source: 'web', multi: [Buffer.from('x'), 'y'], gone: undefined },
    ...over,
  };
}

describe('deadLetterMessage', () => {
  const stages: DeadLetter['stage'][] = ['decode', 'map', 'write'];
  for (const stage of stages) {
    test(`stage ${stage}: error headers, original headers, key, value and timestamp`, () => {
      const r = record();
      const m = deadLetterMessage({ record: r, stage, errorClass: 'DecodeError', message: 'the value is not valid JSON (Unexpected end)' }, 'orders-sink');
      assert.equal(m.key, r.key);
      assert.equal(m.value, r.value);
      assert.equal(m.timestamp, '1714564800123');
      assert.deepEqual(m.headers, {
        'trace-id': Buffer.from('abc'),
        source: 'web',
        multi: [Buffer.from('x'), 'y'],
        '__connect.errors.topic': 'orders',
        '__connect.errors.partition': '7',
        '__connect.errors.offset': '9223372036854775806',
        '__connect.errors.stage': stage,
        '__connect.errors.exception.class.name': 'DecodeError',
        '__connect.errors.exception.message': 'the value is not valid JSON (Unexpected end)',
        '__connect.errors.connector.name': 'orders-sink',
      });
      assert.equal('gone' in m.headers, false, 'undefined headers are dropped');
    });
  }

  test('header names are the Kafka Connect ones', () => {
    assert.deepEqual(Object.values(DLQ_HEADERS).sort(), [
      '__connect.errors.connector.name',
      '__connect.errors.exception.class.name',
      '__connect.errors.exception.message',
      '__connect.errors.offset',
      '__connect.errors.partition',
      '__connect.errors.stage',
      '__connect.errors.topic',
    ]);
  });

  test('a keyless, binary-valued record keeps its null key and exact bytes', () => {
    const value = Buffer.from([0, 0xff, 0xfe, 0x7b]);
    const m = deadLetterMessage({ record: record({ key: null, value, headers: {} }), stage: 'decode', errorClass: 'DecodeError', message: 'not UTF-8' }, 's');
    assert.equal(m.key, null);
    assert.deepEqual(m.value, value);
    assert.deepEqual(Object.keys(m.headers).filter((k) => !k.startsWith('__connect.errors.')), []);
  });

  test('a tombstone keeps its null value', () => {
    const m = deadLetterMessage({ record: record({ value: null }), stage: 'write', errorClass: 'RocksetError', message: 'rejected' }, 's');
    assert.equal(m.value, null);
  });

  test("the record's own __connect.errors.* headers are replaced by this failure's", () => {
    const r = record({ headers: { '__connect.errors.topic': 'older-topic', '__connect.errors.stage': 'older' } });
    const m = deadLetterMessage({ record: r, stage: 'map', errorClass: 'MappingError', message: 'm' }, 's');
    assert.equal(m.headers['__connect.errors.topic'], 'orders');
    assert.equal(m.headers['__connect.errors.stage'], 'map');
  });

  test('the original record headers are not modified', () => {
    const r = record();
    const before = { ...r.headers };
    deadLetterMessage({ record: r, stage: 'map', errorClass: 'MappingError', message: 'm' }, 's');
    assert.deepEqual(r.headers, before);
  });
});

describe('deadLetterMessage: headers as produced', () => {
  test('null values, repeated keys and the order between keys are kept, then the error headers follow', async () => {
    const { HEADER_LIST, headersOf } = await import('../../sink/kafka/headers.ts');
    const wire = [['a', Buffer.from('1')], ['n', null], ['b', Buffer.from('2')], ['a', null], ['__connect.errors.stage', Buffer.from('old')]] as const;
    const m = deadLetterMessage({ record: record({ headers: headersOf(wire) }), stage: 'map', errorClass: 'MapError', message: 'no id' }, 's');
    const list = (m.headers as unknown as Record<symbol, unknown>)[HEADER_LIST] as [string, unknown][];
    assert.deepEqual(list.slice(0, 4), wire.slice(0, 4));
    assert.deepEqual(list.slice(4).map(([k]) => k), Object.values(DLQ_HEADERS));
    assert.deepEqual(list.filter(([k]) => k === DLQ_HEADERS.stage), [[DLQ_HEADERS.stage, 'map']], 'an old error header is replaced, not repeated');
  });
});

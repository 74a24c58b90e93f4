import { test } from 'node:test';
import assert from 'node:assert/strict';
import { framedSchemaId } from '../../sink/decode/registry.ts';
import { canonicalKey } from '../../sink/decode/key.ts';
import { parseJsonExact } from '../../sink/decode/json.ts';

test('framedSchemaId reads the Confluent header and nothing else', () => {
  assert.equal(framedSchemaId(Buffer.from([0, 0, 0, 1, 2, 9])), 258);
  assert.equal(framedSchemaId(Buffer.from([0, 0, 0, 1])), undefined, 'too short');
  assert.equal(framedSchemaId(Buffer.from('{"a":1}')), undefined, 'plain JSON never starts with byte 0');
});

test('canonicalKey: the same key gives the same _id whatever the field order', () => {
  const cases: [unknown, string | undefined][] = [
    ['user-1', 'user-1'],
    [42, '42'],
    [true, 'true'],
    [null, undefined],
    [{ tenant: 't1', id: 1 }, '{"id":1,"tenant":"t1"}'],
    [{ id: 1, tenant: 't1' }, '{"id":1,"tenant":"t1"}'],
    [{ b: [{ z: 1, y: 2 }], a: null }, '{"a":null,"b":[{"y":2,"z":1}]}'],
    [parseJsonExact('{"id":9007199254740993}'), '{"id":9007199254740993}'],
    [parseJsonExact('9223372036854775807'), '9223372036854775807'],
  ];
  for (const [value, expected] of cases) assert.equal(canonicalKey(value), expected, JSON.stringify(value));
});

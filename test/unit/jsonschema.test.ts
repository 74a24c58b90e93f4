// compileJsonSchemaDecoder: Confluent JSON Schema payloads (UTF-8 JSON after the
// magic byte and schema id) into Rockset documents, integers beyond 2^53 exact.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileJsonSchemaDecoder, JsonSchemaDecodeError } from '../../sink/decode/jsonschema.ts';

const SCHEMA = JSON.stringify({
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { id: { type: 'integer' }, name: { type: 'string' }, nested: { type: 'object' } },
  required: ['id'],
  additionalProperties: false,
});

const decode = compileJsonSchemaDecoder(SCHEMA);

describe('documents', () => {
  const rows: { name: string; payload: string; expected: string }[] = [
    { name: 'a plain object', payload: '{"id":7,"name":"json"}', expected: '{"id":7,"name":"json"}' },
    {
      name: 'integers beyond 2^53 keep every digit, at any depth',
      payload: '{"id":9007199254740993,"nested":{"a":[1,{"min":-9223372036854775808,"max":18446744073709551615}]},"ok":9007199254740991}',
      expected: '{"id":9007199254740993,"nested":{"a":[1,{"min":-9223372036854775808,"max":18446744073709551615}]},"ok":9007199254740991}',
    },
    {
      name: 'nested objects, arrays, null, booleans, floats, unicode kept',
      payload: '{ "id": 1, "nested": { "deep": { "deeper": [null, true, false, 1.5e300, -0.25, "ü✓"] } } }',
      expected: '{"id":1,"nested":{"deep":{"deeper":[null,true,false,1.5e+300,-0.25,"ü✓"]}}}',
    },
    { name: 'a value that does not match the schema is still a document', payload: '{"id":"not-an-integer","extra":{"x":1}}', expected: '{"id":"not-an-integer","extra":{"x":1}}' },
    { name: 'a top-level array is decoded as is (not rejected here)', payload: '[1,2]', expected: '[1,2]' },
    { name: 'a leading byte-order mark is skipped', payload: '\uFEFF{"id":3}', expected: '{"id":3}' },
    { name: 'long digit runs in strings are not numbers', payload: '{"id":1,"s":"12345678901234567890"}', expected: '{"id":1,"s":"12345678901234567890"}' },
  ];
  for (const r of rows) {
    test(r.name, () => {
      assert.equal(JSON.stringify(decode(Buffer.from(r.payload, 'utf8'))), r.expected);
    });
  }

  test('big integers are JSON.rawJSON values, small ones numbers', () => {
    const doc = decode(Buffer.from('{"big":9007199254740993,"small":42}')) as Record<string, unknown>;
    assert.equal((JSON as unknown as { isRawJSON(v: unknown): boolean }).isRawJSON(doc.big), true);
    assert.equal(doc.small, 42);
  });

  test('boolean schemas compile', () => {
    assert.equal(JSON.stringify(compileJsonSchemaDecoder('true')(Buffer.from('{"a":1}'))), '{"a":1}');
  });
});

describe('bad records', () => {
  const cases: { name: string; payload: Buffer; message: RegExp }[] = [
    { name: 'truncated JSON', payload: Buffer.from('{"id":'), message: /^the JSON Schema payload is not valid JSON \(/ },
    { name: 'not JSON at all', payload: Buffer.from('id=7'), message: /not valid JSON/ },
    { name: 'empty payload', payload: Buffer.alloc(0), message: /not valid JSON/ },
    { name: 'trailing garbage', payload: Buffer.from('{"id":1} x'), message: /not valid JSON/ },
    { name: 'invalid UTF-8', payload: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), message: /^the JSON Schema payload is not valid UTF-8/ },
    { name: 'Protobuf message indexes left in front', payload: Buffer.from([0x00, 0x7b, 0x7d]), message: /not valid JSON/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(() => decode(c.payload), (err: Error) => {
        assert.ok(err instanceof JsonSchemaDecodeError, `${err.name}: ${err.message}`);
        assert.equal(err.name, 'JsonSchemaDecodeError');
        assert.match(err.message, c.message);
        return true;
      });
    });
  }

  test('a schema text that is not JSON does not compile', () => {
    assert.throws(() => compileJsonSchemaDecoder('{"type":'), /^JsonSchemaDecodeError: the JSON Schema is not JSON/);
    assert.throws(() => compileJsonSchemaDecoder('"string"'), /neither an object nor a boolean/);
  });
});

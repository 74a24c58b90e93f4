// Exact-number JSON: the fast-path scan must never miss an unsafe integer, and
// parse -> stringify must reproduce its digits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloneJson, isRawJSON, jsonEqual, mayHoldUnsafeInteger, parseExact, parseExactUtf8, rawJSON } from '../../emulator/json.ts';

test('unsafe integers round-trip with their exact digits; everything else is a plain parse', () => {
  const text = '{"a":9007199254740993,"b":-9223372036854775808,"c":[12345678901234567890123],"d":9007199254740991,"e":-9007199254740991,"f":1.25,"g":"12345678901234567890","h":1700000000123456}';
  const v = parseExact(text) as Record<string, unknown>;
  assert.equal(JSON.stringify(v), text);
  assert.ok(isRawJSON(v['a']));
  assert.equal(typeof v['d'], 'number', 'safe integers stay numbers');
  assert.equal(typeof v['g'], 'string');
  assert.equal(v['h'], 1700000000123456);
  assert.equal(JSON.stringify(parseExactUtf8(Buffer.from(text))), text);
});

test('floats with many digits stay floats (only integer sources become raw)', () => {
  const v = parseExact('[0.12345678901234567890, 12345678901234567890.5, 1e400]') as unknown[];
  assert.equal(typeof v[0], 'number');
  assert.equal(typeof v[1], 'number');
});

test('the scan finds a 17+ digit run or a 16-digit run above 2^53-1 at every alignment, and skips timestamps', () => {
  for (let pad = 0; pad < 40; pad++) {
    const p = 'é'.repeat(pad % 7) + ' '.repeat(pad);
    assert.equal(mayHoldUnsafeInteger(Buffer.from(`${p}9007199254740992,`)), true, `pad ${pad}`);
    assert.equal(mayHoldUnsafeInteger(Buffer.from(`${p}-9007199254740993`)), true);
    assert.equal(mayHoldUnsafeInteger(Buffer.from(`${p}10000000000000000`)), true);
    assert.equal(mayHoldUnsafeInteger(Buffer.from(`${p}9007199254740991,`)), false);
    assert.equal(mayHoldUnsafeInteger(Buffer.from(`${p}1700000000123456,1700000000123457`)), false);
    assert.equal(mayHoldUnsafeInteger(Buffer.from(`${p}123456789012345`)), false);
  }
});

test('cloneJson shares raw values and copies containers; jsonEqual compares raw and plain numbers', () => {
  const raw = rawJSON('9007199254740993');
  const src = { a: [1, { b: raw }] };
  const copy = cloneJson(src);
  assert.notEqual(copy.a, src.a);
  assert.equal((copy.a[1] as { b: unknown }).b, raw);
  assert.ok(jsonEqual({ x: 1, y: [2, 3] }, { y: [2, 3], x: 1 }));
  assert.ok(jsonEqual(rawJSON('9007199254740993'), rawJSON('9007199254740993')));
  assert.ok(!jsonEqual(rawJSON('9007199254740993'), 9007199254740992));
  assert.ok(jsonEqual(rawJSON('18446744073709551615'), parseExact('18446744073709551615')));
  assert.ok(!jsonEqual([1], { 0: 1 }));
  assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: 2 }));
});

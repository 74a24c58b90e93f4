// backoffMs / parseRetryAfter: how long the sink waits before retrying a write.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffMs, parseRetryAfter } from '../../sink/backoff.ts';
import type { SinkConfig } from '../../sink/config/schema.ts';

const policy: SinkConfig['retry'] = { initialBackoffMs: 100, maxBackoffMs: 1000, multiplier: 2, maxRetries: -1 };
const top = () => 1;
const bottom = () => 0;

describe('backoffMs', () => {
  const cases: { attempt: number; ceiling: number }[] = [
    { attempt: 0, ceiling: 100 },
    { attempt: 1, ceiling: 200 },
    { attempt: 2, ceiling: 400 },
    { attempt: 3, ceiling: 800 },
    { attempt: 4, ceiling: 1000 },
    { attempt: 5, ceiling: 1000 },
    { attempt: 100, ceiling: 1000 },
    { attempt: 10_000, ceiling: 1000 },
  ];
  for (const c of cases) {
    test(`attempt ${c.attempt}: jitter spans [${c.ceiling / 2}, ${c.ceiling}]`, () => {
      assert.equal(backoffMs(c.attempt, policy, top), c.ceiling);
      assert.equal(backoffMs(c.attempt, policy, bottom), c.ceiling / 2);
      assert.equal(backoffMs(c.attempt, policy, () => 0.5), (c.ceiling * 3) / 4);
    });
  }

  test('a negative attempt counts as the first', () => {
    assert.equal(backoffMs(-3, policy, top), 100);
  });

  test('a fractional multiplier grows and rounds to whole milliseconds', () => {
    const p = { ...policy, initialBackoffMs: 100, multiplier: 1.5, maxBackoffMs: 10_000 };
    assert.equal(backoffMs(1, p, top), 150);
    assert.equal(backoffMs(2, p, top), 225);
    assert.equal(backoffMs(2, p, bottom), 113); // 112.5 rounded
  });

  test('multiplier 1 keeps a constant ceiling', () => {
    const p = { ...policy, multiplier: 1 };
    assert.deepEqual([0, 1, 7].map((a) => backoffMs(a, p, top)), [100, 100, 100]);
  });

  test('with the default random source the value stays within [ceiling/2, ceiling]', () => {
    for (let i = 0; i < 200; i++) {
      const v = backoffMs(2, policy);
      assert.ok(v >= 200 && v <= 400, String(v));
    }
  });

  test('Retry-After wins when it is longer than the backoff', () => {
    assert.equal(backoffMs(3, policy, bottom, 401), 401);
    assert.equal(backoffMs(0, policy, top, 1000), 1000);
  });

  test('Retry-After is honoured up to maxBackoffMs, never longer', () => {
    assert.equal(backoffMs(0, policy, top, 5000), 1000);
    assert.equal(backoffMs(0, policy, bottom, 5000), 1000);
  });

  test('a Retry-After beyond what a timer can hold still waits maxBackoffMs (Node would fire such a timer at once)', () => {
    // 2^31 ms and more make setTimeout fire after 1 ms: a retry storm
    for (const huge of [2 ** 31, 2 ** 31 * 1000, Number.MAX_SAFE_INTEGER, Infinity]) {
      assert.equal(backoffMs(0, policy, bottom, huge), 1000, String(huge));
    }
    const widest = { ...policy, maxBackoffMs: 600_000 };
    assert.equal(backoffMs(0, widest, bottom, parseRetryAfter('99999999999')), 600_000);
  });

  test('a shorter Retry-After does not shorten the backoff', () => {
    assert.equal(backoffMs(3, policy, bottom, 10), 400);
    assert.equal(backoffMs(3, policy, top, 0), 800);
    assert.equal(backoffMs(3, policy, top, undefined), 800);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  const cases: { name: string; value: string | string[] | undefined; want: number | undefined }[] = [
    { name: 'seconds', value: '5', want: 5000 },
    { name: 'zero seconds', value: '0', want: 0 },
    { name: 'seconds with spaces', value: ' 7 ', want: 7000 },
    { name: 'first of repeated headers', value: ['3', '9'], want: 3000 },
    { name: 'HTTP date in the future', value: 'Wed, 01 May 2024 12:00:30 GMT', want: 30_000 },
    { name: 'HTTP date in the past', value: 'Wed, 01 May 2024 11:59:00 GMT', want: 0 },
    { name: 'absent', value: undefined, want: undefined },
    { name: 'empty', value: '', want: undefined },
    { name: 'blank', value: '   ', want: undefined },
    { name: 'empty header list', value: [], want: undefined },
    { name: 'garbage word', value: 'soon', want: undefined },
    { name: 'garbage letters', value: 'abc', want: undefined },
  ];
  for (const c of cases) {
    test(`${c.name}: ${JSON.stringify(c.value)} -> ${c.want}`, () => assert.equal(parseRetryAfter(c.value, now), c.want));
  }

  test('uses the clock when no now is given', () => {
    const v = parseRetryAfter(new Date(Date.now() + 60_000).toUTCString());
    assert.ok(v !== undefined && v > 55_000 && v <= 60_000, String(v));
  });

  test('non-integer or negative seconds are unreadable', () => {
    for (const v of ['1.5', '-1', 'in 5', 'x 1']) assert.equal(parseRetryAfter(v, now), undefined, JSON.stringify(v));
    assert.equal(parseRetryAfter('-1', 0), undefined);
  });
});

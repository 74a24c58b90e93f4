// The work queue's guarantees (operator/queue.ts), which the controller relies on for
// correctness: dedup, one pass per key at a time, a key added during its pass runs
// again afterwards, per-key exponential backoff reset by forget(), earliest schedule
// wins, and shutDown releases waiting workers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkQueue } from '../../operator/queue.ts';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  test('a key added many times waits once; order is first-added first', async () => {
    const q = new WorkQueue();
    for (const k of ['a', 'b', 'a', 'c', 'b', 'a']) q.add(k);
    assert.equal(q.length, 3);
    assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c']);
    assert.equal(q.length, 0);
  });

  test('a key being processed is not handed out again; an add during its pass re-queues it once after done()', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    assert.equal(first, 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.length, 0, 'not queued while in progress');
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await tick();
    assert.equal(second, undefined, 'a second worker does not get the key in progress');
    q.done('a');
    await tick();
    assert.equal(second, 'a', 'handed out again after done()');
    q.done('a');
    assert.equal(q.length, 0);
  });

  test('a waiting worker gets a new key at once', async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add('x');
    assert.equal(await got, 'x');
  });

  test('addRateLimited backs off exponentially per key, capped; forget() starts over', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    const delays = Array.from({ length: 6 }, () => q.addRateLimited('a'));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
    assert.equal(q.addRateLimited('b'), 100, 'per key');
    q.forget('a');
    assert.equal(q.failures('a'), 0);
    assert.equal(q.addRateLimited('a'), 100);
    q.shutDown();
  });

  test('addAfter: the key arrives after the delay; the earlier of two schedules wins', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 300);
    q.addAfter('a', 20);
    q.addAfter('a', 500);
    const t0 = Date.now();
    assert.equal(await q.get(), 'a');
    const took = Date.now() - t0;
    assert.ok(took >= 15 && took < 250, `arrived after ${took} ms`);
    q.done('a');
    await tick(350);
    assert.equal(q.length, 0, 'the later schedules were dropped');
    q.shutDown();
  });

  test('shutDown: waiting workers get undefined, adds are ignored', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);
    q.add('a');
    assert.equal(await q.get(), undefined);
  });
});

// Fault injection and rate limiting as a client sees them over real HTTP:
// statuses, bodies, headers, dropped connections, stalls, and whether the
// write was applied behind the client's back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Emulator } from '../../emulator/server.ts';
import { assertErrorModel, assertJsonHeaders, call, COLL, emulator, post, waitUntil, WS } from './helpers.ts';

/** A socket-level failure, as undici reports a connection closed without an answer. */
function isSocketError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}

const isTimeout = (err: unknown) => (err as Error).name === 'TimeoutError';

const ids = async (emu: Emulator) => (await emu.admin.docs(WS, COLL)).map((d) => d._id);

test('latency: every write is delayed by latencyMs (set at start)', async (t) => {
  const emu = await emulator(t, { faults: { latencyMs: 100 } });
  const t0 = performance.now();
  const r = await post(emu, [{ _id: 'a' }]);
  const elapsed = performance.now() - t0;
  assert.equal(r.status, 200);
  assert.ok(elapsed >= 95, `took ${elapsed} ms`);
  assert.equal((await emu.admin.stats()).faults.latency, 1);
});

test('latency with jitter is at least latencyMs (set at run time)', async (t) => {
  const emu = await emulator(t, { seed: 7 });
  await emu.admin.setFaults({ latencyMs: 40, jitterMs: 60 });
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await post(emu, [{}]);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 38 && elapsed < 2000, `took ${elapsed} ms`);
  }
});

test('admin routes are not delayed by injected latency', async (t) => {
  const emu = await emulator(t, { faults: { latencyMs: 5000 } });
  const t0 = performance.now();
  await emu.admin.count(WS, COLL);
  await emu.admin.stats();
  assert.ok(performance.now() - t0 < 2000);
});

test('injected 429: RESOURCEEXCEEDED with Retry-After (default 1 s, configurable, or none); nothing applied', async (t) => {
  const emu = await emulator(t);
  await emu.admin.script({ fault: '429' }, { fault: '429', retryAfterSeconds: 7 }, { fault: '429', retryAfterSeconds: null });
  const a = await post(emu, [{ _id: 'a' }]);
  assert.equal(a.status, 429);
  assertJsonHeaders(a);
  assertErrorModel(a.json, 'RESOURCEEXCEEDED');
  assert.equal(a.headers['retry-after'], '1');
  const b = await post(emu, [{ _id: 'a' }]);
  assert.equal(b.headers['retry-after'], '7');
  const c = await post(emu, [{ _id: 'a' }]);
  assert.equal(c.status, 429);
  assert.equal(c.headers['retry-after'], undefined);
  assert.deepEqual(await ids(emu), []);
  assert.equal((await post(emu, [{ _id: 'a' }])).status, 200);
  assert.deepEqual(await ids(emu), ['a']);
});

test('injected 500 INTERNALERROR, 503 NOT_READY (ErrorModel) and 502 (non-JSON gateway page); nothing applied', async (t) => {
  const emu = await emulator(t);
  await emu.admin.script({ fault: '500' }, { fault: '502' }, { fault: '503' });
  const e500 = await post(emu, [{ _id: 'a' }]);
  assert.equal(e500.status, 500);
  assertJsonHeaders(e500);
  assertErrorModel(e500.json, 'INTERNALERROR');
  const e502 = await post(emu, [{ _id: 'a' }]);
  assert.equal(e502.status, 502);
  assert.equal(e502.headers['content-type'], 'text/html');
  assert.equal(e502.json, undefined, 'a 502 body is not JSON');
  assert.match(e502.text, /502 Bad Gateway/);
  const e503 = await post(emu, [{ _id: 'a' }]);
  assert.equal(e503.status, 503);
  assertJsonHeaders(e503);
  assertErrorModel(e503.json, 'NOT_READY');
  assert.deepEqual(await ids(emu), []);
  const stats = await emu.admin.stats();
  assert.equal(stats.faults['500'], 1);
  assert.equal(stats.faults['502'], 1);
  assert.equal(stats.faults['503'], 1);
  assert.deepEqual(stats.requests.byStatus, { '500': 1, '502': 1, '503': 1 });
});

test('drop-before: the connection dies without an answer and the write is NOT applied', async (t) => {
  const emu = await emulator(t);
  await emu.admin.script({ fault: 'drop-before' });
  await assert.rejects(post(emu, [{ _id: 'a' }]), isSocketError);
  assert.deepEqual(await ids(emu), []);
  const [entry] = await emu.admin.requests();
  assert.equal(entry?.fault, 'drop-before');
  assert.equal(entry?.applied, false);
  assert.equal(entry?.status, null);
  assert.deepEqual(entry?.ids, ['a'], 'the log still names what the lost request carried');
  // The next request (new connection) goes through.
  assert.equal((await post(emu, [{ _id: 'a' }])).status, 200);
});

test('drop-after: the write IS applied but the client only sees a socket error (retry makes a duplicate write)', async (t) => {
  const emu = await emulator(t);
  await emu.admin.script({ fault: 'drop-after' });
  await assert.rejects(post(emu, [{ v: 1 }]), isSocketError);
  const stored = await emu.admin.docs(WS, COLL);
  assert.equal(stored.length, 1, 'applied although the client saw a failure');
  // A retry of a document without _id duplicates it, exactly what the sink must avoid.
  assert.equal((await post(emu, [{ v: 1 }])).status, 200);
  assert.equal(await emu.admin.count(WS, COLL), 2);
  const log = await emu.admin.requests();
  assert.deepEqual(
    log.map((e) => [e.fault, e.applied, e.status]),
    [
      ['drop-after', true, null],
      [null, true, 200],
    ],
  );
});

test('stall without apply: held open past the client timeout, then dropped unapplied', async (t) => {
  const emu = await emulator(t, { faults: { stallMs: 200, stallApply: false } });
  await emu.admin.updateFaults({ script: [{ fault: 'stall' }] });
  await assert.rejects(post(emu, [{ _id: 'a' }], { timeoutMs: 60 }), isTimeout);
  await new Promise((r) => setTimeout(r, 220)); // past the end of the stall
  assert.deepEqual(await ids(emu), []);
  const [entry] = await emu.admin.requests();
  assert.deepEqual([entry?.fault, entry?.applied, entry?.status], ['stall', false, null]);
});

test('stall with apply: the write lands after the stall even though the client timed out', async (t) => {
  const emu = await emulator(t);
  await emu.admin.script({ fault: 'stall', stallMs: 300, stallApply: true });
  await assert.rejects(post(emu, [{ _id: 'late' }], { timeoutMs: 50 }), isTimeout);
  assert.deepEqual(await ids(emu), [], 'not applied yet while stalled');
  await waitUntil('the stalled write to land', async () => (await emu.admin.count(WS, COLL)) === 1);
  const [entry] = await emu.admin.requests();
  assert.deepEqual([entry?.fault, entry?.applied], ['stall', true]);
});

test('stall with apply and a patient client: a slow 200', async (t) => {
  const emu = await emulator(t);
  await emu.admin.script({ fault: 'stall', stallMs: 120, stallApply: true });
  const t0 = performance.now();
  const r = await post(emu, [{ _id: 'a' }]);
  assert.equal(r.status, 200);
  assert.ok(performance.now() - t0 >= 115);
});

test('closing the emulator while a request is stalled does not hang', async () => {
  const { startEmulator } = await import('../../emulator/server.ts');
  const emu = await startEmulator({ apiKey: 'k', collections: ['a.b'], faults: { script: [{ fault: 'stall', stallMs: 60_000 }] } });
  const pending = call(emu, { ws: 'a', coll: 'b', auth: 'ApiKey k', body: { data: [{}] } }).catch((err: unknown) => err);
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await emu.close();
  assert.ok(performance.now() - t0 < 1000);
  assert.ok(isSocketError(await pending));
});

test('script: steps are consumed in order, `times` repeats a step, `none` lets one through, then no faults', async (t) => {
  const emu = await emulator(t);
  await emu.admin.script({ fault: '503', times: 2 }, { fault: 'none' }, { fault: '500' });
  const left = await emu.admin.faults();
  assert.deepEqual(
    left.script.map((s) => [s.fault, s.times]),
    [
      ['503', 2],
      ['none', 1],
      ['500', 1],
    ],
  );
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await post(emu, [{ i }])).status);
  assert.deepEqual(statuses, [503, 503, 200, 500, 200]);
  assert.deepEqual((await emu.admin.faults()).script, []);
});

test('script runs before probabilistic faults; requests refused by auth do not consume steps', async (t) => {
  const emu = await emulator(t, { faults: { probabilities: { '500': 1 } } });
  await emu.admin.updateFaults({ script: [{ fault: 'none' }] });
  assert.equal((await post(emu, [{}], { auth: 'ApiKey wrong' })).status, 401);
  assert.equal((await post(emu, [{}])).status, 200);
  assert.equal((await post(emu, [{}])).status, 500);
});

test('probabilistic faults are reproducible with a seed, also across /_emulator/reset', async (t) => {
  const opts = { seed: 12345, faults: { probabilities: { '503': 0.3, '429': 0.2 } } };
  const run = async (emu: Emulator) => {
    const out: number[] = [];
    for (let i = 0; i < 30; i++) out.push((await post(emu, [{}])).status);
    return out;
  };
  const a = await emulator(t, opts);
  const first = await run(a);
  await a.admin.reset();
  const again = await run(a);
  const b = await emulator(t, opts);
  const other = await run(b);
  assert.deepEqual(again, first);
  assert.deepEqual(other, first);
  assert.ok(first.includes(200) && first.includes(503) && first.includes(429), `mixed outcomes expected: ${first}`);
  const c = await emulator(t, { ...opts, seed: 999 });
  assert.notDeepEqual(await run(c), first);
  assert.equal((await a.admin.faults()).seed, 12345);
});

test('probability 1 of drop-before loses every write', async (t) => {
  const emu = await emulator(t, { faults: { probabilities: { 'drop-before': 1 } } });
  for (let i = 0; i < 3; i++) await assert.rejects(post(emu, [{ i }]), isSocketError);
  assert.equal(await emu.admin.count(WS, COLL), 0);
  assert.equal((await emu.admin.stats()).faults['drop-before'], 3);
});

test('faults can be set, merged and cleared at run time; invalid configurations are refused with 400', async (t) => {
  const emu = await emulator(t);
  await emu.admin.setFaults({ probabilities: { '503': 1 } });
  assert.equal((await post(emu, [{}])).status, 503);
  await emu.admin.updateFaults({ latencyMs: 5 });
  const merged = await emu.admin.faults();
  assert.equal(merged.probabilities['503'], 1);
  assert.equal(merged.latencyMs, 5);
  await emu.admin.setFaults({});
  assert.equal((await post(emu, [{}])).status, 200);
  for (const bad of [
    { probabilities: { '503': 1.5 } },
    { probabilities: { '503': 0.6, '500': 0.6 } },
    { probabilities: { '504': 0.1 } },
    { latencyMs: -1 },
    { script: [{ fault: 'explode' }] },
    { script: [{ fault: '503', times: 0 }] },
    { unknown: true },
  ]) {
    const res = await fetch(`${emu.url}/_emulator/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bad) });
    assert.equal(res.status, 400, JSON.stringify(bad));
    assertErrorModel(await res.json(), 'INVALIDINPUT');
  }
});

test('rate limit: past the token bucket a 429 RESOURCEEXCEEDED without Retry-After, like Rockset; refills over time', async (t) => {
  const emu = await emulator(t, { rateLimit: 10, rateBurst: 2 });
  const statuses: number[] = [];
  let limited: Awaited<ReturnType<typeof post>> | undefined;
  for (let i = 0; i < 4; i++) {
    const r = await post(emu, [{ i }]);
    statuses.push(r.status);
    if (r.status === 429) limited = r;
  }
  assert.deepEqual(statuses.slice(0, 2), [200, 200]);
  assert.ok(limited, `expected a 429 in ${statuses}`);
  assertJsonHeaders(limited);
  assertErrorModel(limited.json, 'RESOURCEEXCEEDED');
  assert.match(limited.json.message, /maximum write rate limit of 10 requests per second/);
  assert.equal(limited.headers['retry-after'], undefined);
  assert.ok((await emu.admin.stats()).rateLimited >= 1);
  await new Promise((r) => setTimeout(r, 120));
  assert.equal((await post(emu, [{}])).status, 200);
});

test('rate limit with retryAfterSeconds sends Retry-After', async (t) => {
  const emu = await emulator(t, { rateLimit: 1, rateBurst: 1, retryAfterSeconds: 3 });
  assert.equal((await post(emu, [{}])).status, 200);
  const r = await post(emu, [{}]);
  assert.equal(r.status, 429);
  assert.equal(r.headers['retry-after'], '3');
  assert.equal(await emu.admin.count(WS, COLL), 1);
});

test('injected malformed-200: a 200 whose data entries are not results; nothing applied', async (t) => {
  const emu = await emulator(t);
  await emu.admin.script({ fault: 'malformed-200' });
  const r = await post(emu, [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }, { _id: 'd' }, { _id: 'e' }]);
  assert.equal(r.status, 200);
  assertJsonHeaders(r);
  assert.deepEqual(r.json, { data: [null, 0, 'ADDED', [], null] });
  assert.deepEqual(await ids(emu), []);
  assert.equal((await emu.admin.stats()).faults['malformed-200'], 1);
});

test('injected oversized-200: the write is applied and the 200 carries its results padded to oversizedBytes', async (t) => {
  const emu = await emulator(t);
  await emu.admin.setFaults({ oversizedBytes: 3 * 1024 * 1024 + 5, script: [{ fault: 'oversized-200' }] });
  const r = await post(emu, [{ _id: 'a' }]);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], String(3 * 1024 * 1024 + 5));
  assert.equal(Buffer.byteLength(r.text), 3 * 1024 * 1024 + 5);
  const json = r.json as { data: { _id: string; status: string }[]; padding: string };
  assert.deepEqual(json.data.map((d) => [d._id, d.status]), [['a', 'ADDED']]);
  assert.match(json.padding, /^x+$/);
  assert.deepEqual(await ids(emu), ['a']);
  assert.equal((await emu.admin.stats()).faults['oversized-200'], 1);
});

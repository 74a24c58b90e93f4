// The /_emulator admin routes (through the typed client and raw HTTP): reading
// documents, collections, reset, stats, the write request log, store modes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmulatorAdmin, EmulatorAdminError } from '../../emulator/client.ts';
import { assertErrorModel, call, COLL, emulator, KEY, post, rawGet, WS } from './helpers.ts';

test('health, collections list, create (201 then 200), drop (404 when missing)', async (t) => {
  const emu = await emulator(t);
  assert.deepEqual(JSON.parse((await rawGet(emu, '/_emulator/health')).text), { ok: true });
  assert.equal(await emu.admin.createCollection('ws2', 'c2'), true);
  assert.equal(await emu.admin.createCollection('ws2', 'c2'), false);
  const created = await fetch(`${emu.url}/_emulator/collections/ws3/c3`, { method: 'PUT' });
  assert.equal(created.status, 201);
  assert.deepEqual(await created.json(), { workspace: 'ws3', collection: 'c3', created: true });
  await post(emu, [{ _id: 'a' }]);
  assert.deepEqual(await emu.admin.collections(), [
    { workspace: WS, collection: COLL, count: 1 },
    { workspace: 'ws2', collection: 'c2', count: 0 },
    { workspace: 'ws3', collection: 'c3', count: 0 },
  ]);
  await emu.admin.dropCollection('ws2', 'c2');
  await assert.rejects(emu.admin.dropCollection('ws2', 'c2'), (err: unknown) => err instanceof EmulatorAdminError && err.status === 404);
  assert.equal((await emu.admin.collections()).length, 2);
});

test('docs (in insertion order, paged), count and get by _id (URL-encoded ids)', async (t) => {
  const emu = await emulator(t);
  await post(emu, [
    { _id: 'b', n: 1 },
    { _id: 'a/slash ?&#', n: 2 },
    { _id: 'c', n: 3 },
  ]);
  await post(emu, [{ _id: 'b', n: 4 }]);
  assert.deepEqual(
    (await emu.admin.docs(WS, COLL)).map((d) => [d._id, d['n']]),
    [
      ['b', 4],
      ['a/slash ?&#', 2],
      ['c', 3],
    ],
  );
  assert.deepEqual(
    (await emu.admin.docs(WS, COLL, { offset: 1, limit: 1 })).map((d) => d._id),
    ['a/slash ?&#'],
  );
  const page = JSON.parse((await rawGet(emu, `/_emulator/collections/${WS}/${COLL}/docs?limit=1`)).text);
  assert.equal(page.count, 3, 'count is the total, not the page size');
  assert.equal(await emu.admin.count(WS, COLL), 3);
  assert.deepEqual(await emu.admin.doc(WS, COLL, 'a/slash ?&#'), { _id: 'a/slash ?&#', n: 2 });
  assert.equal(await emu.admin.doc(WS, COLL, 'zzz'), undefined);
  const missing = await rawGet(emu, `/_emulator/collections/${WS}/nope/count`);
  assert.equal(missing.status, 404);
  assertErrorModel(JSON.parse(missing.text), 'NOTFOUND', 'COLLECTION_DOES_NOT_EXIST');
  await assert.rejects(emu.admin.doc(WS, 'nope', 'a'), EmulatorAdminError);
});

test('admin routes need no API key; unknown admin routes and wrong methods are refused', async (t) => {
  const emu = await emulator(t);
  assert.equal((await rawGet(emu, '/_emulator/stats')).status, 200);
  assert.equal((await rawGet(emu, '/_emulator/nothing-here')).status, 404);
  assert.equal((await rawGet(emu, `/_emulator/collections/${WS}/${COLL}/what`)).status, 404);
  const wrong = await fetch(`${emu.url}/_emulator/stats`, { method: 'DELETE' });
  assert.equal(wrong.status, 405);
  assertErrorModel(await wrong.json(), 'METHODNOTALLOWED');
  const badJson = await fetch(`${emu.url}/_emulator/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{' });
  assert.equal(badJson.status, 400);
  await badJson.body?.cancel();
});

test('reset of one collection empties only it; full reset empties all and clears stats, log and faults', async (t) => {
  const emu = await emulator(t, { collections: [`${WS}.${COLL}`, `${WS}.other`], faults: { latencyMs: 1 } });
  await post(emu, [{ _id: 'a' }]);
  await post(emu, [{ _id: 'b' }], { coll: 'other' });
  await emu.admin.reset(WS, COLL);
  assert.equal(await emu.admin.count(WS, COLL), 0);
  assert.equal(await emu.admin.count(WS, 'other'), 1);

  await emu.admin.updateFaults({ probabilities: { '503': 1 } });
  assert.equal((await post(emu, [{}])).status, 503);
  await emu.admin.reset();
  assert.equal(await emu.admin.count(WS, 'other'), 0);
  assert.equal((await emu.admin.collections()).length, 2, 'collections survive a reset');
  const stats = await emu.admin.stats();
  assert.equal(stats.requests.total, 0);
  assert.deepEqual(await emu.admin.requests(), []);
  const faults = await emu.admin.faults();
  assert.equal(faults.probabilities['503'], 0, 'run-time faults are gone');
  assert.equal(faults.latencyMs, 1, 'start-up faults are back');
  const after = await post(emu, [{ _id: 'x' }]);
  assert.equal(after.status, 200);
  assert.equal(after.json.last_offset, 'f1:0:1:0:---0');
});

test('stats count requests by status and method, documents by status, faults by kind', async (t) => {
  const emu = await emulator(t);
  await post(emu, [{ _id: 'a' }, { _id: 'b' }, 5]);
  await post(emu, [{ _id: 'a' }]);
  await call(emu, { method: 'DELETE', body: { data: [{ _id: 'b' }] } });
  await call(emu, { method: 'PATCH', body: { data: [{ _id: 'a', patch: [{ op: 'add', path: '/x', value: 1 }] }] } });
  await post(emu, [{}], { auth: null });
  await post(emu, [{}], { coll: 'missing' });
  await emu.admin.script({ fault: '503' });
  await post(emu, [{}]);
  const stats = await emu.admin.stats();
  assert.deepEqual(stats.requests, {
    total: 7,
    byStatus: { '200': 4, '401': 1, '404': 1, '503': 1 },
    byMethod: { POST: 5, DELETE: 1, PATCH: 1 },
  });
  assert.deepEqual(stats.documents, { ADDED: 2, REPLACED: 1, DELETED: 1, PATCHED: 1, ERROR: 1 });
  assert.equal(stats.faults['503'], 1);
  assert.equal(stats.rateLimited, 0);
});

test('request log: method, collection, documents, _ids in order, status, applied, fault', async (t) => {
  const emu = await emulator(t, { collections: [`${WS}.${COLL}`, `${WS}.other`] });
  const r = await post(emu, [{ _id: 'first' }, { v: 1 }, { _id: 9 }]);
  const generated = r.json.data[1]._id;
  await call(emu, { method: 'DELETE', body: { data: [{ _id: 'first' }] } });
  await post(emu, [{ _id: 'o1' }, { _id: 'o2' }], { coll: 'other' });
  await post(emu, [{ _id: 'nf' }], { coll: 'missing' });
  await post(emu, [{ _id: 'x' }], { auth: `ApiKey not-${KEY}` });
  const log = await emu.admin.requests();
  assert.deepEqual(
    log.map(({ seq, method, workspace, collection, documents, ids, status, applied, fault }) => ({ seq, method, workspace, collection, documents, ids, status, applied, fault })),
    [
      { seq: 1, method: 'POST', workspace: WS, collection: COLL, documents: 3, ids: ['first', generated, null], status: 200, applied: true, fault: null },
      { seq: 2, method: 'DELETE', workspace: WS, collection: COLL, documents: 1, ids: ['first'], status: 200, applied: true, fault: null },
      { seq: 3, method: 'POST', workspace: WS, collection: 'other', documents: 2, ids: ['o1', 'o2'], status: 200, applied: true, fault: null },
      { seq: 4, method: 'POST', workspace: WS, collection: 'missing', documents: 1, ids: ['nf'], status: 404, applied: false, fault: null },
      { seq: 5, method: 'POST', workspace: WS, collection: COLL, documents: null, ids: [], status: 401, applied: false, fault: null },
    ],
  );
  assert.ok(log.every((e) => !Number.isNaN(Date.parse(e.time))));
  for (const e of log) {
    if (e.applied) assert.ok(Date.parse(e.appliedAt!) >= Date.parse(e.time), `appliedAt ${e.appliedAt} is not before arrival ${e.time}`);
    else assert.equal(e.appliedAt, null);
  }
  assert.deepEqual(
    (await emu.admin.requests({ since: 3 })).map((e) => e.seq),
    [4, 5],
  );
  assert.deepEqual(
    (await emu.admin.requests({ workspace: WS, collection: 'other' })).map((e) => e.seq),
    [3],
  );
});

test('request log is a bounded ring buffer keeping the newest entries', async (t) => {
  const emu = await emulator(t, { requestLogSize: 3 });
  for (let i = 0; i < 5; i++) await post(emu, [{ _id: `d${i}` }]);
  const log = await emu.admin.requests();
  assert.deepEqual(
    log.map((e) => [e.seq, e.ids[0]]),
    [
      [3, 'd2'],
      [4, 'd3'],
      [5, 'd4'],
    ],
  );
});

test('storeMode "ids" keeps only _ids: statuses stay exact, reads return {_id}', async (t) => {
  const emu = await emulator(t, { storeMode: 'ids' });
  const first = await post(emu, [{ _id: 'a', big: 'x'.repeat(100) }, { v: 1 }]);
  assert.deepEqual(
    first.json.data.map((d: any) => d.status),
    ['ADDED', 'ADDED'],
  );
  const second = await post(emu, [{ _id: 'a', v: 2 }]);
  assert.equal(second.json.data[0].status, 'REPLACED');
  assert.equal(await emu.admin.count(WS, COLL), 2);
  assert.deepEqual(await emu.admin.doc(WS, COLL, 'a'), { _id: 'a' });
  const patched = await call(emu, { method: 'PATCH', body: { data: [{ _id: 'a', patch: [{ op: 'add', path: '/x', value: 1 }] }, { _id: 'a', patch: [{ op: 'nope', path: '/x' }] }] } });
  assert.deepEqual(
    patched.json.data.map((d: any) => d.status),
    ['PATCHED', 'ERROR'],
  );
  await call(emu, { method: 'DELETE', body: { data: [{ _id: 'a' }] } });
  assert.equal(await emu.admin.count(WS, COLL), 1);
});

test('EmulatorAdmin works against a base URL with a trailing slash', async (t) => {
  const emu = await emulator(t);
  const admin = new EmulatorAdmin(`${emu.url}/`);
  await post(emu, [{ _id: 'a' }]);
  assert.equal(await admin.count(WS, COLL), 1);
});

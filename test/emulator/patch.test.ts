// PATCH over real HTTP: RFC 6902-style operations on RFC 6901 paths, Rockset's
// INCREMENT, case-insensitive op names, PATCHED with a UUID patch_id, and
// all-or-nothing per document.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Emulator } from '../../emulator/server.ts';
import { assertErrorModel, assertJsonHeaders, call, COLL, emulator, post, UUID, WS } from './helpers.ts';

const patch = (emu: Emulator, data: unknown[]) => call(emu, { method: 'PATCH', body: { data } });

const BASE = {
  _id: 'p',
  name: 'x',
  count: 1,
  big: 9007199254740990,
  list: [1, 2, 3],
  nested: { a: { b: 1 }, 'sl/ash': 1, 'til~de': 2 },
  flag: false,
};

test('PATCH applies add/replace/remove/copy/move/test/increment and answers PATCHED with a UUID patch_id', async (t) => {
  const emu = await emulator(t);
  await post(emu, [BASE]);
  const r = await patch(emu, [
    {
      _id: 'p',
      patch: [
        { op: 'replace', path: '/flag', value: true, from: null },
        { op: 'ADD', path: '/added', value: { deep: [1] } },
        { op: 'add', path: '/list/1', value: 99 },
        { op: 'add', path: '/list/-', value: 4 },
        { op: 'Remove', path: '/name' },
        { op: 'copy', from: '/nested/a', path: '/copied' },
        { op: 'move', from: '/nested/sl~1ash', path: '/moved' },
        { op: 'test', path: '/nested/til~0de', value: 2 },
        { op: 'increment', path: '/count', value: 41 },
        { op: 'INCREMENT', path: '/big', value: 5 },
      ],
    },
  ]);
  assert.equal(r.status, 200);
  assertJsonHeaders(r);
  assert.equal(r.json.data.length, 1);
  const d = r.json.data[0];
  assert.deepEqual(Object.keys(d), ['_collection', 'error', '_id', 'status', 'patch_id']);
  assert.equal(d._collection, COLL);
  assert.equal(d.error, null);
  assert.equal(d._id, 'p');
  assert.equal(d.status, 'PATCHED');
  assert.match(d.patch_id, UUID);
  assert.match(r.json.last_offset, /^f1:0:2:0:---0$/);

  const stored = await emu.admin.doc(WS, COLL, 'p');
  assert.equal(JSON.stringify(stored?.['big']), '9007199254740995', 'increment past 2^53 stays exact');
  assert.deepEqual({ ...stored, big: 0 }, {
    _id: 'p',
    count: 42,
    big: 0,
    list: [1, 99, 2, 3, 4],
    nested: { a: { b: 1 }, 'til~de': 2 },
    flag: true,
    added: { deep: [1] },
    copied: { b: 1 },
    moved: 1,
  });
});

test('each PATCHED document gets its own patch_id', async (t) => {
  const emu = await emulator(t);
  await post(emu, [
    { _id: 'a', n: 1 },
    { _id: 'b', n: 1 },
  ]);
  const r = await patch(emu, [
    { _id: 'a', patch: [{ op: 'increment', path: '/n', value: 1 }] },
    { _id: 'b', patch: [{ op: 'increment', path: '/n', value: -3 }] },
  ]);
  const [a, b] = r.json.data;
  assert.equal(a.status, 'PATCHED');
  assert.equal(b.status, 'PATCHED');
  assert.notEqual(a.patch_id, b.patch_id);
  assert.equal((await emu.admin.doc(WS, COLL, 'b'))?.['n'], -2);
});

test('a failing operation makes that document an ERROR and leaves it untouched; other documents still patch', async (t) => {
  const emu = await emulator(t);
  await post(emu, [BASE, { _id: 'q', n: 1 }]);
  const failing: Array<[string, unknown]> = [
    ['test mismatch', [{ op: 'replace', path: '/count', value: 100 }, { op: 'test', path: '/name', value: 'y' }]],
    ['remove missing', [{ op: 'remove', path: '/nope' }]],
    ['replace missing', [{ op: 'replace', path: '/nope', value: 1 }]],
    ['add under missing parent', [{ op: 'add', path: '/nope/x', value: 1 }]],
    ['array index out of range', [{ op: 'add', path: '/list/9', value: 1 }]],
    ['increment a string', [{ op: 'increment', path: '/name', value: 1 }]],
    ['increment by a string', [{ op: 'increment', path: '/count', value: '1' }]],
    ['increment missing', [{ op: 'increment', path: '/nope', value: 1 }]],
    ['unknown op', [{ op: 'merge', path: '/count', value: 1 }]],
    ['not a pointer', [{ op: 'add', path: 'count', value: 1 }]],
    ['root pointer', [{ op: 'replace', path: '', value: {} }]],
    ['immutable _id', [{ op: 'replace', path: '/_id', value: 'other' }]],
    ['immutable _event_time', [{ op: 'add', path: '/_event_time', value: 1 }]],
    ['missing value', [{ op: 'add', path: '/x' }]],
    ['move into own child', [{ op: 'move', from: '/nested', path: '/nested/a/c' }]],
    ['copy without from', [{ op: 'copy', path: '/x' }]],
    ['patch not an array', { op: 'add' }],
  ];
  const r = await patch(emu, [...failing.map(([, ops]) => ({ _id: 'p', patch: ops })), { _id: 'q', patch: [{ op: 'increment', path: '/n', value: 1 }] }]);
  assert.equal(r.status, 200);
  failing.forEach(([what], i) => {
    const d = r.json.data[i];
    assert.equal(d.status, 'ERROR', what);
    assert.equal(d._id, 'p', what);
    assert.equal(d.patch_id, null, what);
    assertErrorModel(d.error, 'INVALIDINPUT');
  });
  assert.equal(r.json.data.at(-1).status, 'PATCHED');
  assert.deepEqual(await emu.admin.doc(WS, COLL, 'p'), BASE);
  assert.equal((await emu.admin.doc(WS, COLL, 'q'))?.['n'], 2);
});

test('patching a missing document is an ERROR (NOTFOUND) and creates nothing', async (t) => {
  const emu = await emulator(t);
  const r = await patch(emu, [{ _id: 'ghost', patch: [{ op: 'add', path: '/x', value: 1 }] }]);
  assert.equal(r.status, 200);
  assert.equal(r.json.data[0].status, 'ERROR');
  assert.equal(r.json.data[0]._id, 'ghost');
  assertErrorModel(r.json.data[0].error, 'NOTFOUND', 'DOCUMENT_DOES_NOT_EXIST');
  assert.equal(await emu.admin.count(WS, COLL), 0);
});

test('PATCH entries without a string _id are ERRORs', async (t) => {
  const emu = await emulator(t);
  const r = await patch(emu, [{ patch: [] }, { _id: 3, patch: [] }, 'x']);
  assert.deepEqual(
    r.json.data.map((d: any) => [d._id, d.status]),
    [
      [null, 'ERROR'],
      [null, 'ERROR'],
      [null, 'ERROR'],
    ],
  );
});

test('PATCH values keep exact big integers', async (t) => {
  const emu = await emulator(t);
  await post(emu, [{ _id: 'p' }]);
  const r = await call(emu, { method: 'PATCH', body: '{"data":[{"_id":"p","patch":[{"op":"add","path":"/v","value":-9223372036854775808}]}]}' });
  assert.equal(r.json.data[0].status, 'PATCHED');
  const raw = await fetch(`${emu.url}/_emulator/collections/${WS}/${COLL}/docs/p`).then((x) => x.text());
  assert.equal(raw, '{"_id":"p","v":-9223372036854775808}');
});

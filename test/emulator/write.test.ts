// The Write API as a client sees it: auth, error bodies, statuses and the exact
// 200 shape, special fields, limits and exact numbers, over real HTTP.
import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { request } from 'undici';
import { assertErrorModel, assertJsonHeaders, call, COLL, docsPath, emulator, KEY, post, rawGet, UUID, WS } from './helpers.ts';

test('auth: "ApiKey <key>" and lowercase "apikey <key>" are accepted', async (t) => {
  const emu = await emulator(t);
  assert.equal((await post(emu, [{ _id: 'a' }], { auth: `ApiKey ${KEY}` })).status, 200);
  assert.equal((await post(emu, [{ _id: 'b' }], { auth: `apikey ${KEY}` })).status, 200);
  assert.equal((await post(emu, [{ _id: 'c' }], { auth: `APIKEY   ${KEY}` })).status, 200);
  assert.equal(await emu.admin.count(WS, COLL), 3);
});

test('auth: wrong key, missing header, wrong scheme and empty key answer 401 AUTHEXCEPTION and write nothing', async (t) => {
  const emu = await emulator(t);
  for (const auth of [`ApiKey wrong-${KEY}`, null, `Bearer ${KEY}`, `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`, 'ApiKey', KEY, `ApiKey ${KEY}x`]) {
    const r = await post(emu, [{ _id: 'x' }], { auth });
    assert.equal(r.status, 401, `auth ${JSON.stringify(auth)}`);
    assertJsonHeaders(r);
    assertErrorModel(r.json, 'AUTHEXCEPTION');
  }
  assert.equal(await emu.admin.count(WS, COLL), 0);
});

test('auth: a forbidden key gets 403 FORBIDDEN', async (t) => {
  const emu = await emulator(t, { forbiddenApiKeys: ['read-only-key'] });
  const r = await post(emu, [{ _id: 'x' }], { auth: 'ApiKey read-only-key' });
  assert.equal(r.status, 403);
  assertErrorModel(r.json, 'FORBIDDEN');
  assert.equal(await emu.admin.count(WS, COLL), 0);
});

test('POST answers the exact Rockset 200 shape with explicit nulls and headers', async (t) => {
  const emu = await emulator(t);
  const r = await post(emu, [{ _id: 'a', v: 1 }]);
  assert.equal(r.status, 200);
  assertJsonHeaders(r);
  assert.equal(r.text, '{"data":[{"_collection":"events","error":null,"_id":"a","status":"ADDED","patch_id":null}],"last_offset":"f1:0:1:0:---0"}');
});

test('ADDED then REPLACED for an existing _id; the stored document is the new one', async (t) => {
  const emu = await emulator(t);
  const first = await post(emu, [{ _id: 'a', v: 1 }, { _id: 'b', v: 1 }]);
  assert.deepEqual(
    first.json.data.map((d: any) => [d._id, d.status]),
    [
      ['a', 'ADDED'],
      ['b', 'ADDED'],
    ],
  );
  const second = await post(emu, [{ _id: 'a', v: 2 }, { _id: 'c', v: 2 }, { _id: 'c', v: 3 }]);
  assert.deepEqual(second.json.data, [
    { _collection: COLL, error: null, _id: 'a', status: 'REPLACED', patch_id: null },
    { _collection: COLL, error: null, _id: 'c', status: 'ADDED', patch_id: null },
    { _collection: COLL, error: null, _id: 'c', status: 'REPLACED', patch_id: null },
  ]);
  assert.deepEqual(await emu.admin.doc(WS, COLL, 'a'), { _id: 'a', v: 2 });
  assert.deepEqual(await emu.admin.doc(WS, COLL, 'c'), { _id: 'c', v: 3 });
  assert.equal(await emu.admin.count(WS, COLL), 3);
});

test('a document without _id gets a generated UUID-1 _id, stored and reported', async (t) => {
  const emu = await emulator(t);
  const r = await post(emu, [{ v: 1 }, { v: 2 }]);
  assert.equal(r.status, 200);
  const [a, b] = r.json.data;
  for (const d of [a, b]) {
    assert.equal(d.status, 'ADDED');
    assert.match(d._id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-1$/);
  }
  assert.notEqual(a._id, b._id);
  assert.deepEqual(await emu.admin.doc(WS, COLL, a._id), { v: 1, _id: a._id });
});

test('DELETE answers DELETED, removes the document, and deleting a missing _id creates nothing', async (t) => {
  const emu = await emulator(t);
  await post(emu, [{ _id: 'a' }, { _id: 'b' }]);
  const r = await call(emu, { method: 'DELETE', body: { data: [{ _id: 'a' }, { _id: 'never-existed' }] } });
  assert.equal(r.status, 200);
  assertJsonHeaders(r);
  assert.equal(
    r.text,
    '{"data":[{"_collection":"events","error":null,"_id":"a","status":"DELETED","patch_id":null},{"_collection":"events","error":null,"_id":"never-existed","status":"DELETED","patch_id":null}],"last_offset":"f1:0:2:0:---0"}',
  );
  assert.deepEqual(
    (await emu.admin.docs(WS, COLL)).map((d) => d._id),
    ['b'],
  );
  assert.equal(await emu.admin.doc(WS, COLL, 'never-existed'), undefined);
});

test('DELETE entries without a string _id are per-document ERRORs', async (t) => {
  const emu = await emulator(t);
  const r = await call(emu, { method: 'DELETE', body: { data: [{}, { _id: 7 }, 'x'] } });
  assert.equal(r.status, 200);
  for (const d of r.json.data) {
    assert.equal(d.status, 'ERROR');
    assert.equal(d._id, null);
    assertErrorModel(d.error, 'INVALIDINPUT');
  }
});

test('per-document errors come back inside a 200 with status ERROR and an ErrorModel; valid neighbours are stored', async (t) => {
  const emu = await emulator(t);
  const r = await post(emu, [
    { _id: 'ok-1' },
    'not an object',
    [1, 2],
    null,
    42,
    { _id: 17 },
    { _id: null },
    { _id: '' },
    { _id: { nested: true } },
    { _id: 'bad-time', _event_time: '2024-01-01T00:00:00Z' },
    { _id: 'op', _op: 'DELETE' },
    { _id: 'ok-2' },
  ]);
  assert.equal(r.status, 200);
  const statuses = r.json.data.map((d: any) => d.status);
  assert.deepEqual(statuses, ['ADDED', 'ERROR', 'ERROR', 'ERROR', 'ERROR', 'ERROR', 'ERROR', 'ERROR', 'ERROR', 'ERROR', 'ERROR', 'ADDED']);
  for (const d of r.json.data.slice(1, -1)) {
    assert.deepEqual(Object.keys(d), ['_collection', 'error', '_id', 'status', 'patch_id']);
    assert.equal(d._collection, COLL);
    assert.equal(d.patch_id, null);
    assertErrorModel(d.error, 'INVALIDINPUT');
  }
  assert.equal(r.json.data[1]._id, null);
  assert.equal(r.json.data[5].error.message_key, 'INVALID_ID');
  assert.equal(r.json.data[9]._id, 'bad-time');
  assert.equal(r.json.data[9].error.message_key, 'INVALID_EVENT_TIME');
  assert.equal(r.json.data[10].error.message_key, 'UNSUPPORTED_OP_FIELD');
  assert.deepEqual(
    (await emu.admin.docs(WS, COLL)).map((d) => d._id),
    ['ok-1', 'ok-2'],
  );
});

test('_event_time: integer µs and the timestamp object are stored; other forms are per-document ERRORs', async (t) => {
  const emu = await emulator(t);
  const good = [
    { _id: 'int', _event_time: 1_700_000_000_123_456 },
    { _id: 'zero', _event_time: 0 },
    { _id: 'obj', _event_time: { __rockset_type: 'timestamp', value: 1_700_000_000_123_456 } },
  ];
  const bad = [
    { _id: 'iso', _event_time: '2024-01-01T00:00:00Z' },
    { _id: 'numstr', _event_time: '1700000000123456' },
    { _id: 'float', _event_time: 1.5 },
    { _id: 'neg', _event_time: -1 },
    { _id: 'null', _event_time: null },
    { _id: 'bool', _event_time: true },
    { _id: 'obj-iso', _event_time: { __rockset_type: 'timestamp', value: '2024-01-01T00:00:00Z' } },
    { _id: 'obj-date', _event_time: { __rockset_type: 'date', value: '2024-01-01' } },
    { _id: 'obj-upper', _event_time: { __rockset_type: 'TIMESTAMP', value: 1 } },
    { _id: 'obj-extra', _event_time: { __rockset_type: 'timestamp', value: 1, tz: 'UTC' } },
    { _id: 'obj-float', _event_time: { __rockset_type: 'timestamp', value: 1.5 } },
  ];
  const r = await post(emu, [...good, ...bad]);
  assert.equal(r.status, 200);
  const byId = new Map(r.json.data.map((d: any) => [d._id, d]));
  for (const g of good) assert.equal((byId.get(g._id) as any).status, 'ADDED', g._id);
  for (const b of bad) {
    const d = byId.get(b._id) as any;
    assert.equal(d.status, 'ERROR', b._id);
    assert.equal(d.error.message_key, 'INVALID_EVENT_TIME', b._id);
  }
  assert.deepEqual(await emu.admin.doc(WS, COLL, 'int'), good[0]);
  assert.deepEqual(await emu.admin.doc(WS, COLL, 'obj'), good[2]);
  assert.equal(await emu.admin.count(WS, COLL), good.length);
  // 2^53 + 1 µs is beyond any real timestamp: still rejected, and its digits are not rounded into range.
  const big = await call(emu, { body: '{"data":[{"_id":"big","_event_time":9007199254740993}]}' });
  assert.equal(big.json.data[0].status, 'ERROR');
});

test('_meta sent by the client is dropped', async (t) => {
  const emu = await emulator(t);
  await post(emu, [{ _id: 'm', _meta: { whatever: 1 }, v: 1 }]);
  assert.deepEqual(await emu.admin.doc(WS, COLL, 'm'), { _id: 'm', v: 1 });
});

test('unknown collection or workspace: 404 NOTFOUND with Rockset message and key', async (t) => {
  const emu = await emulator(t);
  for (const [ws, coll] of [
    [WS, 'nope'],
    ['other', COLL],
  ] as const) {
    for (const method of ['POST', 'DELETE', 'PATCH']) {
      const r = await call(emu, { method, ws, coll, body: { data: [{ _id: 'a', patch: [] }] } });
      assert.equal(r.status, 404);
      assertJsonHeaders(r);
      assertErrorModel(r.json, 'NOTFOUND', 'COLLECTION_DOES_NOT_EXIST');
      assert.equal(r.json.message, `Collection "${coll}" does not exist in workspace "${ws}"`);
    }
  }
  // Not created by the attempt.
  assert.deepEqual(
    (await emu.admin.collections()).map((c) => `${c.workspace}.${c.collection}`),
    [`${WS}.${COLL}`],
  );
});

test('autoCreate creates a collection on its first valid write', async (t) => {
  const emu = await emulator(t, { autoCreate: true, collections: [] });
  const bad = await call(emu, { coll: 'fresh', body: 'nope' });
  assert.equal(bad.status, 400);
  assert.deepEqual(await emu.admin.collections(), []);
  const r = await post(emu, [{ _id: 'a' }], { coll: 'fresh' });
  assert.equal(r.status, 200);
  assert.equal(r.json.data[0]._collection, 'fresh');
  assert.equal(await emu.admin.count(WS, 'fresh'), 1);
});

test('a collection created through the admin API accepts writes; dropping it brings 404 back', async (t) => {
  const emu = await emulator(t, { collections: [] });
  assert.equal((await post(emu, [{ _id: 'a' }], { coll: 'late' })).status, 404);
  assert.equal(await emu.admin.createCollection(WS, 'late'), true);
  assert.equal((await post(emu, [{ _id: 'a' }], { coll: 'late' })).status, 200);
  await emu.admin.dropCollection(WS, 'late');
  assert.equal((await post(emu, [{ _id: 'a' }], { coll: 'late' })).status, 404);
});

test('other methods on the docs path: 405 METHODNOTALLOWED; unknown routes: 404', async (t) => {
  const emu = await emulator(t);
  for (const method of ['GET', 'PUT']) {
    const r = await call(emu, { method, body: method === 'GET' ? undefined : { data: [{ _id: 'a' }] } });
    assert.equal(r.status, 405, method);
    assertJsonHeaders(r);
    assertErrorModel(r.json, 'METHODNOTALLOWED');
    assert.equal(r.headers['allow'], 'POST, DELETE, PATCH');
  }
  const res = await request(`${emu.url}/v1/orgs/self/ws/${WS}/collections/${COLL}/queries`, { method: 'POST', headers: { authorization: `ApiKey ${KEY}` } });
  assert.equal(res.statusCode, 404);
  assertErrorModel(await res.body.json(), 'NOTFOUND');
  const unauth = await request(`${emu.url}/v1/orgs/self/ws/${WS}/collections/${COLL}/queries`, { method: 'POST' });
  assert.equal(unauth.statusCode, 401);
  await unauth.body.dump();
  assert.equal(await emu.admin.count(WS, COLL), 0);
});

test('malformed bodies: 400 INVALIDINPUT, nothing stored', async (t) => {
  const emu = await emulator(t);
  const cases: Array<[string, string | Buffer]> = [
    ['not json', '{"data":[{"_id":"a"}'],
    ['empty body', ''],
    ['top-level array', '[{"_id":"a"}]'],
    ['missing data', '{"docs":[{"_id":"a"}]}'],
    ['data not an array', '{"data":{"_id":"a"}}'],
    ['data null', '{"data":null}'],
    ['empty data', '{"data":[]}'],
    ['invalid utf-8', Buffer.from([0x7b, 0x22, 0x64, 0x61, 0x74, 0x61, 0x22, 0x3a, 0x5b, 0x22, 0xff, 0x22, 0x5d, 0x7d])],
  ];
  for (const [what, body] of cases) {
    const r = await call(emu, { body });
    assert.equal(r.status, 400, what);
    assertJsonHeaders(r);
    assertErrorModel(r.json, 'INVALIDINPUT');
  }
  assert.equal(await emu.admin.count(WS, COLL), 0);
});

test('Content-Type other than application/json or a Content-Encoding: 415 UNSUPPORTEDMEDIATYPE', async (t) => {
  const emu = await emulator(t);
  const variants: Array<Record<string, string>> = [{ 'content-type': 'text/plain' }, { 'content-type': 'application/x-ndjson' }, { 'content-encoding': 'gzip' }];
  for (const headers of variants) {
    const r = await call(emu, { body: { data: [{ _id: 'a' }] }, headers });
    assert.equal(r.status, 415, JSON.stringify(headers));
    assertErrorModel(r.json, 'UNSUPPORTEDMEDIATYPE');
  }
  const charset = await call(emu, { body: { data: [{ _id: 'a' }] }, headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(charset.status, 200);
});

test('too many documents: 400 INVALIDINPUT RECEIVER_REQUEST_MAX_DOCUMENT_LIMIT (default 20,000)', async (t) => {
  const emu = await emulator(t);
  const atLimit = await post(
    emu,
    Array.from({ length: 20_000 }, (_, i) => ({ i })),
  );
  assert.equal(atLimit.status, 200);
  assert.equal(atLimit.json.data.length, 20_000);
  const over = await post(
    emu,
    Array.from({ length: 20_001 }, (_, i) => ({ i })),
  );
  assert.equal(over.status, 400);
  assertErrorModel(over.json, 'INVALIDINPUT', 'RECEIVER_REQUEST_MAX_DOCUMENT_LIMIT');
  assert.match(over.json.message, /20,000/);
  assert.equal(await emu.admin.count(WS, COLL), 20_000);
});

test('document limit is configurable', async (t) => {
  const emu = await emulator(t, { maxDocuments: 3 });
  assert.equal((await post(emu, [{}, {}, {}])).status, 200);
  const r = await post(emu, [{}, {}, {}, {}]);
  assert.equal(r.status, 400);
  assert.equal(r.json.message_key, 'RECEIVER_REQUEST_MAX_DOCUMENT_LIMIT');
});

test('body over the limit by Content-Length: 413 CONTENTTOOLARGE, nothing stored', async (t) => {
  const emu = await emulator(t, { maxBodyBytes: 1000 });
  const fits = JSON.stringify({ data: [{ _id: 'a', pad: 'x'.repeat(900) }] });
  assert.ok(Buffer.byteLength(fits) <= 1000);
  assert.equal((await call(emu, { body: fits })).status, 200);
  const r = await call(emu, { body: JSON.stringify({ data: [{ _id: 'b', pad: 'x'.repeat(1000) }] }) });
  assert.equal(r.status, 413);
  assertJsonHeaders(r);
  assertErrorModel(r.json, 'CONTENTTOOLARGE');
  assert.equal(r.json.message, 'Payload size exceeds limit of 1000 bytes');
  assert.equal(await emu.admin.count(WS, COLL), 1);
});

test('default body limit is 10 MiB: a 10 MiB + 1 byte body is refused with 413', async (t) => {
  const emu = await emulator(t);
  const r = await call(emu, { body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20) });
  assert.equal(r.status, 413);
  assert.equal(r.json.message, 'Payload size exceeds limit of 10485760 bytes');
});

test('chunked body (no Content-Length) over the limit: 413 from the streamed byte count', async (t) => {
  const emu = await emulator(t, { maxBodyBytes: 1000 });
  async function* chunks() {
    yield '{"data":[{"_id":"a","pad":"';
    for (let i = 0; i < 20; i++) yield 'x'.repeat(100);
    yield '"}]}';
  }
  const res = await request(`${emu.url}${docsPath()}`, {
    method: 'POST',
    headers: { authorization: `ApiKey ${KEY}`, 'content-type': 'application/json' },
    body: Readable.from(chunks()),
  });
  assert.equal(res.statusCode, 413);
  assertErrorModel(await res.body.json(), 'CONTENTTOOLARGE');
  assert.equal(await emu.admin.count(WS, COLL), 0);
});

test('chunked body under the limit is accepted', async (t) => {
  const emu = await emulator(t, { maxBodyBytes: 1000 });
  async function* chunks() {
    yield '{"data":[{"_id":"a",';
    yield '"v":1}]}';
  }
  const res = await request(`${emu.url}${docsPath()}`, {
    method: 'POST',
    headers: { authorization: `ApiKey ${KEY}`, 'content-type': 'application/json' },
    body: Readable.from(chunks()),
  });
  assert.equal(res.statusCode, 200);
  await res.body.dump();
  assert.deepEqual(await emu.admin.doc(WS, COLL, 'a'), { _id: 'a', v: 1 });
});

test('integers beyond 2^53 keep their exact digits in storage (raw admin body)', async (t) => {
  const emu = await emulator(t);
  const body =
    '{"data":[{"_id":"big","a":9007199254740993,"b":-9223372036854775808,"c":12345678901234567890123,"d":[18446744073709551615,{"e":9223372036854775807}],"f":1.5,"g":9007199254740991,"h":1e21,"ts":1700000000123456}]}';
  const r = await call(emu, { body });
  assert.equal(r.status, 200);
  assert.equal(r.json.data[0].status, 'ADDED');
  const one = await rawGet(emu, `/_emulator/collections/${WS}/${COLL}/docs/big`);
  assert.equal(one.status, 200);
  assert.equal(
    one.text,
    '{"_id":"big","a":9007199254740993,"b":-9223372036854775808,"c":12345678901234567890123,"d":[18446744073709551615,{"e":9223372036854775807}],"f":1.5,"g":9007199254740991,"h":1e+21,"ts":1700000000123456}',
  );
  const list = await rawGet(emu, `/_emulator/collections/${WS}/${COLL}/docs`);
  assert.ok(list.text.includes('"a":9007199254740993,"b":-9223372036854775808,"c":12345678901234567890123'), list.text);
  // The typed admin client keeps them exact as well.
  const doc = await emu.admin.doc(WS, COLL, 'big');
  assert.equal(JSON.stringify(doc?.['a']), '9007199254740993');
});

test('last_offset increases with every successful write, per collection', async (t) => {
  const emu = await emulator(t, { collections: [`${WS}.${COLL}`, `${WS}.other`] });
  const offsets: string[] = [];
  for (let i = 0; i < 3; i++) offsets.push((await post(emu, [{ i }])).json.last_offset);
  offsets.push((await call(emu, { method: 'DELETE', body: { data: [{ _id: 'x' }] } })).json.last_offset);
  assert.deepEqual(offsets, ['f1:0:1:0:---0', 'f1:0:2:0:---0', 'f1:0:3:0:---0', 'f1:0:4:0:---0']);
  assert.equal((await post(emu, [{}], { coll: 'other' })).json.last_offset, 'f1:0:1:0:---0');
});

test('malformed HTTP gets a 400 and the connection is closed', async (t) => {
  const emu = await emulator(t);
  const socket = net.connect(emu.port, '127.0.0.1');
  socket.write('THIS IS NOT HTTP\r\n\r\n');
  let data = '';
  for await (const chunk of socket) data += chunk;
  assert.match(data, /^HTTP\/1\.1 400 /);
  assert.ok(data.includes('"type":"INVALIDINPUT"'));
});

test('trace_id differs between errors', async (t) => {
  const emu = await emulator(t);
  const a = await post(emu, [{}], { auth: null });
  const b = await post(emu, [{}], { auth: null });
  assert.match(a.json.trace_id, UUID);
  assert.notEqual(a.json.trace_id, b.json.trace_id);
});

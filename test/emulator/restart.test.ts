// An emulator closed and started again on the same port with its store: writes
// in between are refused, documents written before are still there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from '../../emulator/server.ts';
import { KEY, WS, COLL, docsPath } from './helpers.ts';

async function post(url: string, ids: string[]): Promise<number> {
  const res = await fetch(`${url}${docsPath()}`, {
    method: 'POST',
    headers: { authorization: `ApiKey ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ data: ids.map((_id) => ({ _id, n: 1 })) }),
  });
  await res.text();
  return res.status;
}

test('a restart with the old store keeps the documents; the closed port refuses connections', async (t) => {
  const first = await startEmulator({ apiKey: KEY, collections: [`${WS}.${COLL}`] });
  t.after(() => first.close());
  assert.equal(await post(first.url, ['a', 'b']), 200);
  await first.close();
  await assert.rejects(post(first.url, ['c']), (err: Error & { cause?: { code?: string } }) => err.cause?.code === 'ECONNREFUSED');
  const again = await startEmulator({ apiKey: KEY, port: first.port, store: first.store });
  t.after(() => again.close());
  assert.equal(again.url, first.url);
  assert.equal(await post(again.url, ['c']), 200);
  assert.deepEqual((await again.admin.docs(WS, COLL)).map((d) => d._id), ['a', 'b', 'c']);
});

// planRequests / splitRequest / requestBody: how write actions become Write API
// requests. The byte count must be the real size of the body that is sent.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planRequests, requestBody, requestBodyBytes, splitRequest, type WriteRequest } from '../../sink/batch.ts';
import type { WriteAction } from '../../sink/record.ts';
import { seededRandom } from './prng.ts';

let nextOffset = 0;
function act(kind: 'upsert' | 'delete', collection: string, id: string, payload = ''): WriteAction {
  const json = kind === 'delete' ? JSON.stringify({ _id: id }) : JSON.stringify({ _id: id, p: payload });
  return { kind, offset: String(nextOffset++), collection, id, json, bytes: Buffer.byteLength(json) };
}

const ids = (reqs: WriteRequest[]) => reqs.map((r) => r.actions.map((a) => a.id));
const BIG = { maxDocuments: 20_000, maxBytes: 10 * 1024 * 1024 };

function checkRequest(r: WriteRequest): void {
  assert.equal(r.bytes, Buffer.byteLength(requestBody(r.actions)), 'bytes is the size of the body sent');
  assert.ok(r.actions.length > 0, 'no empty requests');
  for (const a of r.actions) {
    assert.equal(a.collection, r.collection);
    assert.equal(r.method, a.kind === 'upsert' ? 'POST' : 'DELETE');
  }
}

describe('requestBody', () => {
  test('is {"data":[...]} with the documents verbatim', () => {
    const a = act('upsert', 'c', 'x', 'é');
    const b = act('delete', 'c', 'y');
    assert.equal(requestBody([a, b]), `{"data":[${a.json},${b.json}]}`);
    assert.deepEqual(JSON.parse(requestBody([a, b])), { data: [{ _id: 'x', p: 'é' }, { _id: 'y' }] });
    assert.equal(requestBody([]), '{"data":[]}');
  });

  test('as bytes: the same body, documents kept as record bytes copied in as they are', () => {
    const value = Buffer.from('xx{"city":"Zürich","emoji":"😀"}  ');
    const head = value.subarray(2, value.lastIndexOf(0x7d));
    const tail = ',"_id":"ü-1"}';
    const spliced: WriteAction = { kind: 'upsert', offset: '7', collection: 'c', id: 'ü-1', json: { head, tail }, bytes: head.length + Buffer.byteLength(tail) };
    const actions = [act('upsert', 'c', 'x', 'é'), spliced, act('delete', 'c', 'y')];
    const body = requestBodyBytes(actions);
    assert.equal(body.toString('utf8'), requestBody(actions));
    assert.deepEqual(JSON.parse(body.toString('utf8')).data[1], { city: 'Zürich', emoji: '😀', _id: 'ü-1' });
    const [req] = planRequests(actions.slice(0, 2), BIG);
    assert.equal(req!.bytes, requestBodyBytes(req!.actions).length, 'the planned size is the size sent');
  });

  test('as bytes: a document whose byte count is off still yields a whole, valid body', () => {
    const a = act('upsert', 'c', 'x', 'é');
    const off: WriteAction = { ...a, bytes: a.bytes - 1 };
    assert.deepEqual(JSON.parse(requestBodyBytes([off, act('upsert', 'c', 'z')]).toString('utf8')).data.map((d: { _id: string }) => d._id), ['x', 'z']);
  });
});

describe('planRequests', () => {
  test('no actions -> no requests', () => assert.deepEqual(planRequests([], BIG), []));

  test('keeps order and groups consecutive same-method same-collection actions', () => {
    const actions = [act('upsert', 'c', 'a'), act('upsert', 'c', 'b'), act('delete', 'c', 'a'), act('upsert', 'c', 'a'), act('upsert', 'd', 'z'), act('upsert', 'c', 'q')];
    const reqs = planRequests(actions, BIG);
    assert.deepEqual(
      reqs.map((r) => [r.method, r.collection, r.actions.map((a) => a.id)]),
      [
        ['POST', 'c', ['a', 'b']],
        ['DELETE', 'c', ['a']],
        ['POST', 'c', ['a']],
        ['POST', 'd', ['z']],
        ['POST', 'c', ['q']],
      ],
    );
    reqs.forEach(checkRequest);
  });

  test('maxDocuments is respected exactly', () => {
    const actions = Array.from({ length: 7 }, (_, i) => act('upsert', 'c', `d${i}`));
    assert.deepEqual(ids(planRequests(actions, { maxDocuments: 3, maxBytes: BIG.maxBytes })), [['d0', 'd1', 'd2'], ['d3', 'd4', 'd5'], ['d6']]);
    assert.deepEqual(ids(planRequests(actions, { maxDocuments: 1, maxBytes: BIG.maxBytes })), actions.map((a) => [a.id]));
    assert.equal(planRequests(actions, { maxDocuments: 7, maxBytes: BIG.maxBytes }).length, 1);
  });

  test('maxBytes is respected exactly: a body of exactly maxBytes fits, one byte less does not', () => {
    const actions = Array.from({ length: 6 }, (_, i) => act('upsert', 'c', `d${i}`, 'xxxxxxxx'));
    const three = Buffer.byteLength(requestBody(actions.slice(0, 3)));
    const exact = planRequests(actions, { maxDocuments: 100, maxBytes: three });
    assert.deepEqual(ids(exact), [['d0', 'd1', 'd2'], ['d3', 'd4', 'd5']]);
    assert.deepEqual(exact.map((r) => r.bytes), [three, three]);
    const under = planRequests(actions, { maxDocuments: 100, maxBytes: three - 1 });
    assert.deepEqual(ids(under), [['d0', 'd1'], ['d2', 'd3'], ['d4', 'd5']]);
    under.forEach(checkRequest);
    for (const r of under) assert.ok(r.bytes <= three - 1);
  });

  test('bytes count UTF-8 bytes, not characters', () => {
    const actions = [act('upsert', 'c', 'a', '😀😀😀😀'), act('upsert', 'c', 'b', 'ééééé')];
    const [r] = planRequests(actions, BIG);
    assert.ok(r);
    assert.equal(r.bytes, Buffer.byteLength(requestBody(actions)));
    assert.notEqual(r.bytes, requestBody(actions).length);
  });

  test('an action larger than maxBytes still gets its own request, between its neighbours', () => {
    const small1 = act('upsert', 'c', 's1', 'x');
    const huge = act('upsert', 'c', 'huge', 'x'.repeat(500));
    const small2 = act('upsert', 'c', 's2', 'x');
    const small3 = act('upsert', 'c', 's3', 'x');
    const reqs = planRequests([small1, huge, small2, small3], { maxDocuments: 100, maxBytes: 100 });
    assert.deepEqual(ids(reqs), [['s1'], ['huge'], ['s2', 's3']]);
    assert.ok(reqs[1] && reqs[1].bytes > 100);
    reqs.forEach(checkRequest);
  });

  test('invariants hold over random inputs (seeded)', () => {
    const random = seededRandom(0x5eed);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    const alphabet = ['a', 'b', 'é', '€', '😀', '"', '\\', '\n'];
    for (let round = 0; round < 300; round++) {
      const limits = { maxDocuments: int(1, 8), maxBytes: int(11, 300) };
      const actions = Array.from({ length: int(0, 60) }, (_, i) => {
        const payload = Array.from({ length: int(0, 40) }, () => alphabet[int(0, alphabet.length - 1)]).join('');
        return act(random() < 0.2 ? 'delete' : 'upsert', random() < 0.8 ? 'c1' : 'c2', `r${round}-${i}`, payload);
      });
      const reqs = planRequests(actions, limits);
      const ctx = `round ${round}, limits ${JSON.stringify(limits)}`;
      assert.deepEqual(reqs.flatMap((r) => r.actions), actions, `order and completeness, ${ctx}`);
      for (const r of reqs) {
        checkRequest(r);
        assert.ok(r.actions.length <= limits.maxDocuments, `maxDocuments, ${ctx}`);
        assert.ok(r.bytes <= limits.maxBytes || r.actions.length === 1, `maxBytes, ${ctx}`);
      }
      // Greedy: a request is only cut when the next action could not have joined it.
      for (let i = 0; i + 1 < reqs.length; i++) {
        const cur = reqs[i]!;
        const next = reqs[i + 1]!;
        if (cur.method !== next.method || cur.collection !== next.collection) continue;
        const joined = [...cur.actions, next.actions[0]!];
        assert.ok(joined.length > limits.maxDocuments || Buffer.byteLength(requestBody(joined)) > limits.maxBytes, `needless cut after request ${i}, ${ctx}`);
      }
      for (const r of reqs) {
        const halves = splitRequest(r);
        if (r.actions.length < 2) {
          assert.equal(halves, undefined);
          continue;
        }
        assert.ok(halves);
        assert.deepEqual([...halves[0].actions, ...halves[1].actions], r.actions);
        halves.forEach(checkRequest);
      }
    }
  });
});

describe('splitRequest', () => {
  test('halves keep order, method and collection, and recompute bytes', () => {
    const actions = Array.from({ length: 5 }, (_, i) => act('delete', 'coll', `d${i}`));
    const [req] = planRequests(actions, BIG);
    assert.ok(req);
    const halves = splitRequest(req);
    assert.ok(halves);
    const [first, second] = halves;
    assert.deepEqual(first.actions.map((a) => a.id), ['d0', 'd1', 'd2']);
    assert.deepEqual(second.actions.map((a) => a.id), ['d3', 'd4']);
    for (const h of halves) {
      assert.equal(h.method, 'DELETE');
      assert.equal(h.collection, 'coll');
      assert.equal(h.bytes, Buffer.byteLength(requestBody(h.actions)));
    }
    assert.ok(first.bytes < req.bytes && second.bytes < req.bytes);
    assert.equal(req.actions.length, 5, 'the original request is left intact');
  });

  test('two actions split into one each', () => {
    const [req] = planRequests([act('upsert', 'c', 'a', 'é'), act('upsert', 'c', 'b')], BIG);
    assert.ok(req);
    assert.deepEqual(splitRequest(req)?.map((h) => h.actions.map((a) => a.id)), [['a'], ['b']]);
  });

  test('a single action cannot be split', () => {
    const [req] = planRequests([act('upsert', 'c', 'only')], BIG);
    assert.ok(req);
    assert.equal(splitRequest(req), undefined);
    assert.equal(splitRequest({ ...req, actions: [], bytes: 11 }), undefined);
  });
});


// rockset_sink_partition_lag follows the committed offset and the high watermark
// of the partitions the member owns now; commits of a partition never go backwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { PartitionLag } from '../../sink/kafka/lag.ts';
import { CommitBatcher, CommitQueue } from '../../sink/kafka/commits.ts';

async function series(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('lag')!.get();
  return Object.fromEntries(m.values.map((v) => [`${v.labels.topic}/${v.labels.partition}`, v.value]));
}

function tracker() {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'lag', help: 'h', labelNames: ['topic', 'partition'] as const, registers: [registry] });
  const held = new Gauge({ name: 'held', help: 'h', labelNames: ['topic', 'partition'] as const, registers: [registry] });
  let now = 0;
  const lag = new PartitionLag(gauge, () => now, held);
  return { lag, registry, advance: (ms: number) => (now += ms) };
}

async function heldSeries(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('held')!.get();
  return Object.fromEntries(m.values.map((v) => [`${v.labels.topic}/${v.labels.partition}`, v.value]));
}

test('lag is the high watermark minus the committed offset, and moves with fetches before any commit', async () => {
  const { lag, registry } = tracker();
  lag.assigned({ orders: [0, 1] });
  assert.deepEqual(await series(registry), {}, 'nothing known yet: no series');
  lag.highWatermark('orders', 0, '100');
  lag.fetchedFrom('orders', 0, '40');
  assert.deepEqual(await series(registry), { 'orders/0': 60 });
  // a Rockset outage: no commit, but the partition keeps growing
  lag.highWatermark('orders', 0, '250');
  assert.deepEqual(await series(registry), { 'orders/0': 210 });
  lag.committed('orders', 0, '250');
  assert.deepEqual(await series(registry), { 'orders/0': 0 });
  // a later fetch position does not override what was committed
  lag.fetchedFrom('orders', 0, '10');
  lag.committed('orders', 0, '200');
  assert.deepEqual(await series(registry), { 'orders/0': 0 }, 'the committed offset never goes back');
});

test('a revoked partition loses its series; partitions that are not ours are ignored', async () => {
  const { lag, registry } = tracker();
  lag.assigned({ orders: [0, 1], refunds: [0] });
  for (const [t, p] of [['orders', 0], ['orders', 1], ['refunds', 0]] as const) {
    lag.highWatermark(t, p, '10');
    lag.committed(t, p, '7');
  }
  assert.deepEqual(await series(registry), { 'orders/0': 3, 'orders/1': 3, 'refunds/0': 3 });
  lag.assigned({ orders: [1] });
  assert.deepEqual(await series(registry), { 'orders/1': 3 });
  lag.highWatermark('orders', 0, '99');
  lag.committed('refunds', 0, '1');
  assert.deepEqual(await series(registry), { 'orders/1': 3 });
  lag.clear();
  assert.deepEqual(await series(registry), {});
});

test('stale() names the partitions whose watermark no fetch brought lately, and those without a committed offset', () => {
  const { lag, advance } = tracker();
  lag.assigned({ orders: [0, 1] });
  assert.deepEqual(lag.stale(10_000), { watermarks: [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }], committed: [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }] });
  lag.highWatermark('orders', 0, '5');
  lag.committed('orders', 0, '5');
  assert.deepEqual(lag.stale(10_000).watermarks, [{ topic: 'orders', partition: 1 }]);
  assert.deepEqual(lag.stale(10_000).committed, [{ topic: 'orders', partition: 1 }]);
  advance(10_000);
  assert.deepEqual(lag.stale(10_000).watermarks.map((p) => p.partition), [0, 1]);
  lag.committed('orders', 1, '-1');
  assert.deepEqual(lag.stale(10_000).committed, [{ topic: 'orders', partition: 1 }], 'a group without an offset (-1) stays unknown');
});

test('commits of a partition run one at a time, in order, and a lower one after a higher is not sent', async () => {
  const q = new CommitQueue();
  const sent: string[] = [];
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  const first = q.commit('t', 0, '10', async () => {
    await slow;
    sent.push('10');
  });
  const second = q.commit('t', 0, '5', async () => void sent.push('5'));
  const third = q.commit('t', 0, '12', async () => void sent.push('12'));
  const other = q.commit('t', 1, '3', async () => void sent.push('p1:3'));
  assert.equal(await other, true, 'another partition does not wait');
  assert.deepEqual(sent, ['p1:3']);
  release();
  assert.deepEqual(await Promise.all([first, second, third]), [true, false, true]);
  assert.deepEqual(sent, ['p1:3', '10', '12']);
});

test('a failed commit fails its caller only; the next commit of the partition still goes out', async () => {
  const q = new CommitQueue();
  await assert.rejects(q.commit('t', 0, '10', async () => {
    throw new Error('UNKNOWN_MEMBER_ID');
  }), /UNKNOWN_MEMBER_ID/);
  assert.equal(await q.commit('t', 0, '8', async () => undefined), true, 'nothing was committed at 10, so 8 goes out');
  q.rejoined();
  assert.equal(await q.commit('t', 0, '4', async () => undefined), true, 'after a rejoin the group holds what it holds');
});

test('commits asked for together go out as one request; those asked for while it is in flight go out in the next', async () => {
  const requests: string[][] = [];
  let release!: () => void;
  let gate: Promise<void> | undefined = new Promise<void>((r) => (release = r));
  const b = new CommitBatcher(async (offsets) => {
    requests.push(offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`));
    const g = gate;
    gate = undefined;
    await g;
  });
  const first = [b.commit({ topic: 't', partition: 0, offset: '10' }), b.commit({ topic: 't', partition: 1, offset: '20' })];
  await new Promise((r) => setImmediate(r));
  const later = [b.commit({ topic: 't', partition: 2, offset: '5' }), b.commit({ topic: 'u', partition: 0, offset: '7' })];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(requests, [['t/0@10', 't/1@20']], 'the second pair waits for the first request');
  release();
  await Promise.all([...first, ...later]);
  assert.deepEqual(requests, [['t/0@10', 't/1@20'], ['t/2@5', 'u/0@7']]);
});

test('a failed commit request fails the callers it carried, and the next request still goes out', async () => {
  let calls = 0;
  const observed: boolean[] = [];
  const b = new CommitBatcher(async () => {
    calls += 1;
    if (calls === 1) throw new Error('REBALANCE_IN_PROGRESS');
  }, (seconds, ok) => {
    assert.ok(seconds >= 0);
    observed.push(ok);
  });
  const carried = [b.commit({ topic: 't', partition: 0, offset: '1' }), b.commit({ topic: 't', partition: 1, offset: '1' })];
  const results = await Promise.allSettled(carried);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  await b.commit({ topic: 't', partition: 0, offset: '2' });
  assert.equal(calls, 2);
  assert.deepEqual(observed, [false, true], 'each request is observed once, with its outcome');
});

test('records past the last stable offset count as held once the group has committed up to it, and are reported once per wait', async () => {
  const { lag, registry, advance } = tracker();
  lag.assigned({ orders: [0] });
  lag.committed('orders', 0, '10');
  // an open transaction begins at 12: the sink still has 10 and 11 to write, nothing is held yet
  lag.fetched('orders', 0, '20', '12');
  assert.deepEqual(await heldSeries(registry), { 'orders/0': 0 });
  lag.committed('orders', 0, '12');
  assert.deepEqual(await heldSeries(registry), { 'orders/0': 8 });
  assert.deepEqual(await series(registry), { 'orders/0': 8 }, 'the lag counts them too');
  advance(5_000);
  lag.fetched('orders', 0, '25', '12');
  assert.deepEqual(await heldSeries(registry), { 'orders/0': 13 });
  assert.deepEqual(lag.heldLongerThan(10_000), [], 'not for long enough yet');
  advance(6_000);
  assert.deepEqual(lag.heldLongerThan(10_000), [{ topic: 'orders', partition: 0, stable: '12', held: 13, forMs: 11_000 }]);
  // transactions that keep ending, each while the next is open: the stable offset moves, no warning
  lag.committed('orders', 0, '15');
  lag.fetched('orders', 0, '25', '15');
  advance(8_000);
  lag.committed('orders', 0, '18');
  lag.fetched('orders', 0, '25', '18');
  advance(8_000);
  assert.deepEqual(lag.heldLongerThan(10_000), [], 'the stable offset moved 8 s ago');
  advance(3_000);
  assert.deepEqual(lag.heldLongerThan(10_000), [{ topic: 'orders', partition: 0, stable: '18', held: 7, forMs: 11_000 }]);
  assert.deepEqual(lag.heldLongerThan(10_000), [], 'reported once');
  // the transaction commits: the stable offset reaches the high watermark
  lag.fetched('orders', 0, '25', '25');
  assert.deepEqual(await heldSeries(registry), { 'orders/0': 0 });
  // a fetch without a stable offset (read_uncommitted answers -1) changes nothing
  lag.fetched('orders', 0, '25', '-1');
  assert.deepEqual(await heldSeries(registry), { 'orders/0': 0 });
  // a new wait is reported again
  lag.committed('orders', 0, '25');
  lag.fetched('orders', 0, '30', '25');
  advance(10_000);
  assert.equal(lag.heldLongerThan(10_000).length, 1);
  lag.assigned({});
  assert.deepEqual(await heldSeries(registry), {}, 'a revoked partition loses its series');
});

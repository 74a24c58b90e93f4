// What a worker owes the rest of its group: it lets a rebalance through even while it
// waits out a long retry, its lag metric tells the truth through an outage and about
// partitions it gave away, and the group's offsets move past transactions it filtered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { committedOffsets, produce, sinkConfig, startSinkProcess, stopSink, testKafka, waitForCount, withEmulator, type SinkProcess } from './helpers.ts';
import { waitFor } from '../harness/ports.ts';
import { registerCompressionCodecs } from '../../sink/kafka/codecs.ts';

interface LogLine {
  msg?: string;
  time?: string;
  httpPort?: number;
  assignment?: Record<string, number[]>;
}
const logLines = (s: SinkProcess): LogLine[] => s.lines.flatMap((l) => {
  try {
    return [JSON.parse(l) as LogLine];
  } catch {
    return [];
  }
});
const joins = (s: SinkProcess) => logLines(s).filter((l) => l.msg === 'joined the consumer group');
const started = (s: SinkProcess) => waitFor('the sink to start', () => logLines(s).some((l) => l.msg === 'sink started'), { timeoutMs: 60_000, abort: () => (s.child.exitCode !== null ? new Error(s.lines.slice(-20).join('\n')) : undefined) });

async function lagSeries(s: SinkProcess): Promise<Record<string, number>> {
  const port = logLines(s).find((l) => l.msg === 'sink started')!.httpPort;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^rockset_sink_partition_lag\{topic="([^"]+)",partition="(\d+)"\} (\d+)$/gm)) out[`${m[1]}/${m[2]}`] = Number(m[3]);
  return out;
}

test('a worker waiting out a long Retry-After lets a joining worker take its partitions at once', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('retry-rebalance', { partitions: 2 });
  await produce(k, topic, [0, 1].map((p) => ({ key: `k${p}`, value: JSON.stringify({ p }), partition: p })));
  // Rockset answers 429 with Retry-After: 45 s, which the sink honours (maxBackoffMs allows it)
  await emu.admin.setFaults({ probabilities: { '429': 1 }, retryAfterSeconds: 45 });
  const config = sinkConfig(k, emu.url, [topic], { retry: { initialBackoffMs: 100, maxBackoffMs: 60_000 }, kafka: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 } });
  const a = startSinkProcess(config);
  t.after(() => stopSink(a));
  await waitFor('the first worker to be waiting out a 429', async () => (await emu.admin.stats()).faults['429'] >= 2, { timeoutMs: 60_000 });
  await emu.admin.setFaults({ probabilities: { '429': 0 } });
  const b = startSinkProcess(config);
  t.after(() => stopSink(b));
  const bStarted = Date.now();
  await waitFor('the joining worker to get a partition', () => joins(b).some((j) => (j.assignment?.[topic] ?? []).length > 0), { timeoutMs: 40_000 });
  const took = Date.now() - bStarted;
  // the old code held the group for the whole 45 s Retry-After
  assert.ok(took < 30_000, `the rebalance waited ${took} ms for the sleeping worker`);
  // the records are written by whoever owns them now, long before the 45 s are up
  await waitForCount(emu, 2, 'events', 20_000);
  assert.equal(a.child.exitCode, null, 'the waiting worker left its batch uncommitted and stayed');
  assert.ok(a.lines.some((l) => l.includes('batch abandoned before commit')), 'the waiting worker abandoned its batch');
});

test('rockset_sink_partition_lag counts records produced during a Rockset outage, and a revoked partition loses its series', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('lag-metric', { partitions: 2 });
  const config = sinkConfig(k, emu.url, [topic], { retry: { initialBackoffMs: 100, maxBackoffMs: 500 } });
  const a = startSinkProcess(config);
  t.after(() => stopSink(a));
  await started(a);
  await produce(k, topic, [0, 1].map((p) => ({ value: JSON.stringify({ p }), partition: p })));
  await waitForCount(emu, 2, 'events', 30_000, a);
  await waitFor('lag 0 on both partitions', async () => {
    const lag = await lagSeries(a);
    return Object.keys(lag).length === 2 && lag[`${topic}/0`] === 0 && lag[`${topic}/1`] === 0;
  }, { timeoutMs: 30_000 });
  // Rockset goes away: nothing is committed, records keep coming
  await emu.admin.setFaults({ probabilities: { '503': 1 } });
  await produce(k, topic, Array.from({ length: 30 }, (_, i) => ({ value: JSON.stringify({ i }), partition: 0 })));
  await waitFor('the first outage batch to fail', async () => (await emu.admin.stats()).faults['503'] > 0, { timeoutMs: 30_000 });
  await produce(k, topic, Array.from({ length: 70 }, (_, i) => ({ value: JSON.stringify({ i }), partition: 0 })));
  // the batch of the first 30 holds partition 0, so only a watermark refresh can see the 70 more
  await waitFor('the lag to count every record of the outage', async () => (await lagSeries(a))[`${topic}/0`] === 100, { timeoutMs: 40_000 });
  await emu.admin.setFaults({ probabilities: { '503': 0 } });
  await waitFor('lag back to 0', async () => (await lagSeries(a))[`${topic}/0`] === 0, { timeoutMs: 40_000 });
  // a second worker joins: each keeps one partition, and the one that left the first worker is gone from its metrics
  const b = startSinkProcess(config);
  t.after(() => stopSink(b));
  await waitFor('both workers to hold one partition', () => {
    const aNow = joins(a).at(-1)?.assignment?.[topic] ?? [];
    const bNow = joins(b).at(-1)?.assignment?.[topic] ?? [];
    return aNow.length === 1 && bNow.length === 1;
  }, { timeoutMs: 60_000 });
  const kept = joins(a).at(-1)!.assignment![topic]![0]!;
  await waitFor('the first worker to export only the partition it kept', async () => Object.keys(await lagSeries(a)).join() === `${topic}/${kept}`, { timeoutMs: 30_000 });
});

test('a transaction aborted after the sink caught up: the group commits past it and its markers', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('txn-tail', { partitions: 1 });
  registerCompressionCodecs();
  const config = sinkConfig(k, emu.url, [topic]);
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await started(sink);
  const producer = k.kafka.producer({ transactionalId: `${topic}-tx`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const committed = await producer.transaction();
    await committed.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ key: `c${i}`, value: JSON.stringify({ i }) })) });
    await committed.commit();
    // 5 records + a marker: offset 6
    await waitFor('the committed transaction to be written and committed', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '6', { timeoutMs: 60_000, intervalMs: 200 });
    // the sink's next fetch holds nothing but aborted records and a marker
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ key: `a${i}`, value: JSON.stringify({ i }) })) });
    await aborted.abort();
  } finally {
    await producer.disconnect();
  }
  await waitFor('the group to commit past the aborted transaction (offset 12)', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '12', { timeoutMs: 30_000, intervalMs: 200 });
  assert.equal(await emu.admin.count('commons', 'events'), 5, 'nothing of the aborted transaction was written');
});

// No record lost, none duplicated: the faults Rockset users met, injected in the
// emulator, and sink processes killed mid-stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WS, committedOffsets, produce, sinkConfig, startSinkProcess, stopSink, testKafka, waitForCount, withEmulator, type SinkProcess } from './helpers.ts';
import { waitFor } from '../harness/ports.ts';
import { DLQ_HEADERS } from '../../sink/dlq.ts';
import type { TestKafka } from '../harness/test-kafka.ts';

async function produceNumbered(k: TestKafka, topic: string, n: number, partitions: number, keyed = true): Promise<string[]> {
  const ids: string[] = [];
  const perPartition = new Array(partitions).fill(0);
  const messages = Array.from({ length: n }, (_, i) => {
    const partition = i % partitions;
    const offset = perPartition[partition]++;
    ids.push(keyed ? `id-${i}` : `${topic}-${partition}-${offset}`);
    return { key: keyed ? `id-${i}` : null, partition, value: JSON.stringify({ i, pad: 'x'.repeat(100) }) };
  });
  for (let i = 0; i < messages.length; i += 500) await produce(k, topic, messages.slice(i, i + 500));
  return ids.sort();
}

async function assertExactly(emu: Awaited<ReturnType<typeof withEmulator>>, ids: string[]): Promise<void> {
  const docs = await emu.admin.docs(WS, 'events', { limit: 1_000_000 });
  assert.equal(docs.length, ids.length, 'document count');
  assert.deepEqual(docs.map((d) => d._id).sort(), ids);
}

test('429, 5xx, dropped connections and stalls lose nothing and duplicate nothing', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator({ seed: 42 });
  t.after(() => emu.close());
  const topic = await k.createTopic('faults-mix', { partitions: 3 });
  const ids = await produceNumbered(k, topic, 3000, 3, false);
  await emu.admin.setFaults({
    probabilities: { '429': 0.1, '500': 0.05, '502': 0.05, '503': 0.05, 'drop-before': 0.05, 'drop-after': 0.1, stall: 0.03 },
    retryAfterSeconds: 0,
    stallMs: 2500,
    stallApply: true,
    // every kind at least once, whatever the timing, before the random ones
    script: [{ fault: '429' }, { fault: '500' }, { fault: '502' }, { fault: '503' }, { fault: 'drop-before' }, { fault: 'drop-after' }, { fault: 'stall' }],
  });
  const config = sinkConfig(k, emu.url, [topic], { batch: { maxDocuments: 100, lingerMs: 10 }, rockset: { requestTimeoutMs: 1000 } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, ids.length, 'events', 120_000, sink);
  await waitFor('every partition committed to its end', async () => {
    const c = await committedOffsets(k, config.kafka.groupId, topic);
    return [0, 1, 2].every((p) => c[p] === '1000');
  }, { timeoutMs: 30_000 });
  await assertExactly(emu, ids);
  const { faults } = await emu.admin.stats();
  for (const kind of ['429', '500', '503', 'drop-before', 'drop-after', 'stall'] as const) assert.ok(faults[kind] > 0, `no ${kind} was injected: ${JSON.stringify(faults)}`);
});

test('a sink killed with SIGKILL mid-stream and restarted ends with exactly the records as documents', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator({ storeMode: 'full' });
  t.after(() => emu.close());
  const topic = await k.createTopic('faults-kill', { partitions: 2 });
  const ids = await produceNumbered(k, topic, 6000, 2, false);
  await emu.admin.setFaults({ latencyMs: 20 });
  const config = sinkConfig(k, emu.url, [topic], { batch: { maxDocuments: 200, lingerMs: 10 }, kafka: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 } });
  let sink: SinkProcess = startSinkProcess(config);
  for (const atLeast of [500, 2500]) {
    await waitForCount(emu, atLeast, 'events', 60_000, sink);
    sink.kill('SIGKILL');
    await sink.exited;
    sink = startSinkProcess(config);
  }
  t.after(() => stopSink(sink));
  await waitForCount(emu, ids.length, 'events', 120_000, sink);
  await emu.admin.setFaults({ latencyMs: 0 });
  await waitFor('committed to the end', async () => {
    const c = await committedOffsets(k, config.kafka.groupId, topic);
    return c[0] === '3000' && c[1] === '3000';
  }, { timeoutMs: 30_000 });
  await assertExactly(emu, ids);
});

test('SIGTERM stops the sink within the bound, exit 0, committing only what was acknowledged', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('faults-term');
  const ids = await produceNumbered(k, topic, 2000, 1);
  await emu.admin.setFaults({ latencyMs: 200 });
  const config = sinkConfig(k, emu.url, [topic], { batch: { maxDocuments: 100, lingerMs: 10 }, shutdownTimeoutMs: 5000 });
  const sink = startSinkProcess(config);
  await waitForCount(emu, 300, 'events', 60_000, sink);
  const started = Date.now();
  assert.equal(await stopSink(sink), 0);
  assert.ok(Date.now() - started < 6000, `stop took ${Date.now() - started} ms`);
  const committed = Number((await committedOffsets(k, config.kafka.groupId, topic))[0]);
  const stored = await emu.admin.count(WS, 'events');
  assert.ok(committed > 0 && committed <= stored, `committed ${committed} but only ${stored} documents acknowledged`);
  await emu.admin.setFaults({ latencyMs: 0 });
  const again = startSinkProcess(config);
  t.after(() => stopSink(again));
  await waitForCount(emu, ids.length, 'events', 60_000, again);
  await assertExactly(emu, ids.map((_, i) => `id-${i}`).sort());
});

test('an outage longer than the session timeout keeps the group membership and loses nothing', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('faults-outage');
  const ids = await produceNumbered(k, topic, 50, 1);
  await emu.admin.setFaults({ probabilities: { '503': 1 } });
  const config = sinkConfig(k, emu.url, [topic], { kafka: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 }, retry: { initialBackoffMs: 100, maxBackoffMs: 1000 }, rockset: { maxInFlightRequests: 1 } });
  // One partition at a time: kafkajs then sends no heartbeat of its own while a batch waits.
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitFor('the outage to outlast the session timeout', async () => (await emu.admin.stats()).requests.total >= 1, { timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 9000));
  await emu.admin.setFaults({ probabilities: { '503': 0 } });
  await waitForCount(emu, 50, 'events', 30_000, sink);
  await assertExactly(emu, ids);
  const joins = sink.lines.filter((l) => l.includes('joined the consumer group'));
  assert.equal(joins.length, 1, `the sink rejoined its group during the outage:\n${joins.join('\n')}`);
  assert.ok(sink.lines.some((l) => l.includes('retrying') && l.includes('503')), 'retries were logged with their cause');
});

test('a request too large is split; a single document over the limit is dead-lettered', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator({ maxBodyBytes: 64 * 1024, maxDocuments: 50 });
  t.after(() => emu.close());
  const topic = await k.createTopic('faults-413');
  const dlq = `${topic}-dlq`;
  const messages = Array.from({ length: 300 }, (_, i) => ({ key: `d${i}`, value: JSON.stringify({ i, pad: 'y'.repeat(i === 150 ? 100_000 : 1000) }) }));
  await produce(k, topic, messages);
  const config = sinkConfig(k, emu.url, [topic], { batch: { maxDocuments: 1000, maxBytes: 1024 * 1024 }, errors: { tolerance: 'all', deadLetterTopic: dlq } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 299, 'events', 60_000, sink);
  await waitFor('committed to the end', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '300', { timeoutMs: 30_000 });
  assert.equal(await emu.admin.doc(WS, 'events', 'd150'), undefined);
  const requests = await emu.admin.requests({ workspace: WS, collection: 'events' });
  assert.ok(requests.some((r) => r.status === 413) || requests.some((r) => r.status === 400), 'the emulator refused a request');
  const letter = await readOne(k, dlq);
  assert.equal(String(letter.key), 'd150');
  assert.equal(letter.headers[DLQ_HEADERS.stage], 'write');
  assert.equal(letter.headers[DLQ_HEADERS.errorClass], 'DocumentTooLarge');
});

test('per-document ERRORs inside an HTTP 200 are dead-lettered, never silently committed', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('faults-docerror');
  const dlq = `${topic}-dlq`;
  await produce(k, topic, [
    { key: 'ok1', value: '{"a":1}' },
    { key: 'bad', value: '{"_event_time":"yesterday"}' },
    { key: 'ok2', value: '{"a":2}' },
  ]);
  const config = sinkConfig(k, emu.url, [topic], { documents: { eventTime: 'none' }, errors: { tolerance: 'all', deadLetterTopic: dlq } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 2, 'events', 60_000, sink);
  const letter = await readOne(k, dlq);
  assert.equal(String(letter.key), 'bad');
  assert.equal(letter.headers[DLQ_HEADERS.stage], 'write');
  assert.equal(letter.headers[DLQ_HEADERS.errorClass], 'INVALIDINPUT');
  await waitFor('committed to the end', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '3', { timeoutMs: 30_000 });
});

async function readOne(k: TestKafka, topic: string): Promise<{ key: Buffer | null; headers: Record<string, string> }> {
  const consumer = k.kafka.consumer({ groupId: `${topic}-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nothing arrived on ${topic}`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve({ key: message.key, headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([h, v]) => [h, String(v)])) });
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

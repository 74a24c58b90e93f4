// The JSON data path end to end: real broker, the sink as a process, the emulator.
import { test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { CompressionTypes } from 'kafkajs';
import { DLQ_HEADERS } from '../../sink/dlq.ts';
import { API_KEY, WS, committedOffsets, deleteTopic, produce, sinkConfig, startSinkProcess, stopSink, testKafka, waitForCount, withEmulator } from './helpers.ts';
import { waitFor } from '../harness/ports.ts';

test('keyed and unkeyed records land with the right _id and _event_time', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('json-ids');
  await produce(k, topic, [
    { key: 'user-1', value: '{"name":"a"}', timestamp: '1656495125234' },
    { key: null, value: '{"name":"b"}', timestamp: '1700000000000' },
    { key: 'user-2', value: '[{"name":"c"}]', timestamp: '1700000000001' },
  ]);
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic]));
  t.after(() => stopSink(sink));
  await waitForCount(emu, 3, 'events', 60_000, sink);
  const byName = Object.fromEntries((await emu.admin.docs(WS, 'events')).map((d) => [d.name, d]));
  assert.equal(byName.a?._id, 'user-1');
  assert.equal(byName.a?._event_time, 1656495125234000);
  assert.equal(byName.b?._id, `${topic}-0-1`, 'an unkeyed record gets <topic>-<partition>-<offset>');
  assert.equal(byName.b?._event_time, 1700000000000000);
  assert.equal(byName.c?._id, 'user-2', 'a one-object array is unwrapped');
});

test('integers beyond 2^53 keep their exact digits from Kafka to Rockset', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('json-bigint');
  const raw = '{"id":9007199254740993,"min":-9223372036854775808,"huge":123456789012345678901234567890,"small":1.5,"ts":1700000000000000}';
  await produce(k, topic, [{ key: 'big', value: raw }]);
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic]));
  t.after(() => stopSink(sink));
  await waitForCount(emu, 1, 'events', 60_000, sink);
  const res = await fetch(`${emu.url}/_emulator/collections/${WS}/events/docs`);
  const body = await res.text();
  for (const digits of ['9007199254740993', '-9223372036854775808', '123456789012345678901234567890', '1700000000000000']) {
    assert.ok(body.includes(digits), `${digits} not found verbatim in ${body}`);
  }
});

test('re-delivery replaces documents instead of duplicating them; tombstones delete', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('json-redeliver', { partitions: 2 });
  await produce(k, topic, [
    ...Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ i }) })),
    ...Array.from({ length: 10 }, (_, i) => ({ key: null, value: JSON.stringify({ unkeyed: i }), partition: i % 2 })),
  ]);
  const config = sinkConfig(k, emu.url, [topic]);
  const first = startSinkProcess(config);
  await waitForCount(emu, 30, 'events', 60_000, first);
  assert.equal(await stopSink(first), 0);
  // A second group reads everything again: the same _ids, so the same 30 documents.
  const second = startSinkProcess({ ...config, kafka: { ...config.kafka, groupId: `${config.kafka.groupId}-again` } });
  t.after(() => stopSink(second));
  await waitFor('the second pass to be written', async () => (await emu.admin.requests({ workspace: WS, collection: 'events' })).filter((r) => r.status === 200).reduce((n, r) => n + (r.documents ?? 0), 0) >= 60, { timeoutMs: 60_000 });
  assert.equal(await emu.admin.count(WS, 'events'), 30);
  await produce(k, topic, [{ key: 'k3', value: null }, { key: 'k4', value: null }]);
  await waitFor('tombstones to delete k3 and k4', async () => (await emu.admin.count(WS, 'events')) === 28, { timeoutMs: 30_000 });
  assert.equal(await emu.admin.doc(WS, 'events', 'k3'), undefined);
  assert.ok(await emu.admin.doc(WS, 'events', 'k5'));
});

test('bad records go to the dead-letter topic with headers that say why (errors.tolerance=all)', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('json-dlq');
  const dlq = `${topic}-dlq`;
  const values = ['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}', '{"a":', '{"n":6}', '[{},{}]', '"just a string"', '{"n":9}'];
  await produce(k, topic, values.map((value, i) => ({ key: `r${i}`, value, headers: { origin: `h${i}` } })));
  const config = sinkConfig(k, emu.url, [topic], { errors: { tolerance: 'all', deadLetterTopic: dlq } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 7, 'events', 60_000, sink);
  await waitFor('offsets committed to the end', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '10', { timeoutMs: 30_000 });
  const consumer = k.kafka.consumer({ groupId: `${dlq}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic: dlq, fromBeginning: true });
  const letters: { key: string; value: string; headers: Record<string, string> }[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${letters.length} dead letters`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        letters.push({ key: String(message.key), value: String(message.value), headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([h, v]) => [h, String(v)])) });
        if (letters.length === 3) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  assert.deepEqual(letters.map((l) => l.key), ['r5', 'r7', 'r8']);
  assert.deepEqual(letters.map((l) => l.value), ['{"a":', '[{},{}]', '"just a string"']);
  const h = letters[0]!.headers;
  assert.equal(h[DLQ_HEADERS.topic], topic);
  assert.equal(h[DLQ_HEADERS.partition], '0');
  assert.equal(h[DLQ_HEADERS.offset], '5');
  assert.equal(h[DLQ_HEADERS.stage], 'decode');
  assert.match(h[DLQ_HEADERS.message]!, /not valid JSON/);
  assert.equal(h.origin, 'h5', 'the original headers are kept');
  assert.match(letters[1]!.headers[DLQ_HEADERS.message]!, /array of 2/);
});

test('a bad record stops the sink without committing past it (errors.tolerance=none)', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('json-stop');
  await produce(k, topic, ['{"n":0}', '{"n":1}', '{"n":2}', 'not json', '{"n":4}'].map((value, i) => ({ key: `r${i}`, value })));
  const config = sinkConfig(k, emu.url, [topic]);
  const sink = startSinkProcess(config);
  const code = await Promise.race([sink.exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
  assert.equal(code, 1, sink.lines.slice(-10).join('\n'));
  assert.equal(await emu.admin.count(WS, 'events'), 3);
  assert.equal((await committedOffsets(k, config.kafka.groupId, topic))[0], '3', 'committed up to, not past, the bad record');
  assert.ok(sink.lines.some((l) => l.includes(`${topic}/0@3`) && l.includes('errors.tolerance')), `no log line names the record and the setting:\n${sink.lines.join('\n')}`);
});

test('order within a partition holds while partitions are written in parallel and writes fail', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator({ seed: 7 });
  t.after(() => emu.close());
  const topic = await k.createTopic('json-order', { partitions: 4 });
  // Jitter makes overlapping requests finish out of order: only strictly ordered writes end on the last version.
  await emu.admin.updateFaults({ latencyMs: 5, jitterMs: 40, probabilities: { '503': 0.2, 'drop-after': 0.1 }, script: [{ fault: '503' }, { fault: 'drop-after' }] });
  const messages = [];
  for (let v = 1; v <= 50; v++) for (let p = 0; p < 4; p++) messages.push({ key: `key-${p}`, partition: p, value: JSON.stringify({ v, p }) });
  await produce(k, topic, messages);
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic], { batch: { maxDocuments: 7, lingerMs: 10 }, rockset: { maxInFlightRequests: 4 } }));
  t.after(() => stopSink(sink));
  await waitFor('the last version of each key', async () => {
    const docs = await emu.admin.docs(WS, 'events');
    return docs.length === 4 && docs.every((d) => d.v === 50);
  }, { timeoutMs: 90_000, abort: () => (sink.child.exitCode !== null ? new Error(sink.lines.slice(-20).join('\n')) : undefined) });
  const { faults } = await emu.admin.stats();
  assert.ok(faults['503'] > 0 && faults['drop-after'] > 0, `faults were injected: ${JSON.stringify(faults)}`);
});

test('the API key never appears in any log line, and bad configuration names the field', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('json-secrets');
  await produce(k, topic, [{ key: 'a', value: '{"x":1}' }]);
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic], { logLevel: 'trace' }));
  await waitForCount(emu, 1, 'events', 60_000, sink);
  assert.equal(await stopSink(sink), 0);
  assert.ok(sink.lines.length > 5, 'trace logging produced lines');
  assert.equal(sink.lines.filter((l) => l.includes(API_KEY)).length, 0, 'the API key was logged');

  const bad = startSinkProcess(sinkConfig(k, emu.url, [topic], { batch: { maxDocuments: 50_000 }, rockset: { apiKey: API_KEY } }));
  assert.equal(await bad.exited, 2);
  const out = bad.lines.join('\n');
  assert.match(out, /batch\.maxDocuments: is 50000; it must be <= 20000/);
  assert.match(out, /rockset\.apiKey: secrets are not accepted/);
  assert.ok(!out.includes(API_KEY), 'the key from the bad config was echoed');

  const termination = path.join(os.tmpdir(), `termination-${process.pid}-${Date.now()}`);
  t.after(() => fs.rmSync(termination, { force: true }));
  const wrongKey = startSinkProcess(sinkConfig(k, emu.url, [topic]), { ROCKSET_API_KEY: 'wrong-key-123', TERMINATION_MESSAGE_PATH: termination });
  assert.equal(await wrongKey.exited, 1);
  assert.match(fs.readFileSync(termination, 'utf8'), /^AuthFailed: Rockset refused a write to commons\.events: HTTP 401/, 'the reason reaches the termination message');
  assert.ok(wrongKey.lines.some((l) => /HTTP 401/.test(l) && /API key was refused/.test(l)), wrongKey.lines.join('\n'));
  assert.ok(!wrongKey.lines.some((l) => l.includes('wrong-key-123')));
});

test('/metrics counts what happened, /healthz and /readyz answer; a missing collection stops the sink naming the fix', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('json-metrics', { partitions: 2 });
  await produce(k, topic, [
    ...Array.from({ length: 10 }, (_, i) => ({ key: `m${i}`, value: `{"i":${i}}`, partition: i % 2 })),
    { key: 'gone', value: null, partition: 0 },
  ]);
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic]));
  t.after(() => stopSink(sink));
  await waitForCount(emu, 10, 'events', 60_000, sink);
  const started = sink.lines.map((l) => JSON.parse(l) as { msg?: string; httpPort?: number }).find((l) => l.msg === 'sink started');
  assert.ok(started?.httpPort, 'the start line names the metrics port');
  const base = `http://127.0.0.1:${started.httpPort}`;
  await waitFor('the lag to reach 0 in /metrics', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return text.includes(`rockset_sink_partition_lag{topic="${topic}",partition="0"} 0`) && text.includes(`rockset_sink_partition_lag{topic="${topic}",partition="1"} 0`);
  }, { timeoutMs: 30_000 });
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, new RegExp(`rockset_sink_records_consumed_total\\{topic="${topic}"\\} 11`));
  assert.match(metrics, new RegExp(`rockset_sink_records_written_total\\{topic="${topic}"\\} 11`), 'ten upserts and one delete acknowledged');
  assert.match(metrics, /rockset_sink_request_seconds_bucket/);
  assert.match(metrics, /rockset_sink_requests_in_flight 0/);
  // Both partitions' offsets were committed (lag 0) in requests the histogram counted: a
  // batch commits once, after its writes, so never more requests than writes.
  const commitRequests = Number(/^rockset_sink_offset_commit_seconds_count\{outcome="committed"\} (\d+)$/m.exec(metrics)?.[1]);
  const writeRequests = Number(/^rockset_sink_request_documents_count (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(commitRequests >= 1 && commitRequests <= writeRequests, `${commitRequests} commit requests for ${writeRequests} write requests`);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`)).status, 200);

  const missing = startSinkProcess(sinkConfig(k, emu.url, [topic], { rockset: { collection: 'nope' } }));
  assert.equal(await missing.exited, 1);
  assert.ok(missing.lines.some((l) => l.includes('HTTP 404') && l.includes('create it in Rockset')), missing.lines.slice(-5).join('\n'));
});

test('two topics of 3 partitions, produced to in rounds while the sink runs: every partition of both ends committed at its end offset', async (t) => {
  // One OffsetCommit request carries the offsets of every partition ready at that moment,
  // across topics; a partition left out of a request, or a topic whose offsets went under
  // another's name, would leave its lag for good.
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const a = await k.createTopic('commits-a', { partitions: 3 });
  const b = await k.createTopic('commits-b', { partitions: 3 });
  const config = sinkConfig(k, emu.url, [a, b]);
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  const ends: Record<string, number[]> = { [a]: [0, 0, 0], [b]: [0, 0, 0] };
  for (let round = 0; round < 5; round++) {
    for (const topic of [a, b]) {
      // partition 2 of b stays empty until the last round: a partition with nothing to commit
      const partitions = topic === b && round < 4 ? [0, 1] : [0, 1, 2];
      const messages = partitions.flatMap((partition) => Array.from({ length: 20 + round * 7 + partition }, (_, i) => ({ key: `${topic}-${partition}-${round}-${i}`, value: `{"round":${round}}`, partition })));
      await produce(k, topic, messages);
      for (const m of messages) ends[topic]![m.partition] = (ends[topic]![m.partition] ?? 0) + 1;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  const total = Object.values(ends).flat().reduce((x, y) => x + y, 0);
  await waitForCount(emu, total, 'events', 60_000, sink);
  await waitFor('every partition committed at its end', async () => {
    for (const topic of [a, b]) {
      const committed = await committedOffsets(k, config.kafka.groupId, topic);
      if (ends[topic]!.some((end, p) => committed[p] !== String(end))) return false;
    }
    return true;
  }, { timeoutMs: 30_000 });
});

test('format.key json: a JSON key becomes a canonical _id, without a schema registry', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('json-keys');
  await produce(k, topic, [
    { key: '{"tenant":"t1","id":9007199254740993}', value: '{"v":1}' },
    { key: '{"id":9007199254740993,"tenant":"t1"}', value: '{"v":2}' },
    { key: 'not json', value: '{"v":3}' },
  ]);
  const config = sinkConfig(k, emu.url, [topic], { format: { key: 'json' }, errors: { tolerance: 'all', deadLetterTopic: `${topic}-dlq` } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitFor('committed to the end', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '3', { timeoutMs: 60_000 });
  const docs = await emu.admin.docs(WS, 'events');
  assert.deepEqual(docs.map((d) => [d._id, d.v]), [['{"id":9007199254740993,"tenant":"t1"}', 2]], 'the same key in another field order names the same document');
  assert.ok(sink.lines.some((l) => l.includes('dead-letter') && l.includes('key: the value is not valid JSON')), sink.lines.slice(-5).join('\n'));
});

test('topicPattern: a topic created while the sink runs is found, rejoined with and written', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const family = `pat-${Math.random().toString(36).slice(2, 8)}`;
  const first = await k.createTopic(`${family}-a`);
  await produce(k, first, [{ key: 'a1', value: '{"n":1}' }]);
  const config = sinkConfig(k, emu.url, [first], { kafka: { topics: undefined, topicPattern: `^${family}-`, topicRefreshIntervalMs: 1000 } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 1, 'events', 60_000, sink);
  const second = await k.createTopic(`${family}-b`, { partitions: 2 });
  await produce(k, second, [
    { key: 'b1', value: '{"n":2}', partition: 0 },
    { key: 'b2', value: '{"n":3}', partition: 1 },
  ]);
  await waitForCount(emu, 3, 'events', 60_000, sink);
  assert.ok(sink.lines.some((l) => l.includes('new topics match kafka.topicPattern') && l.includes(second)), 'the sink says why it rejoins');
  // The topics it had keep flowing after the rejoin.
  await produce(k, first, [{ key: 'a2', value: '{"n":4}' }]);
  await waitForCount(emu, 4, 'events', 60_000, sink);
  assert.deepEqual((await emu.admin.docs(WS, 'events')).map((d) => d._id).sort(), ['a1', 'a2', 'b1', 'b2']);
  assert.equal(await stopSink(sink), 0);
});

test('topicPattern: a matching topic deleted while the sink runs is dropped; the other topics keep flowing', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const family = `patdel-${Math.random().toString(36).slice(2, 8)}`;
  const kept = await k.createTopic(`${family}-a`);
  const doomed = await k.createTopic(`${family}-b`);
  await produce(k, kept, [{ key: 'a1', value: '{"n":1}' }]);
  await produce(k, doomed, [{ key: 'b1', value: '{"n":2}' }]);
  const config = sinkConfig(k, emu.url, [kept], { kafka: { topics: undefined, topicPattern: `^${family}-`, topicRefreshIntervalMs: 1000 } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 2, 'events', 60_000, sink);
  await deleteTopic(k, doomed);
  await waitFor('the sink to drop the deleted topic', async () => sink.lines.some((l) => l.includes('no longer exist') && l.includes(doomed)), { timeoutMs: 30_000 });
  await produce(k, kept, [{ key: 'a2', value: '{"n":3}' }]);
  await waitForCount(emu, 3, 'events', 60_000, sink);
  // Some seconds later it still runs, and the consumer no longer restarts over the missing topic.
  const restarts = () => sink.lines.filter((l) => l.includes('hit a retriable error and restarts')).length;
  const before = restarts();
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(sink.child.exitCode, null, 'the sink still runs');
  assert.equal(restarts(), before, 'no consumer restarts once the deleted topic is dropped');
  assert.deepEqual((await emu.admin.docs(WS, 'events')).map((d) => d._id).sort(), ['a1', 'a2', 'b1']);
  assert.equal(await stopSink(sink), 0);
});

test('kafka.topics: a listed topic deleted while the sink runs stops it, naming the topic and the fix', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('listed-deleted');
  await produce(k, topic, [{ key: 'x1', value: '{"n":1}' }]);
  const termination = path.join(os.tmpdir(), `termination-${process.pid}-${Date.now()}`);
  t.after(() => fs.rmSync(termination, { force: true }));
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic]), { ROCKSET_API_KEY: API_KEY, TERMINATION_MESSAGE_PATH: termination });
  t.after(() => stopSink(sink));
  await waitForCount(emu, 1, 'events', 60_000, sink);
  await deleteTopic(k, topic);
  const code = await sink.exited;
  assert.equal(code, 1, 'the sink stops instead of restarting its consumer for good');
  assert.equal(fs.readFileSync(termination, 'utf8'), `TopicNotFound: kafka.topics names "${topic}", which the cluster no longer has (deleted?). Recreate it, or remove it from kafka.topics (or use kafka.topicPattern, which follows deleted and new topics)`);
});

test('gzip records that would not fit the memory limit in one fetch: all written, and a warning names the fetch size to set', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('gzip-ratio');
  const producer = k.kafka.producer();
  await producer.connect();
  try {
    const pad = 'abcdefgh'.repeat(120); // compresses far beyond 10x
    await producer.send({ topic, compression: CompressionTypes.GZIP, messages: Array.from({ length: 2000 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ i, pad }) })) });
  } finally {
    await producer.disconnect();
  }
  // 32 MiB: a 4 MiB fetch of these records would hold far more than 40% of it
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic]), { ROCKSET_API_KEY: API_KEY, MEMORY_LIMIT: String(32 * 2 ** 20) });
  t.after(() => stopSink(sink));
  await waitForCount(emu, 2000, 'events', 60_000, sink);
  const warnings = sink.lines.filter((l) => l.includes('records arrive compressed'));
  assert.equal(warnings.length, 1, 'warned once');
  assert.match(warnings[0]!, /against a memory limit of 32 MiB\. Set kafka\.fetchMaxBytesPerPartition to \d+ \(now 4194304\) or raise the memory limit/);
  const started = sink.lines.map((l) => JSON.parse(l) as { msg?: string; httpPort?: number }).find((l) => l.msg === 'sink started');
  const metrics = await (await fetch(`http://127.0.0.1:${started!.httpPort}/metrics`)).text();
  const compressed = Number(/rockset_sink_fetched_compressed_bytes_total (\d+)/.exec(metrics)?.[1]);
  const decompressed = Number(/rockset_sink_fetched_decompressed_bytes_total (\d+)/.exec(metrics)?.[1]);
  assert.ok(compressed > 0 && decompressed > 10 * compressed, `compressed ${compressed}, decompressed ${decompressed}`);
  assert.equal(await stopSink(sink), 0);
});

test('kafka.topics: a topic the cluster does not have stops the start, naming the topic and the fix', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = `never-created-${Math.random().toString(36).slice(2, 8)}`;
  const termination = path.join(os.tmpdir(), `termination-${process.pid}-${Date.now()}`);
  t.after(() => fs.rmSync(termination, { force: true }));
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic]), { ROCKSET_API_KEY: API_KEY, TERMINATION_MESSAGE_PATH: termination });
  t.after(() => stopSink(sink));
  const code = await sink.exited;
  assert.equal(code, 1);
  assert.equal(fs.readFileSync(termination, 'utf8'), `TopicNotFound: kafka.topics names "${topic}", which the cluster does not have. Create it, or fix kafka.topics (or use kafka.topicPattern)`);
});

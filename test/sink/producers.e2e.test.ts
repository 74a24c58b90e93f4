// Records as real producers write them: Kafka's own Java producer in every
// compression codec, transactions committed and aborted side by side (several Java
// transactional producers interleaved in one partition, one left open), LogAppendTime
// topics, compacted topics, and keys from Java's number serializers.
import { after, test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { CompressionTypes } from 'kafkajs';
import { WS, committedOffsets, produce, sinkConfig, startSinkProcess, stopSink, testKafka, waitForCount, withEmulator } from './helpers.ts';
import { waitFor } from '../harness/ports.ts';
import { startKafka, type KafkaBroker } from '../harness/kafka.ts';
import { testKafkaOn, type TestKafka } from '../harness/test-kafka.ts';
import { registerCompressionCodecs } from '../../sink/kafka/codecs.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
  test(`records from Kafka's Java producer compressed with ${codec} all become documents`, async (t) => {
    const k = await testKafka();
    const emu = await withEmulator();
    t.after(() => emu.close());
    const topic = await k.createTopic(`codec-${codec}`, { partitions: 2 });
    const n = 400;
    const lines = Array.from({ length: n }, (_, i) => `${codec}-${i}\t{"i":${i},"codec":"${codec}","big":9007199254740993,"text":"${'lorem ipsum '.repeat(1 + (i % 20))}"}`).join('\n') + '\n';
    await k.runTool('org.apache.kafka.tools.ConsoleProducer', [
      '--bootstrap-server', k.bootstrap, '--topic', topic,
      '--property', 'parse.key=true', '--property', 'key.separator=\t',
      '--compression-codec', codec,
      '--producer-property', 'linger.ms=50', '--producer-property', 'batch.size=65536',
    ], { input: lines });
    const config = sinkConfig(k, emu.url, [topic]);
    const sink = startSinkProcess(config);
    t.after(() => stopSink(sink));
    await waitForCount(emu, n, 'events', 60_000, sink);
    const docs = await emu.admin.docs(WS, 'events', { limit: n });
    assert.deepEqual(docs.map((d) => d._id).sort(), Array.from({ length: n }, (_, i) => `${codec}-${i}`).sort());
    const d7 = await emu.admin.doc(WS, 'events', `${codec}-7`);
    assert.equal(d7?.i, 7);
    assert.equal(JSON.stringify(d7?.big), '9007199254740993');
  });
}

test('a transactional topic: only committed transactions reach Rockset and lag reaches 0 past the markers', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('txn', { partitions: 1 });
  registerCompressionCodecs();
  const producer = k.kafka.producer({ transactionalId: `${topic}-tx`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const expected: string[] = [];
  try {
    for (let round = 0; round < 6; round++) {
      const commit = round % 2 === 0;
      const txn = await producer.transaction();
      const messages = Array.from({ length: 5 }, (_, i) => ({ key: `r${round}-${i}`, value: JSON.stringify({ round, i, commit }) }));
      await txn.send({ topic, messages, compression: round === 2 ? CompressionTypes.GZIP : CompressionTypes.None });
      if (commit) {
        await txn.commit();
        expected.push(...messages.map((m) => m.key));
      } else {
        await txn.abort();
      }
    }
  } finally {
    await producer.disconnect();
  }
  const config = sinkConfig(k, emu.url, [topic]);
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, expected.length, 'events', 60_000, sink);
  // 30 records + 6 transaction markers: the committed offset moves past all of them.
  await waitFor('committed past the last marker', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '36', { timeoutMs: 30_000 });
  const docs = await emu.admin.docs(WS, 'events');
  assert.deepEqual(docs.map((d) => d._id).sort(), expected.sort());
  assert.ok(docs.every((d) => d.commit === true), 'an aborted record reached Rockset');
});

// Several Java transactional producers in one partition, run by ProducerScript.java.
// Each value names itself and says whether its transaction committed.
async function runProducerScript(k: TestKafka, topic: string, steps: string[]): Promise<void> {
  await k.runTool(path.join(here, 'fixtures/ProducerScript.java'), [k.bootstrap, topic], { input: steps.join('\n') + '\n' });
}

const step = (producer: string | null, key: string, name: string, committed: boolean, pad = 0) =>
  `${producer === null ? 'plain' : `send ${producer}`} ${key} {"name":"${name}","committed":${committed}${pad ? `,"pad":"${'x'.repeat(pad)}"` : ''}}`;

async function assertOnlyCommitted(k: TestKafka, emu: Awaited<ReturnType<typeof withEmulator>>, topic: string, config: ReturnType<typeof sinkConfig>, expected: string[], endOffset: string) {
  // The end of the log is past every marker: once committed there, every record was seen.
  await waitFor('committed at the end of the log', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === endOffset, { timeoutMs: 60_000 });
  const docs = await emu.admin.docs(WS, 'events');
  assert.deepEqual(docs.map((d) => d.name).sort(), [...expected].sort(), 'documents other than the committed records');
  assert.ok(docs.every((d) => d.committed === true), 'an aborted record reached Rockset');
}

test('aborted transactions of several Java producers never reach Rockset, in whatever order they ended, whatever their keys', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('txn-java', { partitions: 1 });
  await runProducerScript(k, topic, [
    // p1 starts first and aborts last: the broker lists aborted transactions in the
    // order they ended (p2's, then p1's), not by where they start.
    'begin p1', step('p1', 'str:a1', 'a1', false),
    'begin p2', step('p2', 'str:b1', 'b1', false),
    'abort p2',
    step('p1', 'str:a2', 'a2', false),
    'abort p1',
    step(null, 'str:c1', 'c1', true),
    // Java's IntegerSerializer writes the key 0 as 00 00 00 00, the bytes of an abort
    // marker's key: an ordinary record, inside an aborted transaction.
    'begin p3', step('p3', 'int:0', 'z0', false), step('p3', 'str:z1', 'z1', false), 'abort p3',
    'begin p3', step('p3', 'long:0', 'z2', true), step('p3', 'int:1', 'z3', true), 'commit p3',
  ]);
  const config = sinkConfig(k, emu.url, [topic]);
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  // 8 records and 4 markers.
  await assertOnlyCommitted(k, emu, topic, config, ['c1', 'z2', 'z3'], '12');
});

test('aborted transactions that interleave across fetches never reach Rockset', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('txn-java-fetches', { partitions: 1 });
  // Records of ~900 bytes and fetches of 1 KiB: every fetch starts inside both open
  // transactions, as a default 4 MiB fetch does inside large ones.
  await runProducerScript(k, topic, [
    'begin p1', step('p1', 'str:a1', 'a1', false, 900),
    'begin p2', step('p2', 'str:b1', 'b1', false, 900),
    step('p1', 'str:a2', 'a2', false, 900), step('p2', 'str:b2', 'b2', false, 900),
    step('p1', 'str:a3', 'a3', false, 900), step('p2', 'str:b3', 'b3', false, 900),
    'abort p1', 'abort p2',
    step(null, 'str:c1', 'c1', true, 900),
    'begin p1', step('p1', 'str:a4', 'a4', true, 900), 'commit p1',
  ]);
  const config = sinkConfig(k, emu.url, [topic], { kafka: { fetchMaxBytesPerPartition: 1024 } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  // 8 records and 3 markers.
  await assertOnlyCommitted(k, emu, topic, config, ['c1', 'a4'], '11');
});

test('a LogAppendTime topic: _event_time is when the broker appended the records, not the time their producer gave them', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('log-append-time', { config: { 'message.timestamp.type': 'LogAppendTime' } });
  const before = Date.now();
  // One batch: the broker stamps its header only, and the records keep the producer's deltas.
  await produce(k, topic, [
    { key: 'a', value: '{"name":"a"}', timestamp: '1656495125234' },
    { key: 'b', value: '{"name":"b"}', timestamp: '1656495999999' },
  ]);
  const after = Date.now();
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic]));
  t.after(() => stopSink(sink));
  await waitForCount(emu, 2, 'events', 60_000, sink);
  const docs = await emu.admin.docs(WS, 'events');
  for (const d of docs) {
    const ms = (d._event_time as number) / 1000;
    assert.ok(ms >= before - 1000 && ms <= after + 1000, `${String(d._id)}: _event_time ${String(d._event_time)} is not the append time (${before}..${after} ms)`);
  }
  assert.equal(docs[0]?._event_time, docs[1]?._event_time, 'one append, one time');
});

// A broker of its own for the compacted topics: its log cleaner looks for work every
// 200 ms, not every 15 s.
let compactingBroker: Promise<KafkaBroker> | undefined;
const compacting = () => (compactingBroker ??= startKafka({ properties: { 'log.cleaner.backoff.ms': 200 } }));
after(async () => (await compactingBroker)?.stop());

test('a compacted topic whose cleaner kept empty batches of short-lived Java producers: the sink gets past them to the live records', async (t) => {
  const broker = await compacting();
  const k = testKafkaOn(broker);
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('compacted', {
    config: { 'cleanup.policy': 'compact', 'segment.ms': '100', 'min.cleanable.dirty.ratio': '0.01', 'min.compaction.lag.ms': '0', 'delete.retention.ms': '0' },
  });
  // 20 idempotent producers, each writing the key k once; then, in a new segment, z.
  // The cleaner keeps k's last value and, of every other producer, its last batch with
  // no records in it (Kafka keeps an active producer's last sequence number).
  const steps = Array.from({ length: 20 }, (_, i) => `once str:k {"n":${i}}`);
  await runProducerScript(k, topic, [...steps, 'sleep 300', 'once str:z {"n":"z"}']);
  const segment = path.join(broker.dataDir, 'logs', `${topic}-0`, '00000000000000000000.log');
  await waitFor('the cleaner emptied 19 batches', async () => {
    const { stdout } = await k.runTool('kafka.tools.DumpLogSegments', ['--files', segment]);
    return (stdout.match(/ count: 0 /g) ?? []).length === 19;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  // Fetches of 1 KiB hold nothing but empty batches, as a 4 MiB fetch does in a partition
  // that ~60,000 such producers wrote to.
  const config = sinkConfig(k, emu.url, [topic], { kafka: { fetchMaxBytesPerPartition: 1024 } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 2, 'events', 60_000, sink);
  assert.deepEqual((await emu.admin.docs(WS, 'events')).map((d) => [d._id, d.n]).sort(), [['k', 19], ['z', 'z']]);
  await waitFor('committed at the end of the log', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '21', { timeoutMs: 30_000 });
});

test("keys from Java's LongSerializer (format.key long): _id is the number's digits, and a tombstone deletes by it", async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('long-keys');
  // 200 ends in 0xC8, not UTF-8 on its own; 1 is seven NULs and 0x01: read as text, one
  // became base64 and the other control characters.
  await runProducerScript(k, topic, [
    'plain long:200 {"name":"two hundred"}',
    'plain long:1 {"name":"one"}',
    'plain long:-5 {"name":"minus five"}',
    'plain long:9223372036854775807 {"name":"max"}',
    'tombstone long:1',
  ]);
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic], { format: { key: 'long' } }));
  t.after(() => stopSink(sink));
  await waitFor('the tombstone applied', async () => (await emu.admin.count(WS, 'events')) === 3 && (await emu.admin.doc(WS, 'events', '1')) === undefined, { timeoutMs: 60_000 });
  const docs = await emu.admin.docs(WS, 'events');
  assert.deepEqual(docs.map((d) => [d._id, d.name]).sort(), [['-5', 'minus five'], ['200', 'two hundred'], ['9223372036854775807', 'max']]);
});

test('records behind an open Java transaction: held (rockset_sink_partition_held_records), not written, until it commits', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('txn-open');
  const release = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'txn-open-')), 'commit');
  const producing = runProducerScript(k, topic, [
    'plain str:a {"name":"a"}',
    'begin p1', step('p1', 'str:b', 'b', true),
    // not in the transaction, but after its start: readable only once it ends
    'plain str:c {"name":"c"}',
    `waitfile ${release}`,
    'commit p1',
  ]);
  // the producer never outlives the test
  t.after(async () => {
    fs.writeFileSync(release, '');
    await producing.catch(() => undefined);
    fs.rmSync(path.dirname(release), { recursive: true, force: true });
  });
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic]));
  t.after(() => stopSink(sink));
  const held = async () => {
    const port = sink.lines.map((l) => /"httpPort":(\d+)/.exec(l)?.[1]).find(Boolean);
    if (!port) return undefined;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return new RegExp(`^rockset_sink_partition_held_records\\{topic="${topic}",partition="0"\\} (\\d+)$`, 'm').exec(text)?.[1];
  };
  // a at 0 is written and committed; b and c (offsets 1, 2) wait behind the stable offset 1
  await waitFor('2 records held', async () => (await held()) === '2', { timeoutMs: 60_000 });
  assert.deepEqual((await emu.admin.docs(WS, 'events')).map((d) => d.name), ['a']);
  fs.writeFileSync(release, '');
  await producing;
  await waitForCount(emu, 3, 'events', 60_000, sink);
  await waitFor('nothing held', async () => (await held()) === '0', { timeoutMs: 30_000 });
});

test('a compacted batch whose last records were removed: the sink moves past the gap in one step, not one offset per fetch', async (t) => {
  const broker = await compacting();
  const k = testKafkaOn(broker);
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('compacted-gap', {
    config: { 'cleanup.policy': 'compact', 'segment.ms': '100', 'min.cleanable.dirty.ratio': '0.01', 'min.compaction.lag.ms': '0', 'delete.retention.ms': '0' },
  });
  // k0..k99 in one batch (offsets 0-99), then k1..k99 again (100-198): the cleaner keeps
  // k0 alone in the first batch, whose last offset stays 99.
  await runProducerScript(k, topic, ['batch 0 100 {"v":1}', 'batch 1 100 {"v":2}', 'sleep 300', 'plain str:z {"v":"z"}']);
  const segment = path.join(broker.dataDir, 'logs', `${topic}-0`, '00000000000000000000.log');
  await waitFor('the cleaner kept k0 alone in the first batch', async () => {
    const { stdout } = await k.runTool('kafka.tools.DumpLogSegments', ['--files', segment]);
    return /^baseOffset: 0 lastOffset: 99 count: 1 /m.test(stdout);
  }, { timeoutMs: 60_000, intervalMs: 500 });
  // 1 KiB fetches: from offset 1, the first batch (offsets up to 99, no record past 0) is
  // all a fetch holds.
  const config = sinkConfig(k, emu.url, [topic], { kafka: { fetchMaxBytesPerPartition: 1024 } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 101, 'events', 60_000, sink);
  await waitFor('committed at the end of the log', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '200', { timeoutMs: 30_000 });
  // kafkajs moved one offset per fetch through the gap, committing each: ~100 commits
  const port = sink.lines.map((l) => /"httpPort":(\d+)/.exec(l)?.[1]).find(Boolean);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const commits = Number(/^rockset_sink_offset_commit_seconds_count\{outcome="committed"\} (\d+)$/m.exec(text)?.[1]);
  assert.ok(commits <= 10, `${commits} offset commits for 3 batches`);
});

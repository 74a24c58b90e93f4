// Records as real producers write them: Kafka's own Java producer in every
// compression codec, and transactions committed and aborted side by side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompressionTypes } from 'kafkajs';
import { WS, committedOffsets, sinkConfig, startSinkProcess, stopSink, testKafka, waitForCount, withEmulator } from './helpers.ts';
import { waitFor } from '../harness/ports.ts';
import { registerCompressionCodecs } from '../../sink/kafka/codecs.ts';

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

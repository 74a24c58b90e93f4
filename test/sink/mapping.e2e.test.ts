// Values and keys on their way to documents, end to end: real broker, the sink
// as a process, the emulator.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DLQ_HEADERS } from '../../sink/dlq.ts';
import { waitFor } from '../harness/ports.ts';
import { API_KEY, WS, committedOffsets, produce, sinkConfig, startSinkProcess, stopSink, testKafka, waitForCount, withEmulator } from './helpers.ts';
import type { TestKafka } from '../harness/test-kafka.ts';

const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

async function deadLetters(k: TestKafka, topic: string, count: number): Promise<{ key: string; headers: Record<string, string> }[]> {
  const consumer = k.kafka.consumer({ groupId: `${topic}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const letters: { key: string; headers: Record<string, string> }[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${letters.length} dead letters`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          letters.push({ key: String(message.key), headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([h, v]) => [h, String(v)])) });
          if (letters.length === count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return letters;
}

test('a value nesting thousands of levels deep goes to the dead-letter topic (stage map) and the sink writes the records after it', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('json-deep');
  const dlq = `${topic}-dlq`;
  // with an _id (the general path) and without (the document keeps its own bytes), ~9 KB each
  const values = ['{"n":0}', `{"_id":"x","a":${deep(4500)}}`, `{"a":${deep(4500)}}`, '{"n":3}', `{"b":${deep(1000)}}`];
  await produce(k, topic, values.map((value, i) => ({ key: `r${i}`, value })));
  const config = sinkConfig(k, emu.url, [topic], { errors: { tolerance: 'all', deadLetterTopic: dlq } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitFor('offsets committed to the end', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '5', { timeoutMs: 60_000, abort: () => (sink.child.exitCode !== null ? new Error(`the sink exited:\n${sink.lines.slice(-20).join('\n')}`) : undefined) });
  const letters = await deadLetters(k, dlq, 3);
  assert.deepEqual(letters.map((l) => l.key), ['r1', 'r2', 'r4']);
  for (const l of letters) {
    assert.equal(l.headers[DLQ_HEADERS.stage], 'map');
    assert.match(l.headers[DLQ_HEADERS.message]!, /more than 1000 levels deep/);
  }
  assert.equal(await emu.admin.count(WS, 'events'), 2);
  // still running: a record produced now is written too
  await produce(k, topic, [{ key: 'r5', value: '{"n":5}' }]);
  await waitForCount(emu, 3, 'events', 30_000, sink);
  assert.equal(sink.child.exitCode, null);
});

test('a value nesting too deep stops the sink with BadRecord naming topic, partition and offset (errors.tolerance=none)', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('json-deep-stop');
  await produce(k, topic, ['{"n":0}', `{"_id":"x","a":${deep(4500)}}`, '{"n":2}'].map((value, i) => ({ key: `r${i}`, value })));
  const config = sinkConfig(k, emu.url, [topic]);
  const termination = path.join(os.tmpdir(), `termination-${topic}`);
  t.after(() => fs.rmSync(termination, { force: true }));
  const sink = startSinkProcess(config, { ROCKSET_API_KEY: API_KEY, TERMINATION_MESSAGE_PATH: termination });
  const code = await Promise.race([sink.exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
  assert.equal(code, 1, sink.lines.slice(-10).join('\n'));
  assert.equal(await emu.admin.count(WS, 'events'), 1);
  assert.equal((await committedOffsets(k, config.kafka.groupId, topic))[0], '1', 'committed up to, not past, the bad record');
  // the reason the operator shows, then the record and the limit
  assert.match(fs.readFileSync(termination, 'utf8'), new RegExp(`^BadRecord: bad record at ${topic}/0@1 \\(map\\): .*more than 1000 levels deep`));
});

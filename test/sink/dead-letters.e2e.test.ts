// Dead letters as a Java shop produces and reads them: headers with null values,
// repeated keys and an order between keys, written by Kafka's own console producer
// and read back by its console consumer; and a dead-letter topic that disappears
// while the sink runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { API_KEY, committedOffsets, deleteTopic, produce, sinkConfig, startSinkProcess, stopSink, testKafka, waitForCount, withEmulator } from './helpers.ts';
import { waitFor } from '../harness/ports.ts';

const NULL = 'NULL-MARK';

test('a bad record whose headers hold null values, repeated keys and keys in any order is dead-lettered with its headers as produced', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('dlq-java-headers');
  const dlq = `${topic}-dlq`;
  // headers \t key \t value; the good record has a null-valued header too
  const produced = `trace:t-1,n:${NULL},dup:a,b:x,dup:${NULL},1:first-by-number,dup:c`;
  const lines = [`${produced}\tbad\tnot json`, `n:${NULL}\tgood\t{"a":1}`].join('\n') + '\n';
  await k.runTool('org.apache.kafka.tools.ConsoleProducer', [
    '--bootstrap-server', k.bootstrap, '--topic', topic,
    '--property', 'parse.headers=true', '--property', 'parse.key=true', '--property', 'key.separator=\t',
    '--property', `null.marker=${NULL}`,
  ], { input: lines });
  const config = sinkConfig(k, emu.url, [topic], { errors: { tolerance: 'all', deadLetterTopic: dlq } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 1, 'events', 60_000, sink);
  assert.deepEqual((await emu.admin.docs('commons', 'events')).map((d) => d._id), ['good']);
  await waitFor('committed past both records', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '2', { timeoutMs: 30_000 });
  const { stdout } = await k.runTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
    '--bootstrap-server', k.bootstrap, '--topic', dlq, '--from-beginning', '--max-messages', '1', '--timeout-ms', '30000',
    '--property', 'print.headers=true', '--property', 'print.key=true', '--property', `null.literal=${NULL}`,
  ]);
  const [headers, key, value] = stdout.trim().split('\t');
  assert.equal(key, 'bad');
  assert.equal(value, 'not json');
  assert.ok(headers!.startsWith(`${produced},__connect.errors.topic:${topic},__connect.errors.partition:0,__connect.errors.offset:0,__connect.errors.stage:decode,`), headers);
  assert.equal(sink.child.exitCode, null, 'the sink still runs');
});

test('the dead-letter topic deleted while the sink runs stops it with DeadLetterTopicMissing at the next bad record, committing nothing past it', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('dlq-deleted');
  const dlq = `${topic}-dlq`;
  await produce(k, topic, [{ key: 'good', value: '{"a":1}' }]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sink-dlq-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const termination = path.join(dir, 'termination');
  const config = sinkConfig(k, emu.url, [topic], { errors: { tolerance: 'all', deadLetterTopic: dlq } });
  const sink = startSinkProcess(config, { ROCKSET_API_KEY: API_KEY, TERMINATION_MESSAGE_PATH: termination });
  t.after(() => stopSink(sink));
  await waitForCount(emu, 1, 'events', 60_000, sink);
  await waitFor('committed past the good record', async () => (await committedOffsets(k, config.kafka.groupId, topic))[0] === '1', { timeoutMs: 30_000 });
  await deleteTopic(k, dlq);
  await produce(k, topic, [{ key: 'bad', value: 'not json' }, { key: 'after', value: '{"a":2}' }]);
  const code = await Promise.race([sink.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 45_000))]);
  assert.equal(code, 1, sink.lines.slice(-10).join('\n'));
  const message = fs.readFileSync(termination, 'utf8');
  assert.match(message, /^DeadLetterTopicMissing: /);
  assert.ok(message.includes(`"${dlq}"`) && message.includes('errors.deadLetterTopic') && message.includes(`${topic}/0@1`), message);
  assert.equal((await committedOffsets(k, config.kafka.groupId, topic))[0], '1');
  assert.equal(await emu.admin.count('commons', 'events'), 1);
});

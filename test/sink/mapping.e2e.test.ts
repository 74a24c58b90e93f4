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

/** Registers a schema through the registry's Confluent-compatible REST API as a Java producer would (no client-side parsing). */
async function register(url: string, subject: string, schema: string, schemaType = 'AVRO'): Promise<number> {
  const res = await fetch(`${url}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema, schemaType }),
  });
  const body = (await res.json()) as { id?: number };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.id!;
}

/** Confluent framing: magic byte 0, the schema id (4 bytes, big-endian), the Avro body. */
function framed(id: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  return Buffer.concat([head, body]);
}

test('an Avro writer schema with a long default beyond 2^53 decodes; a schema that cannot be compiled dead-letters with the compile error', async (t) => {
  const { default: avro } = await import('avsc');
  const { testRegistry } = await import('../harness/test-registry.ts');
  const k = await testKafka();
  const reg = await testRegistry();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('avro-defaults');
  const dlq = `${topic}-dlq`;
  // valid for Java Avro 1.12 and for the registry; JSON.parse rounds the default
  const text = '{"type":"record","name":"Counter","namespace":"test.defaults","fields":[{"name":"id","type":"long"},{"name":"limit","type":"long","default":9223372036854775807}]}';
  const id = await register(reg.url, `${topic}-value`, text);
  const body = avro.Type.forSchema({ type: 'record', name: 'Counter', fields: [{ name: 'id', type: 'long' }, { name: 'limit', type: 'long' }] }).toBuffer({ id: 1, limit: 5 });
  // the registry accepts an import it cannot resolve; the sink reads no schema references
  const badText = 'syntax = "proto3"; import "other.proto"; message M { other.X x = 1; }';
  const badId = await register(reg.url, `${topic}-broken-value`, badText, 'PROTOBUF');
  await produce(k, topic, [
    { key: 'c1', value: framed(id, body) },
    { key: 'b1', value: framed(badId, Buffer.from([0])) },
  ]);
  const config = sinkConfig(k, emu.url, [topic], { errors: { tolerance: 'all', deadLetterTopic: dlq }, schemaRegistry: { url: reg.url, requestTimeoutMs: 2000 }, format: { value: 'auto' } });
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 1, 'events', 60_000, sink);
  const res = await fetch(`${emu.url}/_emulator/collections/${WS}/events/docs/c1`);
  assert.equal(res.status, 200, 'document c1 is missing');
  const doc = (await res.json()) as Record<string, unknown>;
  assert.deepEqual([doc.id, doc.limit], [1, 5]);
  const [letter] = await deadLetters(k, dlq, 1);
  assert.equal(letter!.key, 'b1');
  assert.equal(letter!.headers[DLQ_HEADERS.stage], 'decode');
  assert.match(letter!.headers[DLQ_HEADERS.message]!, new RegExp(`schema id ${badId} cannot be compiled: .*other\\.proto`));
});

test('a binary key and a text key spelling its base64 _id write two documents; the text key\'s tombstone deletes only its own', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('key-spaces');
  await produce(k, topic, [
    { key: Buffer.from([0x80]), value: '{"from":"binary"}' },
    { key: 'base64:gA==', value: '{"from":"text"}' },
    { key: 'user-1', value: '{"from":"plain"}' },
  ]);
  const config = sinkConfig(k, emu.url, [topic]);
  const sink = startSinkProcess(config);
  t.after(() => stopSink(sink));
  await waitForCount(emu, 3, 'events', 60_000, sink);
  const stored = async (id: string) => {
    const res = await fetch(`${emu.url}/_emulator/collections/${WS}/events/docs/${encodeURIComponent(id)}`);
    return res.status === 200 ? ((await res.json()) as { from: string }).from : undefined;
  };
  assert.equal(await stored('base64:gA=='), 'binary');
  assert.equal(await stored(`base64:${Buffer.from('base64:gA==').toString('base64')}`), 'text');
  assert.equal(await stored('user-1'), 'plain', 'an ordinary text key keeps its text as _id');
  await produce(k, topic, [{ key: 'base64:gA==', value: null }]);
  await waitFor('the text key\'s document deleted', async () => (await emu.admin.count(WS, 'events')) === 2, { timeoutMs: 30_000 });
  assert.equal(await stored('base64:gA=='), 'binary');
});

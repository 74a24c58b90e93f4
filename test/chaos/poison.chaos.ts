// Poison records among good ones (plain JSON and Avro through the registry on one
// topic): invalid JSON, a JSON value that is not an object, Confluent frames with
// an unknown schema id or bytes that do not decode, and documents too large for
// any request. Each goes to the dead-letter topic with its key and Kafka Connect's
// error headers; everything else is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { testKafka } from '../harness/test-kafka.ts';
import { testRegistry } from '../harness/test-registry.ts';
import { seededRandom } from '../unit/prng.ts';
import { DLQ_HEADERS } from '../../sink/dlq.ts';
import { planRecords, type PlannedRecord } from './dataset.ts';
import { Scenario, chaosEmulator, kafkaFor } from './scenario.ts';

const SEED = Number(process.env.CHAOS_SEED ?? 20261125);

const SCHEMA = {
  type: 'record',
  name: 'ChaosEvent',
  fields: [
    { name: 'k', type: ['null', 'string'] },
    { name: 'v', type: 'long' },
    { name: 'pad', type: 'string' },
  ],
};

interface Letter {
  key: string | null;
  headers: Record<string, string>;
}

async function readLetters(s: Scenario, topic: string, n: number, timeoutMs = 60_000): Promise<Letter[]> {
  const consumer = s.b.kafka.consumer({ groupId: `${topic}-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const letters: Letter[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${letters.length} of ${n} dead letters arrived on ${topic}`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          letters.push({ key: message.key?.toString() ?? null, headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([h, v]) => [h, String(v)])) });
          if (letters.length >= n) {
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

test('poison records go to the dead-letter topic with their headers; everything else is written', async (t) => {
  const k = await testKafka();
  const reg = await testRegistry();
  // 256 KiB requests: a 300 KB document fits no request
  const emu = await chaosEmulator({ maxBodyBytes: 256 * 1024 });
  t.after(() => emu.close());
  const s = await Scenario.create('poison', { brokers: k.brokers, kafka: kafkaFor(k.brokers) }, 3);
  t.after(() => s.close());
  const dlq = `${s.topic}.dlq`;
  const { id } = await reg.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(SCHEMA) }, { subject: `${s.topic}-value` });
  const rnd = seededRandom(SEED + 30);
  const good = planRecords({ records: 5000, partitions: 3, keys: 600, seed: SEED + 30 });
  const framed = (payload: Buffer, schemaId = id) => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(schemaId, 1);
    return Buffer.concat([header, payload]);
  };
  const poisons: Array<[string, () => Buffer | string]> = [
    ['invalid JSON', () => '{"k": "oops", "v": '],
    ['not an object', () => '[1, 2, 3]'],
    ['unknown schema id', () => framed(Buffer.from([2, 4, 6]), 0x7ffffff0)],
    ['undecodable Avro', () => framed(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))],
    ['oversize document', () => JSON.stringify({ k: 'big', v: 0, pad: 'z'.repeat(300_000) })],
  ];
  const records: PlannedRecord[] = [];
  let poisoned = 0;
  for (const [i, r] of good.entries()) {
    // half the good records as Avro: one topic, two formats (format.value auto)
    if (r.doc && rnd() < 0.5) records.push({ ...r, value: await reg.registry.encode(id, r.doc) });
    else records.push(r);
    if (rnd() < 0.01 || i % 1000 === 0) {
      const [kind, value] = poisons[poisoned % poisons.length]!;
      // some poison records reuse a live key: a bad record must not touch its document
      const key = poisoned % 2 ? `poison-${poisoned}` : `k${Math.floor(rnd() * 600)}`;
      const partition = key.startsWith('k') ? Number(key.slice(1)) % 3 : poisoned % 3;
      records.push({ key, value: value(), partition, timestamp: r.timestamp, poison: kind });
      poisoned++;
    }
  }
  await s.produce(records, { chunk: 200 });
  await s.verifyProduced();
  const sink = s.startSink(s.config(emu.url, {
    format: { value: 'auto' },
    schemaRegistry: { url: reg.url, username: 'chaos', requestTimeoutMs: 2000 },
    errors: { tolerance: 'all', deadLetterTopic: dlq },
    batch: { maxDocuments: 500, maxBytes: 1024 * 1024, lingerMs: 20 },
  }));
  let letters: Letter[] = [];
  await s.conclude(emu, async () => {
    await s.drained(120_000);
    letters = await readLetters(s, dlq, poisoned);
  });
  assert.equal(s.running()[0], sink, 'the sink is still running');
  const poisonAt = new Map(s.produced.filter((r) => r.poison).map((r) => [`${r.partition}@${r.offset}`, r]));
  assert.equal(letters.length, poisonAt.size);
  const seen = new Set<string>();
  for (const l of letters) {
    const h = l.headers;
    assert.equal(h[DLQ_HEADERS.topic], s.topic);
    const where = `${h[DLQ_HEADERS.partition]}@${h[DLQ_HEADERS.offset]}`;
    const original = poisonAt.get(where);
    assert.ok(original, `a dead letter for ${where}, which is not a poison record (${h[DLQ_HEADERS.errorClass]}: ${h[DLQ_HEADERS.message]})`);
    assert.equal(l.key, original.key, 'the dead letter keeps the original key');
    assert.ok(h[DLQ_HEADERS.stage] && h[DLQ_HEADERS.errorClass] && h[DLQ_HEADERS.message], `headers of ${where}: ${JSON.stringify(h)}`);
    const stage = original.poison === 'oversize document' ? 'write' : 'decode';
    assert.ok(h[DLQ_HEADERS.stage] === stage || (original.poison === 'not an object' && h[DLQ_HEADERS.stage] === 'map'), `${original.poison} at ${where} dead-lettered at stage ${h[DLQ_HEADERS.stage]}`);
    seen.add(where);
  }
  assert.equal(seen.size, poisonAt.size, 'each poison record was dead-lettered exactly once');
});

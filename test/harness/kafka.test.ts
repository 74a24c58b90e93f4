import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testKafka } from './test-kafka.ts';
import { stillRunning } from './processes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

async function consumeAll(topic: string, expected: number): Promise<{ key: string | null; value: string; headers: Record<string, string> }[]> {
  const k = await testKafka();
  const consumer = k.kafka.consumer({ groupId: `${topic}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: { key: string | null; value: string; headers: Record<string, string> }[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length}/${expected} records arrived`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [h, v] of Object.entries(message.headers ?? {})) headers[h] = String(v);
          got.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
          if (got.length >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

test('kafkajs produces to and consumes from the harness broker', async () => {
  const k = await testKafka();
  const topic = await k.createTopic('harness-kafkajs', { partitions: 3 });
  const producer = k.kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: { n: String(i) } })) });
  await producer.disconnect();
  const got = await consumeAll(topic, 30);
  assert.deepEqual(got.map((m) => m.value).sort(), Array.from({ length: 30 }, (_, i) => `v${i}`).sort());
  assert.ok(got.every((m) => m.value === `v${m.headers.n}` && m.key === `k${m.headers.n}`));
});

test("Kafka's own Java console producer writes records kafkajs reads", async () => {
  const k = await testKafka();
  const topic = await k.createTopic('harness-java');
  const lines = Array.from({ length: 20 }, (_, i) => `key-${i}\t{"n":${i}}`).join('\n') + '\n';
  await k.runTool('org.apache.kafka.tools.ConsoleProducer', [
    '--bootstrap-server', k.bootstrap, '--topic', topic,
    '--property', 'parse.key=true', '--property', 'key.separator=\t',
    '--compression-codec', 'gzip',
  ], { input: lines });
  const got = await consumeAll(topic, 20);
  assert.deepEqual(got.map((m) => m.key), Array.from({ length: 20 }, (_, i) => `key-${i}`));
  assert.deepEqual(got.map((m) => JSON.parse(m.value).n), Array.from({ length: 20 }, (_, i) => i));
});

// Starts a broker in a child process that then dies in the given way; the broker
// and its data directory must be gone afterwards.
async function brokerLeftBy(mode: 'failing-test' | 'sigterm'): Promise<{ pid: number; dataDir: string; exitCode: number | null }> {
  const child = spawn(process.execPath, [path.join(here, 'fixtures', 'broker-then-die.ts'), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /^broker (\d+) (\S+)$/m.exec(out);
    if (m && mode === 'sigterm') child.kill('SIGTERM');
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exitCode: number | null = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const m = /^broker (\d+) (\S+)$/m.exec(out);
  assert.ok(m, `the child never started its broker: ${out}\n${err.slice(-3000)}`);
  return { pid: Number(m[1]), dataDir: m[2]!, exitCode };
}


test('the broker is stopped and its data removed when a test fails', async () => {
  const left = await brokerLeftBy('failing-test');
  assert.notEqual(left.exitCode, 0, 'the failing test should fail its process');
  assert.deepEqual(await stillRunning([left.pid]), [], 'broker process still running');
  assert.equal(fs.existsSync(left.dataDir), false, 'data directory still present');
});

test('the broker is stopped and its data removed when the run is interrupted', async () => {
  const left = await brokerLeftBy('sigterm');
  assert.deepEqual(await stillRunning([left.pid]), [], 'broker process still running');
  assert.equal(fs.existsSync(left.dataDir), false, 'data directory still present');
});

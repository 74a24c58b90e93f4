// Answers from the Rockset side that are broken or hostile: unreadable 2xx bodies,
// bodies larger than any real answer, Retry-After values no timer can hold, and a
// certificate the sink does not trust. Each must either make progress or stop the
// sink with a reason a human can act on, never stall it while it looks healthy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { committedOffsets, produce, sinkConfig, startSinkProcess, stopSink, testKafka, waitForCount, withEmulator, API_KEY, type SinkProcess } from './helpers.ts';
import { waitFor } from '../harness/ports.ts';

async function metric(sink: SinkProcess, name: string): Promise<number> {
  const started = sink.lines.map((l) => JSON.parse(l) as { msg?: string; httpPort?: number }).find((l) => l.msg === 'sink started');
  assert.ok(started?.httpPort, 'the sink said it started');
  const text = await (await fetch(`http://127.0.0.1:${started.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

function tempFile(t: { after(fn: () => void): void }, name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sink-write-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, name);
}

const records = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `id-${i}`, value: JSON.stringify({ i }) }));

test('answers whose data holds null or non-object results are retried until Rockset answers readably; nothing is lost', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('write-malformed');
  await produce(k, topic, records(5));
  await emu.admin.script({ fault: 'malformed-200', times: 2 });
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic], { batch: { lingerMs: 500 } }));
  t.after(() => stopSink(sink));
  await waitForCount(emu, 5, 'events', 60_000, sink);
  assert.equal(await metric(sink, 'rockset_sink_retries_total{cause="bad-response"}'), 2);
  assert.equal(sink.child.exitCode, null, 'the sink still runs');
  assert.ok(!sink.lines.some((l) => /TypeError|Cannot read properties/.test(l)), sink.lines.filter((l) => /TypeError/.test(l)).join('\n'));
});

test('a Rockset side that only answers unreadably stops the sink with BadResponse after a bounded number of tries, committing nothing', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator({ faults: { probabilities: { 'malformed-200': 1 } } });
  t.after(() => emu.close());
  const topic = await k.createTopic('write-malformed-always');
  await produce(k, topic, records(3));
  const termination = tempFile(t, 'termination');
  const config = sinkConfig(k, emu.url, [topic], { retry: { initialBackoffMs: 20, maxBackoffMs: 100, maxRetries: -1 } });
  const sink = startSinkProcess(config, { ROCKSET_API_KEY: API_KEY, TERMINATION_MESSAGE_PATH: termination });
  t.after(() => stopSink(sink));
  const code = await Promise.race([sink.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 45_000))]);
  assert.equal(code, 1, sink.lines.slice(-10).join('\n'));
  const message = fs.readFileSync(termination, 'utf8');
  assert.match(message, /^BadResponse: /);
  assert.match(message, /10 times in a row/);
  assert.match(message, /rockset\.apiServer/);
  assert.equal((await emu.admin.stats()).faults['malformed-200'], 10);
  assert.deepEqual(await committedOffsets(k, config.kafka.groupId, topic), { 0: '-1' });
});

test('an answer larger than any real one is not read whole: it is retried and the records land', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('write-oversized');
  await produce(k, topic, records(4));
  await emu.admin.setFaults({ oversizedBytes: 256 * 1024 * 1024, script: [{ fault: 'oversized-200' }] });
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic], { batch: { lingerMs: 500 } }));
  t.after(() => stopSink(sink));
  await waitForCount(emu, 4, 'events', 60_000, sink);
  await waitFor('the retry', async () => (await metric(sink, 'rockset_sink_retries_total{cause="bad-response"}')) === 1, { timeoutMs: 30_000 });
  const retried = sink.lines.find((l) => l.includes('write failed; retrying'));
  assert.match(retried ?? '', /body over \d+ bytes/);
  assert.equal(sink.child.exitCode, null, 'the sink still runs');
});

test('a Retry-After beyond what a timer holds is waited as retry.maxBackoffMs: no retry storm, and the records land after', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('write-retry-after');
  await produce(k, topic, records(3));
  // 2^31 ms is 2147484 s: Node fires such a timer after 1 ms
  await emu.admin.script({ fault: '429', times: 100_000, retryAfterSeconds: 3_000_000 });
  const sink = startSinkProcess(sinkConfig(k, emu.url, [topic], { retry: { initialBackoffMs: 20, maxBackoffMs: 200 } }));
  t.after(() => stopSink(sink));
  await waitFor('the first 429', async () => (await emu.admin.stats()).faults['429'] >= 1, { timeoutMs: 60_000 });
  const first = (await emu.admin.stats()).faults['429'];
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const inTwoSeconds = (await emu.admin.stats()).faults['429'] - first;
  // each wait is 200 ms (the Retry-After, capped at maxBackoffMs): about 10 in 2 s
  assert.ok(inTwoSeconds <= 15, `${inTwoSeconds} requests in 2 s`);
  assert.ok(inTwoSeconds >= 3, `${inTwoSeconds} requests in 2 s: the sink still retries`);
  await emu.admin.setFaults({});
  await waitForCount(emu, 3, 'events', 30_000, sink);
});

test('a Rockset certificate the sink does not trust stops it with TlsFailed naming the host, instead of retrying while ready', async (t) => {
  const k = await testKafka();
  const keyFile = tempFile(t, 'key.pem');
  const certFile = path.join(path.dirname(keyFile), 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const emu = await withEmulator({ tls: { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) } });
  t.after(() => emu.close());
  assert.match(emu.url, /^https:/);
  const topic = await k.createTopic('write-tls');
  await produce(k, topic, records(2));
  const termination = tempFile(t, 'termination');
  const config = sinkConfig(k, emu.url, [topic]);
  const sink = startSinkProcess(config, { ROCKSET_API_KEY: API_KEY, TERMINATION_MESSAGE_PATH: termination });
  t.after(() => stopSink(sink));
  const code = await Promise.race([sink.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 45_000))]);
  assert.equal(code, 1, sink.lines.slice(-10).join('\n'));
  const message = fs.readFileSync(termination, 'utf8');
  assert.match(message, /^TlsFailed: /);
  assert.ok(message.includes(`127.0.0.1:${emu.port}`), message);
  assert.ok(!message.includes(API_KEY));
  assert.deepEqual(await committedOffsets(k, config.kafka.groupId, topic), { 0: '-1' });
});

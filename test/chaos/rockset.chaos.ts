// Rockset misbehaving under a streaming sink: an outage (connections reset, then
// refused for 30 s), requests too large, 429 storms with Retry-After, 5xx
// bursts, connections dropped after the write was applied, stalls past the
// request timeout, and a refused API key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testKafka } from '../harness/test-kafka.ts';
import { waitFor } from '../harness/ports.ts';
import { planRecords, type PlannedRecord } from './dataset.ts';
import { COLLECTION, Scenario, WS, chaosEmulator, kafkaFor, sleep } from './scenario.ts';
import type { Emulator } from '../../emulator/server.ts';

const SEED = Number(process.env.CHAOS_SEED ?? 20261125);

async function scenario(name: string, partitions: number) {
  const k = await testKafka();
  return Scenario.create(name, { brokers: k.brokers, kafka: kafkaFor(k.brokers) }, partitions);
}

/** The partition a logged request wrote to, from its first `_id`. */
function partitionOf(s: Scenario): (ids: Array<string | null>) => number | undefined {
  const byId = new Map<string, number>();
  for (const r of s.produced) byId.set(r.key ?? `${s.topic}-${r.partition}-${r.offset}`, r.partition);
  return (ids) => (ids[0] ? byId.get(ids[0]) : undefined);
}

async function runToEnd(s: Scenario, emu: Emulator, records: PlannedRecord[], config: unknown): Promise<void> {
  await s.produce(records);
  await s.verifyProduced();
  s.startSink(config);
  await s.conclude(emu, () => s.drained(120_000));
  assert.equal(s.running().length, 1, 'the sink is still running');
}

test('connections reset, then refused for 30 s, then back: backoff, no crash, every document lands', async (t) => {
  let emu = await chaosEmulator({ faults: { latencyMs: 150 } });
  t.after(() => emu.close());
  const s = await scenario('refused-30s', 3);
  t.after(() => s.close());
  const records = planRecords({ records: 6000, partitions: 3, keys: 600, seed: SEED + 10 });
  const sink = s.startSink(s.config(emu.url, { batch: { maxDocuments: 100, lingerMs: 20 }, retry: { initialBackoffMs: 100, maxBackoffMs: 2000 } }));
  const producing = s.produce(records.slice(0, 3000), { chunk: 300, pauseMs: 300 });
  await waitFor('the first documents', async () => (await emu.admin.count(WS, COLLECTION)) > 200, { timeoutMs: 60_000, abort: () => s.crashed() });
  // requests in flight are reset (the 150 ms latency keeps some in flight), new connections refused
  const { port, store } = emu;
  await emu.close();
  const down = Date.now();
  await producing;
  await s.produce(records.slice(3000), { chunk: 300, pauseMs: 300 });
  await sleep(Math.max(0, 30_000 - (Date.now() - down)));
  assert.equal(sink.child.exitCode, null, `the sink exited during the outage:\n${sink.lines.slice(-10).join('\n')}`);
  emu = await chaosEmulator({ port, store });
  await s.conclude(emu, async () => {
    await s.verifyProduced();
    await s.drained(120_000);
  });
  assert.equal(s.running().length, 1, 'one sink ran through the outage');
  const retries = sink.lines.filter((l) => l.includes('write failed; retrying'));
  assert.ok(retries.length > 0, 'the outage was retried');
  // backoff: 30 s of refusals must not be hundreds of attempts per partition
  assert.ok(retries.length < 3 * 60, `${retries.length} retries in 30 s: no backoff`);
});

test('a batch answered 413 is split and written, nothing lost', async (t) => {
  const emu = await chaosEmulator({ maxBodyBytes: 64 * 1024 });
  t.after(() => emu.close());
  const s = await scenario('413-split', 2);
  t.after(() => s.close());
  const records = planRecords({ records: 3000, partitions: 2, keys: 400, seed: SEED + 11, pad: 1000 });
  await runToEnd(s, emu, records, s.config(emu.url, { batch: { maxDocuments: 1000, maxBytes: 1024 * 1024, lingerMs: 50 } }));
  const { requests } = await emu.admin.stats();
  assert.ok((requests.byStatus['413'] ?? 0) > 0, `no request was refused as too large: ${JSON.stringify(requests.byStatus)}`);
});

test('a 429 storm with Retry-After: honoured, nothing lost', async (t) => {
  const emu = await chaosEmulator({ seed: SEED });
  t.after(() => emu.close());
  const s = await scenario('429-storm', 3);
  t.after(() => s.close());
  await emu.admin.setFaults({ retryAfterSeconds: 1, probabilities: { '429': 0.1 }, script: [{ fault: '429', times: 9 }] });
  const records = planRecords({ records: 3000, partitions: 3, keys: 400, seed: SEED + 12 });
  await runToEnd(s, emu, records, s.config(emu.url, { batch: { maxDocuments: 150 } }));
  const log = await emu.admin.requests({ workspace: WS, collection: COLLECTION });
  const partition = partitionOf(s);
  const early: string[] = [];
  let storms = 0;
  for (const [i, r] of log.entries()) {
    if (r.status !== 429) continue;
    storms++;
    const p = partition(r.ids);
    const next = log.slice(i + 1).find((x) => partition(x.ids) === p);
    if (next && Date.parse(next.time) - Date.parse(r.time) < 950) early.push(`${r.seq} -> ${next.seq}: ${Date.parse(next.time) - Date.parse(r.time)} ms`);
  }
  assert.ok(storms >= 9, `only ${storms} 429s`);
  assert.deepEqual(early, [], 'a partition retried before Retry-After (1 s)');
});

test('5xx bursts: retried, nothing lost', async (t) => {
  const emu = await chaosEmulator({ seed: SEED });
  t.after(() => emu.close());
  const s = await scenario('5xx-bursts', 3);
  t.after(() => s.close());
  await emu.admin.setFaults({
    probabilities: { '500': 0.05, '502': 0.05, '503': 0.05 },
    script: [{ fault: '500', times: 5 }, { fault: 'none' }, { fault: '502', times: 5 }, { fault: 'none', times: 2 }, { fault: '503', times: 5 }, { fault: 'none' }, { fault: '500', times: 3 }, { fault: '502', times: 3 }],
  });
  const records = planRecords({ records: 4000, partitions: 3, keys: 500, seed: SEED + 13 });
  await runToEnd(s, emu, records, s.config(emu.url, { batch: { maxDocuments: 150 } }));
  const { faults } = await emu.admin.stats();
  assert.ok(faults['500'] >= 8 && faults['502'] >= 8 && faults['503'] >= 5, JSON.stringify(faults));
});

test('connections dropped after the write was applied (and before): replays replace, nothing duplicated', async (t) => {
  const emu = await chaosEmulator({ seed: SEED });
  t.after(() => emu.close());
  const s = await scenario('drop-after', 3);
  t.after(() => s.close());
  await emu.admin.setFaults({ probabilities: { 'drop-after': 0.2, 'drop-before': 0.05 }, script: [{ fault: 'drop-after', times: 3 }] });
  const records = planRecords({ records: 4000, partitions: 3, keys: 500, seed: SEED + 14 });
  await runToEnd(s, emu, records, s.config(emu.url, { batch: { maxDocuments: 150 } }));
  assert.ok((await emu.admin.stats()).faults['drop-after'] >= 3);
});

test('stalls longer than the request timeout: timed out, retried, nothing lost', async (t) => {
  const emu = await chaosEmulator({ seed: SEED });
  t.after(() => emu.close());
  const s = await scenario('stall-timeout', 3);
  t.after(() => s.close());
  // The stalled write is dropped unapplied: a write applied after the sink gave up
  // on it could land over a newer version of the same document, which no client can prevent.
  await emu.admin.setFaults({ stallMs: 3000, stallApply: false, probabilities: { stall: 0.1 }, script: [{ fault: 'stall', times: 2 }] });
  const records = planRecords({ records: 3000, partitions: 3, keys: 400, seed: SEED + 15 });
  const config = s.config(emu.url, { batch: { maxDocuments: 150 }, rockset: { requestTimeoutMs: 1000 } });
  await runToEnd(s, emu, records, config);
  assert.ok((await emu.admin.stats()).faults.stall >= 2);
  assert.ok(s.sinks[0]!.lines.some((l) => l.includes('write failed; retrying') && l.includes('"cause":"timeout"')), 'a timeout was retried');
});

test('401: the sink stops loudly with AuthFailed and commits nothing', async (t) => {
  const emu = await chaosEmulator();
  t.after(() => emu.close());
  const s = await scenario('401', 2);
  t.after(() => s.close());
  const wrongKey = `chaos-wrong-${SEED}-${Math.random().toString(36).slice(2)}`;
  s.extraSecrets.push(wrongKey);
  await s.produce(planRecords({ records: 500, partitions: 2, keys: 100, seed: SEED + 16 }));
  await s.verifyProduced();
  const sink = s.startSink(s.config(emu.url), { ROCKSET_API_KEY: wrongKey });
  let code: number | null | string = null;
  await s.conclude(emu, async () => {
    code = await Promise.race([sink.exited, sleep(60_000).then(() => 'still running')]);
  }, new Map());
  assert.equal(code, 1, `the sink must exit 1 on a refused key:\n${sink.lines.slice(-10).join('\n')}`);
  assert.match(s.terminationMessage(sink), /^AuthFailed: /);
  assert.ok(sink.lines.some((l) => l.includes('"level":60') && l.includes('API key')), `no fatal log line names the API key problem:\n${sink.lines.slice(-10).join('\n')}`);
  assert.deepEqual(await s.committed(), [-1, -1], 'nothing was committed');
  assert.ok(((await emu.admin.stats()).requests.byStatus['401'] ?? 0) > 0, 'the emulator refused the key');
});

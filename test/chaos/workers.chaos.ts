// Sink workers dying and coming and going mid-stream: SIGKILL at random points,
// and a group of three whose members are added and removed while records flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testKafka } from '../harness/test-kafka.ts';
import { seededRandom } from '../unit/prng.ts';
import { planRecords } from './dataset.ts';
import { COLLECTION, Scenario, WS, chaosEmulator, kafkaFor, sleep } from './scenario.ts';
import { waitFor } from '../harness/ports.ts';
import type { SinkProcess } from '../sink/helpers.ts';

const SEED = Number(process.env.CHAOS_SEED ?? 20261125);

/** The sink handles SIGTERM only once it has started (joined its group); on a loaded machine that takes a while. */
async function started(w: SinkProcess): Promise<void> {
  await waitFor('the worker to start', () => w.lines.some((l) => l.includes('"sink started"')), { timeoutMs: 60_000 });
}

test('kill -9 a sink worker at random points, 10 times, restarting it each time', async (t) => {
  const k = await testKafka();
  const emu = await chaosEmulator({ faults: { latencyMs: 20 } });
  t.after(() => emu.close());
  const s = await Scenario.create('kill-9', { brokers: k.brokers, kafka: kafkaFor(k.brokers) }, 4);
  t.after(() => s.close());
  const records = planRecords({ records: 10_000, partitions: 4, keys: 800, seed: SEED });
  const config = s.config(emu.url, { batch: { maxDocuments: 100, lingerMs: 20 } });
  const rnd = seededRandom(SEED);
  // records keep arriving during the kills, so every kill lands mid-stream
  const producing = s.produce(records, { chunk: 250, pauseMs: 1000 });
  let sink: SinkProcess = s.startSink(config);
  const breaches: string[] = [];
  for (let kill = 1; kill <= 10; kill++) {
    const after = 500 + Math.floor(rnd() * 3500);
    await sleep(after);
    if (s.crashed()) throw s.crashed();
    sink.kill('SIGKILL');
    await sink.exited;
    breaches.push(...(await s.commitBreaches(emu)).slice(0, 3).map((b) => `kill ${kill} (${after} ms after its start): ${b}`));
    sink = s.startSink(config);
  }
  await s.conclude(emu, async () => {
    await producing;
    await s.verifyProduced();
    await s.drained(120_000);
  });
  assert.deepEqual(breaches, [], 'offsets were committed past what Rockset acknowledged');
});

test('3 workers in one group, workers added and removed mid-stream', async (t) => {
  const k = await testKafka();
  const emu = await chaosEmulator({ faults: { latencyMs: 10 } });
  t.after(() => emu.close());
  const s = await Scenario.create('rebalance', { brokers: k.brokers, kafka: kafkaFor(k.brokers) }, 6);
  t.after(() => s.close());
  const records = planRecords({ records: 12_000, partitions: 6, keys: 1000, seed: SEED + 1 });
  const config = s.config(emu.url, { batch: { maxDocuments: 100, lingerMs: 20 } });
  const producing = s.produce(records, { chunk: 300, pauseMs: 600 });
  const w = [s.startSink(config), s.startSink(config), s.startSink(config)];
  await sleep(5000);
  w.push(s.startSink(config)); // a fourth joins
  await sleep(4000);
  // a clean leave needs a started worker: SIGTERM during start-up is another matter (see started())
  await started(w[0]!);
  w[0]!.kill('SIGTERM'); // one leaves cleanly
  await sleep(4000);
  w.push(s.startSink(config)); // another joins
  await sleep(3000);
  w[1]!.kill('SIGKILL'); // one vanishes without leaving
  await sleep(4000);
  await started(w[3]!);
  w[3]!.kill('SIGTERM');
  await s.conclude(emu, async () => {
    await producing;
    await s.verifyProduced();
    await s.drained(120_000);
  });
  assert.equal(await w[0]!.exited, 0, 'a worker asked to stop exits 0');
  assert.equal(await w[3]!.exited, 0, 'a worker asked to stop exits 0');
});

test('partitions revoked (a worker joins) while their writes are stalled in Rockset', async (t) => {
  const k = await testKafka();
  const emu = await chaosEmulator({ faults: { latencyMs: 100 } });
  t.after(() => emu.close());
  const s = await Scenario.create('revoke-stalled', { brokers: k.brokers, kafka: kafkaFor(k.brokers) }, 4);
  t.after(() => s.close());
  const records = planRecords({ records: 8000, partitions: 4, keys: 800, seed: SEED + 2 });
  await s.produce(records);
  await s.verifyProduced();
  // The stalled writes are answered (200) after 6 s, well inside the request timeout: a slow Rockset, not a dead one.
  const config = s.config(emu.url, { batch: { maxDocuments: 100, lingerMs: 20 }, rockset: { requestTimeoutMs: 20_000, maxInFlightRequests: 4 } });
  const a = s.startSink(config);
  await waitFor('the first worker to be writing', async () => (await emu.admin.count(WS, COLLECTION)) > 200, { timeoutMs: 60_000, abort: () => s.crashed() });
  await emu.admin.updateFaults({ script: [{ fault: 'stall', times: 4, stallMs: 6000, stallApply: true }] });
  const t0 = Date.now();
  await waitFor('writes of every partition to be stalled', async () => (await emu.admin.faults()).script.length === 0, { timeoutMs: 30_000 });
  const stalledAt = Date.now();
  const b = s.startSink(config);
  // sample the committed offsets until the end: none may go backwards or past what Rockset acknowledged
  const samples: Array<{ at: number; committed: number[] }> = [];
  const breaches: string[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push({ at: Date.now(), committed: await s.committed() });
      breaches.push(...(await s.commitBreaches(emu)).slice(0, 3));
      await sleep(200);
    }
  })();
  await s.conclude(emu, async () => {
    try {
      await s.drained(120_000);
    } finally {
      sampling = false;
      await sampler;
    }
  });
  const joinOf = (w: typeof a) => w.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'joined the consumer group').map((l) => ({ at: Date.parse(l.time), partitions: l.assignment[s.topic] as number[] }));
  const bJoin = joinOf(b)[0];
  assert.ok(bJoin && bJoin.partitions.length > 0, `the second worker got partitions: ${JSON.stringify(joinOf(b))}`);
  const aAfter = joinOf(a).at(-1)!;
  assert.ok(bJoin.partitions.every((p) => !aAfter.partitions.includes(p)), 'the revoked partitions left the first worker');
  assert.ok(bJoin.at > stalledAt, 'the rebalance came while the writes were stalled');
  const byId = new Map(s.produced.map((r) => [r.key ?? `${s.topic}-${r.partition}-${r.offset}`, r.partition]));
  const afterJoin = (await emu.admin.requests({ workspace: WS, collection: COLLECTION })).filter((r) => Date.parse(r.time) > bJoin.at && r.status === 200);
  const log = await emu.admin.requests({ workspace: WS, collection: COLLECTION });
  const timing = `(the second worker started ${stalledAt - t0} ms after the stalls began and joined ${bJoin.at - t0} ms after; the last write came at ${Date.parse(log.at(-1)!.time) - t0} ms)`;
  // kafkajs hands partitions over only when every member rejoined: the first worker must let go once its stalled writes end
  assert.ok(bJoin.at - stalledAt < 15_000, `the rebalance took ${bJoin.at - stalledAt} ms ${timing}`);
  assert.ok(bJoin.partitions.some((p) => afterJoin.some((r) => byId.get(r.ids[0]!) === p)), `the new owner wrote the revoked partitions ${timing}`);
  const regressions: string[] = [];
  for (let i = 1; i < samples.length; i++) {
    for (let p = 0; p < s.partitions; p++) {
      if (samples[i]!.committed[p]! < samples[i - 1]!.committed[p]!) regressions.push(`partition ${p}: ${samples[i - 1]!.committed[p]} -> ${samples[i]!.committed[p]} at +${samples[i]!.at - stalledAt} ms`);
    }
  }
  assert.deepEqual(regressions, [], 'a committed offset went backwards: a revoked owner committed after the new owner');
  assert.deepEqual(breaches, [], 'an offset was committed past what Rockset acknowledged');
  assert.ok((await emu.admin.stats()).faults.stall >= 4);
});

test('a worker frozen (SIGSTOP) past its session timeout, then thawed: it rejoins, nothing lost', async (t) => {
  const k = await testKafka();
  const emu = await chaosEmulator({ faults: { latencyMs: 200 } });
  t.after(() => emu.close());
  const s = await Scenario.create('frozen-worker', { brokers: k.brokers, kafka: kafkaFor(k.brokers) }, 3);
  t.after(() => s.close());
  const records = planRecords({ records: 3000, partitions: 3, keys: 600, seed: SEED + 3 });
  await s.produce(records);
  await s.verifyProduced();
  // A long GC pause or a CPU-throttled container: the group expels the member while its writes are in flight.
  const sink = s.supervise(s.config(emu.url, { batch: { maxDocuments: 100, lingerMs: 20 } }));
  await waitFor('the worker to be writing', async () => (await emu.admin.count(WS, COLLECTION)) > 300, { timeoutMs: 60_000 });
  const frozen = sink.current();
  frozen.kill('SIGSTOP');
  await sleep(10_000);
  frozen.kill('SIGCONT');
  await s.conclude(emu, () => s.drained(120_000));
  sink.stop();
  assert.deepEqual(sink.crashes, [], 'a worker expelled from its group must rejoin, not exit');
});

test('a worker frozen in a retry wait past its session timeout writes nothing once thawed: the new owner\'s newer versions stay', async (t) => {
  const k = await testKafka();
  const emu = await chaosEmulator();
  t.after(() => emu.close());
  const s = await Scenario.create('frozen-in-retry', { brokers: k.brokers, kafka: kafkaFor(k.brokers) }, 1);
  t.after(() => s.close());
  const base = Date.now();
  await s.produce(planRecords({ records: 400, partitions: 1, keys: 40, seed: SEED + 4, tombstones: 0, baseTimestamp: base }));
  await s.verifyProduced();
  // Rockset fails the first worker's writes: it sleeps between tries, holding old versions of every key
  await emu.admin.setFaults({ probabilities: { '503': 1 } });
  const config = s.config(emu.url, { retry: { initialBackoffMs: 2000, maxBackoffMs: 2000 } });
  const a = s.startSink(config);
  await waitFor('the first worker to be refused', async () => (await emu.admin.stats()).faults['503'] > 0, { timeoutMs: 60_000, intervalMs: 50, abort: () => s.crashed() });
  // frozen in its backoff: a GC pause, a throttled or SIGSTOPped container
  a.kill('SIGSTOP');
  t.after(() => a.kill('SIGCONT'));
  await emu.admin.setFaults({ probabilities: { '503': 0 } });
  // newer versions of the same keys; the group expels the frozen member and a new one writes them all
  await s.produce(planRecords({ records: 400, partitions: 1, keys: 40, seed: SEED + 5, tombstones: 0, baseTimestamp: base + 1000 }));
  await s.verifyProduced();
  const b = s.startSink(config);
  await s.drained(90_000);
  const writesBefore = (await emu.admin.requests({ workspace: WS, collection: COLLECTION })).filter((r) => r.status === 200).length;
  a.kill('SIGCONT');
  // the thawed worker's backoff timer is long due: a write from it would come now
  await waitFor('the thawed worker to notice it lost the group', () => a.lines.some((l) => l.includes('batch abandoned before commit')), { timeoutMs: 30_000 });
  await sleep(3000);
  const writesAfter = (await emu.admin.requests({ workspace: WS, collection: COLLECTION })).filter((r) => r.status === 200).length;
  await s.conclude(emu, () => s.drained(60_000));
  assert.equal(writesAfter, writesBefore, 'a write reached Rockset after the expelled worker thawed');
  assert.equal(a.child.exitCode, null, 'the thawed worker rejoins instead of exiting');
  assert.equal(b.child.exitCode, null);
});

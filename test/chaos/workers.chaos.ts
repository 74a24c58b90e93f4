// Sink workers dying and coming and going mid-stream: SIGKILL at random points,
// and a group of three whose members are added and removed while records flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testKafka } from '../harness/test-kafka.ts';
import { seededRandom } from '../unit/prng.ts';
import { planRecords } from './dataset.ts';
import { Scenario, chaosEmulator, kafkaFor, sleep } from './scenario.ts';
import type { SinkProcess } from '../sink/helpers.ts';

const SEED = Number(process.env.CHAOS_SEED ?? 20261125);

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
  for (let kill = 1; kill <= 10; kill++) {
    const after = 500 + Math.floor(rnd() * 3500);
    await sleep(after);
    if (s.crashed()) throw s.crashed();
    sink.kill('SIGKILL');
    await sink.exited;
    const breaches = await s.commitBreaches(emu);
    assert.deepEqual(breaches.slice(0, 5), [], `after kill ${kill} (${after} ms after its start), offsets were committed past what Rockset acknowledged`);
    sink = s.startSink(config);
  }
  await producing;
  await s.verifyProduced();
  await s.drained(120_000);
  await s.verdict(emu);
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
  w[0]!.kill('SIGTERM'); // one leaves cleanly
  await sleep(4000);
  w.push(s.startSink(config)); // another joins
  await sleep(3000);
  w[1]!.kill('SIGKILL'); // one vanishes without leaving
  await sleep(4000);
  w[3]!.kill('SIGTERM');
  await producing;
  await s.verifyProduced();
  await s.drained(120_000);
  assert.equal(await w[0]!.exited, 0, 'a worker asked to stop exits 0');
  await s.verdict(emu);
});

// The Kafka broker killed and restarted mid-stream, under a running sink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../harness/ports.ts';
import { planRecords } from './dataset.ts';
import { COLLECTION, Scenario, WS, chaosEmulator, kafkaFor, sleep } from './scenario.ts';
import { startRestartableBroker } from './broker.ts';

const SEED = Number(process.env.CHAOS_SEED ?? 20261125);

test('broker killed and restarted mid-stream: the sink rides it out, nothing lost', async (t) => {
  const broker = await startRestartableBroker();
  t.after(() => broker.stop());
  const emu = await chaosEmulator({ faults: { latencyMs: 40 } });
  t.after(() => emu.close());
  const s = await Scenario.create('broker-restart', { brokers: broker.brokers, kafka: kafkaFor(broker.brokers) }, 3);
  t.after(() => s.close());
  const records = planRecords({ records: 9000, partitions: 3, keys: 900, seed: SEED + 20 });
  await s.produce(records.slice(0, 6000));
  const sink = s.supervise(s.config(emu.url, { batch: { maxDocuments: 100, lingerMs: 20 } }));
  await waitFor('the sink to be mid-stream', async () => (await emu.admin.count(WS, COLLECTION)) > 300, { timeoutMs: 60_000 });
  await broker.kill();
  await sleep(10_000);
  await s.conclude(emu, async () => {
    await broker.restart();
    const kept = await s.endOffsets();
    const acked = Array.from({ length: 3 }, (_, p) => s.produced.filter((r) => r.partition === p).length);
    assert.deepEqual(kept, acked, 'the restarted broker holds every record it acknowledged');
    await s.produce(records.slice(6000));
    await s.verifyProduced();
    await s.drained(180_000);
  });
  sink.stop();
  assert.deepEqual(sink.crashes, [], 'the sink must ride out a broker restart without exiting');
});

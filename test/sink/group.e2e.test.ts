// Two sinks sharing one consumer group with different topics: Kafka assigns every
// topic of the group across both members, so each gets partitions of a topic it does
// not read. A worker in that state is not ready (/readyz 503) and says why; once it
// is alone in the group again it is ready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sinkConfig, startSinkProcess, stopSink, testKafka, withEmulator, type SinkProcess } from './helpers.ts';
import { waitFor } from '../harness/ports.ts';

const port = (sink: SinkProcess): number | undefined =>
  sink.lines.map((l) => { try { return JSON.parse(l) as { msg?: string; httpPort?: number }; } catch { return {}; } }).find((l) => l.msg === 'sink started')?.httpPort;

const readyz = async (sink: SinkProcess): Promise<number> => (await fetch(`http://127.0.0.1:${port(sink)}/readyz`)).status;

test('a worker assigned partitions of topics it does not subscribe to (a group shared with another sink) is not ready, naming the topics; alone again, it is ready', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const orders = await k.createTopic('grp-orders', { partitions: 2 });
  const refunds = await k.createTopic('grp-refunds', { partitions: 2 });
  const groupId = `shared-${Math.random().toString(36).slice(2, 8)}`;
  const a = startSinkProcess(sinkConfig(k, emu.url, [orders], { kafka: { groupId } }));
  const b = startSinkProcess(sinkConfig(k, emu.url, [refunds], { kafka: { groupId } }));
  t.after(async () => {
    await stopSink(a);
    await stopSink(b);
  });
  const exited = (s: SinkProcess) => () => (s.child.exitCode !== null ? new Error(`a sink exited:\n${s.lines.slice(-20).join('\n')}`) : undefined);
  await waitFor('both sinks started', () => port(a) !== undefined && port(b) !== undefined, { timeoutMs: 30_000, intervalMs: 100, abort: exited(a) });

  // kafkajs's leader assigns only its own topics, to both members: the other member gets
  // partitions it does not read, and its own topic is read by nobody. Both say so.
  for (const [sink, other] of [[a, refunds], [b, orders]] as const) {
    await waitFor(`the sink to report ${other} in its group`, () => sink.lines.some((l) => l.includes('ForeignAssignment') && l.includes(other)), { timeoutMs: 60_000, intervalMs: 200, abort: exited(sink) });
    assert.equal(await readyz(sink), 503, 'a worker whose group leaves topics unread is not ready');
    const line = sink.lines.find((l) => l.includes('ForeignAssignment') && l.includes(other))!;
    assert.match(line, new RegExp(`not ready: ForeignAssignment: consumer group \\\\"${groupId}\\\\" .*${other}.*Give each sink its own kafka.groupId`));
  }

  assert.equal(await stopSink(b), 0);
  await waitFor('sink a ready once alone in the group', async () => (await readyz(a)) === 200, { timeoutMs: 60_000, intervalMs: 200, abort: exited(a) });
});

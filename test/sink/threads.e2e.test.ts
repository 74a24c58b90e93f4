// Mapping on worker threads (sink/mapping/), end to end: the sink as a process, the
// broker, the emulator. What a user sees must not depend on where records are mapped,
// and a record that a thread has no heap for is still written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_KEY, WS, committedOffsets, produce, sinkConfig, startSinkProcess, stopSink, testKafka, waitForCount, withEmulator } from './helpers.ts';
import { waitFor } from '../harness/ports.ts';

test('the same records give the same documents, dead letters and skips on two mapping threads as on the main thread', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator({ collections: [`${WS}.inline`, `${WS}.threads`] });
  t.after(() => emu.close());
  const topic = await k.createTopic('threads-same', { partitions: 3 });
  // Every shape the mapping treats differently: spliced objects, _id and _event_time in the
  // value, big integers and negative zeros, non-ASCII, a BOM, binary and base64: keys,
  // tombstones with and without a key, a one-object array, bad JSON, a non-object.
  const values: { key: string | Buffer | null; value: string | Buffer | null }[] = [
    { key: 'plain', value: '{"a":1,"b":"x"}' },
    { key: 'own-id', value: '{"_id":"given","a":2}' },
    { key: 'exact', value: '{"big":12345678901234567890,"z":-0.0,"f":1.5e300}' },
    { key: 'ünïcödé 😀', value: '{"name":"Zürich 😀","esc":"\\u00e9\\n"}' },
    { key: 'bom', value: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"bom":true}')]) },
    { key: Buffer.from([0xff, 0x00, 0x10]), value: '{"binary":"key"}' },
    { key: 'base64:looks-encoded', value: '{"k":1}' },
    { key: null, value: '{"keyless":true}' },
    { key: 'array', value: '[{"in":"array"}]' },
    { key: 'plain', value: null },
    { key: null, value: null },
    { key: 'bad-json', value: '{"a":' },
    { key: 'not-object', value: '42' },
    { key: 'event', value: '{"_event_time":"2024-05-01T12:00:00.123456Z","e":1}' },
  ];
  // A key per partition: documents written from two partitions at once have no order between them.
  const keyOf = (key: string | Buffer, i: number, partition: number) => (Buffer.isBuffer(key) ? Buffer.concat([key, Buffer.from([partition])]) : `${key}-${i}-${partition}`);
  const messages = values.flatMap((v, i) => [0, 1, 2].map((partition) => ({ ...v, partition, key: v.key === null ? null : keyOf(v.key, i, partition) })));
  await produce(k, topic, messages);
  const dlq = `${topic}-dlq`;
  const run = async (collection: string, threads: string) => {
    const config = sinkConfig(k, emu.url, [topic], { rockset: { collection }, errors: { tolerance: 'all', deadLetterTopic: dlq } });
    const sink = startSinkProcess(config, { ROCKSET_API_KEY: API_KEY, SINK_THREADS: threads });
    t.after(() => stopSink(sink));
    await waitFor(`${collection}: every partition committed to the end`, async () => Object.values(await committedOffsets(k, config.kafka.groupId, topic)).join() === '14,14,14', {
      timeoutMs: 60_000,
      abort: () => (sink.child.exitCode !== null ? new Error(`the sink exited:\n${sink.lines.slice(-20).join('\n')}`) : undefined),
    });
    const metrics = await (await fetch(`http://127.0.0.1:${await httpPort(sink.lines)}/metrics`)).text();
    await stopSink(sink);
    return { docs: await emu.admin.docs(WS, collection, { limit: 1000 }), metrics };
  };
  const inline = await run('inline', '0');
  const threaded = await run('threads', '2');
  assert.match(inline.metrics, /^rockset_sink_mapping_threads 0$/m);
  assert.match(threaded.metrics, /^rockset_sink_mapping_threads 2$/m);
  const strip = (docs: Record<string, unknown>[]) => docs.map(({ _collection: _c, _meta: _m, ...d }) => d).sort((a, b) => String(a._id).localeCompare(String(b._id)));
  // 14 records a partition: 2 tombstones and 2 bad records write nothing
  assert.equal(inline.docs.length, 30, JSON.stringify(inline.docs.map((d) => d._id)));
  assert.deepEqual(strip(threaded.docs), strip(inline.docs));
  const counters = (text: string) => text.split('\n').filter((l) => /^rockset_sink_records_(written|skipped|dead_lettered)_total/.test(l)).sort();
  assert.deepEqual(counters(threaded.metrics), counters(inline.metrics));
});

test('a record a mapping thread has no heap for is written all the same; the thread is replaced and the sink goes on', async (t) => {
  const k = await testKafka();
  const emu = await withEmulator();
  t.after(() => emu.close());
  const topic = await k.createTopic('threads-huge', { config: { 'max.message.bytes': String(16 * 1024 * 1024) } });
  // 6 MB of JSON whose parsed form (2 million objects, ~65 MB) does not fit a thread's
  // 16 MiB heap (nor the leeway V8 gives a thread that reaches it), but fits the main
  // thread's 256. Its own _id sends it down the path that parses it (an object without
  // one is only scanned, and needs no heap).
  const elements = 2_000_000;
  const huge = `{"_id":"from-the-value","a":[${'{},'.repeat(elements - 1)}{}]}`;
  await produce(k, topic, [{ key: 'small-0', value: '{"n":0}' }, { key: 'huge', value: huge }, { key: 'small-2', value: '{"n":2}' }]);
  const config = sinkConfig(k, emu.url, [topic], { kafka: { fetchMaxBytesPerPartition: 1024 * 1024 } });
  const sink = startSinkProcess(config, { ROCKSET_API_KEY: API_KEY, SINK_THREADS: '2', SINK_THREAD_HEAP_MB: '16', NODE_OPTIONS: '--max-old-space-size=256' });
  t.after(() => stopSink(sink));
  await waitForCount(emu, 3, 'events', 120_000, sink);
  const doc = await emu.admin.doc(WS, 'events', 'huge');
  assert.equal((doc?.['a'] as unknown[] | undefined)?.length, elements);
  // The sink runs with --max-old-space-size, as the operator deploys it: the thread's own
  // limit must hold all the same. V8 ends the thread once its parse returns, which may be
  // after its answer went out (then the record was mapped there after all).
  await waitFor('the mapping thread to end out of heap', async () => sink.lines.some((l) => l.includes('a mapping thread stopped') && l.includes('out of memory')), { timeoutMs: 30_000 });
  assert.equal((await committedOffsets(k, config.kafka.groupId, topic))[0], '3');
  // the replacement thread maps what comes next
  await produce(k, topic, [{ key: 'after', value: '{"n":3}' }]);
  await waitForCount(emu, 4, 'events', 30_000, sink);
  assert.equal(sink.child.exitCode, null);
});

async function httpPort(lines: string[]): Promise<number> {
  let port: number | undefined;
  await waitFor('the sink to say its port', async () => {
    for (const l of lines) {
      const m = /"httpPort":(\d+)/.exec(l);
      if (m) port = Number(m[1]);
    }
    return port !== undefined;
  }, { timeoutMs: 30_000 });
  return port!;
}

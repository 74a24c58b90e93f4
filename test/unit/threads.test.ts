// How many mapping threads a sink worker runs (sink/mapping/threads.ts).
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { MAX_MAPPING_THREADS, mappingThreads, threadHeapMb, threadsFor } from '../../sink/mapping/threads.ts';

const Mi = 2 ** 20;

test('one thread per core besides the main thread\'s, none below 1.5 cores, as many as the memory limit holds', () => {
  assert.equal(threadsFor(1, undefined), 0);
  assert.equal(threadsFor(1.4, undefined), 0);
  assert.equal(threadsFor(1.5, undefined), 1);
  assert.equal(threadsFor(2, undefined), 1);
  assert.equal(threadsFor(6, undefined), 5);
  assert.equal(threadsFor(64, undefined), MAX_MAPPING_THREADS);
  assert.equal(threadsFor(8, 512 * Mi), 4);
  assert.equal(threadsFor(8, 1024 * Mi), 7);
  assert.equal(threadsFor(2, 300 * Mi), 0);
});

test('SINK_THREADS wins; a value it cannot be is refused naming the range', () => {
  assert.equal(mappingThreads({ SINK_THREADS: '0' }), 0);
  assert.equal(mappingThreads({ SINK_THREADS: '3' }), 3);
  for (const bad of ['-1', '1.5', 'two', String(MAX_MAPPING_THREADS + 1)]) assert.throws(() => mappingThreads({ SINK_THREADS: bad }), /SINK_THREADS is .*: use an integer from 0/);
  assert.equal(mappingThreads({ MEMORY_LIMIT: String(64 * 1024 * Mi) }), threadsFor(os.availableParallelism(), undefined));
  assert.equal(mappingThreads({ MEMORY_LIMIT: String(256 * Mi) }), 0);
});

test('SINK_THREAD_HEAP_MB sets a thread heap; else a quarter of the main one, 32-128 MiB', () => {
  assert.equal(threadHeapMb({ SINK_THREAD_HEAP_MB: '48' }), 48);
  assert.throws(() => threadHeapMb({ SINK_THREAD_HEAP_MB: '4' }), /SINK_THREAD_HEAP_MB is "4": use an integer from 8/);
  const h = threadHeapMb({});
  assert.ok(h >= 32 && h <= 128, String(h));
});

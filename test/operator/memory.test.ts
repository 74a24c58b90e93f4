// The worker's Node memory settings follow its container's memory limit.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nodeMemory, quantityValue } from '../../operator/render/memory.ts';
import { renderSink } from '../../operator/render/objects.ts';
import { DEFAULT_IMAGE, minimalSpec, sinkOf } from './fixtures.ts';

describe('quantityValue', () => {
  for (const [q, bytes] of [
    ['512Mi', 512 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['500M', 500e6],
    ['128974848', 128974848],
    [128974848, 128974848],
    ['129e6', 129e6],
    ['2k', 2000],
    ['100m', 0.1],
  ] as const) {
    test(`${q} -> ${bytes}`, () => assert.equal(quantityValue(q), bytes));
  }
  test('not a quantity', () => {
    for (const q of ['lots', '', '12 Mi', 'Mi', '1.2.3']) assert.equal(quantityValue(q), undefined, q);
  });
});

describe('nodeMemory', () => {
  test('no limit: the heap is not capped, the arenas are', () => {
    assert.deepEqual(nodeMemory(undefined), { flags: [], env: [{ name: 'MALLOC_ARENA_MAX', value: '2' }] });
  });
  test('the heap takes 40% of the limit, at least 96 MiB; small limits get small semi-spaces', () => {
    assert.deepEqual(nodeMemory(512 * 2 ** 20).flags, ['--max-old-space-size=204', '--max-semi-space-size=4']);
    assert.deepEqual(nodeMemory(128 * 2 ** 20).flags, ['--max-old-space-size=96', '--max-semi-space-size=4']);
    assert.deepEqual(nodeMemory(4 * 2 ** 30).flags, ['--max-old-space-size=1638']);
  });
  test('the limit is passed on; small limits fix glibc\'s mmap threshold, so freed fetch buffers go back to the system', () => {
    assert.deepEqual(nodeMemory(512 * 2 ** 20).env, [{ name: 'MALLOC_ARENA_MAX', value: '2' }, { name: 'MEMORY_LIMIT', value: '536870912' }, { name: 'MALLOC_MMAP_THRESHOLD_', value: '131072' }]);
    assert.deepEqual(nodeMemory(2 * 2 ** 30).env, [{ name: 'MALLOC_ARENA_MAX', value: '2' }, { name: 'MEMORY_LIMIT', value: '2147483648' }]);
  });
  test('the rendered worker runs node with the flags of its own limit', () => {
    const sink = sinkOf({ ...minimalSpec(), resources: { limits: { memory: '1Gi', cpu: '1' } } });
    const c = renderSink(sink, { image: DEFAULT_IMAGE, secretsHash: 'x' }).deployment.spec.template.spec.containers[0]!;
    assert.deepEqual(c.command.slice(0, 3), ['node', '--max-old-space-size=409', '--disable-warning=TimeoutNegativeWarning']);
    // A memory request above the default limit: the limit rendered (and the heap) follow the request.
    const big = sinkOf({ ...minimalSpec(), resources: { requests: { memory: '1Gi' } } });
    const c2 = renderSink(big, { image: DEFAULT_IMAGE, secretsHash: 'x' }).deployment.spec.template.spec.containers[0]!;
    assert.equal(c2.command[1], '--max-old-space-size=409');
  });
});

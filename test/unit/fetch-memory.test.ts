// fetchMemoryAdvice: when a fetch of compressed records would not fit the worker's
// memory, the warning names the ratio, the sizes and the setting to change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import kafkajs from 'kafkajs';
import { fetchMemoryAdvice, FETCH_MAX_BYTES } from '../../sink/kafka/fetch-memory.ts';
import { meterDecompression, registerCompressionCodecs } from '../../sink/kafka/codecs.ts';

const MiB = 2 ** 20;

test('no advice while a full fetch fits: uncompressed, a usual ratio, or a big enough limit', () => {
  const base = { fetchMaxBytesPerPartition: 4 * MiB, partitions: 6, memoryLimitBytes: 512 * MiB };
  assert.equal(fetchMemoryAdvice({ ...base, ratio: 1 }), undefined);
  assert.equal(fetchMemoryAdvice({ ...base, ratio: 5.4 }), undefined, '10 MiB x 5.4 = 54 MiB of 512');
  assert.equal(fetchMemoryAdvice({ ...base, ratio: 23, memoryLimitBytes: 2048 * MiB }), undefined);
});

test('a ratio that makes a full fetch too big for the limit gets the setting and a value that fits', () => {
  const advice = fetchMemoryAdvice({ ratio: 23.4, fetchMaxBytesPerPartition: 4 * MiB, partitions: 6, memoryLimitBytes: 512 * MiB });
  assert.ok(advice, 'a 10 MiB fetch at 23.4x is ~234 MiB of a 512 MiB limit');
  assert.match(advice, /compressed 23\.4x/);
  assert.match(advice, /against a memory limit of 512 MiB/);
  const suggested = Number(/kafka\.fetchMaxBytesPerPartition to (\d+) \(now 4194304\)/.exec(advice)?.[1]);
  assert.ok(suggested >= 64 * 1024 && suggested % 1024 === 0, advice);
  // what it suggests is itself quiet
  assert.equal(fetchMemoryAdvice({ ratio: 23.4, fetchMaxBytesPerPartition: suggested, partitions: 6, memoryLimitBytes: 512 * MiB }), undefined);
});

test('a fetch is capped by kafkajs\'s maxBytes, whatever the partitions', () => {
  const few = fetchMemoryAdvice({ ratio: 10, fetchMaxBytesPerPartition: 4 * MiB, partitions: 1, memoryLimitBytes: 80 * MiB });
  assert.match(few ?? '', /a full fetch \(4 MiB compressed over 1 partition/);
  const many = fetchMemoryAdvice({ ratio: 10, fetchMaxBytesPerPartition: 4 * MiB, partitions: 50, memoryLimitBytes: 100 * MiB });
  assert.match(many ?? '', new RegExp(`a full fetch \\(${FETCH_MAX_BYTES / MiB} MiB compressed over 50 partition`));
});

test('every codec kafkajs decompresses with reports both sizes, gzip included', async () => {
  registerCompressionCodecs();
  const seen: [number, number][] = [];
  meterDecompression((c, d) => seen.push([c, d]));
  try {
    const plain = Buffer.from('{"a":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}'.repeat(500));
    const { CompressionCodecs, CompressionTypes } = kafkajs;
    const gz = zlib.gzipSync(plain);
    assert.deepEqual(await CompressionCodecs[CompressionTypes.GZIP]!().decompress(gz), plain);
    const zs = zlib.zstdCompressSync(plain);
    assert.deepEqual(await CompressionCodecs[CompressionTypes.ZSTD]!().decompress(zs), plain);
    assert.deepEqual(seen, [[gz.length, plain.length], [zs.length, plain.length]]);
  } finally {
    meterDecompression(undefined);
  }
});

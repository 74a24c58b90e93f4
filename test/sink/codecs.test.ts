// The snappy/lz4/zstd codecs kafkajs lacks, against Kafka's own Java producer and
// consumer on a real broker: Java writes -> kafkajs reads, kafkajs writes -> Java reads.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { compress as snappyBlock } from 'snappyjs';
import { compressBlock as lz4Block, compressBound as lz4Bound } from 'lz4js';
import { hash as xxh32 } from 'lz4js/xxh32.js';
import { registerCompressionCodecs } from '../../sink/kafka/codecs.ts';
import { testKafka, type TestKafka } from '../harness/test-kafka.ts';

const { CompressionCodecs, CompressionTypes } = kafkajs;
type Codec = { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(data: Buffer): Promise<Buffer> };
const TYPES = { gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD } as const;
type Name = keyof typeof TYPES;
const codecOf = (name: Name): Codec => CompressionCodecs[TYPES[name]]() as Codec;

// How often kafkajs went through each codec: proof that the data on the wire really was
// compressed with it (ConsoleProducer, for one, silently ignores
// --producer-property compression.type) and that batches held many records.
const calls: Record<Name, { compress: number; decompress: number }> = {
  gzip: { compress: 0, decompress: 0 },
  snappy: { compress: 0, decompress: 0 },
  lz4: { compress: 0, decompress: 0 },
  zstd: { compress: 0, decompress: 0 },
};

before(() => {
  registerCompressionCodecs();
  registerCompressionCodecs(); // idempotent
  for (const name of Object.keys(TYPES) as Name[]) {
    const real = CompressionCodecs[TYPES[name]] as () => Codec; // looked up per call, as kafkajs does
    const spy: Codec = {
      compress(encoder) {
        calls[name].compress++;
        return real().compress(encoder);
      },
      decompress(data) {
        calls[name].decompress++;
        return real().decompress(data);
      },
    };
    CompressionCodecs[TYPES[name]] = () => spy;
  }
});

interface Rec {
  key: string;
  value: string;
}

// Mildly compressible ASCII (no tab/newline: ConsoleProducer splits on them).
function filler(seed: number, bytes: number): string {
  const words: string[] = [];
  let x = seed >>> 0;
  for (let n = 0; n < bytes; ) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const w = `w${x % 4093}`;
    words.push(w);
    n += w.length + 1;
  }
  return words.join(' ').slice(0, bytes);
}

// Hundreds of small records, and every 100th with a ~100 KB key and a ~100 KB value.
function records(tag: string): Rec[] {
  return Array.from({ length: 400 }, (_, i) =>
    i % 100 === 42
      ? { key: `big-${i}-${filler(i, 100_000)}`, value: JSON.stringify({ i, tag, blob: filler(i + 7, 100_000) }) }
      : { key: `key-${i}`, value: JSON.stringify({ i, tag, text: `record ${i} ${filler(i, 20 + (i % 50))}` }) },
  );
}

async function kafkajsRead(k: TestKafka, topic: string, expected: number): Promise<Rec[]> {
  const consumer = k.kafka.consumer({ groupId: `codecs-${randomUUID()}` });
  const got: Rec[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length}/${expected} records arrived`)), 60_000);
      // e.g. KafkaJSNotImplemented for a codec kafkajs does not know: fail now, not at the timeout
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        clearTimeout(timer);
        reject(payload.error);
      });
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '' });
          if (got.length >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

async function javaProduce(k: TestKafka, topic: string, codec: Name, recs: Rec[]): Promise<void> {
  await k.runTool('org.apache.kafka.tools.ConsoleProducer', [
    '--bootstrap-server', k.bootstrap, '--topic', topic,
    '--property', 'parse.key=true', '--property', 'key.separator=\t',
    // not --producer-property compression.type: ConsoleProducer overwrites that with its own option (default none)
    '--compression-codec', codec,
    '--producer-property', 'batch.size=262144', '--producer-property', 'linger.ms=200',
  ], { input: recs.map((r) => `${r.key}\t${r.value}\n`).join('') });
}

async function javaRead(k: TestKafka, topic: string, expected: number): Promise<Rec[]> {
  const { stdout } = await k.runTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
    '--bootstrap-server', k.bootstrap, '--topic', topic, '--from-beginning',
    '--max-messages', String(expected), '--timeout-ms', '30000',
    '--property', 'print.key=true', '--property', 'key.separator=\t',
  ]);
  return stdout.split('\n').filter(Boolean).map((line) => {
    const tab = line.indexOf('\t');
    return { key: line.slice(0, tab), value: line.slice(tab + 1) };
  });
}

// assert.deepEqual on 400 records with 100 KB strings prints unreadable diffs
function assertSameRecords(got: Rec[], want: Rec[]): void {
  assert.equal(got.length, want.length, 'record count');
  const bad = got.findIndex((r, i) => r.key !== want[i]!.key || r.value !== want[i]!.value);
  assert.equal(bad, -1, `record ${bad} differs: got key ${got[bad]?.key.slice(0, 40)} value ${got[bad]?.value.slice(0, 80)}`);
}

for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
  test(`Kafka's Java producer writes ${codec} batches that kafkajs reads`, async (t) => {
    const k = await testKafka();
    const topic = await k.createTopic(`codecs-java-${codec}`);
    const recs = records(`java-${codec}`);
    await javaProduce(k, topic, codec, recs);
    const seen = calls[codec].decompress;
    assertSameRecords(await kafkajsRead(k, topic, recs.length), recs);
    const batches = calls[codec].decompress - seen;
    t.diagnostic(`${recs.length} records in ${batches} ${codec} batches`);
    assert.ok(batches >= 2, `expected several ${codec} batches, kafkajs decompressed ${batches}`);
    assert.ok(recs.length / batches >= 10, `batches should hold many records: ${recs.length} records in ${batches} batches`);
  });
}

for (const codec of ['snappy', 'lz4', 'zstd'] as const) {
  test(`kafkajs writes ${codec} batches that Kafka's Java consumer and kafkajs read`, async () => {
    const k = await testKafka();
    const topic = await k.createTopic(`codecs-kjs-${codec}`);
    const recs = records(`kafkajs-${codec}`);
    const seen = calls[codec].compress;
    const producer = k.kafka.producer();
    await producer.connect();
    try {
      // four batches, each with a big record: multi-chunk / multi-block frames
      for (let i = 0; i < recs.length; i += 100) {
        await producer.send({ topic, compression: TYPES[codec], messages: recs.slice(i, i + 100) });
      }
    } finally {
      await producer.disconnect();
    }
    assert.equal(calls[codec].compress - seen, 4, `kafkajs should have compressed 4 ${codec} batches`);
    assertSameRecords(await javaRead(k, topic, recs.length), recs);
    assertSameRecords(await kafkajsRead(k, topic, recs.length), recs);
  });
}

test('a corrupt payload fails with an error naming the codec', async () => {
  const text = Buffer.from(filler(1, 300_000));
  for (const codec of ['snappy', 'lz4', 'zstd'] as const) {
    const c = codecOf(codec);
    const good = await c.compress({ buffer: text });
    assert.deepEqual(await c.decompress(good), text, `${codec} round trip`);
    const broken = {
      garbage: Buffer.from('definitely not a compressed kafka batch'),
      truncated: good.subarray(0, good.length - 1000),
      'wrong header': Buffer.concat([Buffer.from([good[0]! ^ 0xff]), good.subarray(1)]),
    };
    for (const [what, data] of Object.entries(broken)) {
      await assert.rejects(c.decompress(data), (err: Error) => {
        assert.match(err.message, new RegExp(`^${codec} decompression failed: .+`), `${codec} ${what}: ${err.message}`);
        return true;
      });
    }
  }
});

test('decodes what non-Java producers send: raw snappy blocks, LZ4 frames with checksums and content size', async () => {
  const text = Buffer.from(filler(2, 150_000));
  // librdkafka sends snappy as one raw block, without xerial framing
  assert.deepEqual(await codecOf('snappy').decompress(snappyBlock(text)), text);

  // FLG: v1, independent blocks, block checksums, content size, content checksum
  const head = Buffer.alloc(15);
  head.writeUInt32LE(0x184d2204, 0);
  head[4] = 0x40 | 0x20 | 0x10 | 0x08 | 0x04;
  head[5] = 0x40; // 64 KiB blocks
  head.writeBigUInt64LE(BigInt(text.length), 6);
  head[14] = (xxh32(0, head, 4, 10) >>> 8) & 0xff;
  const parts = [head];
  for (let s = 0; s < text.length; s += 60_000) {
    const chunk = text.subarray(s, s + 60_000);
    const out = Buffer.alloc(lz4Bound(chunk.length));
    const n = lz4Block(chunk, out, 0, chunk.length, new Uint32Array(1 << 16));
    const block = s === 0 ? chunk : out.subarray(0, n); // the first one stored uncompressed
    const word = Buffer.alloc(4);
    word.writeUInt32LE(s === 0 ? (block.length | 0x80000000) >>> 0 : block.length);
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(xxh32(0, block, 0, block.length) >>> 0);
    parts.push(word, block, sum);
  }
  const end = Buffer.alloc(8);
  end.writeUInt32LE(xxh32(0, text, 0, text.length) >>> 0, 4);
  parts.push(end);
  const frame = Buffer.concat(parts);
  const lz4 = codecOf('lz4');
  assert.deepEqual(await lz4.decompress(frame), text);

  const flipped = Buffer.from(frame);
  flipped[frame.length - 1000] = flipped[frame.length - 1000]! ^ 1; // inside the last block
  await assert.rejects(lz4.decompress(flipped), /^Error: lz4 decompression failed: LZ4 block checksum mismatch/);
});

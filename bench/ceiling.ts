// The ceiling of the sink benchmark: a raw kafkajs consumer (eachBatch, no
// processing, fetch settings like the sink's defaults) that reads a whole topic
// and discards it. Its own process, like the sink, so neither shares an event loop
// with the emulator or the producer. Prints one JSON line on stdout.
//
//   node bench/ceiling.ts --brokers host:port --topic T --records N
//        [--max-bytes-per-partition 4194304] [--min-bytes 65536] [--max-wait-ms 500] [--concurrency 4]
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

const { values } = parseArgs({
  options: {
    brokers: { type: 'string' },
    topic: { type: 'string' },
    records: { type: 'string' },
    'max-bytes-per-partition': { type: 'string', default: String(4 * 1024 * 1024) },
    'min-bytes': { type: 'string', default: String(64 * 1024) },
    'max-wait-ms': { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '4' },
    'timeout-ms': { type: 'string', default: '300000' },
  },
});
if (values.brokers === undefined || values.topic === undefined || values.records === undefined) {
  console.error('ceiling: --brokers, --topic and --records are required');
  process.exit(2);
}
const topic = values.topic;
const expected = Number(values.records);
const settings = {
  maxBytesPerPartition: Number(values['max-bytes-per-partition']),
  minBytes: Number(values['min-bytes']),
  maxWaitTimeInMs: Number(values['max-wait-ms']),
  partitionsConsumedConcurrently: Number(values.concurrency),
};

const kafka = new Kafka({ clientId: 'bench-ceiling', brokers: values.brokers.split(','), logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({
  groupId: `bench-ceiling-${process.pid}-${Date.now()}`,
  maxBytesPerPartition: settings.maxBytesPerPartition,
  minBytes: settings.minBytes,
  maxWaitTimeInMs: settings.maxWaitTimeInMs,
  readUncommitted: false,
  allowAutoTopicCreation: false,
});

let count = 0;
let bytes = 0;
let firstAt = 0;
let lastAt = 0;
// CPU of this whole process (GC threads included) over the same window as the rate.
let cpuAtFirst: NodeJS.CpuUsage | undefined;
let cpuInWindow: NodeJS.CpuUsage | undefined;
let resolveDone!: () => void;
const done = new Promise<void>((resolve) => (resolveDone = resolve));

const started = performance.now();
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
await consumer.run({
  partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
  eachBatch: async ({ batch }) => {
    if (firstAt === 0) {
      firstAt = performance.now();
      cpuAtFirst = process.cpuUsage();
    }
    count += batch.messages.length;
    for (const m of batch.messages) bytes += m.value?.length ?? 0;
    if (count >= expected && lastAt === 0) {
      lastAt = performance.now();
      cpuInWindow = process.cpuUsage(cpuAtFirst);
      resolveDone();
    }
  },
});
const timer = setTimeout(() => {
  console.error(`ceiling: timed out with ${count} of ${expected} records`);
  process.exit(1);
}, Number(values['timeout-ms']));
await done;
clearTimeout(timer);
await consumer.disconnect().catch(() => {});

const seconds = (lastAt - firstAt) / 1000;
const cpuSeconds = ((cpuInWindow?.user ?? 0) + (cpuInWindow?.system ?? 0)) / 1e6;
process.stdout.write(
  `${JSON.stringify({
    bench: 'ceiling',
    records: count,
    seconds: Number(seconds.toFixed(3)),
    secondsFromStart: Number(((lastAt - started) / 1000).toFixed(3)),
    rps: Math.round(count / seconds),
    mbps: Number((bytes / seconds / 1e6).toFixed(2)),
    coresUsed: Number((cpuSeconds / seconds).toFixed(2)),
    cpuUsPerRecord: Number(((cpuSeconds * 1e6) / count).toFixed(2)),
    settings,
  })}\n`,
);
process.exit(0);

// `npm start`: the product end to end on this machine. A local Kafka broker
// (provisioned on first use), the Rockset Write API emulator, the sink as its own
// process, and a producer of realistic sample records; throughput and document
// counts are shown until Ctrl-C. `--smoke` writes a fixed number of records,
// waits for all of them in the emulator, prints one line and exits.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, CompressionTypes, Partitioners } from 'kafkajs';
import { startKafka } from '../test/harness/kafka.ts';
import { freePort, waitFor } from '../test/harness/ports.ts';
import { startEmulator } from '../emulator/server.ts';
import { startRegistry } from '../test/harness/registry.ts';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    records: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '2000', short: 'r' },
    format: { type: 'string', default: 'json' },
  },
});
if (args.format !== 'json' && args.format !== 'avro') {
  console.error(`start: --format ${args.format} is not a demo format; use json or avro`);
  process.exit(2);
}
const avro = args.format === 'avro';
const smoke = args.smoke;
const smokeRecords = Number(args.records);
const ratePerSecond = Number(args.rate);
const API_KEY = 'local-demo-key';
const WORKSPACE = 'commons';
const COLLECTION = 'orders';
const TOPIC = 'orders';

const say = (line: string) => process.stderr.write(`start: ${line}\n`);
const cleanups: (() => Promise<unknown>)[] = [];
async function cleanup(): Promise<void> {
  for (const c of cleanups.reverse()) await c().catch(() => {});
}

say('starting a local Kafka broker (the first run fetches its jars)');
const broker = await startKafka();
cleanups.push(() => broker.stop());
say(`Kafka at ${broker.bootstrap}`);

const emulator = await startEmulator({ apiKey: API_KEY, collections: [`${WORKSPACE}.${COLLECTION}`], storeMode: smoke ? 'full' : 'ids' });
cleanups.push(() => emulator.close());
say(`Rockset Write API emulator at ${emulator.url}`);

let registryUrl: string | undefined;
if (avro) {
  say('starting a local Schema Registry (Apicurio; the first run fetches it)');
  const registry = await startRegistry();
  cleanups.push(() => registry.stop());
  registryUrl = registry.ccompatUrl;
  say(`Schema Registry at ${registryUrl}`);
}

const kafka = new Kafka({ clientId: 'sample-producer', brokers: broker.brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }], waitForLeaders: true });
await admin.disconnect();

const metricsPort = await freePort();
const config = {
  kafka: { brokers: broker.brokers, clientId: 'rockset-sink', groupId: 'rockset-sink-orders', topics: [TOPIC] },
  rockset: { apiServer: emulator.url, workspace: WORKSPACE, collection: COLLECTION },
  batch: { maxDocuments: 2000, lingerMs: 200 },
  errors: { tolerance: 'all', deadLetterTopic: `${TOPIC}.dlq` },
  http: { host: '127.0.0.1', port: metricsPort },
  ...(registryUrl ? { format: { value: 'avro' }, schemaRegistry: { url: registryUrl } } : {}),
  logLevel: smoke ? 'info' : 'warn',
};
const sink = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', path.join(root, 'sink/main.ts')], {
  env: { ...process.env, ROCKSET_SINK_CONFIG_JSON: JSON.stringify(config), ROCKSET_API_KEY: API_KEY },
  stdio: ['ignore', smoke ? 'ignore' : 'inherit', 'inherit'],
});
const sinkExit = new Promise<number | null>((resolve) => sink.on('exit', (code) => resolve(code)));
cleanups.push(async () => {
  if (sink.exitCode === null) sink.kill('SIGTERM');
  await sinkExit;
});
say(`sink started (metrics at http://127.0.0.1:${metricsPort}/metrics)`);

const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
cleanups.push(() => producer.disconnect());

const PRODUCTS = ['keyboard', 'monitor', 'laptop', 'headset', 'dock', 'webcam', 'mouse', 'chair'];
const COUNTRIES = ['DE', 'US', 'JP', 'BR', 'IN', 'FR', 'NG', 'AU'];
function sampleOrder(n: number) {
  const items = 1 + (n % 3);
  return {
    order_id: `ord-${n}`,
    customer: { id: `cust-${n % 997}`, country: COUNTRIES[n % COUNTRIES.length] },
    items: Array.from({ length: items }, (_, i) => ({ sku: PRODUCTS[(n + i) % PRODUCTS.length], qty: 1 + ((n + i) % 4), price_cents: 999 + ((n * 37 + i) % 50_000) })),
    // a 64-bit id from an upstream system: must arrive with every digit
    ledger_id: `__BIG__${9007199254740993n + BigInt(n)}`,
    placed_at: new Date().toISOString(),
    status: n % 10 === 0 ? 'cancelled' : 'placed',
  };
}
const encodeJson = (o: object) => JSON.stringify(o).replace(/"__BIG__(\d+)"/g, '$1');

// The Avro demo writes what a Confluent Avro producer writes: registered schema, framed records.
const ORDER_SCHEMA = {
  type: 'record', name: 'Order', namespace: 'demo.shop',
  fields: [
    { name: 'order_id', type: 'string' },
    { name: 'customer', type: { type: 'record', name: 'Customer', fields: [{ name: 'id', type: 'string' }, { name: 'country', type: 'string' }] } },
    { name: 'items', type: { type: 'array', items: { type: 'record', name: 'Item', fields: [{ name: 'sku', type: 'string' }, { name: 'qty', type: 'int' }, { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } }] } } },
    { name: 'placed_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['placed', 'cancelled'] } },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
};
let encodeValue: (n: number) => Promise<Buffer | string> = async (n) => encodeJson(sampleOrder(n));
if (registryUrl) {
  const client = new SchemaRegistry({ host: registryUrl });
  const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(ORDER_SCHEMA) }, { subject: `${TOPIC}-value` });
  const cents = (c: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(c);
    return b;
  };
  encodeValue = (n) => {
    const o = sampleOrder(n);
    return client.encode(id, {
      order_id: o.order_id, customer: o.customer, status: o.status, note: n % 7 === 0 ? 'gift' : null, placed_at: Date.now(),
      items: o.items.map((i) => ({ sku: i.sku, qty: i.qty, price: cents(i.price_cents) })),
    });
  };
}

let produced = 0;
async function produceBatch(count: number): Promise<void> {
  const messages = await Promise.all(Array.from({ length: count }, async () => {
    const n = produced++;
    return { key: `ord-${n}`, value: await encodeValue(n) };
  }));
  await producer.send({ topic: TOPIC, compression: CompressionTypes.GZIP, messages });
}

let stopping = false;
async function shutdown(code: number): Promise<never> {
  stopping = true;
  await cleanup();
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
void sinkExit.then((code) => {
  if (!stopping) {
    say(`the sink exited unexpectedly (${code})`);
    void shutdown(1);
  }
});

if (smoke) {
  const started = Date.now();
  for (let left = smokeRecords; left > 0; left -= 1000) await produceBatch(Math.min(1000, left));
  try {
    await waitFor(`${smokeRecords} documents`, async () => (await emulator.admin.count(WORKSPACE, COLLECTION)) >= smokeRecords, { timeoutMs: 120_000, intervalMs: 200 });
  } catch (err) {
    say((err as Error).message);
    await shutdown(1);
  }
  const documents = await emulator.admin.count(WORKSPACE, COLLECTION);
  const sample = await emulator.admin.doc(WORKSPACE, COLLECTION, 'ord-7');
  // JSON carries a 64-bit ledger id that must keep its digits; Avro a decimal price that must stay exact
  const exact = avro ? typeof (sample?.items as { price?: unknown }[] | undefined)?.[0]?.price === 'string' : JSON.stringify(sample).includes(String(9007199254740993n + 7n));
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`smoke: ${produced} records -> ${documents} documents in ${seconds} s`);
  if (documents !== produced || !exact) {
    say(documents !== produced ? 'document count does not match the record count' : 'a 64-bit integer lost digits');
    await shutdown(1);
  }
  await shutdown(0);
}

say(`producing ~${ratePerSecond} orders/s to topic "${TOPIC}"; Ctrl-C stops everything`);
let lastDocs = 0;
let lastAt = Date.now();
const producing = (async () => {
  while (!stopping) {
    const t0 = Date.now();
    await produceBatch(Math.max(1, Math.round(ratePerSecond / 10)));
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - t0))));
  }
})();
const ticker = setInterval(async () => {
  const docs = await emulator.admin.count(WORKSPACE, COLLECTION).catch(() => lastDocs);
  const now = Date.now();
  const rate = ((docs - lastDocs) / ((now - lastAt) / 1000)).toFixed(0);
  process.stdout.write(`records produced ${produced}  documents in Rockset ${docs}  (${rate} docs/s)\n`);
  lastDocs = docs;
  lastAt = now;
}, 2000);
cleanups.push(async () => clearInterval(ticker));
await producing;

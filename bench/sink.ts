// Sink benchmarks: one local Kafka broker and one Rockset Write API emulator (its
// own process, emulator/main.ts with --store ids, so its parsing of multi-MB bodies
// never blocks this process's producer and poller) for the whole run, the sink as its own process
// (`node sink/main.js` compiled from the sources as the image does, with the memory flags the operator renders), fresh topics of 1 KiB records with 6
// partitions, then:
//
//   ceiling_rps  a raw kafkajs consumer (bench/ceiling.ts, own process, eachBatch,
//                no processing, the sink's default fetch settings) reads the JSON topic
//   sink_rps     the sink drains the same topic into the emulator; window = first
//                write request seen by the emulator -> all documents present
//                (count polled every 20 ms); sink_mbps = Kafka value bytes / window
//   ratio        sink_rps / ceiling_rps
//   ratio_bound_here  the best ratio any kafkajs sink could reach on this machine, from
//                the CPU per record of the ceiling consumer, the emulator and the broker
//   rss_peak_mb  the sink process's VmHWM (/proc/<pid>/status) after the JSON drain;
//                the sink runs with the Node flags and environment the operator
//                renders for the default memory limit (512Mi: --max-old-space-size=204
//                --max-semi-space-size=4, MALLOC_ARENA_MAX=2, MALLOC_MMAP_THRESHOLD_); --sink-memory-limit none
//                runs it bare
//   avro_rps     the same drain with Confluent-framed Avro records (Schema Registry)
//   e2e_p50/p99  records produced at a fixed rate with their produce time in the
//                value (and kept here by key); a record is visible when the write
//                request that carried its _id is answered (applied) in the
//                emulator's request log, polled every 10 ms -> resolution ~10 ms
//
// Writes bench-results.json in the repo root, prints a table and one JSON line
// ({"bench":"sink",...}) on stdout; progress goes to stderr. Everything started
// here is stopped on success, error and Ctrl-C.
//
//   node bench/sink.ts [--records 300000] [--avro-records N] [--e2e-seconds 30] [--e2e-rate 5000]
//                      [--skip ceiling,sink,avro,e2e] [--profile [--profile-records 100000]]
//                      [--sink-memory-limit 512Mi|none]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, CompressionTypes, type Message } from 'kafkajs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { startKafka, type KafkaBroker } from '../test/harness/kafka.ts';
import { startRegistry, type SchemaRegistryServer } from '../test/harness/registry.ts';
import { freePort, waitFor } from '../test/harness/ports.ts';
import { EmulatorAdmin } from '../emulator/client.ts';
import { DEFAULT_RESOURCES } from '../operator/api/rocksetsink.ts';
import { nodeMemory, quantityValue } from '../operator/render/memory.ts';
import { threadsFor } from '../sink/mapping/threads.ts';
import { summarizeProfile, type ProfileEntry } from './profile.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    'avro-records': { type: 'string' },
    'e2e-seconds': { type: 'string', default: '30' },
    'e2e-rate': { type: 'string', default: '5000' },
    // A second, higher rate (0: none), for as long as --e2e-high-seconds.
    'e2e-high-rate': { type: 'string', default: '20000' },
    'e2e-high-seconds': { type: 'string', default: '20' },
    // sink_rps and avro_rps of the code before a change, measured on the same machine, for the speed-up targets.
    'baseline-sink-rps': { type: 'string' },
    'baseline-avro-rps': { type: 'string' },
    skip: { type: 'string', default: '' },
    profile: { type: 'boolean', default: false },
    'sink-config': { type: 'string', default: '{}' },
    'sink-node-options': { type: 'string', default: '' },
    // The sink runs with the Node flags and environment the operator renders for this memory limit ('none': no limit).
    'sink-memory-limit': { type: 'string', default: DEFAULT_RESOURCES.limits.memory },
    // The sink's CPU (limits.cpu, else requests.cpu, in cores or a quantity): its mapping threads as the operator renders them (default: the default request, 100m: none). SINK_THREADS in the environment wins.
    'sink-cpu': { type: 'string', default: DEFAULT_RESOURCES.requests.cpu },
    // The image runs the compiled JavaScript (tsconfig.build.json); --sink-from-source runs sink/main.ts instead.
    'sink-from-source': { type: 'boolean', default: false },
    'profile-records': { type: 'string', default: '100000' },
    out: { type: 'string', default: path.join(root, 'bench-results.json') },
  },
});
const RECORDS = Number(args.records);
const AVRO_RECORDS = Number(args['avro-records'] ?? args.records);
const E2E_SECONDS = Number(args['e2e-seconds']);
const E2E_RATE = Number(args['e2e-rate']);
const E2E_HIGH_RATE = Number(args['e2e-high-rate']);
const E2E_HIGH_SECONDS = Number(args['e2e-high-seconds']);
const BASELINE = { sink: args['baseline-sink-rps'] === undefined ? undefined : Number(args['baseline-sink-rps']), avro: args['baseline-avro-rps'] === undefined ? undefined : Number(args['baseline-avro-rps']) };
const PROFILE_RECORDS = Number(args['profile-records']);
// Diagnostics only: sections merged over the sink configuration, e.g. '{"batch":{"lingerMs":50}}'.
const SINK_OVERRIDES = JSON.parse(args['sink-config']) as Record<string, Record<string, unknown>>;
// Diagnostics only: V8/Node flags for the sink process alone, e.g. '--max-semi-space-size=2'.
const SINK_NODE_OPTIONS = args['sink-node-options'];
const SINK_MEMORY_LIMIT = args['sink-memory-limit'];
const SINK_MEMORY_BYTES = SINK_MEMORY_LIMIT === 'none' ? undefined : quantityValue(SINK_MEMORY_LIMIT);
if (SINK_MEMORY_LIMIT !== 'none' && SINK_MEMORY_BYTES === undefined) {
  console.error(`bench: --sink-memory-limit ${SINK_MEMORY_LIMIT} is not a Kubernetes quantity (e.g. 512Mi), nor 'none'`);
  process.exit(2);
}
const SINK_MEMORY = nodeMemory(SINK_MEMORY_BYTES);
const SINK_CPU = quantityValue(args['sink-cpu']);
if (SINK_CPU === undefined) {
  console.error(`bench: --sink-cpu ${args['sink-cpu']} is not a Kubernetes quantity (e.g. 2, 1500m)`);
  process.exit(2);
}
const SINK_THREADS = process.env.SINK_THREADS ?? String(threadsFor(SINK_CPU, SINK_MEMORY_BYTES));
const skip = new Set(args.skip.split(',').map((s) => s.trim()).filter((s) => s !== ''));
for (const [name, n] of [['--records', RECORDS], ['--avro-records', AVRO_RECORDS], ['--e2e-seconds', E2E_SECONDS], ['--e2e-rate', E2E_RATE]] as const) {
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`bench: ${name} must be a positive number`);
    process.exit(2);
  }
}

const PARTITIONS = 6;
const RECORD_BYTES = 1024;
const PRODUCE_BATCH = 1000;
const PRODUCE_IN_FLIGHT = 4;
/** How often the e2e runs read the emulator request log (latency comes from its appliedAt, not from when it is read). */
const E2E_POLL_MS = 500;
/** Before the clock starts, the e2e producer (a JVM) sends this long to a topic of its own, which the sink reads into a collection of its own: both warm up. */
const E2E_PRODUCER_WARMUP_SECONDS = 3;
const API_KEY = 'bench-key';
const WS = 'bench';
const COLLECTIONS = ['json', 'avro', 'e2e', 'e2e-warmup', 'profile'];
// The sink's own defaults (sink/config/schema.ts), written out so the results say what ran.
const SINK_DEFAULTS = {
  batch: { maxDocuments: 5000, maxBytes: 4 * 1024 * 1024, lingerMs: 500 },
  kafka: { fetchMaxBytesPerPartition: 4 * 1024 * 1024, fetchMinBytes: 64 * 1024 },
  rockset: { maxInFlightRequests: 4 },
};

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 0) => Number(n.toFixed(digits));

// ---- cleanup: everything started is stopped, also on errors and Ctrl-C ---------

const cleanups: (() => Promise<unknown>)[] = [];

let compiled: string | undefined;
/** The sink as the image runs it: compiled once per bench run into a temporary directory. */
function sinkEntrypoint(): string {
  if (args['sink-from-source']) return path.join(root, 'sink/main.ts');
  if (!compiled) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-bench-dist-'));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', dir], { encoding: 'utf8' });
    if (tsc.status !== 0) throw new Error(`compiling the sink failed:\n${tsc.stdout}${tsc.stderr}`);
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
    compiled = path.join(dir, 'sink/main.js');
  }
  return compiled;
}
const children = new Set<ChildProcess>();
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => say(`cleanup: ${(err as Error).message}`));
  })();
  return cleaning;
}
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    say(`${signal}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---- records ----------------------------------------------------------------------

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
const PAD = Array.from({ length: 400 }, (_, i) => WORDS[(i * 7) % 10]).join(' ');
function jsonRecord(n: number): Buffer {
  const doc: Record<string, unknown> = {
    id: `r-${n}`,
    seq: n,
    user: { id: `user-${n % 9973}`, name: `User ${n % 9973}`, country: ['DE', 'US', 'JP', 'BR'][n % 4] },
    event: ['view', 'click', 'purchase', 'signup'][n % 4],
    amount: (n % 100_000) / 100,
    items: [{ sku: `sku-${n % 101}`, qty: 1 + (n % 5) }, { sku: `sku-${(n * 7) % 101}`, qty: 1 }],
    tags: [WORDS[n % 10], WORDS[(n >> 3) % 10]],
    created_at: new Date(1_700_000_000_000 + n * 1000).toISOString(),
    payload: '',
  };
  const base = Buffer.byteLength(JSON.stringify(doc));
  const start = n % 100;
  doc['payload'] = PAD.slice(start, start + Math.max(0, RECORD_BYTES - base));
  return Buffer.from(JSON.stringify(doc));
}

const AVRO_SCHEMA = {
  type: 'record', name: 'BenchEvent', namespace: 'bench',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'seq', type: 'long' },
    { name: 'created_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'event', type: { type: 'enum', name: 'EventKind', symbols: ['view', 'click', 'purchase', 'signup'] } },
    { name: 'user', type: { type: 'record', name: 'User', fields: [
      { name: 'id', type: 'string' }, { name: 'name', type: 'string' }, { name: 'country', type: 'string' },
      { name: 'address', type: { type: 'record', name: 'Address', fields: [{ name: 'street', type: 'string' }, { name: 'city', type: 'string' }, { name: 'zip', type: 'string' }] } },
    ] } },
    { name: 'items', type: { type: 'array', items: { type: 'record', name: 'Item', fields: [{ name: 'sku', type: 'string' }, { name: 'qty', type: 'int' }, { name: 'price', type: 'double' }] } } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'payload', type: 'string' },
  ],
};
function avroValue(n: number): Record<string, unknown> {
  const cents = Buffer.alloc(4);
  cents.writeInt32BE(n % 10_000_000);
  const payload = PAD.slice(n % 100, (n % 100) + 760);
  return {
    id: `r-${n}`, seq: n, created_at: 1_700_000_000_000 + n * 1000, amount: cents,
    event: ['view', 'click', 'purchase', 'signup'][n % 4],
    user: { id: `user-${n % 9973}`, name: `User ${n % 9973}`, country: 'DE', address: { street: `${n % 500} Main Street`, city: 'Berlin', zip: String(10_000 + (n % 90_000)) } },
    items: Array.from({ length: 3 }, (_, i) => ({ sku: `sku-${(n + i) % 101}`, qty: 1 + i, price: 9.99 + i })),
    tags: [WORDS[n % 10], WORDS[(n >> 3) % 10], WORDS[(n >> 5) % 10]],
    note: n % 7 === 0 ? 'gift' : null,
    payload,
  };
}

// ---- infrastructure -----------------------------------------------------------------

async function createTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Fills a topic: batches of 1000, no compression, several sends in flight. Returns value bytes. */
async function fillTopic(kafka: Kafka, topic: string, count: number, value: (n: number) => Buffer | Promise<Buffer>): Promise<{ bytes: number; seconds: number }> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const t0 = performance.now();
  let next = 0;
  let bytes = 0;
  try {
    const worker = async () => {
      while (next < count) {
        const from = next;
        const to = Math.min(count, from + PRODUCE_BATCH);
        next = to;
        const messages: Message[] = [];
        for (let n = from; n < to; n++) {
          const v = await value(n);
          bytes += v.length;
          messages.push({ key: `r-${n}`, value: v, partition: n % PARTITIONS });
        }
        await producer.send({ topic, compression: CompressionTypes.None, messages });
      }
    };
    await Promise.all(Array.from({ length: PRODUCE_IN_FLIGHT }, worker));
  } finally {
    await producer.disconnect();
  }
  return { bytes, seconds: (performance.now() - t0) / 1000 };
}

interface Emulator {
  url: string;
  pid: number;
  admin: EmulatorAdmin;
  close(): Promise<void>;
}

/**
 * The emulator in its own process (emulator/main.ts, storeMode ids): parsing multi-MB
 * request bodies then never blocks this process's producer and request-log poller.
 */
async function startEmulatorProcess(): Promise<Emulator> {
  const args = ['--port', '0', '--api-key', API_KEY, '--store', 'ids', '--request-log-size', '100000', ...COLLECTIONS.flatMap((c) => ['--collection', `${WS}.${c}`])];
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', path.join(root, 'emulator/main.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.on('exit', () => {
    children.delete(child);
    resolve();
  }));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  cleanups.push(close);
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    void exited.then(() => reject(new Error(`the emulator exited during start: ${out}`)));
  });
  child.stdout.resume();
  return { url, pid: child.pid ?? 0, admin: new EmulatorAdmin(url), close };
}

let payloads: string | undefined;
/** 1,000 distinct 1 KiB JSON records, one a line, for the Java producers. */
function payloadFile(): string {
  if (payloads !== undefined) return payloads;
  const file = path.join(os.tmpdir(), `rso-bench-payloads-${process.pid}.txt`);
  fs.writeFileSync(file, Array.from({ length: 1000 }, (_, n) => jsonRecord(n).toString()).join('\n'));
  cleanups.push(async () => fs.rmSync(file, { force: true }));
  return (payloads = file);
}

const wallSecondsSince = (t0: number) => (performance.now() - t0) / 1000;

/**
 * Fills a topic with Kafka's own Java producer (org.apache.kafka.tools.ProducerPerformance):
 * ~3x faster than kafkajs here. Values are drawn from 1,000 distinct 1 KiB JSON records
 * (a payload file); records have no key, so the sink's _id is <topic>-<partition>-<offset>.
 */
async function fillTopicJava(broker: KafkaBroker, topic: string, count: number): Promise<{ bytes: number; seconds: number; producer: string }> {
  const file = payloadFile();
  const t0 = performance.now();
  await broker.runTool('org.apache.kafka.tools.ProducerPerformance', [
    '--topic', topic, '--num-records', String(count), '--throughput', '-1', '--payload-file', file,
    '--producer-props', `bootstrap.servers=${broker.bootstrap}`, 'acks=1', 'batch.size=262144', 'linger.ms=5', 'compression.type=none',
  ], { timeoutMs: 600_000 });
  return { bytes: count * RECORD_BYTES, seconds: (performance.now() - t0) / 1000, producer: 'ProducerPerformance (acks=1, batch.size=256 KiB, linger.ms=5, no compression, no keys)' };
}

function runCeiling(broker: KafkaBroker, topic: string, records: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', path.join(root, 'bench/ceiling.ts'), '--brokers', broker.bootstrap, '--topic', topic, '--records', String(records)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      children.delete(child);
      if (code !== 0) return reject(new Error(`bench/ceiling.ts exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, unknown>);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

/**
 * CPU seconds of a process's threads so far, by kind (the thread's name): `main` (the
 * JavaScript event loop), `mapping` (Node worker threads), `v8` (V8's helpers: concurrent
 * GC and compilation), `other` (libuv's pool, signal and inspector threads).
 */
function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = { main: 0, mapping: 0, v8: 0, other: 0 };
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
      const kind = tid === String(pid) ? 'main' : name === 'WorkerThread' ? 'mapping' : name.startsWith('V8') ? 'v8' : 'other';
      out[kind] = (out[kind] ?? 0) + seconds;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** The sink's /metrics text; '' when it does not answer. */
async function scrapeSink(port: number): Promise<string> {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch {
    return '';
  }
}

/** A sample's value from /metrics text: `labels` as printed (`{outcome="committed"}`), else any or none; NaN when absent. */
function sample(text: string, name: string, labels?: string): number {
  const escape = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${escape(name)}${labels === undefined ? '(?:\\{[^}]*\\})?' : escape(labels)} ([0-9.e+]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** The sink's own view of its memory, from its /metrics (prom-client default metrics). */
async function sinkHeap(port: number): Promise<Record<string, number>> {
  const text = await scrapeSink(port);
  if (text === '') return {};
  const mb = (name: string) => round(sample(text, `rockset_sink_process_${name}`) / 2 ** 20, 1);
  return { heapUsedMb: mb('nodejs_heap_size_used_bytes'), heapTotalMb: mb('nodejs_heap_size_total_bytes'), externalMb: mb('nodejs_external_memory_bytes'), mappingThreads: sample(text, 'rockset_sink_mapping_threads') };
}

/** The sink's OffsetCommit requests so far (rockset_sink_offset_commit_seconds, committed). */
async function sinkCommits(port: number): Promise<{ count: number; meanMs: number }> {
  const text = await scrapeSink(port);
  const count = sample(text, 'rockset_sink_offset_commit_seconds_count', '{outcome="committed"}');
  const sum = sample(text, 'rockset_sink_offset_commit_seconds_sum', '{outcome="committed"}');
  return { count, meanMs: round((sum / count) * 1000, 1) };
}

interface RunningSink {
  child: ChildProcess;
  port: number;
  startedAt: number;
  ready: Promise<void>;
  /** Peak RSS (VmHWM) and current RSS in MB, read from /proc. */
  memory(): { peakMb: number; rssMb: number };
  stop(): Promise<number | null>;
}

async function startSink(opts: { broker: KafkaBroker; emulator: Emulator; topic: string; collection: string; registryUrl?: string; cpuProfDir?: string; warmup?: { topic: string; collection: string } }): Promise<RunningSink> {
  const port = await freePort();
  const base: Record<string, unknown> = {
    kafka: { brokers: opts.broker.brokers, clientId: 'bench-sink', groupId: `bench-sink-${opts.topic}-${Date.now()}`, topics: opts.warmup ? [opts.topic, opts.warmup.topic] : [opts.topic] },
    rockset: { apiServer: opts.emulator.url, workspace: WS, collection: opts.collection, ...(opts.warmup ? { topicCollections: { [opts.warmup.topic]: opts.warmup.collection } } : {}) },
    http: { host: '127.0.0.1', port },
    ...(opts.registryUrl !== undefined ? { format: { value: 'avro' }, schemaRegistry: { url: opts.registryUrl } } : {}),
    logLevel: 'warn',
  };
  const config: Record<string, unknown> = { ...base };
  for (const [section, value] of Object.entries(SINK_OVERRIDES)) {
    const current = base[section];
    config[section] = typeof current === 'object' && current !== null && typeof value === 'object' ? { ...current, ...value } : value;
  }
  const logFile = path.join(os.tmpdir(), `rso-bench-sink-${opts.topic}-${process.pid}.log`);
  const logFd = fs.openSync(logFile, 'w');
  const flags = ['--disable-warning=TimeoutNegativeWarning', '--disable-warning=ExperimentalWarning'];
  if (opts.cpuProfDir !== undefined) flags.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`);
  flags.push(...SINK_MEMORY.flags);
  if (SINK_NODE_OPTIONS !== '') flags.push(...SINK_NODE_OPTIONS.split(/\s+/));
  const startedAt = performance.now();
  const child = spawn(process.execPath, [...flags, sinkEntrypoint()], {
    env: { ...process.env, ...Object.fromEntries(SINK_MEMORY.env.map((e) => [e.name, e.value])), SINK_THREADS, ROCKSET_SINK_CONFIG_JSON: JSON.stringify(config), ROCKSET_API_KEY: API_KEY, TERMINATION_MESSAGE_PATH: path.join(os.tmpdir(), `rso-bench-term-${process.pid}`) },
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  children.add(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    children.delete(child);
    resolve(code);
  }));
  let stopping = false;
  const unexpected = exited.then((code) => {
    if (!stopping) throw new Error(`the sink exited unexpectedly with ${code}; its log: ${logFile}\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
  });
  unexpected.catch(() => {});
  const stop = async () => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    if (code === 0) fs.rmSync(logFile, { force: true }); // kept only when the sink failed
    return code;
  };
  cleanups.push(stop);
  const ready = waitFor('the sink to join its consumer group', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, {
    timeoutMs: 60_000,
    intervalMs: 50,
    abort: () => (child.exitCode !== null ? new Error(`the sink exited with ${child.exitCode} during start; log: ${logFile}\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`) : undefined),
  });
  return {
    child,
    port,
    startedAt,
    ready,
    memory() {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
      return { peakMb: round(kb('VmHWM') / 1024, 1), rssMb: round(kb('VmRSS') / 1024, 1) };
    },
    stop,
  };
}

/** The sink drains a pre-filled topic; window = first write request -> all documents present. */
async function drain(opts: { broker: KafkaBroker; emulator: Emulator; topic: string; collection: string; records: number; bytes: number; registryUrl?: string; cpuProfDir?: string }) {
  const sink = await startSink(opts);
  try {
    let doneAt = 0;
    // CPU used by each process while documents flow (first document seen -> all present).
    const pids = { sink: sink.child.pid ?? 0, emulator: opts.emulator.pid, broker: opts.broker.pid };
    let cpuStart: { at: number; count: number; sink: number; emulator: number; broker: number; threads: Record<string, number> } | undefined;
    let cpu: Record<string, number> = {};
    let cpuUs: Record<string, number> = {};
    let threadUs: Record<string, number> = {};
    await waitFor(`${opts.records} documents in ${WS}.${opts.collection}`, async () => {
      if (sink.child.exitCode !== null) throw new Error(`the sink exited with ${sink.child.exitCode}`);
      const count = await opts.emulator.admin.count(WS, opts.collection);
      if (count > 0 && cpuStart === undefined) cpuStart = { at: performance.now(), count, sink: cpuSeconds(pids.sink), emulator: cpuSeconds(pids.emulator), broker: cpuSeconds(pids.broker), threads: threadCpuSeconds(pids.sink) };
      if (count < opts.records) return false;
      doneAt = performance.now();
      if (cpuStart !== undefined) {
        const s = (doneAt - cpuStart.at) / 1000;
        const used = { sink: cpuSeconds(pids.sink) - cpuStart.sink, emulator: cpuSeconds(pids.emulator) - cpuStart.emulator, broker: cpuSeconds(pids.broker) - cpuStart.broker };
        const records = count - cpuStart.count;
        cpu = { sink: round(used.sink / s, 2), emulator: round(used.emulator / s, 2), broker: round(used.broker / s, 2) };
        if (records > 0) cpuUs = { sink: round((used.sink * 1e6) / records, 1), emulator: round((used.emulator * 1e6) / records, 1), broker: round((used.broker * 1e6) / records, 1) };
        const threads = threadCpuSeconds(pids.sink);
        if (records > 0) threadUs = Object.fromEntries(Object.entries(threads).map(([k, v]) => [k, round(((v - (cpuStart!.threads[k] ?? 0)) * 1e6) / records, 1)]));
      }
      return true;
    }, { timeoutMs: 600_000, intervalMs: 20, abort: () => (sink.child.exitCode !== null ? new Error(`the sink exited with ${sink.child.exitCode}`) : undefined) });
    const memory = sink.memory();
    const heap = await sinkHeap(sink.port);
    const log = await opts.emulator.admin.requests({ workspace: WS, collection: opts.collection });
    const first = log[0];
    if (first === undefined) throw new Error('no write request in the emulator log');
    // Request log times are wall-clock ms (the emulator runs on this machine: same clock).
    const firstAt = Date.parse(first.time) - performance.timeOrigin;
    const seconds = (doneAt - firstAt) / 1000;
    const docsPerRequest = log.map((e) => e.documents ?? 0);
    const result = {
      records: opts.records,
      seconds: round(seconds, 3),
      secondsFromSinkStart: round((doneAt - sink.startedAt) / 1000, 3),
      rps: Math.round(opts.records / seconds),
      mbps: round(opts.bytes / seconds / 1e6, 2),
      requests: log.length,
      non200: log.filter((e) => e.status !== 200).length,
      avgDocsPerRequest: round(docsPerRequest.reduce((a, b) => a + b, 0) / Math.max(1, log.length), 1),
      rssPeakMb: memory.peakMb,
      rssEndMb: memory.rssMb,
      sinkHeapAtEnd: heap,
      mappingThreads: heap['mappingThreads'],
      /** Cores used per process while documents flowed (of 2 on the reference machine). */
      coresUsed: cpu,
      /** CPU microseconds per document of each process over the same window (/proc/<pid>/stat ticks: 10 ms resolution). */
      cpuUsPerRecord: cpuUs,
      /** The sink's CPU microseconds per document by thread: main (event loop), mapping (worker threads), v8 (GC and compiler helpers), other. */
      sinkThreadUsPerRecord: threadUs,
    };
    return result;
  } finally {
    await sink.stop();
  }
}

/**
 * The best ratio any kafkajs-based sink could reach on this machine while the emulator
 * and the broker share its cores: even a sink whose own work cost nothing beyond
 * consuming (the ceiling consumer's CPU per record) still pays, per document, the
 * emulator's parsing and the broker's serving, all out of `cores`. For the broker the
 * lower of its two measurements (ceiling run, sink run) is used, so the bound errs high.
 */
function ratioBound(ceiling: Record<string, unknown> | undefined, sink: { cpuUsPerRecord: Record<string, number> } | undefined, cores: number) {
  const consume = ceiling?.['cpuUsPerRecord'];
  const ceilingRps = ceiling?.['rps'];
  const emulator = sink?.cpuUsPerRecord['emulator'];
  const brokerSink = sink?.cpuUsPerRecord['broker'];
  const brokerCeiling = ceiling?.['brokerCpuUsPerRecord'];
  if (typeof consume !== 'number' || typeof ceilingRps !== 'number' || emulator === undefined || brokerSink === undefined || typeof brokerCeiling !== 'number') return undefined;
  const broker = Math.min(brokerSink, brokerCeiling);
  const perRecordUs = consume + emulator + broker;
  const rps = Math.round((cores * 1e6) / perRecordUs);
  return { cores, consumeUs: consume, emulatorUs: emulator, brokerUs: broker, perRecordUs: round(perRecordUs, 1), rps, ratio: round(rps / ceilingRps, 3) };
}

/**
 * The rate at which the sink, the emulator and the broker, at their CPU per record in
 * the sink run, would keep every core of this machine busy: no sink on this machine
 * (however its work is spread over threads) can drain faster while they share it.
 */
function cpuBoundRps(sink: { cpuUsPerRecord: Record<string, number> } | undefined, cores: number) {
  const c = sink?.cpuUsPerRecord;
  if (c?.['sink'] === undefined || c['emulator'] === undefined || c['broker'] === undefined) return undefined;
  const perRecordUs = c['sink'] + c['emulator'] + c['broker'];
  return { cores, perRecordUs: round(perRecordUs, 1), rps: Math.round((cores * 1e6) / perRecordUs) };
}

function coresText(c: Record<string, number>): string {
  return ['sink', 'emulator', 'broker', 'producer', 'bench'].map((k) => c[k]).join('/');
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

/**
 * Records at a fixed rate from Kafka's Java producer (bench/E2eProducer.java), each keyed
 * `<topic>-<n>@<send time in ms>`; latency is the emulator's appliedAt of the request
 * that carried that _id minus the time in it.
 */
async function e2e(kafka: Kafka, broker: KafkaBroker, emulator: Emulator, topic: string, rate: number, durationSeconds: number) {
  await createTopic(kafka, topic);
  await createTopic(kafka, `${topic}-warmup`);
  // The sink reads the producer's warm-up too (into a collection of its own): a sink
  // process's first second (its JIT, its first connections; 186-379 ms for the records of
  // the first half second here) is its start, not its latency at this rate.
  const sink = await startSink({ broker, emulator, topic, collection: 'e2e', warmup: { topic: `${topic}-warmup`, collection: 'e2e-warmup' } });
  try {
    await sink.ready;
    const total = Math.round(rate * durationSeconds);
    const seen = new Set<string>();
    const latencies: number[] = [];
    const arrivals: number[] = [];
    const producedAts: number[] = [];
    let since = (await emulator.admin.requests()).at(-1)?.seq ?? 0;
    let polls = 0;
    let pollMsTotal = 0;
    let requests = 0;
    let requestDocs = 0;
    let producing = true;
    let drainDeadline = Infinity;
    const pids = { sink: sink.child.pid ?? 0, emulator: emulator.pid, broker: broker.pid };
    // CPU from the run's first write (after the producer's start and warm-up) to its last send.
    let cpuFrom: { at: number; procs: Record<string, number>; bench: NodeJS.CpuUsage } | undefined;
    const poller = (async () => {
      while (producing || seen.size < total) {
        const t0 = performance.now();
        const entries = await emulator.admin.requests({ since, workspace: WS, collection: 'e2e' });
        polls += 1;
        pollMsTotal += performance.now() - t0;
        if (cpuFrom === undefined && entries.length > 0) {
          cpuFrom = { at: performance.now(), procs: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)])), bench: process.cpuUsage() };
        }
        for (const entry of entries) {
          if (entry.status === null) break; // still in progress: look again next time
          since = entry.seq;
          requests += 1;
          requestDocs += entry.documents ?? 0;
          if (!entry.applied || entry.status !== 200 || entry.appliedAt === null) continue;
          const arrivedAt = Date.parse(entry.time);
          const visibleAt = Date.parse(entry.appliedAt);
          for (const id of entry.ids) {
            if (id === null || seen.has(id)) continue; // a retried write: its first landing counts
            const at = Number(id.slice(id.lastIndexOf('@') + 1));
            if (!Number.isFinite(at)) continue;
            seen.add(id);
            latencies.push(visibleAt - at);
            arrivals.push(arrivedAt - at);
            producedAts.push(at);
          }
        }
        if (!producing && performance.now() > drainDeadline) break;
        // The log says when each write was applied, so reading it often measures nothing
        // better; it only takes CPU from the sink (every 10 ms, at 20,000/s, it cost the
        // emulator and this process more than half a core).
        await sleep(producing ? E2E_POLL_MS : 50);
      }
    })();

    const t0 = performance.now();
    let produced: { sent: number; errors: number; lateTicks: number; seconds: number; cpuSeconds: number };
    let producerCores = NaN;
    try {
      const out = await broker.runTool(
        path.join(root, 'bench/E2eProducer.java'),
        [broker.bootstrap, topic, String(rate), String(durationSeconds), payloadFile(), String(PARTITIONS), `${topic}-warmup`, String(E2E_PRODUCER_WARMUP_SECONDS)],
        { timeoutMs: (durationSeconds + E2E_PRODUCER_WARMUP_SECONDS + 120) * 1000 },
      );
      produced = JSON.parse(out.stdout.trim().split('\n').pop() ?? '') as typeof produced;
      producerCores = round(produced.cpuSeconds / wallSecondsSince(t0), 2);
    } finally {
      producing = false;
    }
    // Cores each process used while records flowed (the producer: over its whole life, its
    // start and warm-up included): on a 2-core machine, what the sink had left shows here.
    const from = cpuFrom ?? { at: t0, procs: {}, bench: process.cpuUsage() };
    const flowSeconds = wallSecondsSince(from.at);
    const benchCpu = process.cpuUsage(from.bench);
    const coresUsed = {
      ...Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, round((cpuSeconds(pid) - (from.procs[k] ?? 0)) / flowSeconds, 2)])),
      producer: producerCores,
      bench: round((benchCpu.user + benchCpu.system) / 1e6 / flowSeconds, 2),
    };
    drainDeadline = performance.now() + 60_000;
    await poller;
    const commits = await sinkCommits(sink.port);
    const missing = total - seen.size;
    if (missing > 0) say(`e2e: ${missing} records never became visible within 60 s`);
    // Records sent after the producer's first 5 s (JIT warm, group settled).
    const steadyFrom = Math.min(...producedAts.slice(0, 1000)) + 5000;
    const steady = latencies.filter((_, i) => (producedAts[i] as number) >= steadyFrom);
    // E2E_DUMP=<prefix>: every record's produce time, latency and arrival, to see where a tail comes from.
    if (process.env['E2E_DUMP']) fs.writeFileSync(`${process.env['E2E_DUMP']}-${rate}.json`, JSON.stringify({ producedAts, latencies, arrivals }));
    latencies.sort((a, b) => a - b);
    arrivals.sort((a, b) => a - b);
    steady.sort((a, b) => a - b);
    return {
      rate,
      seconds: durationSeconds,
      produceSeconds: round(produced.seconds, 2),
      produced: total,
      visible: latencies.length,
      missing,
      sendErrors: produced.errors,
      lateTicks: produced.lateTicks,
      p50Ms: pct(latencies, 0.5),
      p90Ms: pct(latencies, 0.9),
      p99Ms: pct(latencies, 0.99),
      maxMs: latencies.at(-1) ?? NaN,
      // Lower bound: produce -> the emulator received the write request carrying the record.
      requestArrival: { p50Ms: pct(arrivals, 0.5), p99Ms: pct(arrivals, 0.99) },
      afterFirst5s: { records: steady.length, p50Ms: pct(steady, 0.5), p99Ms: pct(steady, 0.99) },
      coresUsed,
      docsPerRequest: round(requestDocs / Math.max(1, requests), 1),
      writeRequests: requests,
      /** OffsetCommit requests the sink sent over the run (its warm-up included), and their mean time. */
      commitRequests: commits.count,
      commitMeanMs: commits.meanMs,
      pollIntervalMs: round((performance.now() - t0) / Math.max(1, polls), 1),
      pollCostMs: round(pollMsTotal / Math.max(1, polls), 1),
      rssPeakMb: sink.memory().peakMb,
    };
  } finally {
    await sink.stop();
  }
}

function runEmulatorBench(): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', path.join(root, 'emulator/bench.ts'), '--seconds', '5'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => {
      children.delete(child);
      const line = out.trim().split('\n').pop() ?? '';
      if (line !== '') process.stdout.write(`${line}\n`);
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        resolve(undefined);
      }
    });
  });
}

// ---- main -----------------------------------------------------------------------------

const started = new Date();
// Other work on the machine skews every figure: the load average before and after says how quiet it was.
const loadAtStart = os.loadavg().map((l) => round(l, 2));
const results: Record<string, unknown> = {};
let exitCode = 0;
try {
  // The emulator's own absorb benchmark first, while nothing else runs.
  say('emulator absorb benchmark (5 s)');
  const absorb = await runEmulatorBench();

  say('starting a Kafka broker and the emulator');
  const needRegistry = !skip.has('avro');
  // The registry (a JVM) starts next to the broker, before anything is produced or measured.
  const registryStarting: Promise<SchemaRegistryServer> | undefined = needRegistry ? startRegistry() : undefined;
  registryStarting?.catch(() => {});
  cleanups.push(async () => (await registryStarting?.catch(() => undefined))?.stop());
  const broker = await startKafka();
  cleanups.push(() => broker.stop());
  const emulator = await startEmulatorProcess();
  const registry = registryStarting ? await registryStarting : undefined;
  const kafka = new Kafka({ clientId: 'bench', brokers: broker.brokers, logLevel: logLevel.NOTHING });

  const jsonTopic = 'bench-json';
  let jsonFill = { bytes: 0, seconds: 0, producer: 'none' };
  if (!skip.has('ceiling') || !skip.has('sink')) {
    await createTopic(kafka, jsonTopic);
    say(`producing ${RECORDS} JSON records of ${RECORD_BYTES} bytes into ${jsonTopic} (${PARTITIONS} partitions)`);
    jsonFill = await fillTopicJava(broker, jsonTopic, RECORDS);
    say(`  produced in ${jsonFill.seconds.toFixed(1)} s (${Math.round(RECORDS / jsonFill.seconds)} records/s)`);
  }

  const avroTopic = 'bench-avro';
  let avroBytes = 0;
  let avroFill: { bytes: number; seconds: number } | undefined;
  if (registry) {
    await createTopic(kafka, avroTopic);
    const client = new SchemaRegistry({ host: registry.ccompatUrl });
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(AVRO_SCHEMA) }, { subject: `${avroTopic}-value` });
    say(`producing ${AVRO_RECORDS} Avro records into ${avroTopic}`);
    // 1,000 distinct encoded values, reused round-robin (keys stay unique): encoding is not what is measured.
    const encoded = await Promise.all(Array.from({ length: 1000 }, (_, n) => client.encode(id, avroValue(n))));
    avroFill = await fillTopic(kafka, avroTopic, AVRO_RECORDS, (n) => encoded[n % encoded.length] as Buffer);
    avroBytes = Math.round(avroFill.bytes / AVRO_RECORDS);
    say(`  produced in ${avroFill.seconds.toFixed(1)} s; ${avroBytes} bytes per framed record`);
  }

  let ceiling: Record<string, unknown> | undefined;
  if (!skip.has('ceiling')) {
    say('ceiling: raw kafkajs consumer over the JSON topic');
    const brokerBefore = cpuSeconds(broker.pid);
    ceiling = await runCeiling(broker, jsonTopic, RECORDS);
    // The broker's CPU for serving the whole topic once (group join and metadata included: an upper bound).
    ceiling['brokerCpuUsPerRecord'] = round(((cpuSeconds(broker.pid) - brokerBefore) * 1e6) / RECORDS, 1);
    say(`  ${ceiling['rps']} records/s`);
  }
  let sinkJson: Awaited<ReturnType<typeof drain>> | undefined;
  if (!skip.has('sink')) {
    say('sink: draining the JSON topic into the emulator');
    sinkJson = await drain({ broker, emulator, topic: jsonTopic, collection: 'json', records: RECORDS, bytes: jsonFill.bytes });
    say(`  ${sinkJson.rps} records/s, ${sinkJson.mbps} MB/s, peak RSS ${sinkJson.rssPeakMb} MB`);
    await emulator.admin.reset(WS, 'json');
  }

  let avro: Awaited<ReturnType<typeof drain>> | undefined;
  if (registry && avroFill) {
    say('sink: draining the Avro topic');
    avro = await drain({ broker, emulator, topic: avroTopic, collection: 'avro', records: AVRO_RECORDS, bytes: avroFill.bytes, registryUrl: registry.ccompatUrl });
    say(`  ${avro.rps} records/s, peak RSS ${avro.rssPeakMb} MB`);
    await emulator.admin.reset(WS, 'avro');
    await registry.stop();
  }

  let latency: Awaited<ReturnType<typeof e2e>> | undefined;
  if (!skip.has('e2e')) {
    say(`e2e: ${E2E_RATE} records/s for ${E2E_SECONDS} s`);
    latency = await e2e(kafka, broker, emulator, 'bench-e2e', E2E_RATE, E2E_SECONDS);
    say(`  p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms`);
  }
  let latencyHigh: Awaited<ReturnType<typeof e2e>> | undefined;
  if (!skip.has('e2e') && E2E_HIGH_RATE > 0) {
    await emulator.admin.reset(WS, 'e2e');
    say(`e2e: ${E2E_HIGH_RATE} records/s for ${E2E_HIGH_SECONDS} s`);
    latencyHigh = await e2e(kafka, broker, emulator, 'bench-e2e-high', E2E_HIGH_RATE, E2E_HIGH_SECONDS);
    say(`  p50 ${latencyHigh.p50Ms} ms, p99 ${latencyHigh.p99Ms} ms`);
  }

  let profile: { records: number; rps: number; top: ProfileEntry[]; file: string } | undefined;
  if (args.profile) {
    const topic = 'bench-profile';
    await createTopic(kafka, topic);
    const fill = await fillTopicJava(broker, topic, PROFILE_RECORDS);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-bench-prof-'));
    say(`profile: sink with --cpu-prof draining ${PROFILE_RECORDS} JSON records (profiles in ${dir})`);
    const run = await drain({ broker, emulator, topic, collection: 'profile', records: PROFILE_RECORDS, bytes: fill.bytes, cpuProfDir: dir });
    const file = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f))[0];
    if (file === undefined) say('profile: no .cpuprofile written');
    else profile = { records: PROFILE_RECORDS, rps: run.rps, top: summarizeProfile(file, 20), file };
  }

  const ceilingRps = typeof ceiling?.['rps'] === 'number' ? ceiling['rps'] : undefined;
  const ratio = ceilingRps !== undefined && sinkJson !== undefined ? round(sinkJson.rps / ceilingRps, 3) : null;
  const bound = ratioBound(ceiling, sinkJson, os.cpus().length);
  const cpuBound = cpuBoundRps(sinkJson, os.cpus().length);
  const speedup = (rps: number | undefined, base: number | undefined) => (rps === undefined || base === undefined || !(base > 0) ? null : round(rps / base, 2));
  const summary = {
    bench: 'sink',
    date: started.toISOString(),
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', ramGb: round(os.totalmem() / 2 ** 30, 1), node: process.version, platform: `${os.platform()} ${os.release()}`, loadavgAtStart: loadAtStart, loadavgAtEnd: os.loadavg().map((l) => round(l, 2)) },
    settings: {
      records: RECORDS, avroRecords: AVRO_RECORDS, recordBytes: RECORD_BYTES, avroRecordBytes: avroBytes, partitions: PARTITIONS,
      produce: { json: 'Kafka ProducerPerformance from 1,000 distinct 1 KiB JSON records, no keys (_id = topic-partition-offset)', avro: `kafkajs, batches of ${PRODUCE_BATCH}, ${PRODUCE_IN_FLIGHT} sends in flight, no compression, keyed; 1,000 distinct encoded values reused` },
      sink: { ...SINK_DEFAULTS, logLevel: 'warn', overrides: SINK_OVERRIDES, memoryLimit: SINK_MEMORY_LIMIT, asDeployed: SINK_MEMORY, cpu: args['sink-cpu'], threads: Number(SINK_THREADS), entrypoint: args['sink-from-source'] ? 'sink/main.ts (source)' : 'sink/main.js (compiled, as in the image)', nodeOptions: SINK_NODE_OPTIONS || null, note: Object.keys(SINK_OVERRIDES).length === 0 ? 'sink defaults (none overridden)' : 'sink defaults with the overrides given by --sink-config' },
      ceiling: ceiling?.['settings'] ?? null,
      emulator: { storeMode: 'ids', process: 'own (emulator/main.ts)', faults: 'none' },
      baseline: { sinkRps: BASELINE.sink ?? null, avroRps: BASELINE.avro ?? null },
      e2e: { rate: E2E_RATE, seconds: E2E_SECONDS, highRate: E2E_HIGH_RATE, highSeconds: E2E_HIGH_SECONDS, method: 'produce time (Date.now before send) -> appliedAt of the request that carried the _id (answered 200), from the emulator request log, read every 500 ms' },
      window: 'first write request in the emulator log -> document count complete (polled every 20 ms)',
    },
    ceiling_rps: ceilingRps ?? null,
    sink_rps: sinkJson?.rps ?? null,
    sink_mbps: sinkJson?.mbps ?? null,
    ratio,
    ratio_bound_here: bound?.ratio ?? null,
    sink_speedup: speedup(sinkJson?.rps, BASELINE.sink),
    sink_cpu_us_per_record: sinkJson?.cpuUsPerRecord['sink'] ?? null,
    sink_main_thread_us_per_record: sinkJson?.sinkThreadUsPerRecord['main'] ?? null,
    // The rate at which the sink's main thread alone would be busy all the time.
    main_thread_bound_rps: sinkJson?.sinkThreadUsPerRecord['main'] ? Math.round(1e6 / sinkJson.sinkThreadUsPerRecord['main']) : null,
    // The rate at which the sink, the emulator and the broker together would use every core here.
    cpu_bound_rps_here: cpuBound?.rps ?? null,
    mapping_threads: sinkJson?.mappingThreads ?? null,
    rss_peak_mb: sinkJson?.rssPeakMb ?? null,
    avro_rps: avro?.rps ?? null,
    avro_speedup: speedup(avro?.rps, BASELINE.avro),
    e2e_p50_ms: latency?.p50Ms ?? null,
    e2e_p99_ms: latency?.p99Ms ?? null,
    e2e_high_rate: latencyHigh ? E2E_HIGH_RATE : null,
    e2e_high_p50_ms: latencyHigh?.p50Ms ?? null,
    e2e_high_p99_ms: latencyHigh?.p99Ms ?? null,
    targets: {
      ratio: { target: '>= 0.35', met: ratio === null ? null : ratio >= 0.35 },
      sink_speedup: { target: '>= 1.6', met: speedup(sinkJson?.rps, BASELINE.sink) === null ? null : speedup(sinkJson?.rps, BASELINE.sink)! >= 1.6 },
      avro_speedup: { target: '>= 1.6', met: speedup(avro?.rps, BASELINE.avro) === null ? null : speedup(avro?.rps, BASELINE.avro)! >= 1.6 },
      sink_cpu_us_per_record: { target: '<= 25', met: sinkJson === undefined ? null : sinkJson.cpuUsPerRecord['sink']! <= 25 },
      e2e_p99_ms: { target: '< 150', met: latency === undefined ? null : latency.p99Ms < 150 },
      e2e_high_p99_ms: { target: '< 500', met: latencyHigh === undefined ? null : latencyHigh.p99Ms < 500 },
      rss_peak_mb: { target: '<= 220', met: sinkJson === undefined ? null : sinkJson.rssPeakMb <= 220 },
    },
    emulator_absorb: absorb ?? null,
    details: { produce: { json: jsonFill, avro: avroFill }, ceiling, sinkJson, bound, cpuBound, avro, e2e: latency, e2eHigh: latencyHigh, profile },
  };
  Object.assign(results, summary);
  fs.writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);

  const fmt = (v: unknown) => (v === null || v === undefined ? 'n/a' : String(v));
  const mark = (met: boolean | null) => (met === null ? '' : met ? 'ok' : 'MISSED');
  const rows: [string, string, string, string][] = [
    ['emulator absorb (docs/s)', fmt(absorb?.['docsPerSec']), '', ''],
    ['ceiling_rps (raw kafkajs)', fmt(summary.ceiling_rps), '', ''],
    ['sink_rps (JSON)', fmt(summary.sink_rps), '', ''],
    ['  speed-up over --baseline-sink-rps', fmt(summary.sink_speedup), '>= 1.6', mark(summary.targets.sink_speedup.met)],
    ['  mapping threads', fmt(summary.mapping_threads), '', ''],
    ['sink_mbps (value MB/s)', fmt(summary.sink_mbps), '', ''],
    ['ratio sink/ceiling', fmt(ratio), '>= 0.35', mark(summary.targets.ratio.met)],
    ['sink CPU us/record (all threads)', fmt(summary.sink_cpu_us_per_record), '<= 25', mark(summary.targets.sink_cpu_us_per_record.met)],
    ['rss_peak_mb (JSON drain)', fmt(summary.rss_peak_mb), '<= 220', mark(summary.targets.rss_peak_mb.met)],
    ['avro_rps', fmt(summary.avro_rps), '', ''],
    ['  speed-up over --baseline-avro-rps', fmt(summary.avro_speedup), '>= 1.6', mark(summary.targets.avro_speedup.met)],
    ['e2e_p50_ms', fmt(summary.e2e_p50_ms), '', ''],
    ['e2e_p99_ms', fmt(summary.e2e_p99_ms), '< 150', mark(summary.targets.e2e_p99_ms.met)],
    [`e2e_high_p50_ms (${E2E_HIGH_RATE}/s)`, fmt(summary.e2e_high_p50_ms), '', ''],
    [`e2e_high_p99_ms (${E2E_HIGH_RATE}/s)`, fmt(summary.e2e_high_p99_ms), '< 500', mark(summary.targets.e2e_high_p99_ms.met)],
    ['  e2e poll interval (ms)', fmt(latency?.pollIntervalMs), '', ''],
    ['  e2e p50/p99 to request arrival', latency ? `${latency.requestArrival.p50Ms}/${latency.requestArrival.p99Ms}` : 'n/a', '', ''],
    ['  e2e p50/p99 after the first 5 s', latency ? `${latency.afterFirst5s.p50Ms}/${latency.afterFirst5s.p99Ms}` : 'n/a', '', ''],
    ['  e2e cores sink/emulator/broker/producer/bench', latency ? coresText(latency.coresUsed) : 'n/a', '', ''],
    [`  e2e high: p50/p99 after the first 5 s`, latencyHigh ? `${latencyHigh.afterFirst5s.p50Ms}/${latencyHigh.afterFirst5s.p99Ms}` : 'n/a', '', ''],
    ['  e2e high: cores sink/emulator/broker/producer/bench', latencyHigh ? coresText(latencyHigh.coresUsed) : 'n/a', '', ''],
    ['  e2e high: docs per write request', fmt(latencyHigh?.docsPerRequest), '', ''],
    ['  e2e high: write / OffsetCommit requests (mean ms)', latencyHigh ? `${latencyHigh.writeRequests} / ${latencyHigh.commitRequests} (${latencyHigh.commitMeanMs})` : 'n/a', '', ''],
    ['  cores used sink/emulator/broker', sinkJson ? `${sinkJson.coresUsed['sink']}/${sinkJson.coresUsed['emulator']}/${sinkJson.coresUsed['broker']}` : 'n/a', '', ''],
    ['  CPU us/record sink/emulator/broker', sinkJson ? `${sinkJson.cpuUsPerRecord['sink']}/${sinkJson.cpuUsPerRecord['emulator']}/${sinkJson.cpuUsPerRecord['broker']}` : 'n/a', '', ''],
    ['  sink us/record main/mapping/v8/other', sinkJson ? `${sinkJson.sinkThreadUsPerRecord['main']}/${sinkJson.sinkThreadUsPerRecord['mapping']}/${sinkJson.sinkThreadUsPerRecord['v8']}/${sinkJson.sinkThreadUsPerRecord['other']}` : 'n/a', '', ''],
    ['  CPU us/record ceiling consumer', fmt(ceiling?.['cpuUsPerRecord']), '', ''],
    ['  ratio bound on this machine', fmt(bound?.ratio), '', ''],
    ['  main thread bound (records/s)', fmt(summary.main_thread_bound_rps), '', ''],
    ['  all cores busy at (records/s)', fmt(summary.cpu_bound_rps_here), '', ''],
    ['  docs per write request', fmt(sinkJson?.avgDocsPerRequest), '', ''],
    ['rss_peak_mb (Avro drain)', fmt(avro?.rssPeakMb), '', ''],
    ['rss_peak_mb (e2e run)', fmt(latency?.rssPeakMb), '', ''],
    ['rss_peak_mb (high-rate e2e run)', fmt(latencyHigh?.rssPeakMb), '', ''],
  ];
  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(8, ...rows.map((r) => r[1].length)), 8, 6];
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i] ?? 0)).join('  ').trimEnd();
  process.stdout.write(`\nSink benchmark ${summary.date}  (${summary.machine.cores} cores, ${summary.machine.ramGb} GB RAM, Node ${summary.machine.node}; load average 1 min ${loadAtStart[0]} at start)\n`);
  process.stdout.write(`${RECORDS} x ${RECORD_BYTES} B JSON records, ${PARTITIONS} partitions; sink defaults: batch ${SINK_DEFAULTS.batch.maxDocuments} docs / 4 MiB / linger ${SINK_DEFAULTS.batch.lingerMs} ms, ${SINK_DEFAULTS.rockset.maxInFlightRequests} requests in flight\n`);
  process.stdout.write(`${line(['metric', 'value', 'target', ''])}\n${line(rows[0]!.map((_, i) => '-'.repeat(w[i] ?? 0)))}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  if (profile) {
    process.stdout.write(`\nsink CPU profile (${profile.records} records, ${profile.rps} records/s): top self time\n`);
    for (const p of profile.top) process.stdout.write(`  ${p.selfPct.toFixed(1).padStart(5)}%  ${p.selfMs.toFixed(0).padStart(6)} ms  ${p.name}  ${p.where}\n`);
  }
  process.stdout.write(`results: ${args.out}\n`);
  const { details: _details, ...line1 } = summary;
  void _details;
  process.stdout.write(`${JSON.stringify(line1)}\n`);
} catch (err) {
  exitCode = 1;
  say(`failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await cleanup();
}
process.exit(exitCode);

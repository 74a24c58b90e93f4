// Runs the real sink as a child process (as a Deployment would) against the
// run's Kafka broker and an in-process Rockset emulator.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator, type Emulator } from '../../emulator/server.ts';
import type { EmulatorOptions } from '../../emulator/server.ts';
import { testKafka, type TestKafka } from '../harness/test-kafka.ts';
import { waitFor } from '../harness/ports.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const API_KEY = 'test-key-7f3c9a1e5b';
export const WS = 'commons';

export interface SinkProcess {
  child: ChildProcess;
  /** Every stdout/stderr line so far. */
  lines: string[];
  httpPort?: number;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export function sinkConfig(k: TestKafka, emulatorUrl: string, topics: string[], overrides: Record<string, unknown> = {}) {
  const base: Record<string, any> = {
    kafka: { brokers: k.brokers, groupId: `g-${topics[0]}-${Math.random().toString(36).slice(2, 8)}`, topics, heartbeatIntervalMs: 1000, sessionTimeoutMs: 10000 },
    rockset: { apiServer: emulatorUrl, workspace: WS, collection: 'events', requestTimeoutMs: 2000 },
    batch: { lingerMs: 50 },
    retry: { initialBackoffMs: 20, maxBackoffMs: 200 },
    http: { port: 0, host: '127.0.0.1' },
    shutdownTimeoutMs: 10000,
    logLevel: 'info',
  };
  for (const [section, value] of Object.entries(overrides)) {
    base[section] = typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...base[section], ...value } : value;
  }
  return base;
}

// Sinks still running when a test file's process ends (a failed test) are killed with it.
const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((c) => c.kill('SIGKILL')));

export function startSinkProcess(config: unknown, env: Record<string, string> = { ROCKSET_API_KEY: API_KEY }): SinkProcess {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', path.join(root, 'sink/main.ts')], {
    env: { PATH: process.env.PATH ?? '', ROCKSET_SINK_CONFIG_JSON: JSON.stringify(config), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const proc: SinkProcess = { child, lines, exited, kill: (signal = 'SIGTERM') => void child.kill(signal) };
  running.add(child);
  child.once('exit', () => running.delete(child));
  return proc;
}

export async function withEmulator(opts: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  return startEmulator({ apiKey: API_KEY, collections: [`${WS}.events`], ...opts });
}

export async function waitForCount(emu: Emulator, n: number, collection = 'events', timeoutMs = 60_000, sink?: SinkProcess): Promise<void> {
  await waitFor(`${n} documents in ${WS}.${collection}`, async () => (await emu.admin.count(WS, collection)) >= n, {
    timeoutMs,
    intervalMs: 100,
    abort: () => (sink && sink.child.exitCode !== null ? new Error(`the sink exited (${sink.child.exitCode}):\n${sink.lines.slice(-20).join('\n')}`) : undefined),
  });
}

export async function committedOffsets(k: TestKafka, groupId: string, topic: string): Promise<Record<number, string>> {
  const admin = k.kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((t?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

export async function produce(k: TestKafka, topic: string, messages: { key?: string | Buffer | null; value: string | Buffer | null; partition?: number; timestamp?: string; headers?: Record<string, string> }[]): Promise<void> {
  const producer = k.kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

export async function deleteTopic(k: TestKafka, topic: string): Promise<void> {
  const admin = k.kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
}

export async function stopSink(sink: SinkProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (sink.child.exitCode !== null) return sink.child.exitCode;
  sink.kill(signal);
  return sink.exited;
}

export { testKafka };

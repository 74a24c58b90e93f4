// A real single-node Kafka broker (KRaft) for tests and `npm start`: provisioned
// from Maven Central jars into the shared cache, started on free ports, probed for
// readiness, and always stopped with its data directory removed (also when the
// owning process is interrupted; directories left by a killed run are reaped by
// the next start).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, waitFor } from './ports.ts';
import { reapStale } from './processes.ts';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const DATA_PREFIX = 'rso-kafka-';

export interface KafkaBroker {
  /** `host:port` of the PLAINTEXT listener. */
  readonly bootstrap: string;
  readonly brokers: string[];
  /** Folder with the broker's jars: Kafka's own tools run from it. */
  readonly libsDir: string;
  /** The broker's JVM and its data directory (both gone after stop()). */
  readonly pid: number;
  readonly dataDir: string;
  /** Runs one of Kafka's Java tools (e.g. `org.apache.kafka.tools.ProducerPerformance`). */
  runTool(mainClass: string, args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** Fetches the jars on first use (visible progress on stderr); returns the install folder. */
export async function provisionKafka(): Promise<string> {
  const script = path.join(here, 'provision-kafka.sh');
  const child = spawn('sh', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`provision-kafka.sh failed with exit code ${code}`);
  const dir = out.trim().split('\n').pop() ?? '';
  if (!fs.existsSync(path.join(dir, 'libs'))) throw new Error(`provision-kafka.sh printed no install folder (got "${dir}")`);
  return dir;
}

const live = new Set<{ child: ChildProcess; dataDir: string }>();
let exitHooksInstalled = false;

function killNow(entry: { child: ChildProcess; dataDir: string }): void {
  if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill('SIGKILL');
  fs.rmSync(entry.dataDir, { recursive: true, force: true });
  live.delete(entry);
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => [...live].forEach(killNow));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      // An owner with its own handler (npm start) stops things in order; the exit hook is its safety net.
      if (process.listenerCount(signal) > 0) return;
      [...live].forEach(killNow);
      process.kill(process.pid, signal);
    });
  }
}

/** Runs a Java tool from the broker's jars, e.g. `org.apache.kafka.tools.ProducerPerformance`. */
export async function runKafkaTool(
  libsDir: string,
  mainClass: string,
  args: string[],
  { input, timeoutMs = 120_000 }: { input?: string; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  const log4j = path.join(path.dirname(libsDir), 'log4j2.properties');
  const tool = spawn('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', `-Dlog4j2.configurationFile=${log4j}`, '-cp', `${libsDir}/*`, mainClass, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  tool.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  tool.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  tool.stdin.end(input ?? '');
  const timer = setTimeout(() => tool.kill('SIGKILL'), timeoutMs);
  const code: number | null = await new Promise((resolve) => tool.on('close', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${mainClass} exited with ${code ?? 'a signal'}:\n${stderr.slice(-4000)}`);
  return { stdout, stderr };
}

export interface StartKafkaOptions {
  /** Address the PLAINTEXT listener binds and advertises; default 127.0.0.1. Pods on a
   *  CNI bridge need the bridge's gateway address (they cannot reach the host's loopback). */
  host?: string;
  /** Extra server.properties lines. */
  properties?: Record<string, string | number | boolean>;
  /** Where the broker's own log goes; default: kept in memory, shown only if start fails. */
  logFile?: string;
  startTimeoutMs?: number;
}

export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const home = await provisionKafka();
  const libsDir = path.join(home, 'libs');
  const classpath = `${libsDir}/*`;
  installExitHooks();
  reapStale(DATA_PREFIX, 'broker.pid');

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), DATA_PREFIX));
  fs.writeFileSync(path.join(dataDir, 'owner.pid'), String(process.pid));
  const port = await freePort();
  const controllerPort = await freePort();
  const host = opts.host ?? '127.0.0.1';
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': path.join(dataDir, 'logs'),
    'num.partitions': 1,
    'auto.create.topics.enable': false,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    ...opts.properties,
  };
  const propsFile = path.join(dataDir, 'server.properties');
  fs.writeFileSync(propsFile, Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');

  const java = (args: string[]) => execFileP('java', ['-cp', classpath, ...args], { maxBuffer: 16 << 20 });
  try {
    const clusterId = (await java(['kafka.tools.StorageTool', 'random-uuid'])).stdout.trim();
    await java(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile]);
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  const jvm = [
    '-Xms256m', '-Xmx768m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${path.join(home, 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${dataDir}`,
  ];
  const logTail: string[] = [];
  const logStream = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const child = spawn('java', [...jvm, '-cp', classpath, 'kafka.Kafka', propsFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  // The broker never keeps its owner alive: the exit hooks stop it when the owner ends.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref(): void }).unref();
  const entry = { child, dataDir };
  live.add(entry);
  fs.writeFileSync(path.join(dataDir, 'broker.pid'), String(child.pid));
  const onOutput = (d: Buffer) => {
    logStream?.write(d);
    logTail.push(d.toString());
    if (logTail.length > 200) logTail.shift();
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const bootstrap = `${host}:${port}`;
  const probe = new Kafka({ clientId: 'harness-probe', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 });
  const admin = probe.admin();
  try {
    await waitFor('the Kafka broker to answer metadata requests', async () => {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 && cluster.controller !== null;
    }, {
      timeoutMs: opts.startTimeoutMs ?? 120_000,
      intervalMs: 250,
      abort: () => (child.exitCode !== null ? new Error(`Kafka exited with code ${child.exitCode} during start:\n${logTail.join('').slice(-4000)}`) : undefined),
    });
  } catch (err) {
    killNow(entry);
    throw err;
  } finally {
    await admin.disconnect().catch(() => {});
  }

  let stopping: Promise<void> | undefined;
  return {
    bootstrap,
    brokers: [bootstrap],
    libsDir,
    pid: child.pid ?? 0,
    dataDir,
    runTool: (mainClass, args, toolOpts) => runKafkaTool(libsDir, mainClass, args, toolOpts),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.ref(); // an unref'd child would let the owner exit while it waits
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }
        logStream?.end();
        killNow(entry);
      })();
      return stopping;
    },
  };
}

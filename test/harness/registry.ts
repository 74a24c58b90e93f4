// A real Schema Registry for tests: Apicurio Registry 3 (Quarkus, in-memory H2
// storage) serving the Confluent-compatible API at /apis/ccompat/v7. Provisioned
// from Maven Central into the shared cache, started on a free port, probed for
// readiness, and always stopped with its temp directory removed (also when the
// owning process is interrupted; leftovers of a killed run are reaped by the next
// start). Mirrors kafka.ts.
//
// Needs Java 21+ (Apicurio 3.3 is compiled for 21; the machine's default `java`
// is 17): found through REGISTRY_JAVA, JAVA_HOME, PATH or /usr/lib/jvm/*.
//
// Tuned for a quick start on 2 cores: C1 only, Serial GC, small initial heap, no
// perf data, a 1-connection H2 pool, no access log, and an application class-data
// archive (AppCDS, written once into the install folder by the first registry that
// stops cleanly; ignored and rewritten if the JDK changes).
//
// "Registry down, then up again" without losing schemas: pause() stops the JVM with
// SIGSTOP and resume() continues it with SIGCONT. While paused, connections are still
// accepted by the kernel but nothing answers, so clients see timeouts (not
// "connection refused"), like a hung or partitioned registry. stop() works on a
// paused registry too. For "connection refused" use stop() (the schemas are lost).
//
// Where Apicurio's ccompat API differs from Confluent's (3.3.3, seen by probing):
// - GET /config/{subject} answers 200 {"compatibilityLevel":"NONE"} for a subject with
//   no subject-level setting (Confluent: 404 40408), even when the global level is
//   BACKWARD, which does apply. @kafkajs/confluent-schema-registry's register() then
//   sees NONE != BACKWARD for a subject that some other client created and throws a
//   compatibility error; subjects it creates itself get their own BACKWARD setting.
// - The global default compatibility is NONE (Confluent: BACKWARD): startRegistry sets
//   it to BACKWARD unless told otherwise (option `compatibility`).
// - A JSON Schema must look like one ($schema, properties, ...): {"type":"object"} alone
//   is refused with 422 "Failed to discover artifact type from content".
// - Schema ids are content ids (the same schema under two subjects has one id, as in
//   Confluent), but a registration refused as incompatible still uses up an id.
// - Deleting subjects and versions (soft, then ?permanent=true, as in Confluent) sits
//   behind Apicurio switches; they are switched on here.
// - The management interface (health: /health/ready) is built in and defaults to
//   0.0.0.0:9000; it is moved to 127.0.0.1 on a random port so registries can run side
//   by side. There is no UI in this app (separate image in Apicurio 3).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './ports.ts';
import { pidAlive, reapStale } from './processes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const DATA_PREFIX = 'rso-registry-';
const MIN_JAVA = 21;

export const CCOMPAT_PATH = '/apis/ccompat/v7';

export type Compatibility = 'NONE' | 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE';

export interface SchemaRegistryServer {
  /** Base URL, `http://127.0.0.1:<port>` (Apicurio's own API lives under /apis/registry/v3). */
  readonly url: string;
  /** The Confluent-compatible API: what Confluent clients take as their registry URL. */
  readonly ccompatUrl: string;
  readonly port: number;
  /** The registry's JVM (gone after stop()). */
  readonly pid: number;
  /** Temp directory of this registry (JVM temp files, pid files); removed by stop(). */
  readonly dataDir: string;
  /** Milliseconds from spawning the JVM to the first answered API request. */
  readonly startupMs: number;
  /** SIGSTOP: the registry keeps its schemas but answers nothing (clients time out). */
  pause(): void;
  /** SIGCONT: it answers again, with the same schemas. */
  resume(): void;
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /** Port for the API; default a free one. */
  port?: number;
  /** Global compatibility level set after start; default BACKWARD (Confluent's default); null keeps Apicurio's (NONE). */
  compatibility?: Compatibility | null;
  /** Extra Quarkus/Apicurio settings, passed as -D system properties. */
  properties?: Record<string, string | number | boolean>;
  /** Max heap in MiB; default 256. */
  heapMb?: number;
  /** Java 21+ executable; default found by findJava(). */
  java?: string;
  /** Use (and create once) the class-data archive; default true unless env REGISTRY_CDS=0. */
  classDataSharing?: boolean;
  /** Where the registry's own log goes; default: kept in memory, shown only if start fails. */
  logFile?: string;
  startTimeoutMs?: number;
}

/** Fetches Apicurio on first use (visible progress on stderr); returns the folder holding quarkus-run.jar. */
export async function provisionRegistry(): Promise<{ home: string; appDir: string }> {
  const script = path.join(here, 'provision-registry.sh');
  const child = spawn('sh', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`provision-registry.sh failed with exit code ${code}`);
  const home = out.trim().split('\n').pop() ?? '';
  let appDir = '';
  try {
    appDir = fs.readFileSync(path.join(home, '.app-dir'), 'utf8').trim();
  } catch {
    // reported below
  }
  if (!fs.existsSync(path.join(appDir, 'quarkus-run.jar'))) throw new Error(`provision-registry.sh printed no usable install folder (got "${home}")`);
  return { home, appDir };
}

function javaMajor(javaBin: string): number {
  try {
    const real = fs.realpathSync(javaBin);
    const release = fs.readFileSync(path.join(path.dirname(path.dirname(real)), 'release'), 'utf8');
    const m = /^JAVA_VERSION="(\d+)/m.exec(release);
    if (m) return Number(m[1]);
  } catch {
    // no release file: ask the JVM
  }
  const r = spawnSync(javaBin, ['-version'], { encoding: 'utf8', timeout: 30_000 });
  const m = /version "(\d+)/.exec(`${r.stderr ?? ''}${r.stdout ?? ''}`);
  return m ? Number(m[1]) : 0;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir || '.', name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

let foundJava: string | undefined;

/** A Java 21+ executable: REGISTRY_JAVA, else JAVA_HOME, PATH, then the newest in /usr/lib/jvm. */
export function findJava(): string {
  if (foundJava) return foundJava;
  const explicit = process.env.REGISTRY_JAVA;
  if (explicit) {
    const major = javaMajor(explicit);
    if (major < MIN_JAVA) throw new Error(`REGISTRY_JAVA=${explicit} is Java ${major || '?'}; Apicurio Registry needs Java ${MIN_JAVA}+`);
    return (foundJava = explicit);
  }
  const candidates: string[] = [];
  if (process.env.JAVA_HOME) candidates.push(path.join(process.env.JAVA_HOME, 'bin', 'java'));
  const fromPath = onPath('java');
  if (fromPath) candidates.push(fromPath);
  const jvms: { bin: string; major: number }[] = [];
  try {
    for (const name of fs.readdirSync('/usr/lib/jvm')) {
      const bin = path.join('/usr/lib/jvm', name, 'bin', 'java');
      if (fs.existsSync(bin)) jvms.push({ bin, major: javaMajor(bin) });
    }
  } catch {
    // no system JVM folder
  }
  candidates.push(...jvms.sort((a, b) => b.major - a.major).map((j) => j.bin));
  const seen: string[] = [];
  for (const bin of candidates) {
    if (!fs.existsSync(bin)) continue;
    const major = javaMajor(bin);
    seen.push(`${bin} (${major || '?'})`);
    if (major >= MIN_JAVA) return (foundJava = bin);
  }
  throw new Error(`Apicurio Registry needs Java ${MIN_JAVA}+; found only: ${seen.join(', ') || 'no java'}. Set REGISTRY_JAVA or JAVA_HOME to a Java ${MIN_JAVA}+ installation.`);
}

type Live = { child: ChildProcess; dataDir: string };
const live = new Set<Live>();
let exitHooksInstalled = false;

function killNow(entry: Live): void {
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
      // The registry holds nothing worth a graceful stop: kill it at once, whoever else listens.
      [...live].forEach(killNow);
      // An owner with its own handler (npm start, kafka.ts) ends the process.
      if (process.listenerCount(signal) > 0) return;
      // exit() rather than re-raising: it runs the other harnesses' exit hooks too
      // (kafka.ts leaves its broker to them when it saw this listener).
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    });
  }
}

function signalRegistry(pid: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
  if (!pid || !pidAlive(pid)) throw new Error(`no registry process ${pid} to ${signal === 'SIGSTOP' ? 'pause' : 'resume'}`);
  process.kill(pid, signal);
}

/** SIGSTOP the registry JVM `pid` (e.g. SCHEMA_REGISTRY_PID): it keeps its data but answers nothing. */
export function pauseRegistry(pid: number): void {
  signalRegistry(pid, 'SIGSTOP');
}

/** SIGCONT the registry JVM `pid`: it answers again. */
export function resumeRegistry(pid: number): void {
  signalRegistry(pid, 'SIGCONT');
}

function cdsArchive(home: string, java: string): string {
  let key = java;
  try {
    const real = fs.realpathSync(java);
    key = `${real}:${fs.statSync(real).mtimeMs}`;
  } catch {
    // keyed by the name only
  }
  const dir = path.join(home, 'cds');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `registry-${createHash('sha256').update(key).digest('hex').slice(0, 12)}.jsa`);
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<SchemaRegistryServer> {
  const { home, appDir } = await provisionRegistry();
  const java = opts.java ?? findJava();
  installExitHooks();
  reapStale(DATA_PREFIX, 'registry.pid');
  const useCds = opts.classDataSharing ?? process.env.REGISTRY_CDS !== '0';
  let archive: string | undefined;
  if (useCds) {
    try {
      archive = cdsArchive(home, java);
    } catch {
      // read-only install: start without it
    }
  }
  // A free port can be taken by someone else before the JVM binds it: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, { java, appDir, archive, port: opts.port ?? (await freePort()) });
    } catch (err) {
      if (!(err instanceof PortTaken) || opts.port !== undefined || attempt >= 3) throw err;
    }
  }
}

class PortTaken extends Error {}

async function startOnce(
  opts: StartRegistryOptions,
  { java, appDir, archive, port }: { java: string; appDir: string; archive: string | undefined; port: number },
): Promise<SchemaRegistryServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), DATA_PREFIX));
  fs.writeFileSync(path.join(dataDir, 'owner.pid'), String(process.pid));
  const tmpDir = path.join(dataDir, 'tmp');
  fs.mkdirSync(tmpDir);

  const props: Record<string, string | number | boolean> = {
    'quarkus.http.host': '127.0.0.1',
    'quarkus.http.port': port,
    // built in and fixed at 0.0.0.0:9000 otherwise: two registries would collide
    'quarkus.management.host': '127.0.0.1',
    'quarkus.management.port': 0,
    'quarkus.http.access-log.enabled': false,
    'quarkus.log.category."io.apicurio.registry.logging.audit".level': 'WARN',
    'quarkus.otel.sdk.disabled': true,
    // in-memory H2 (the default storage); Apicurio opens 20 connections up front otherwise
    'apicurio.storage.kind': 'sql',
    'apicurio.storage.sql.kind': 'h2',
    'apicurio.datasource.jdbc.initial-size': 1,
    'apicurio.datasource.jdbc.min-size': 1,
    'apicurio.datasource.jdbc.max-size': 20,
    // Confluent lets clients delete subjects and versions
    'apicurio.rest.deletion.group.enabled': true,
    'apicurio.rest.deletion.artifact.enabled': true,
    'apicurio.rest.deletion.artifact-version.enabled': true,
    'apicurio.storage.snapshot.location': tmpDir,
    'apicurio.import.work-dir': tmpDir,
    ...opts.properties,
  };
  const jvm = [
    '-Xms32m', `-Xmx${opts.heapMb ?? 256}m`,
    '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:-UsePerfData', '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    // Vert.x and Quarkus write temp files: keep them in the directory stop() removes
    `-Djava.io.tmpdir=${tmpDir}`,
    ...(archive ? ['-XX:+AutoCreateSharedArchive', `-XX:SharedArchiveFile=${archive}`] : []),
    ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
  ];
  const logTail: string[] = [];
  const logStream = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const spawnedAt = Date.now();
  const child = spawn(java, [...jvm, '-jar', path.join(appDir, 'quarkus-run.jar')], { cwd: appDir, stdio: ['ignore', 'pipe', 'pipe'] });
  // The registry never keeps its owner alive: the exit hooks stop it when the owner ends.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref(): void }).unref();
  const entry: Live = { child, dataDir };
  live.add(entry);
  fs.writeFileSync(path.join(dataDir, 'registry.pid'), String(child.pid));
  const onOutput = (d: Buffer) => {
    logStream?.write(d);
    logTail.push(d.toString());
    if (logTail.length > 200) logTail.shift();
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => {}); // a spawn failure shows as an exit code below

  const url = `http://127.0.0.1:${port}`;
  const ccompatUrl = `${url}${CCOMPAT_PATH}`;
  try {
    await waitFor('the Schema Registry to answer GET /subjects', async () => {
      const res = await fetch(`${ccompatUrl}/subjects`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    }, {
      timeoutMs: opts.startTimeoutMs ?? 120_000,
      intervalMs: 100,
      abort: () => {
        if (child.exitCode === null && child.signalCode === null) return undefined;
        const log = logTail.join('');
        const msg = `the Schema Registry exited with ${child.exitCode ?? child.signalCode} during start:\n${log.slice(-4000)}`;
        return /Port \d+ seems to be in use|Address already in use/.test(log) ? new PortTaken(msg) : new Error(msg);
      },
    });
    const compatibility = opts.compatibility === undefined ? 'BACKWARD' : opts.compatibility;
    if (compatibility) {
      const res = await fetch(`${ccompatUrl}/config`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ compatibility }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`setting the global compatibility to ${compatibility} failed: ${res.status} ${body}`);
    }
  } catch (err) {
    killNow(entry);
    logStream?.end();
    throw err;
  }
  const startupMs = Date.now() - spawnedAt;
  const pid = child.pid ?? 0;

  let stopping: Promise<void> | undefined;
  return {
    url,
    ccompatUrl,
    port,
    pid,
    dataDir,
    startupMs,
    pause: () => pauseRegistry(pid),
    resume: () => resumeRegistry(pid),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.ref(); // an unref'd child would let the owner exit while it waits
          child.kill('SIGTERM');
          child.kill('SIGCONT'); // a paused JVM handles the SIGTERM once continued
          // the first clean stop also writes the class-data archive: a few seconds
          const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
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

// One chaos scenario's plumbing: a fresh topic on a real broker, the records it
// holds (and the offset each got), real sink processes, and the verdict that
// ends every scenario: the emulator's documents against the expected set by
// `_id` and content, every sink's output grepped for every secret.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/server.ts';
import { startSinkProcess, type SinkProcess } from '../sink/helpers.ts';
import { waitFor } from '../harness/ports.ts';
import { canonical, compare, expectedDocuments, summaryLine, type PlannedRecord, type Verdict } from './dataset.ts';

export const WS = 'commons';
export const COLLECTION = 'events';
/** Secrets every chaos sink gets; none may ever show up in what a sink prints. */
export const SECRETS = {
  apiKey: `chaos-api-${randomBytes(8).toString('hex')}`,
  saslPassword: `chaos-sasl-${randomBytes(8).toString('hex')}`,
  registryPassword: `chaos-registry-${randomBytes(8).toString('hex')}`,
};

export interface Produced extends PlannedRecord {
  offset: number;
}

export interface Brokers {
  brokers: string[];
  kafka: Kafka;
}

export function kafkaFor(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'chaos', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
}

export class Scenario {
  readonly name: string;
  readonly b: Brokers;
  readonly topic: string;
  readonly partitions: number;
  readonly produced: Produced[] = [];
  readonly sinks: SinkProcess[] = [];
  readonly groupId: string;
  readonly extraSecrets: string[] = [];
  #next: number[];
  #producer: Producer | undefined;
  #tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-chaos-'));
  #terminationFiles: string[] = [];

  constructor(name: string, b: Brokers, topic: string, partitions: number) {
    this.name = name;
    this.b = b;
    this.topic = topic;
    this.partitions = partitions;
    this.groupId = `chaos-${name}-${randomBytes(3).toString('hex')}`;
    this.#next = new Array(partitions).fill(0);
  }

  static async create(name: string, b: Brokers, partitions: number): Promise<Scenario> {
    const topic = `chaos-${name}-${randomBytes(4).toString('hex')}`;
    const admin = b.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '-1' }] }] });
    } finally {
      await admin.disconnect();
    }
    return new Scenario(name, b, topic, partitions);
  }

  /**
   * Sends records in order, `chunk` at a time, one request in flight: a partition's
   * records get consecutive offsets in the order given, so the expected `_id`s of
   * unkeyed records are known. verifyProduced() checks that against the broker.
   */
  async produce(records: PlannedRecord[], { chunk = 500, pauseMs = 0 }: { chunk?: number; pauseMs?: number } = {}): Promise<void> {
    if (!this.#producer) {
      this.#producer = this.b.kafka.producer({ maxInFlightRequests: 1, idempotent: true, retry: { retries: 20 } });
      await this.#producer.connect();
    }
    for (let i = 0; i < records.length; i += chunk) {
      const slice = records.slice(i, i + chunk);
      await this.#producer.send({
        topic: this.topic,
        acks: -1,
        messages: slice.map((r) => ({ key: r.key, value: r.value, partition: r.partition, timestamp: r.timestamp })),
      });
      for (const r of slice) this.produced.push({ ...r, offset: this.#next[r.partition]!++ });
      if (pauseMs) await sleep(pauseMs);
    }
  }

  async verifyProduced(): Promise<void> {
    await this.#producer?.disconnect();
    this.#producer = undefined;
    const ends = await this.endOffsets();
    assert.deepEqual(ends, this.#next, 'the broker holds exactly the records produced (offsets as planned)');
  }

  async endOffsets(): Promise<number[]> {
    const admin = this.b.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      return Array.from({ length: this.partitions }, (_, p) => Number(offsets.find((o) => o.partition === p)?.high ?? -1));
    } finally {
      await admin.disconnect();
    }
  }

  /** Committed offset per partition; -1 where the group committed nothing. */
  async committed(groupId = this.groupId): Promise<number[]> {
    const admin = this.b.kafka.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId, topics: [this.topic] });
      return Array.from({ length: this.partitions }, (_, p) => Number(t?.partitions.find((x) => x.partition === p)?.offset ?? -1));
    } finally {
      await admin.disconnect();
    }
  }

  /** A sink config for this scenario's topic and group; sections given replace or merge into the defaults. */
  config(emulatorUrl: string, overrides: Record<string, Record<string, unknown>> = {}): Record<string, any> {
    const base: Record<string, any> = {
      kafka: { brokers: this.b.brokers, groupId: this.groupId, topics: [this.topic], heartbeatIntervalMs: 1000, sessionTimeoutMs: 6000 },
      rockset: { apiServer: emulatorUrl, workspace: WS, collection: COLLECTION, requestTimeoutMs: 2000 },
      batch: { maxDocuments: 200, lingerMs: 20 },
      retry: { initialBackoffMs: 50, maxBackoffMs: 1000 },
      http: { port: 0, host: '127.0.0.1' },
      shutdownTimeoutMs: 10_000,
      logLevel: 'info',
    };
    for (const [section, value] of Object.entries(overrides)) base[section] = { ...base[section], ...value };
    return base;
  }

  /** A real sink process with every secret in its environment. */
  startSink(config: unknown, env: Record<string, string> = {}): SinkProcess {
    const terminationFile = path.join(this.#tmp, `termination-${this.sinks.length}`);
    this.#terminationFiles.push(terminationFile);
    const sink = startSinkProcess(config, {
      ROCKSET_API_KEY: SECRETS.apiKey,
      KAFKA_SASL_PASSWORD: SECRETS.saslPassword,
      SCHEMA_REGISTRY_PASSWORD: SECRETS.registryPassword,
      TERMINATION_MESSAGE_PATH: terminationFile,
      ...env,
    });
    this.sinks.push(sink);
    return sink;
  }

  terminationMessage(sink: SinkProcess): string {
    const file = this.#terminationFiles[this.sinks.indexOf(sink)];
    return file && fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  running(): SinkProcess[] {
    return this.sinks.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
  }

  /**
   * Runs a sink the way a Deployment does: when it exits on its own it is started
   * again, and the exit is recorded, so that a scenario can still reach its verdict
   * on the data and then fail on the crash.
   */
  supervise(config: unknown, env: Record<string, string> = {}): { current(): SinkProcess; crashes: string[]; stop(): void } {
    const crashes: string[] = [];
    let stopped = false;
    let current: SinkProcess;
    const start = () => {
      current = this.startSink(config, env);
      const me = current;
      this.#supervised.add(me);
      void me.exited.then(async (code) => {
        if (stopped || me.child.signalCode !== null) return;
        crashes.push(`exit ${code}: ${this.terminationMessage(me) || me.lines.slice(-3).join(' | ')}`.slice(0, 2000));
        await sleep(1000);
        if (!stopped) start();
      });
    };
    start();
    const stop = () => void (stopped = true);
    this.#supervisors.push(stop);
    return { current: () => current, crashes, stop };
  }

  #supervisors: Array<() => void> = [];

  #supervised = new Set<SinkProcess>();

  /** Fails at once if a sink exited on its own (anything but the signals this scenario sent). */
  crashed(): Error | undefined {
    const dead = this.sinks.find((s) => !this.#supervised.has(s) && s.child.exitCode !== null && s.child.exitCode !== 0);
    return dead ? new Error(`a sink exited with ${dead.child.exitCode}:\n${dead.lines.slice(-25).join('\n')}`) : undefined;
  }

  /** Waits until the group committed every partition to its end. */
  async drained(timeoutMs = 120_000, groupId = this.groupId): Promise<void> {
    const ends = await this.endOffsets();
    await waitFor(`group ${groupId} to commit ${this.topic} to its end (${ends.join(',')})`, async () => {
      const c = await this.committed(groupId);
      return c.every((o, p) => o === ends[p]);
    }, { timeoutMs, intervalMs: 250, abort: () => this.crashed() });
  }

  /**
   * Offsets are committed only after Rockset acknowledged: for every record below
   * a partition's committed offset, its document holds that record's version or
   * a later one (or is gone because a later tombstone landed). Returns the breaches.
   */
  async commitBreaches(emu: Emulator): Promise<string[]> {
    const committed = await this.committed();
    const docs = new Map((await emu.admin.docs(WS, COLLECTION, { limit: 10_000_000 })).map((d) => [String(d._id), d]));
    const lastBelow = new Map<string, Produced>();
    const deletedLater = new Set<string>();
    for (const r of this.produced) {
      if (r.poison) continue;
      const id = r.key ?? `${this.topic}-${r.partition}-${r.offset}`;
      if (r.offset < committed[r.partition]!) lastBelow.set(id, r);
      else if (r.value === null) deletedLater.add(id);
    }
    const breaches: string[] = [];
    for (const [id, r] of lastBelow) {
      const doc = docs.get(id);
      const version = Number(r.timestamp);
      const got = doc ? Number((doc as { _event_time?: number })._event_time) / 1000 : undefined;
      if (r.value === null) {
        if (got !== undefined && got < version) breaches.push(`${id}: deleted at ${r.partition}@${r.offset} (committed ${committed[r.partition]}) but an older version is stored`);
      } else if (got === undefined ? !deletedLater.has(id) : got < version) {
        breaches.push(`${id}: ${r.partition}@${r.offset} is below the committed offset ${committed[r.partition]} but ${doc ? 'an older version is stored' : 'no document exists'}`);
      }
    }
    return breaches;
  }

  /** Stops every sink still running (SIGTERM, then SIGKILL). */
  async stopSinks(): Promise<void> {
    await Promise.all(this.running().map(async (s) => {
      s.kill('SIGTERM');
      const t = setTimeout(() => s.kill('SIGKILL'), 15_000);
      await s.exited;
      clearTimeout(t);
    }));
  }

  /**
   * Ends a scenario: waits for `settle` (e.g. drained()), then, whether or not it
   * succeeded, prints the summary line and records it for the runner. Fails on a
   * settle error, any missing, extra or stale document, or any secret in any
   * sink's output. `expected` defaults to what the produced records must end as.
   */
  async conclude(emu: Emulator, settle: () => Promise<void>, expectedSet?: Map<string, string>): Promise<Verdict> {
    let failed: unknown;
    try {
      await settle();
    } catch (err) {
      failed = err;
    }
    // only now: settle may still be producing
    const expected = expectedSet ?? expectedDocuments(this.topic, this.produced);
    const docs = await emu.admin.docs(WS, COLLECTION, { limit: 10_000_000 });
    const v = compare(this.name, this.produced.length, expected, docs);
    const line = summaryLine(v);
    console.log(line);
    if (process.env.CHAOS_SUMMARY_FILE) fs.appendFileSync(process.env.CHAOS_SUMMARY_FILE, line + '\n');
    const dir = process.env.CHAOS_LOG_DIR;
    if (dir && (failed || v.missing || v.extra || v.stale)) {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${this.name}-documents.json`), JSON.stringify(docs));
      fs.writeFileSync(path.join(dir, `${this.name}-records.json`), JSON.stringify(this.produced.map((r) => ({ ...r, value: r.value === null ? null : r.value.length }))));
      fs.writeFileSync(path.join(dir, `${this.name}-requests.json`), JSON.stringify(await emu.admin.requests({})));
    }
    if (failed) throw failed;
    const leaks = this.secretLeaks();
    assert.deepEqual(leaks, [], `secret values in sink output:\n${leaks.join('\n')}`);
    assert.ok(v.missing === 0 && v.extra === 0 && v.stale === 0, `${line}\n${v.examples.join('\n')}\n${this.#whereWrong(expected, docs)}`);
    return v;
  }

  /** Where the wrong documents' latest records sit, per partition (offset ranges), to tell a lost batch from a stray write. */
  #whereWrong(expected: Map<string, string>, docs: Array<Record<string, unknown>>): string {
    const got = new Map(docs.map((d) => [String(d._id), canonical(d)]));
    const latest = new Map<string, Produced>();
    for (const r of this.produced) if (!r.poison) latest.set(r.key ?? `${this.topic}-${r.partition}-${r.offset}`, r);
    const wrong: number[][] = Array.from({ length: this.partitions }, () => []);
    for (const [id, want] of expected) if (got.get(id) !== want) wrong[latest.get(id)!.partition]!.push(latest.get(id)!.offset);
    return wrong.map((offs, p) => {
      offs.sort((a, b) => a - b);
      return `partition ${p}: ${offs.length} wrong, offsets ${offs.slice(0, 3).join(',')}..${offs.slice(-3).join(',')}`;
    }).join('\n');
  }

  /** Every line every sink printed, and every termination message, that holds a secret value. */
  secretLeaks(): string[] {
    const secrets = [...Object.values(SECRETS), ...this.extraSecrets];
    const texts = [...this.sinks.flatMap((s) => s.lines), ...this.#terminationFiles.filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8'))];
    // a leak is reported by where it was, never by the secret itself
    return texts.flatMap((t, i) => secrets.flatMap((s, j) => (t.includes(s) ? [`output line ${i} holds secret #${j}`] : [])));
  }

  async close(): Promise<void> {
    this.#supervisors.forEach((stop) => stop());
    await this.stopSinks();
    // CHAOS_LOG_DIR keeps every sink's output for a post-mortem
    const dir = process.env.CHAOS_LOG_DIR;
    if (dir) {
      fs.mkdirSync(dir, { recursive: true });
      this.sinks.forEach((sink, i) => fs.writeFileSync(path.join(dir, `${this.name}-sink${i}.log`), sink.lines.join('\n') + '\n'));
    }
    await this.#producer?.disconnect().catch(() => {});
    fs.rmSync(this.#tmp, { recursive: true, force: true });
  }
}

export async function chaosEmulator(opts: Partial<EmulatorOptions> = {}): Promise<Emulator> {
  return startEmulator({ apiKey: SECRETS.apiKey, collections: [`${WS}.${COLLECTION}`], requestLogSize: 100_000, ...opts });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

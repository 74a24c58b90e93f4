// Consumer lag for every sink, refreshed on an interval, off the reconcile path: a
// reconcile reads the latest figure from memory (no broker round trip per pass), and
// the poller enqueues a sink when its figure changed, so status.lag follows Kafka
// without a write while nothing moves. One kafkajs admin per distinct Kafka
// connection (brokers, TLS, SASL user and password version), dropped when no sink
// uses it any more. A SASL password is read from its Secret into memory for the admin
// only; it is never logged. A broker that cannot be reached is a LagUnavailable
// (reported in status), never a crash.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { createHash } from 'node:crypto';
import type { RocksetSink } from './api/rocksetsink.ts';
import { validateSpec } from './api/validate.ts';
import { describeError, LagUnavailable, readLag } from './lag.ts';
import { renderConfig } from './render/config.ts';
import type { ObservedLag } from './status.ts';
import { validateConfig } from '../sink/config/validate.ts';

export interface LagPollerDeps {
  sinks(): RocksetSink[];
  readSecretValue(namespace: string, name: string, key: string): Promise<string | undefined>;
  /** A sink's lag changed (or first became known). */
  changed(namespace: string, name: string): void;
  log: { debug(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  intervalMs: number;
  timeoutMs?: number;
}

interface AdminEntry {
  admin: Admin;
  connected: Promise<void> | undefined;
}

const sinkKey = (s: RocksetSink): string => `${s.metadata.namespace}/${s.metadata.name}`;
const sameLag = (a: ObservedLag | undefined, b: ObservedLag): boolean => JSON.stringify(a) === JSON.stringify(b);

export class LagPoller {
  readonly #d: LagPollerDeps;
  readonly #lags = new Map<string, ObservedLag>();
  readonly #admins = new Map<string, AdminEntry>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(deps: LagPollerDeps) {
    this.#d = deps;
  }

  /** The latest lag read for the sink, if any. */
  lag(namespace: string, name: string): ObservedLag | undefined {
    return this.#lags.get(`${namespace}/${name}`);
  }

  start(): void {
    const tick = () => {
      this.#running = this.pollOnce().finally(() => {
        if (!this.#stopped) {
          this.#timer = setTimeout(tick, this.#d.intervalMs);
          this.#timer.unref();
        }
      });
    };
    this.#timer = setTimeout(tick, Math.min(1000, this.#d.intervalMs));
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await Promise.all([...this.#admins.values()].map((e) => e.admin.disconnect().catch(() => undefined)));
    this.#admins.clear();
  }

  /** One round over every sink (sequential: a handful of admin calls each). */
  async pollOnce(): Promise<void> {
    const used = new Set<string>();
    const live = new Set<string>();
    // A connection that failed this round fails for every sink on it: no reconnect per sink.
    const failed = new Map<string, string>();
    for (const sink of this.#d.sinks()) {
      if (this.#stopped) return;
      const key = sinkKey(sink);
      live.add(key);
      let lag: ObservedLag;
      let connection: string | undefined;
      try {
        const target = await this.#target(sink);
        if (!target) continue;
        connection = target.connection;
        used.add(connection);
        const earlier = failed.get(connection);
        if (earlier !== undefined) throw new Error(earlier);
        const entry = this.#admin(target.connection, target.kafka);
        entry.connected ??= entry.admin.connect();
        await entry.connected;
        const l = await readLag(entry.admin, target.groupId, target.topics, { timeoutMs: this.#d.timeoutMs ?? 10_000 });
        lag = { total: l.total, topics: l.topics };
      } catch (err) {
        lag = { error: describeError(err) };
        // A failed connection is retried from scratch next round.
        const entry = connection === undefined || failed.has(connection) ? undefined : this.#admins.get(connection);
        if (connection !== undefined && !failed.has(connection) && !(err instanceof LagUnavailable && err.stage === 'unknownTopic')) failed.set(connection, lag.error.replace(/^consumer lag of group "[^"]*" unavailable/, 'consumer lag unavailable')); // no other sink's group name in this sink's status
        if (entry) {
          entry.connected = undefined;
          await entry.admin.disconnect().catch(() => undefined);
        }
      }
      if (!sameLag(this.#lags.get(key), lag)) {
        this.#lags.set(key, lag);
        this.#d.changed(sink.metadata.namespace, sink.metadata.name);
      }
    }
    for (const k of [...this.#lags.keys()]) if (!live.has(k)) this.#lags.delete(k);
    for (const [k, e] of this.#admins) {
      if (!used.has(k)) {
        this.#admins.delete(k);
        await e.admin.disconnect().catch(() => undefined);
      }
    }
  }

  #admin(connection: string, config: ConstructorParameters<typeof Kafka>[0]): AdminEntry {
    let e = this.#admins.get(connection);
    if (!e) {
      e = { admin: new Kafka({ ...config, logLevel: logLevel.NOTHING }).admin(), connected: undefined };
      this.#admins.set(connection, e);
    }
    return e;
  }

  async #target(sink: RocksetSink): Promise<{ connection: string; kafka: ConstructorParameters<typeof Kafka>[0]; groupId: string; topics: string[] | RegExp } | undefined> {
    const checked = validateSpec(sink.spec);
    if (!checked.ok) return undefined;
    const config = validateConfig(renderConfig({ ...sink, spec: checked.spec }));
    const { kafka } = config;
    const spec = checked.spec.kafka;
    const read = async (ref: { name: string; key: string }, field: string): Promise<string> => {
      const value = await this.#d.readSecretValue(sink.metadata.namespace, ref.name, ref.key);
      if (value === undefined) throw new Error(`Secret ${ref.name} key ${ref.key} (${field}) not found`);
      return value;
    };
    const secrets: LagSecrets = {};
    if (spec.sasl) secrets.password = await read(spec.sasl.passwordSecretRef, 'kafka.sasl.passwordSecretRef');
    if (spec.tls?.caSecretRef) secrets.ca = await read(spec.tls.caSecretRef, 'kafka.tls.caSecretRef');
    const { connection, client } = lagClientConfig(spec, kafka.brokers, kafka.ssl, secrets);
    const topics = kafka.topicPattern !== undefined ? new RegExp(kafka.topicPattern) : (kafka.topics ?? []);
    return { connection, kafka: client, groupId: kafka.groupId, topics };
  }
}

/** Secret values the lag reader connects with (never logged, never in the connection key). */
export interface LagSecrets {
  password?: string;
  /** PEM of the Kafka CA (kafka.tls.caSecretRef): the workers trust it, so must the lag reader. */
  ca?: string;
}

const digest = (value: string | undefined): string => (value === undefined ? '' : createHash('sha256').update(value).digest('hex'));

/**
 * The kafkajs client configuration of the lag reader for one sink, and the identity of
 * the connection it opens (sinks with the same identity share one admin client). The
 * identity holds digests of the secrets, never the secrets.
 */
export function lagClientConfig(
  spec: { sasl?: { mechanism: string; username: string } | undefined; tls?: unknown },
  brokers: string[],
  ssl: boolean,
  secrets: LagSecrets,
): { connection: string; client: ConstructorParameters<typeof Kafka>[0] } {
  const useTls = ssl || spec.tls !== undefined;
  const client: ConstructorParameters<typeof Kafka>[0] = {
    clientId: 'rockset-sink-operator-lag',
    brokers,
    ssl: useTls && secrets.ca !== undefined ? { ca: [secrets.ca] } : useTls,
    retry: { retries: 1 },
    connectionTimeout: 3000,
  };
  if (spec.sasl && secrets.password !== undefined) client.sasl = { mechanism: spec.sasl.mechanism, username: spec.sasl.username, password: secrets.password } as never;
  const connection = JSON.stringify([brokers, useTls, digest(secrets.ca), spec.sasl?.mechanism, spec.sasl?.username, digest(secrets.password)]);
  return { connection, client };
}

// Wires the data path together: kafkajs consumer (eachBatch, manual commit) ->
// Pipeline -> Rockset, dead letters to Kafka, metrics and probes over HTTP, and
// an orderly stop. I/O lives here and in the modules it injects; the decisions
// live in the pure modules.
import { Kafka, Partitioners, type Consumer, type ConsumerRunConfig, type Producer, type EachBatchPayload, type KafkaConfig } from 'kafkajs';
import type { Logger } from 'pino';
import type { LoadedConfig } from './config/load.ts';
import type { SinkConfig } from './config/schema.ts';
import { createMetrics, type SinkMetrics } from './metrics.ts';
import { startHttp } from './http.ts';
import { kafkaLogCreator } from './log.ts';
import { RocksetClient } from './rockset/client.ts';
import { Pipeline } from './pipeline.ts';
import { Semaphore } from './semaphore.ts';
import { deadLetterWriter } from './dlq.ts';
import { BatchAbandoned, FatalSinkError, membershipLost, topicOrPartitionUnknown } from './errors.ts';
import { meterDecompression, registerCompressionCodecs } from './kafka/codecs.ts';
import { observeFetches, registerFetchedRecords } from './kafka/fetched.ts';
import { fetchMemoryAdvice } from './kafka/fetch-memory.ts';
import { PartitionLag } from './kafka/lag.ts';
import { CommitBatcher, CommitQueue } from './kafka/commits.ts';
import { assignmentGuard } from './kafka/assignment.ts';
import type { SinkRecord } from './record.ts';
import type { SchemaRegistrySource } from './decode/registry.ts';
import { createMapper } from './mapping/mapper.ts';
import { framedBuffers, usesSchemas } from './mapping/options.ts';
import { mappingThreads, threadHeapMb } from './mapping/threads.ts';
import { memoryLimitBytes } from './limits.ts';

/** Partitions worked on at once, at least: one fetch usually brings batches for all of a member's partitions. */
const PARTITION_WORKERS = 16;
/** How old a partition's high watermark may get (no fetch brought it: idle, or its batch waits on Rockset) before it is asked for. */
const LAG_REFRESH_MS = 10_000;
// Records held behind an open transaction this long get a warning. Transactional
// producers commit every 100 ms (Kafka Streams) to a checkpoint interval (Flink, often
// 30-60 s); the broker aborts one that outlives its transaction.timeout.ms (1 min by
// default, at most 15 min).
const HELD_WARN_MS = 90_000;

export interface RunningSink {
  /** Port of /metrics, /healthz, /readyz. */
  readonly httpPort: number;
  /** Resolves with the process exit code once the sink has stopped. */
  readonly stopped: Promise<number>;
  /** Why the sink stopped on its own, if it did. */
  failure(): { reason: string; message: string } | undefined;
  /** Stops fetching, lets in-flight writes finish or abandons them uncommitted, commits what was acknowledged. */
  stop(): Promise<number>;
}

export function kafkaClientConfig(config: SinkConfig, secrets: LoadedConfig['secrets'], log: Logger): KafkaConfig {
  const { kafka } = config;
  const out: KafkaConfig = { clientId: kafka.clientId, brokers: kafka.brokers, ssl: kafka.ssl, logCreator: kafkaLogCreator(log), retry: { retries: 8 } };
  if (kafka.sasl) {
    const { mechanism, username } = kafka.sasl;
    out.sasl = { mechanism, username, password: secrets.saslPassword ?? '' } as KafkaConfig['sasl'];
  }
  return out;
}

export async function startSink(loaded: LoadedConfig, log: Logger): Promise<RunningSink> {
  const { config, secrets } = loaded;
  registerCompressionCodecs();
  registerFetchedRecords(); // installs the header codec first
  const metrics = createMetrics();
  const stopping = new AbortController();
  let joined = false;
  let fatal: Error | undefined;

  const kafka = new Kafka(kafkaClientConfig(config, secrets, log));
  const client = new RocksetClient({
    apiServer: config.rockset.apiServer,
    apiKey: secrets.apiKey,
    workspace: config.rockset.workspace,
    requestTimeoutMs: config.rockset.requestTimeoutMs,
    connections: config.rockset.maxInFlightRequests,
    apiKeySource: loaded.apiKeySource,
  });

  let producer: Producer | undefined;
  const dlqTopic = config.errors.tolerance === 'all' ? config.errors.deadLetterTopic : undefined;
  if (dlqTopic) {
    // acks=all per send; dead letters are at-least-once, like Kafka Connect's
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    await ensureTopic(kafka, dlqTopic, log);
  }

  const registry = await schemaRegistry(config, secrets);
  const mapper = await createMapper(config, registry, { threads: mappingThreads(), threadHeapMb: threadHeapMb(), log });
  metrics.mappingThreads.set(mapper.threads);
  const pipeline = new Pipeline({
    config,
    map: (records) => mapper.map(records),
    prepare: registry ? (records) => registry.prepare(framedBuffers(config, records)) : undefined,
    write: (req, signal) => client.write(req, signal),
    deadLetter: producer && dlqTopic ? deadLetterWriter(producer, dlqTopic, config.kafka.groupId, async () => (await absentTopics(kafka, [dlqTopic])).length === 0) : undefined,
    metrics,
    log,
    permits: new Semaphore(config.rockset.maxInFlightRequests),
    stopping: stopping.signal,
  });

  const assignment = assignmentGuard(config.kafka.groupId, log);
  const consumerOptions = {
    groupId: config.kafka.groupId,
    partitionAssigners: [assignment.assigner],
    sessionTimeout: config.kafka.sessionTimeoutMs,
    heartbeatInterval: config.kafka.heartbeatIntervalMs,
    maxBytesPerPartition: config.kafka.fetchMaxBytesPerPartition,
    minBytes: config.kafka.fetchMinBytes,
    maxWaitTimeInMs: Math.max(1, config.batch.lingerMs),
    readUncommitted: false,
    allowAutoTopicCreation: false,
  };
  let assignedPartitions = 0;
  watchCompression(config, metrics, log, () => assignedPartitions);
  const lag = new PartitionLag(metrics.lag, undefined, metrics.heldRecords);
  observeFetches((topic, partition, high, stable) => lag.fetched(topic, partition, high, stable));
  // When the coordinator last confirmed this member (a join or an accepted heartbeat), on
  // the monotonic clock: a frozen process finds it old when it wakes, and writes nothing.
  let lastHeartbeatAt = performance.now();
  const commits = new CommitQueue();
  const batchers = new WeakMap<Consumer, CommitBatcher>();
  const lagRefresh = refreshLag(kafka, config.kafka.groupId, lag, log);
  const newConsumer = (): Consumer => {
    const c = kafka.consumer(consumerOptions);
    const batcher = new CommitBatcher(
      (offsets) => c.commitOffsets(offsets),
      (seconds, ok) => metrics.offsetCommitSeconds.observe({ outcome: ok ? 'committed' : 'failed' }, seconds),
    );
    batchers.set(c, batcher);
    assignment.attach(c);
    c.on(c.events.GROUP_JOIN, (e) => {
      joined = true;
      lastHeartbeatAt = performance.now();
      commits.rejoined();
      assignedPartitions = Object.values(e.payload.memberAssignment).reduce((n, ps) => n + ps.length, 0);
      lag.assigned(e.payload.memberAssignment);
      lagRefresh.soon();
      log.info({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment }, 'joined the consumer group');
    });
    c.on(c.events.HEARTBEAT, () => {
      lastHeartbeatAt = performance.now();
    });
    c.on(c.events.START_BATCH_PROCESS, (e) => {
      lag.highWatermark(e.payload.topic, e.payload.partition, e.payload.highWatermark);
      lag.fetchedFrom(e.payload.topic, e.payload.partition, e.payload.firstOffset);
    });
    c.on(c.events.END_BATCH_PROCESS, (e) => {
      // A fetch of nothing but records kafkajs filtered (an aborted transaction, control
      // markers) never reaches eachBatch: kafkajs moves its position past them, but with
      // autoCommit off nobody commits that, and a topic whose last transaction aborted
      // would show lag for good. Everything before it is committed (eachBatch resolves
      // only what it committed), so committing past the filtered range is safe.
      const { topic, partition, batchSize, lastOffset } = e.payload;
      if (batchSize !== 0 || stopping.signal.aborted || c !== consumer) return;
      const nextOffset = (BigInt(lastOffset) + 1n).toString();
      commits
        .commit(topic, partition, nextOffset, () => batcher.commit({ topic, partition, offset: nextOffset }))
        .then(
          (done) => done && lag.committed(topic, partition, nextOffset),
          (err: unknown) => log.info({ topic, partition, offset: nextOffset, error: (err as Error).message }, 'could not commit past filtered records (aborted transactions, markers); the next commit will'),
        );
    });
    c.on(c.events.CRASH, (e) => {
      if (!e.payload.restart) return fail(e.payload.error);
      log.warn({ error: e.payload.error.message }, 'the Kafka consumer hit a retriable error and restarts');
      if (topicOrPartitionUnknown(e.payload.error)) topicMissing();
    });
    c.on(c.events.STOP, () => {
      if (c !== consumer) return;
      joined = false;
      lag.clear();
    });
    return c;
  };
  let consumer = newConsumer();

  const http = await startHttp(config.http.host, config.http.port, metrics.registry, {
    healthy: () => fatal === undefined,
    ready: () => joined && assignment.problem === undefined && fatal === undefined && !stopping.signal.aborted,
  });

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  let stopRequested: Promise<number> | undefined;

  let topicWatch: Awaited<ReturnType<typeof watchTopics>> | undefined;
  const stop = (code = 0): Promise<number> => {
    stopRequested ??= (async () => {
      stopping.abort();
      const force = setTimeout(() => {
        log.error({ timeoutMs: config.shutdownTimeoutMs }, 'stop took longer than shutdownTimeoutMs; exiting without waiting (nothing unacknowledged was committed)');
        resolveStopped(code);
      }, config.shutdownTimeoutMs);
      force.unref();
      await topicWatch?.close();
      await lagRefresh.close();
      observeFetches(undefined);
      try {
        await consumer.disconnect(); // waits for the running eachBatch calls
      } catch (err) {
        log.warn({ err }, 'error while leaving the consumer group');
      }
      await producer?.disconnect().catch(() => {});
      await mapper.close().catch(() => {});
      await client.close().catch(() => {});
      meterDecompression(undefined);
      await http.close();
      clearTimeout(force);
      log.info({ exitCode: code }, 'sink stopped');
      resolveStopped(code);
      return code;
    })();
    return stopRequested;
  };

  let checkingTopics = false;
  /**
   * The consumer was told a topic or partition does not exist. With a pattern, the
   * topic list is looked at now rather than at the next refresh. A topic named in
   * kafka.topics that is gone stops the sink, saying so: kafkajs would otherwise
   * restart the consumer every 300 ms for good, reading no other topic either.
   */
  function topicMissing(): void {
    if (topicWatch) return topicWatch.checkSoon();
    const listed = config.kafka.topics;
    if (checkingTopics || !listed) return;
    checkingTopics = true;
    void (async () => {
      try {
        const gone = await absentTopics(kafka, listed);
        if (gone.length) {
          fail(new FatalSinkError('TopicNotFound', `kafka.topics names ${quoteList(gone)}, which the cluster no longer has (deleted?). Recreate it, or remove it from kafka.topics (or use kafka.topicPattern, which follows deleted and new topics)`));
        }
      } catch (err) {
        log.warn({ error: (err as Error).message }, 'could not check whether the topics in kafka.topics still exist');
      } finally {
        checkingTopics = false;
      }
    })();
  }

  function fail(err: Error): void {
    if (fatal) return;
    fatal = err;
    metrics.recordsFailed.inc({ topic: 'all' });
    log.fatal({ error: err.message }, 'the sink cannot continue');
    void stop(1);
  }

  await consumer.connect();
  const pattern = config.kafka.topicPattern === undefined ? undefined : new RegExp(config.kafka.topicPattern);
  topicWatch = pattern ? await watchTopics(kafka, pattern, log) : undefined;
  const topics = config.kafka.topics ?? [pattern!];
  try {
    await consumer.subscribe({ topics, fromBeginning: config.kafka.fromBeginning });
  } catch (err) {
    const gone = config.kafka.topics && topicOrPartitionUnknown(err) ? await absentTopics(kafka, config.kafka.topics) : [];
    if (gone.length) throw new FatalSinkError('TopicNotFound', `kafka.topics names ${quoteList(gone)}, which the cluster does not have. Create it, or fix kafka.topics (or use kafka.topicPattern)`);
    throw err;
  }
  const runConfig = (c: Consumer): ConsumerRunConfig => ({
    autoCommit: false,
    eachBatchAutoResolve: false,
    // kafkajs fetches again only once every partition of the last fetch is done, so
    // a partition left waiting for a worker adds a whole write + commit to that
    // cycle. Requests in flight stay capped by the permits (maxInFlightRequests);
    // the extra workers only map and commit, with data already fetched.
    partitionsConsumedConcurrently: Math.max(config.rockset.maxInFlightRequests, PARTITION_WORKERS),
    eachBatch: async (payload: EachBatchPayload) => {
      const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
      if (stopping.signal.aborted) return;
      const records: SinkRecord[] = batch.messages.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key ?? null,
        value: m.value ?? null,
        timestamp: m.timestamp,
        headers: (m.headers ?? {}) as SinkRecord['headers'],
      }));
      try {
        await pipeline.processBatch({
          topic: batch.topic,
          partition: batch.partition,
          records,
          lastOffset: batch.lastOffset(),
          heartbeat,
          lastHeartbeatAt: () => lastHeartbeatAt,
          isActive: () => isRunning() && !isStale() && !stopping.signal.aborted,
          commit: async (nextOffset) => {
            try {
              await commits.commit(batch.topic, batch.partition, nextOffset, () => batchers.get(c)!.commit({ topic: batch.topic, partition: batch.partition, offset: nextOffset }));
              lag.committed(batch.topic, batch.partition, nextOffset);
            } catch (err) {
              // Expelled from the group (a long pause) or a rebalance under way: this member
              // may no longer commit. The batch is left uncommitted (its writes are idempotent
              // by _id), and kafkajs's next heartbeat or fetch sees the same error and rejoins.
              const type = membershipLost(err);
              if (type) throw new BatchAbandoned(`the commit was refused (${type}): rejoining the group`);
              throw err;
            }
            resolveOffset((BigInt(nextOffset) - 1n).toString());
          },
        });
      } catch (err) {
        if (err instanceof FatalSinkError) {
          fail(err);
          return;
        }
        throw err; // kafkajs retries the batch (it was not committed) and restarts the consumer if needed
      }
    },
  });
  await consumer.run(runConfig(consumer));

  /**
   * Leaves the group and joins it again with a new consumer subscribed to the pattern,
   * which kafkajs resolves to the topics that exist now: it resolves a RegExp once, and a
   * consumer never forgets a topic it subscribed to, so a deleted one would make it crash
   * and restart every 300 ms for good, reading nothing from the other topics.
   */
  const resubscribe = async (why: string): Promise<void> => {
    try {
      await consumer.disconnect(); // waits for the batches in progress; commits only what Rockset acknowledged
      if (stopping.signal.aborted) return;
      consumer = newConsumer();
      await consumer.connect();
      await consumer.subscribe({ topics: [pattern!], fromBeginning: config.kafka.fromBeginning });
      await consumer.run(runConfig(consumer));
    } catch (err) {
      // A consumer left stopped would look healthy and read nothing: exit, and be restarted.
      fail(new Error(`rejoining the group (${why}) failed: ${(err as Error).message}`));
    }
  };
  if (topicWatch && pattern) {
    // Kafka's own consumers re-match a pattern on every metadata refresh; this does the
    // same every topicRefreshIntervalMs, and at once when the consumer trips over a topic
    // that is gone.
    topicWatch.every(config.kafka.topicRefreshIntervalMs, async ({ added, removed }) => {
      if (stopping.signal.aborted) return;
      if (added.length) log.info({ topics: added, topicPattern: config.kafka.topicPattern }, 'new topics match kafka.topicPattern: rejoining the group with them');
      if (removed.length) log.warn({ topics: removed, topicPattern: config.kafka.topicPattern }, 'topics that matched kafka.topicPattern no longer exist: rejoining the group without them');
      await resubscribe(added.length ? 'new topics' : 'deleted topics');
    }, (err) => log.warn({ error: (err as Error).message }, 'could not look for topics matching kafka.topicPattern; trying again later'));
  }
  log.info({ httpPort: http.port, topics: config.kafka.topics ?? config.kafka.topicPattern, groupId: config.kafka.groupId, mappingThreads: mapper.threads, rockset: config.rockset.apiServer, workspace: config.rockset.workspace }, 'sink started');
  return {
    httpPort: http.port,
    stopped,
    stop: () => stop(0),
    failure: () => (fatal ? { reason: fatal instanceof FatalSinkError ? fatal.reason : 'KafkaFailed', message: fatal.message } : undefined),
  };
}

/**
 * The registry's REST client (~5 MB of RSS per worker, with the decoders it brings
 * along): loaded only when values or keys are read through it.
 */
async function schemaRegistry(config: SinkConfig, secrets: LoadedConfig['secrets']): Promise<SchemaRegistrySource | undefined> {
  if (!config.schemaRegistry || !usesSchemas(config)) return undefined;
  const { SchemaRegistrySource } = await import('./decode/registry.ts');
  return new SchemaRegistrySource({
    url: config.schemaRegistry.url,
    username: config.schemaRegistry.username,
    password: secrets.registryPassword,
    requestTimeoutMs: config.schemaRegistry.requestTimeoutMs,
  });
}

/**
 * Counts what compressed batches decompress to, and warns once, with the setting to
 * change, when a full fetch would hold too much of the memory limit: the kubelet would
 * otherwise OOM-kill the worker on every fetch, with nothing in its log to say why.
 */
function watchCompression(config: SinkConfig, metrics: SinkMetrics, log: Logger, partitions: () => number): void {
  const limit = memoryLimitBytes();
  let compressed = 0;
  let decompressed = 0;
  let warned = false;
  meterDecompression((c, d) => {
    metrics.fetchedCompressedBytes.inc(c);
    metrics.fetchedDecompressedBytes.inc(d);
    compressed += c;
    decompressed += d;
    if (warned || limit === undefined || decompressed < 1024 * 1024) return;
    const ratio = decompressed / compressed;
    const advice = fetchMemoryAdvice({ ratio, fetchMaxBytesPerPartition: config.kafka.fetchMaxBytesPerPartition, partitions: partitions(), memoryLimitBytes: limit });
    if (advice === undefined) return;
    warned = true;
    log.warn({ compressionRatio: Number(ratio.toFixed(1)), memoryLimitBytes: limit }, advice);
  });
}

/** The topics that match a pattern now, and checks for new and deleted ones: periodic, or soon when asked. */
async function watchTopics(kafka: Kafka, pattern: RegExp, log: Logger) {
  const admin = kafka.admin();
  await admin.connect();
  const matching = async () => new Set((await admin.listTopics()).filter((t) => pattern.test(t)));
  let known = await matching();
  log.info({ topics: [...known].sort() }, 'topics matching kafka.topicPattern');
  let onChange: ((change: { added: string[]; removed: string[] }) => Promise<void>) | undefined;
  let onError: (err: unknown) => void = () => undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let soon: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let lastAt = 0;
  // Checks run one after the other, never two at once.
  let running: Promise<void> = Promise.resolve();
  const check = () => {
    running = running.then(async () => {
      if (closed || !onChange) return;
      lastAt = Date.now();
      try {
        const now = await matching();
        const added = [...now].filter((t) => !known.has(t)).sort();
        const removed = [...known].filter((t) => !now.has(t)).sort();
        known = now;
        if (added.length || removed.length) await onChange({ added, removed });
      } catch (err) {
        onError(err);
      }
    });
  };
  return {
    every(ms: number, change: typeof onChange & {}, error: (err: unknown) => void): void {
      onChange = change;
      onError = error;
      timer = setInterval(check, ms);
    },
    /** A check within a second (at most one a second, however often this is called). */
    checkSoon(): void {
      if (closed || soon !== undefined) return;
      soon = setTimeout(() => {
        soon = undefined;
        check();
      }, Math.max(0, 1000 - (Date.now() - lastAt)));
    },
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      clearTimeout(soon);
      await running;
      await admin.disconnect().catch(() => undefined);
    },
  };
}

/**
 * Asks the broker for high watermarks no fetch brought lately, and for the group's
 * committed offsets of newly assigned partitions, every LAG_REFRESH_MS at most; one
 * admin connection, opened on first use.
 */
function refreshLag(kafka: Kafka, groupId: string, lag: PartitionLag, log: Logger) {
  let admin: ReturnType<Kafka['admin']> | undefined;
  let running: Promise<void> | undefined;
  let closed = false;
  let soonTimer: ReturnType<typeof setTimeout> | undefined;
  const once = async () => {
    const { watermarks, committed } = lag.stale(LAG_REFRESH_MS);
    if (closed || (watermarks.length === 0 && committed.length === 0)) return;
    if (!admin) {
      admin = kafka.admin();
      await admin.connect();
    }
    for (const topic of new Set(watermarks.map((p) => p.topic))) {
      for (const o of await admin.fetchTopicOffsets(topic)) lag.highWatermark(topic, o.partition, o.high);
    }
    const topics = [...new Set(committed.map((p) => p.topic))];
    if (topics.length) {
      for (const t of await admin.fetchOffsets({ groupId, topics })) for (const p of t.partitions) lag.committed(t.topic, p.partition, p.offset);
    }
  };
  const tick = () => {
    if (closed) return;
    for (const h of lag.heldLongerThan(HELD_WARN_MS)) {
      log.warn(
        { topic: h.topic, partition: h.partition, lastStableOffset: h.stable, heldRecords: h.held, heldForMs: Math.round(h.forMs) },
        'records wait behind an open transaction: reading stops at the last stable offset until the transaction that begins there commits or aborts (its producer is slow, gone until its transaction.timeout.ms, or the transaction hangs: kafka-transactions.sh find-hanging names it)',
      );
    }
    if (running) return;
    running = once()
      .catch((err: unknown) => log.debug({ error: (err as Error).message }, 'could not read watermarks or committed offsets for rockset_sink_partition_lag'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, LAG_REFRESH_MS);
  timer.unref();
  return {
    /** After a join: the committed offsets of the new assignment, without waiting for the interval. */
    soon(): void {
      clearTimeout(soonTimer);
      soonTimer = setTimeout(tick, 200);
      soonTimer.unref();
    },
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      clearTimeout(soonTimer);
      await running;
      await admin?.disconnect().catch(() => undefined);
    },
  };
}

/** Those of `topics` the cluster does not have. */
async function absentTopics(kafka: Kafka, topics: readonly string[]): Promise<string[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    return topics.filter((t) => !existing.has(t));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const quoteList = (names: readonly string[]) => names.map((n) => JSON.stringify(n)).join(', ');

async function ensureTopic(kafka: Kafka, topic: string, log: Logger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
      log.info({ topic }, 'created the dead-letter topic');
    }
  } finally {
    await admin.disconnect();
  }
}

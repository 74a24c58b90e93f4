// One fetched batch of one partition, from records to committed offsets:
// map -> dead-letter the bad -> write in order with retries -> commit what
// Rockset acknowledged. Requests of one partition never overlap, so a later
// write can never overtake an earlier one; partitions run side by side.
import type { Logger } from 'pino';
import type { SinkConfig } from './config/schema.ts';
import { ROCKSET_MAX_BYTES } from './config/schema.ts';
import { requestsBefore, splitRequest, writeRequest, type MappedBatch, type WriteRequest } from './batch.ts';
import { backoffMs } from './backoff.ts';
import { isRetriableDocError, type WriteOutcome } from './rockset/classify.ts';
import type { Action, SinkRecord, WriteAction } from './record.ts';
import { BatchAbandoned, FatalSinkError, membershipLost } from './errors.ts';
import type { Semaphore } from './semaphore.ts';
import type { SinkMetrics } from './metrics.ts';

export interface DeadLetter {
  record: SinkRecord;
  stage: 'decode' | 'map' | 'write';
  errorClass: string;
  message: string;
}

export interface PipelineDeps {
  config: SinkConfig;
  /** The records as write requests and the rest (sink/mapping/mapper.ts: on a mapping thread, or inline). */
  map(records: SinkRecord[]): Promise<MappedBatch>;
  /**
   * Fetches what decoding the records needs (writer schemas). Throws
   * RegistryUnavailable while it cannot: the batch then waits and retries, since
   * an outage is not bad data.
   */
  prepare?: (records: SinkRecord[]) => Promise<void>;
  write(req: WriteRequest, signal: AbortSignal): Promise<WriteOutcome>;
  deadLetter?: (letters: DeadLetter[]) => Promise<void>;
  metrics: SinkMetrics;
  log: Logger;
  permits: Semaphore;
  /** Aborted when the sink stops: retries end, nothing more is committed. */
  stopping: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

export interface PartitionBatch {
  topic: string;
  partition: number;
  records: SinkRecord[];
  /** The batch's last offset, counting records kafkajs filtered (aborted transactions, control markers). */
  lastOffset: string;
  commit(nextOffset: string): Promise<void>;
  heartbeat(): Promise<void>;
  /** performance.now() of this member's last heartbeat (or join) the coordinator accepted. */
  lastHeartbeatAt(): number;
  /** False once the partition is revoked or the consumer stops. */
  isActive(): boolean;
}

const next = (offset: string) => (BigInt(offset) + 1n).toString();

/** One batch in progress: its partition, and what ends its waits. */
interface BatchContext {
  b: PartitionBatch;
  /** Aborted when the sink stops or this member may no longer own the partition. */
  signal: AbortSignal;
  /** Marks the batch's membership as lost (why), which wakes its waits. */
  fence(why: string | undefined): void;
}

async function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class Pipeline {
  readonly #d: PipelineDeps;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #random: () => number;

  constructor(deps: PipelineDeps) {
    this.#d = deps;
    this.#sleep = deps.sleep ?? abortableSleep;
    this.#random = deps.random ?? Math.random;
  }

  /** Resolves when the batch is written and committed, or abandoned; throws FatalSinkError when the sink must stop. */
  async processBatch(input: PartitionBatch): Promise<void> {
    const { config, metrics, log } = this.#d;
    // A heartbeat refused because the group is rebalancing (a worker joined or left) or
    // forgot this member: finish the request in flight, commit what Rockset
    // acknowledged, leave the rest for whoever owns the partition next. Writing the
    // whole fetched batch first would hold the rebalance up for every other worker.
    let membership: string | undefined;
    // Aborted once this member may no longer own the partition: wakes a retry backoff at
    // once, so a rebalance never waits for a sleeping worker (a Retry-After can be long).
    const fenced = new AbortController();
    const lose = (why: string | undefined) => {
      if (why === undefined || membership !== undefined) return;
      membership = why;
      fenced.abort();
    };
    const b: PartitionBatch = { ...input, isActive: () => membership === undefined && input.isActive() };
    metrics.recordsConsumed.inc({ topic: b.topic }, b.records.length);
    // Records by offset, for dead letters only: made when the first one is needed.
    let byOffset: Map<string, SinkRecord> | undefined;
    const recordAt = (offset: string): SinkRecord => (byOffset ??= new Map(b.records.map((r) => [r.offset, r]))).get(offset)!;
    const heartbeats = setInterval(() => {
      lose(this.#sessionExpired(input));
      input.heartbeat().catch((err: unknown) => lose(membershipLost(err)));
    }, Math.max(500, config.kafka.heartbeatIntervalMs));
    const ctx: BatchContext = { b, signal: AbortSignal.any([this.#d.stopping, fenced.signal]), fence: (err) => lose(err) };
    try {
      await this.#prepare(ctx);
      const mapped = await this.#d.map(b.records);
      let end = next(b.lastOffset);
      let stopAt: Extract<Action, { kind: 'bad' }> | undefined;
      const bad = mapped.others.filter((a): a is Extract<Action, { kind: 'bad' }> => a.kind === 'bad');
      if (bad.length && config.errors.tolerance === 'none') {
        stopAt = bad[0];
        end = stopAt!.offset;
      } else if (bad.length) {
        await this.#deadLetter(bad.map((a) => ({ record: recordAt(a.offset), stage: a.stage, errorClass: a.errorClass, message: a.message })));
      }
      for (const s of mapped.others) {
        if (s.kind === 'skip' && BigInt(s.offset) < BigInt(end)) metrics.recordsSkipped.inc({ topic: b.topic, reason: s.reason });
      }

      const requests = stopAt ? requestsBefore(mapped.requests, end) : mapped.requests;
      for (let i = 0; i < requests.length; i++) {
        if (!b.isActive()) throw new BatchAbandoned(membership ? `the group is rebalancing (${membership})` : 'partition revoked');
        const req = requests[i]!;
        const rejected = await this.#writeUntilAcknowledged(req, ctx, recordAt);
        if (rejected.length) {
          if (config.errors.tolerance === 'none') {
            const first = rejected[0]!;
            await b.commit(first.record.offset);
            throw new FatalSinkError('BadRecord', `Rockset rejected the record at ${b.topic}/${b.partition}@${first.record.offset}: ${first.message}. With errors.tolerance=none the sink stops here; fix the record's producer, or set errors.tolerance=all with errors.deadLetterTopic`);
          }
          await this.#deadLetter(rejected);
        }
        metrics.recordsWritten.inc({ topic: b.topic }, req.count - rejected.length);
        const upTo = requests[i + 1]?.firstOffset ?? end;
        await b.commit(upTo);
      }
      if (requests.length === 0) {
        // nothing to write (skips, dead letters, filtered transaction markers): still move past them
        if (!b.isActive()) throw new BatchAbandoned(membership ? `the group is rebalancing (${membership})` : 'partition revoked');
        await b.commit(end);
      }
      if (stopAt) {
        throw new FatalSinkError('BadRecord', `bad record at ${b.topic}/${b.partition}@${stopAt.offset} (${stopAt.stage}): ${stopAt.message}. With errors.tolerance=none the sink stops without committing past it; fix the record's producer, or set errors.tolerance=all with errors.deadLetterTopic to route bad records there`);
      }
    } catch (err) {
      if (err instanceof BatchAbandoned) {
        log.info({ topic: b.topic, partition: b.partition, reason: err.message }, 'batch abandoned before commit; it will be redelivered');
        return;
      }
      throw err;
    } finally {
      clearInterval(heartbeats);
    }
  }

  /**
   * Why this member may have lost the group, judged by the clock alone: the coordinator
   * expels a member whose last heartbeat is older than the session timeout, and a process
   * that was frozen (SIGSTOP, a long GC pause, a throttled container) learns it only when
   * its next request fails. Until then it must not write: the new owner may already have
   * written newer versions of the same documents.
   */
  #sessionExpired(b: PartitionBatch): string | undefined {
    const silentMs = performance.now() - b.lastHeartbeatAt();
    const sessionMs = this.#d.config.kafka.sessionTimeoutMs;
    return silentMs > sessionMs ? `no heartbeat accepted for ${Math.round(silentMs)} ms, more than kafka.sessionTimeoutMs (${sessionMs}): the group has expelled this member` : undefined;
  }

  /**
   * Proves the partition is still ours right before a send: the clock check, then a
   * heartbeat that must succeed (kafkajs sends one only once its interval has passed since
   * the last accepted one, so this costs nothing in a steady stream). Failing closed: any
   * heartbeat error abandons the batch uncommitted; whoever owns the partition next
   * writes it again.
   */
  async #ensureMember(ctx: BatchContext): Promise<void> {
    const { b } = ctx;
    ctx.fence(this.#sessionExpired(b));
    if (b.isActive()) {
      try {
        await b.heartbeat();
      } catch (err) {
        ctx.fence(membershipLost(err) ?? `heartbeat failed: ${(err as Error).message}`);
      }
    }
    if (this.#d.stopping.aborted) throw new BatchAbandoned('the sink is stopping');
    if (!b.isActive()) throw new BatchAbandoned('partition revoked or the group is rebalancing');
  }

  async #prepare(ctx: BatchContext): Promise<void> {
    const { b } = ctx;
    const { prepare, stopping } = this.#d;
    if (!prepare) return;
    for (let attempt = 1; ; attempt++) {
      if (stopping.aborted) throw new BatchAbandoned('the sink is stopping');
      if (!b.isActive()) throw new BatchAbandoned('partition revoked or the group is rebalancing');
      try {
        await prepare(b.records);
        return;
      } catch (err) {
        if ((err as Error).name !== 'RegistryUnavailable') throw err;
        await this.#backoff(attempt, 'schema-registry', (err as Error).message, ctx, undefined, false);
      }
    }
  }

  async #deadLetter(letters: DeadLetter[]): Promise<void> {
    const { deadLetter, metrics, log } = this.#d;
    if (!deadLetter) throw new FatalSinkError('BadRecord', 'a bad record needs errors.deadLetterTopic');
    await deadLetter(letters);
    for (const l of letters) {
      metrics.recordsDeadLettered.inc({ topic: l.record.topic, stage: l.stage });
      log.warn({ topic: l.record.topic, partition: l.record.partition, offset: l.record.offset, stage: l.stage, error: l.errorClass, reason: l.message }, 'bad record sent to the dead-letter topic');
    }
  }

  /**
   * Writes one request until Rockset has an answer for every document. Returns
   * the records Rockset rejected for good (per-document ERRORs that no retry
   * fixes, or a single document too large for any request).
   */
  async #writeUntilAcknowledged(first: WriteRequest, ctx: BatchContext, recordAt: (offset: string) => SinkRecord): Promise<DeadLetter[]> {
    const { b } = ctx;
    const { config, metrics, permits, stopping, log } = this.#d;
    const rejected: DeadLetter[] = [];
    const record = (a: WriteAction) => recordAt(a.offset);
    const pending: WriteRequest[] = [first];
    let attempt = 0;
    while (pending.length) {
      const req = pending[0]!;
      if (stopping.aborted) throw new BatchAbandoned('the sink is stopping');
      if (!b.isActive()) throw new BatchAbandoned('partition revoked or the group is rebalancing');
      if (req.bytes > ROCKSET_MAX_BYTES && req.count === 1) {
        pending.shift();
        rejected.push({ record: record(req.actions[0]!), stage: 'write', errorClass: 'DocumentTooLarge', message: `the document is ${req.bytes} bytes; Rockset takes at most ${ROCKSET_MAX_BYTES} bytes per request` });
        continue;
      }
      await permits.acquire();
      let outcome: WriteOutcome;
      try {
        // Every send follows a wait (the previous request, a backoff, a permit, the
        // registry): the process may have been frozen through it.
        await this.#ensureMember(ctx);
      } catch (err) {
        permits.release();
        throw err;
      }
      metrics.inFlight.inc();
      const started = performance.now();
      try {
        outcome = await this.#d.write(req, stopping);
      } finally {
        metrics.inFlight.dec();
        permits.release();
      }
      metrics.requestSeconds.observe({ method: req.method, outcome: outcome.type }, (performance.now() - started) / 1000);
      if (outcome.type === 'ok') {
        metrics.requestDocuments.observe(req.count);
        const firstRetriable = outcome.results.findIndex((r) => r.status === 'ERROR' && isRetriableDocError(r.error));
        const settled = firstRetriable < 0 ? outcome.results.length : firstRetriable;
        for (let i = 0; i < settled; i++) {
          const r = outcome.results[i]!;
          if (r.status === 'ERROR') {
            rejected.push({ record: record(req.actions[i]!), stage: 'write', errorClass: r.error?.type ?? 'ERROR', message: r.error?.message ?? 'Rockset rejected the document' });
          }
        }
        pending.shift();
        if (firstRetriable >= 0) {
          // Re-send from the first retriable failure on, in order: re-sending only
          // the failed documents could put an older version over a newer one.
          pending.unshift(writeRequest(req.actions.slice(firstRetriable)));
          await this.#backoff(++attempt, 'document-error', outcome.results[firstRetriable]!.error?.message ?? 'retriable document error', ctx);
        } else {
          attempt = 0;
        }
        continue;
      }
      if (outcome.type === 'split') {
        const halves = splitRequest(req);
        pending.shift();
        if (!halves) {
          rejected.push({ record: record(req.actions[0]!), stage: 'write', errorClass: 'DocumentTooLarge', message: outcome.message });
        } else {
          metrics.splits.inc();
          log.info({ collection: req.collection, documents: req.count, reason: outcome.message }, 'Rockset refused the request size; splitting it');
          pending.unshift(...halves);
        }
        continue;
      }
      if (outcome.type === 'fatal') {
        if (outcome.reason) throw new FatalSinkError(outcome.reason, outcome.message);
        const reason = outcome.status === 401 || outcome.status === 403 ? 'AuthFailed' : outcome.status === 404 ? 'CollectionNotFound' : 'WriteRejected';
        throw new FatalSinkError(reason, `Rockset refused a write to ${config.rockset.workspace}.${req.collection}: ${outcome.message}`);
      }
      await this.#backoff(++attempt, outcome.cause, outcome.message, ctx, outcome.afterMs);
    }
    return rejected;
  }

  async #backoff(attempt: number, cause: string, message: string, ctx: BatchContext, afterMs?: number, limited = true): Promise<void> {
    const { b } = ctx;
    const { config, metrics, log } = this.#d;
    metrics.retries.inc({ cause });
    // An unreachable registry is waited out however long it takes: giving up would only restart the sink into the same wait.
    if (limited && config.retry.maxRetries >= 0 && attempt > config.retry.maxRetries) {
      throw new FatalSinkError('RetriesExhausted', `gave up after ${config.retry.maxRetries} retries (retry.maxRetries): ${message}`);
    }
    const wait = backoffMs(attempt - 1, config.retry, this.#random, afterMs);
    log.warn({ topic: b.topic, partition: b.partition, attempt, cause, waitMs: wait, reason: message }, cause === 'schema-registry' ? 'schema registry unavailable; retrying' : 'write failed; retrying');
    // The heartbeat interval keeps running while we wait, so a long outage does not cost the
    // group membership; a rebalance or an expulsion ends the wait at once.
    await this.#sleep(wait, ctx.signal);
    if (this.#d.stopping.aborted) throw new BatchAbandoned('the sink is stopping');
    if (!b.isActive()) throw new BatchAbandoned('left the retry wait: the partition was revoked or this member left the group');
  }
}

// Consumer lag of a sink's consumer group: how many records of its topics the
// group has not committed yet. `computeLag` is the pure arithmetic (BigInt, since
// Kafka offsets are 64-bit); `readLag` fetches the inputs from the brokers
// through a kafkajs Admin and turns every failure into a `LagUnavailable`.
import type { Admin } from 'kafkajs';

/** A group's committed offset for one partition; '-1' means nothing committed. */
export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: string;
}

/** A partition's watermarks: `high` is the log end offset, `low` the first offset still stored (default '0'). */
export interface Watermark {
  topic: string;
  partition: number;
  high: string;
  low?: string;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** The committed offset, or null when the group has committed nothing for the partition. */
  committed: string | null;
  high: string;
  low: string;
  /** Records still to read: high - max(committed, low), or high - low with no commit; never below 0. */
  lag: number;
}

export interface Lag {
  total: number;
  /** Lag per topic (every topic that has watermarks, 0 included). */
  topics: Record<string, number>;
  /** Per partition, sorted by topic then partition. */
  partitions: PartitionLag[];
}

const OFFSET = /^-?\d+$/;

function offsetOf(value: string, what: string): bigint {
  if (typeof value !== 'string' || !OFFSET.test(value)) throw new TypeError(`${what}: not an offset: ${JSON.stringify(value)}`);
  return BigInt(value);
}

/**
 * Lag per partition, topic and in total. The partitions are those of
 * `highWatermarks`; a committed offset for a partition without watermarks is
 * ignored. A committed offset below the low watermark (the records were removed
 * by retention) counts from the low watermark: removed records can't be read.
 * Committed beyond high (a truncated or recreated topic) counts as 0.
 * The sums are exact BigInts turned into numbers at the end.
 */
export function computeLag(committed: readonly CommittedOffset[], highWatermarks: readonly Watermark[]): Lag {
  const commits = new Map<string, bigint>();
  for (const c of committed) {
    const offset = offsetOf(c.offset, `committed offset of ${c.topic}/${c.partition}`);
    if (offset >= 0n) commits.set(`${c.topic}\u0000${c.partition}`, offset);
  }
  const topicSums = new Map<string, bigint>();
  let total = 0n;
  const partitions: PartitionLag[] = [];
  const sorted = [...highWatermarks].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  for (const w of sorted) {
    const where = `${w.topic}/${w.partition}`;
    const high = offsetOf(w.high, `high watermark of ${where}`);
    const low = w.low === undefined ? 0n : offsetOf(w.low, `low watermark of ${where}`);
    const commit = commits.get(`${w.topic}\u0000${w.partition}`);
    const from = commit === undefined || commit < low ? low : commit;
    const lag = high > from ? high - from : 0n;
    total += lag;
    topicSums.set(w.topic, (topicSums.get(w.topic) ?? 0n) + lag);
    partitions.push({ topic: w.topic, partition: w.partition, committed: commit === undefined ? null : commit.toString(), high: high.toString(), low: low.toString(), lag: Number(lag) });
  }
  const topics: Record<string, number> = {};
  for (const [topic, sum] of topicSums) topics[topic] = Number(sum);
  return { total: Number(total), topics, partitions };
}

export type LagStage = 'listTopics' | 'unknownTopic' | 'fetchOffsets' | 'fetchTopicOffsets' | 'timeout' | 'aborted' | 'compute';

/** The lag could not be read; `message` names the broker problem, `cause` is the original error. */
export class LagUnavailable extends Error {
  override name = 'LagUnavailable';
  readonly groupId: string;
  readonly stage: LagStage;
  constructor(groupId: string, stage: LagStage, detail: string, cause?: unknown) {
    super(`consumer lag of group ${JSON.stringify(groupId)} unavailable (${stage}): ${detail}`, cause === undefined ? undefined : { cause });
    this.groupId = groupId;
    this.stage = stage;
  }
}

export interface ReadLagOptions {
  /** Gives up with a LagUnavailable after this long (default 10000 ms). The admin calls themselves are not cancelled. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** An error's message with the messages of the errors it wraps (kafkajs wraps the socket error). */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const name = e instanceof Error ? e.name : undefined;
    const message = e instanceof Error ? e.message : String(e);
    const text = name && name !== 'Error' ? `${name}: ${message}` : message;
    if (!parts.some((p) => p.includes(message))) parts.push(text);
    const next = e as { originalError?: unknown; cause?: unknown };
    e = next.originalError ?? (next.cause !== e ? next.cause : undefined);
  }
  return parts.join(': caused by ') || 'unknown error';
}

/** Topics matching `pattern`, without Kafka's internal `__` topics; a g/y flag does not make matching stateful. */
export function matchTopics(all: readonly string[], pattern: RegExp): string[] {
  const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return all.filter((t) => !t.startsWith('__') && re.test(t)).sort();
}

/**
 * Reads the lag of `groupId` on `topics` (names, or a pattern resolved against
 * the cluster's topics). `admin` must be connected; its lifecycle stays the
 * caller's. Rejects only with LagUnavailable.
 */
export async function readLag(admin: Admin, groupId: string, topics: readonly string[] | RegExp, options: ReadLagOptions = {}): Promise<Lag> {
  const { timeoutMs = 10_000, signal } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LagUnavailable(groupId, 'timeout', `no answer from the brokers within ${timeoutMs} ms`)), timeoutMs);
    if (signal) {
      onAbort = () => reject(new LagUnavailable(groupId, 'aborted', describeError(signal.reason ?? 'aborted'), signal.reason));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([stop, fetchLag(admin, groupId, topics)]);
  } finally {
    clearTimeout(timer);
    if (signal && onAbort) signal.removeEventListener('abort', onAbort);
  }
}

async function step<T>(groupId: string, stage: LagStage, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw err instanceof LagUnavailable ? err : new LagUnavailable(groupId, stage, describeError(err), err);
  }
}

async function fetchLag(admin: Admin, groupId: string, topics: readonly string[] | RegExp): Promise<Lag> {
  // One metadata call first: kafkajs retries offsets of a missing topic for long
  // after the caller gave up, so an unknown topic is reported before asking.
  const existing = await step(groupId, 'listTopics', () => admin.listTopics());
  let names: string[];
  if (topics instanceof RegExp) names = matchTopics(existing, topics);
  else {
    names = [...new Set(topics)];
    const known = new Set(existing);
    const missing = names.filter((t) => !known.has(t));
    if (missing.length > 0) throw new LagUnavailable(groupId, 'unknownTopic', `topic${missing.length > 1 ? 's' : ''} not on the cluster: ${missing.join(', ')}`);
  }
  // kafkajs reads an empty topic list as "every topic the group committed to"
  if (names.length === 0) return { total: 0, topics: {}, partitions: [] };
  const [offsets, watermarks] = await Promise.all([
    step(groupId, 'fetchOffsets', () => admin.fetchOffsets({ groupId, topics: names })),
    Promise.all(names.map((topic) => step(groupId, 'fetchTopicOffsets', async () => (await admin.fetchTopicOffsets(topic)).map((p) => ({ topic, partition: p.partition, high: p.high, low: p.low }))))),
  ]);
  const committed = offsets.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset })));
  try {
    return computeLag(committed, watermarks.flat());
  } catch (err) {
    throw new LagUnavailable(groupId, 'compute', describeError(err), err);
  }
}

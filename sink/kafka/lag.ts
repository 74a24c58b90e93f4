// rockset_sink_partition_lag as the truth: records between the group's committed offset
// and the partition's high watermark, for the partitions this member owns now. Fed by
// every fetch (its high watermark), every commit, and a watermark refresh while no fetch
// comes (a Rockset outage holds the partition's batch, so kafkajs fetches it no more);
// a partition that leaves the member takes its series with it.
//
// Held records: a read_committed consumer reads no further than the partition's last
// stable offset, the first offset of its oldest open transaction. Once the group has
// committed up to there, the records past it wait for that transaction to end (the
// broker aborts it after the producer's transaction.timeout.ms; a hanging one, never),
// and the lag stands still with nothing failing: rockset_sink_partition_held_records
// says how many wait, and heldLongerThan names the partitions for a warning.
import type { Gauge } from 'prom-client';

interface PartitionState {
  committed?: bigint;
  high?: bigint;
  /** performance.now() of the last high watermark seen. */
  highAt: number;
  /** The last stable offset of the last fetch (read_committed). */
  stable?: bigint;
  /** performance.now() since records have been held past this same stable offset, and whether that was reported. */
  heldSince?: number;
  heldAt?: bigint;
  heldReported?: boolean;
}

export interface HeldPartition {
  topic: string;
  partition: number;
  /** The last stable offset: where reading stops. */
  stable: string;
  held: number;
  forMs: number;
}

const key = (topic: string, partition: number) => `${partition}:${topic}`;

export class PartitionLag {
  readonly #gauge: Gauge<'topic' | 'partition'>;
  readonly #now: () => number;
  readonly #held: Gauge<'topic' | 'partition'> | undefined;
  #parts = new Map<string, { topic: string; partition: number; s: PartitionState }>();

  constructor(gauge: Gauge<'topic' | 'partition'>, now: () => number = () => performance.now(), held?: Gauge<'topic' | 'partition'>) {
    this.#gauge = gauge;
    this.#now = now;
    this.#held = held;
  }

  /** The member's assignment after a (re)join: series of partitions it no longer owns go. */
  assigned(assignment: Record<string, number[]>): void {
    const keep = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => key(t, p))));
    for (const [k, { topic, partition }] of this.#parts) {
      if (keep.has(k)) continue;
      this.#parts.delete(k);
      this.#gauge.remove({ topic, partition: String(partition) });
      this.#held?.remove({ topic, partition: String(partition) });
    }
    for (const [topic, ps] of Object.entries(assignment)) for (const partition of ps) this.#state(topic, partition);
  }

  /** Every series goes (the consumer stopped or left the group). */
  clear(): void {
    this.#parts.clear();
    this.#gauge.reset();
    this.#held?.reset();
  }

  /** The group's committed offset (the next offset to read), from a commit or from the broker. */
  committed(topic: string, partition: number, next: string | bigint): void {
    const s = this.#parts.get(key(topic, partition))?.s;
    if (!s) return; // not ours (any more)
    const n = BigInt(next);
    if (n < 0n) return; // the group has no offset yet
    if (s.committed === undefined || n > s.committed) s.committed = n;
    this.#set(topic, partition, s);
  }

  /**
   * Where a fetch started: until a commit says otherwise, that is where the group stands
   * (kafkajs fetches a newly assigned partition from its committed offset, or from where
   * kafka.fromBeginning puts a group without one).
   */
  fetchedFrom(topic: string, partition: number, offset: string | null): void {
    const s = this.#parts.get(key(topic, partition))?.s;
    if (!s || offset === null || s.committed !== undefined) return;
    s.committed = BigInt(offset);
    this.#set(topic, partition, s);
  }

  /** A high watermark from a fetch or a ListOffsets answer. */
  highWatermark(topic: string, partition: number, high: string | bigint): void {
    const s = this.#parts.get(key(topic, partition))?.s;
    if (!s) return;
    s.high = BigInt(high);
    s.highAt = this.#now();
    this.#set(topic, partition, s);
  }

  /** A fetch's high watermark and last stable offset (read_committed; negative: none given). */
  fetched(topic: string, partition: number, high: string, stable: string): void {
    const s = this.#parts.get(key(topic, partition))?.s;
    if (!s) return;
    const lso = BigInt(stable);
    if (lso >= 0n) s.stable = lso;
    this.highWatermark(topic, partition, high);
  }

  /** Partitions whose records have waited past their last stable offset for `ms` or more; each reported once per wait. */
  heldLongerThan(ms: number): HeldPartition[] {
    const now = this.#now();
    const out: HeldPartition[] = [];
    for (const { topic, partition, s } of this.#parts.values()) {
      if (s.heldSince === undefined || s.heldReported || now - s.heldSince < ms) continue;
      s.heldReported = true;
      out.push({ topic, partition, stable: String(s.stable), held: Number(s.high! - s.stable!), forMs: now - s.heldSince });
    }
    return out;
  }

  /** Partitions whose high watermark is older than `ms` (or unknown), and those without a known committed offset. */
  stale(ms: number): { watermarks: Array<{ topic: string; partition: number }>; committed: Array<{ topic: string; partition: number }> } {
    const now = this.#now();
    const watermarks: Array<{ topic: string; partition: number }> = [];
    const committed: Array<{ topic: string; partition: number }> = [];
    for (const { topic, partition, s } of this.#parts.values()) {
      if (s.high === undefined || now - s.highAt >= ms) watermarks.push({ topic, partition });
      if (s.committed === undefined) committed.push({ topic, partition });
    }
    return { watermarks, committed };
  }

  #state(topic: string, partition: number): PartitionState {
    const k = key(topic, partition);
    let e = this.#parts.get(k);
    if (!e) {
      e = { topic, partition, s: { highAt: -Infinity } };
      this.#parts.set(k, e);
    }
    return e.s;
  }

  #set(topic: string, partition: number, s: PartitionState): void {
    if (s.committed === undefined || s.high === undefined) return;
    const lag = s.high - s.committed;
    this.#gauge.set({ topic, partition: String(partition) }, Number(lag > 0n ? lag : 0n));
    const held = s.stable !== undefined && s.stable < s.high && s.committed >= s.stable ? s.high - s.stable : 0n;
    if (held === 0n) {
      s.heldSince = undefined;
      s.heldReported = false;
    } else if (s.heldSince === undefined || s.heldAt !== s.stable) {
      // a stable offset that moves is transactions ending (a producer that always has
      // one open, as Flink's does): only a wait at the same offset is worth a warning
      s.heldSince = this.#now();
      s.heldAt = s.stable;
      s.heldReported = false;
    }
    this.#held?.set({ topic, partition: String(partition) }, Number(held));
  }
}

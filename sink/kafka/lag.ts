// rockset_sink_partition_lag as the truth: records between the group's committed offset
// and the partition's high watermark, for the partitions this member owns now. Fed by
// every fetch (its high watermark), every commit, and a watermark refresh while no fetch
// comes (a Rockset outage holds the partition's batch, so kafkajs fetches it no more);
// a partition that leaves the member takes its series with it.
import type { Gauge } from 'prom-client';

interface PartitionState {
  committed?: bigint;
  high?: bigint;
  /** performance.now() of the last high watermark seen. */
  highAt: number;
}

const key = (topic: string, partition: number) => `${partition}:${topic}`;

export class PartitionLag {
  readonly #gauge: Gauge<'topic' | 'partition'>;
  readonly #now: () => number;
  #parts = new Map<string, { topic: string; partition: number; s: PartitionState }>();

  constructor(gauge: Gauge<'topic' | 'partition'>, now: () => number = () => performance.now()) {
    this.#gauge = gauge;
    this.#now = now;
  }

  /** The member's assignment after a (re)join: series of partitions it no longer owns go. */
  assigned(assignment: Record<string, number[]>): void {
    const keep = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => key(t, p))));
    for (const [k, { topic, partition }] of this.#parts) {
      if (keep.has(k)) continue;
      this.#parts.delete(k);
      this.#gauge.remove({ topic, partition: String(partition) });
    }
    for (const [topic, ps] of Object.entries(assignment)) for (const partition of ps) this.#state(topic, partition);
  }

  /** Every series goes (the consumer stopped or left the group). */
  clear(): void {
    this.#parts.clear();
    this.#gauge.reset();
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
  }
}

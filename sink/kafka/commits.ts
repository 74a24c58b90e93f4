// The order of one partition's offset commits.
/**
 * Commits of one partition go out one at a time and never backwards: a commit past
 * filtered records (from kafkajs's batch events) and the pipeline's own commits would
 * otherwise race, and a late, lower one would rewind the group.
 */
export class CommitQueue {
  #chains = new Map<string, Promise<unknown>>();
  #floors = new Map<string, bigint>();

  /** Runs `send` after the partition's earlier commits; resolves false (sending nothing) when `nextOffset` is not past what was committed. */
  commit(topic: string, partition: number, nextOffset: string, send: () => Promise<void>): Promise<boolean> {
    const k = `${partition}:${topic}`;
    const run = async (): Promise<boolean> => {
      const n = BigInt(nextOffset);
      const floor = this.#floors.get(k);
      if (floor !== undefined && n <= floor) return false;
      await send();
      this.#floors.set(k, n);
      return true;
    };
    const result = (this.#chains.get(k) ?? Promise.resolve()).then(run, run);
    this.#chains.set(k, result.catch(() => undefined));
    return result;
  }

  /** A new generation: the group's offsets are whatever it has now (another member may have committed, an admin may have reset them). */
  rejoined(): void {
    this.#floors.clear();
  }
}

export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * One consumer's offset commits, sent together: commits asked for in the same turn of
 * the event loop, or while a commit request is in flight, go out as one OffsetCommit
 * request. Each partition of a fetch finishes its writes on its own and commits; sent one
 * by one they queued at the group coordinator, and the fetch cycle waited for the last of
 * them. The caller's promise settles with the request that carried its offset.
 */
export class CommitBatcher {
  #pending: Array<{ offset: PartitionOffset; resolve: () => void; reject: (err: unknown) => void }> = [];
  #sending = false;
  readonly #send: (offsets: PartitionOffset[]) => Promise<void>;
  readonly #observe: ((seconds: number, ok: boolean) => void) | undefined;

  /** `observe` hears of every request sent: how long it took and whether it committed. */
  constructor(send: (offsets: PartitionOffset[]) => Promise<void>, observe?: (seconds: number, ok: boolean) => void) {
    this.#send = send;
    this.#observe = observe;
  }

  commit(offset: PartitionOffset): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ offset, resolve, reject });
      if (this.#pending.length === 1 && !this.#sending) setImmediate(() => void this.#flush());
    });
  }

  // Scheduled only by the commit that finds nothing pending and nothing in flight: never re-entered.
  async #flush(): Promise<void> {
    this.#sending = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        const started = performance.now();
        try {
          await this.#send(batch.map((b) => b.offset));
          this.#observe?.((performance.now() - started) / 1000, true);
          for (const b of batch) b.resolve();
        } catch (err) {
          this.#observe?.((performance.now() - started) / 1000, false);
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.#sending = false;
    }
  }
}

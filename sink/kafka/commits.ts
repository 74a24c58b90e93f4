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

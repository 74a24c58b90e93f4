// A keyed work queue with client-go's semantics (util/workqueue), which a
// reconciler needs to be correct rather than merely busy:
// - a key waits in the queue at most once, however many events name it (dedup);
// - a key is never processed by two workers at once; an add while it is being
//   processed marks it dirty and it runs again once the current pass is done;
// - failures back off per key (exponential, capped) and forget() resets that;
// - addAfter() schedules a key (periodic re-checks, lag refresh) without busy loops.
// Keys are strings ("namespace/name"). Timers are unref'd so the queue never keeps
// the process alive by itself.

export interface QueueOptions {
  /** First retry delay of a failing key (ms). */
  baseDelayMs?: number;
  /** Cap of the per-key retry delay (ms). */
  maxDelayMs?: number;
}

export class WorkQueue {
  readonly #queue: string[] = [];
  /** Keys waiting to be processed (in #queue, or to be re-queued when their pass ends). */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  #shutDown = false;

  constructor(options: QueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 200;
    this.#maxDelayMs = options.maxDelayMs ?? 300_000;
  }

  /** Keys waiting (not counting ones being processed or scheduled for later). */
  get length(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
    } else this.#queue.push(key);
  }

  /** Adds the key after `ms`; an earlier schedule of the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shutDown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const existing = this.#timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.#timers.set(key, { at, timer });
  }

  /** Re-adds a failed key after its backoff: base * 2^failures, capped. */
  addRateLimited(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    const delay = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.min(n, 30));
    this.addAfter(key, delay);
    return delay;
  }

  /** The key succeeded: its next failure starts from the base delay again. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to process, or undefined once shut down. Call done(key) after. */
  get(): Promise<string | undefined> {
    if (this.#shutDown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shutDown) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  shutDown(): void {
    this.#shutDown = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const w of this.#waiters.splice(0)) w(undefined);
  }
}

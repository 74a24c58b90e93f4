// A list-then-watch informer (client-go's reflector, small), written here rather than
// taken from client-node's makeInformer because that one stays down after any error
// other than 410/timeout, resets its own backoff on restart, never relists
// periodically and aborts quiet watches (reference/operator-pitfalls.md §1). This one:
// - lists (plain JSON, with the list's resourceVersion) and diffs into the cache, so
//   a relist emits ADDED/MODIFIED/DELETED for what changed while it was away;
// - watches from that resourceVersion with bookmarks and a server-side timeout, and
//   resumes from the last seen version after a clean close;
// - on 410 Gone relists; on any other error (connection refused while the API server
//   restarts, 5xx, 403) retries with capped exponential backoff, reset by a success;
// - relists on a timer even when nothing failed (missed events cannot linger);
// - `metadataOnly` lists and watches PartialObjectMetadata: the Secret informer never
//   receives values; `transform` runs before anything is cached.
// Handlers only get (type, object) and should just enqueue keys.
import { Watch, type KubeConfig, type RequestContext } from '@kubernetes/client-node';
import { apiRequest } from './api-request.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Meta {
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[] };
}

export interface InformerLog {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface InformerOptions<T extends Meta> {
  /** For logs, e.g. "deployments in all namespaces". */
  name: string;
  /** Collection path, e.g. /apis/apps/v1/deployments or /api/v1/namespaces/x/secrets. */
  path: string;
  labelSelector?: string;
  transform?: (obj: T) => T;
  /**
   * List and watch PartialObjectMetadata only (metadata, no data): the API server never
   * sends the rest, e.g. a Secret's values, to this process.
   */
  metadataOnly?: boolean;
  onEvent: (type: EventType, obj: T) => void;
  /** Relist even without errors (default 5 min). */
  relistIntervalMs?: number;
  /** Reconnect backoff bounds (default 500 ms .. 30 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  log?: InformerLog;
}

const LIST_TIMEOUT_MS = 60_000;
/** Accept header for PartialObjectMetadata (metadata, no data); `${METADATA_ACCEPT}List` for lists. */
export const METADATA_ACCEPT = 'application/json;g=meta.k8s.io;v=v1;as=PartialObjectMetadata';

/** client-node's Watch sets no Accept header of its own: one kubeconfig view that adds it. */
function withAccept(kc: KubeConfig, accept: string): KubeConfig {
  return {
    getCurrentCluster: () => kc.getCurrentCluster(),
    applySecurityAuthentication: async (ctx: RequestContext) => {
      await kc.applySecurityAuthentication(ctx);
      ctx.setHeaderParam('Accept', accept);
    },
  } as unknown as KubeConfig;
}

const key = (o: Meta): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class Informer<T extends Meta> {
  readonly #kc: KubeConfig;
  readonly #opts: InformerOptions<T>;
  readonly #cache = new Map<string, T>();
  #resourceVersion = '';
  #stopped = false;
  #synced = false;
  #syncedWaiters: (() => void)[] = [];
  #failures = 0;
  #lastListAt = 0;
  #abort: AbortController | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(kc: KubeConfig, opts: InformerOptions<T>) {
    this.#kc = kc;
    this.#opts = opts;
  }

  get synced(): boolean {
    return this.#synced;
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(`${namespace ?? ''}/${name}`);
  }

  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run();
  }

  /** Resolves once the first list has been cached. */
  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncedWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort();
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const relistMs = this.#opts.relistIntervalMs ?? 300_000;
    let needList = true;
    while (!this.#stopped) {
      try {
        if (needList || Date.now() - this.#lastListAt >= relistMs) {
          await this.#relist();
          needList = false;
        }
        const started = Date.now();
        const outcome = await this.#watch(relistMs - (Date.now() - this.#lastListAt));
        if (outcome === 'gone') needList = true;
        // A watch that ends at once without an error still must not spin.
        if (outcome === 'error' || (outcome === 'ok' && !this.#stopped && Date.now() - started < 1000 && Date.now() - this.#lastListAt < relistMs)) await this.#backoff();
        else if (outcome === 'ok') this.#failures = 0;
      } catch (err) {
        if (this.#stopped) break;
        needList = true;
        this.#opts.log?.warn({ informer: this.#opts.name, err: describe(err) }, 'list failed; retrying');
        await this.#backoff();
      }
    }
  }

  async #backoff(): Promise<void> {
    const min = this.#opts.minBackoffMs ?? 500;
    const max = this.#opts.maxBackoffMs ?? 30_000;
    const ms = Math.min(max, min * 2 ** Math.min(this.#failures, 20));
    this.#failures++;
    await this.#sleep(ms * (0.8 + Math.random() * 0.4));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  async #relist(): Promise<void> {
    this.#abort = new AbortController();
    // Bounded like every request (a list only reads, so more generously than a write).
    const list = await apiRequest<{ apiVersion?: string; kind?: string; metadata: { resourceVersion: string }; items: T[] | null }>(this.#kc, 'GET', this.#opts.path, {
      query: { labelSelector: this.#opts.labelSelector },
      signal: this.#abort.signal,
      guard: { timeoutMs: LIST_TIMEOUT_MS },
      ...(this.#opts.metadataOnly ? { accept: `${METADATA_ACCEPT}List` } : {}),
    });
    const fresh = new Map<string, T>();
    // A list's items come without apiVersion and kind (a watch's objects carry them):
    // cached objects look the same whichever way they arrived.
    const typeMeta = { apiVersion: list.apiVersion, kind: list.kind?.replace(/List$/, '') };
    // A metadata-only list of nothing has items: null.
    for (const raw of list.items ?? []) {
      const typed = { ...typeMeta, ...raw } as T;
      const obj = this.#opts.transform ? this.#opts.transform(typed) : typed;
      fresh.set(key(obj), obj);
    }
    const old = new Map(this.#cache);
    this.#cache.clear();
    for (const [k, obj] of fresh) this.#cache.set(k, obj);
    this.#resourceVersion = list.metadata.resourceVersion;
    this.#lastListAt = Date.now();
    this.#failures = 0;
    for (const [k, obj] of fresh) {
      const prev = old.get(k);
      if (!prev) this.#emit('ADDED', obj);
      else if (prev.metadata.resourceVersion !== obj.metadata.resourceVersion) this.#emit('MODIFIED', obj);
    }
    for (const [k, obj] of old) if (!fresh.has(k)) this.#emit('DELETED', obj);
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncedWaiters.splice(0)) w();
    }
    this.#opts.log?.debug({ informer: this.#opts.name, items: fresh.size }, 'listed');
  }

  #emit(type: EventType, obj: T): void {
    try {
      this.#opts.onEvent(type, obj);
    } catch (err) {
      this.#opts.log?.warn({ informer: this.#opts.name, err: describe(err) }, 'event handler threw');
    }
  }

  /** Watches until the server closes (ok), the relist is due, 410 (gone) or an error. */
  #watch(untilRelistMs: number): Promise<'ok' | 'gone' | 'error'> {
    if (untilRelistMs <= 0) return Promise.resolve('ok');
    const timeoutSeconds = Math.max(1, Math.min(Math.ceil(untilRelistMs / 1000), 300 + Math.floor(Math.random() * 300)));
    const watch = new Watch(this.#opts.metadataOnly ? withAccept(this.#kc, METADATA_ACCEPT) : this.#kc);
    // Client-side inactivity guard: bookmarks and the server's own timeout keep data flowing.
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = (timeoutSeconds + 30) * 1000;
    return new Promise((resolve) => {
      let outcome: 'ok' | 'gone' | 'error' = 'ok';
      let settled = false;
      const finish = (o: 'ok' | 'gone' | 'error') => {
        if (settled) return;
        settled = true;
        this.#wake = undefined;
        resolve(o);
      };
      const query = { resourceVersion: this.#resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds), labelSelector: this.#opts.labelSelector };
      const onEvent = (type: string, obj: unknown) => {
        if (type === 'BOOKMARK') {
          const rv = (obj as Meta).metadata?.resourceVersion;
          if (rv) this.#resourceVersion = rv;
          return;
        }
        if (type === 'ERROR') {
          const status = obj as { code?: number; message?: string };
          outcome = status.code === 410 ? 'gone' : 'error';
          if (outcome === 'error') this.#opts.log?.warn({ informer: this.#opts.name, code: status.code, message: status.message }, 'watch error');
          controller?.abort();
          return;
        }
        if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
        const item = this.#opts.transform ? this.#opts.transform(obj as T) : (obj as T);
        if (item.metadata.resourceVersion) this.#resourceVersion = item.metadata.resourceVersion;
        if (type === 'DELETED') this.#cache.delete(key(item));
        else this.#cache.set(key(item), item);
        this.#failures = 0;
        this.#emit(type, item);
      };
      let controller: AbortController | undefined;
      const done = (err: unknown) => {
        if (err && outcome === 'ok' && !this.#stopped) {
          const code = (err as { statusCode?: number }).statusCode;
          outcome = code === 410 ? 'gone' : 'error';
          if (outcome === 'error') this.#opts.log?.warn({ informer: this.#opts.name, err: describe(err) }, 'watch ended; reconnecting');
        }
        finish(outcome);
      };
      this.#wake = () => {
        controller?.abort();
        finish('ok');
      };
      watch.watch(this.#opts.path, query, onEvent, done).then(
        (c) => {
          controller = c;
          if (this.#stopped || settled) c.abort();
        },
        (err) => done(err ?? new Error('watch failed')),
      );
    });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ? `${err.message} (${cause.code})` : err.message;
  }
  return String(err);
}

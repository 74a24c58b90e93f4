// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules
// (tools/leaderelection), because client-node has none and the npm one judges expiry
// by comparing clocks (reference/operator-pitfalls.md §3):
// - a candidate takes over only after the Lease record stayed unchanged for
//   leaseDuration on its OWN clock (clock skew between replicas does not matter);
// - writes are optimistic (resourceVersion), so two candidates cannot both win;
// - the leader renews every retryPeriod and gives up when it could not renew for
//   renewDeadline; the caller then stops acting (main exits, as controller-runtime does);
// - mayAct() is the fence every write checks: true only while the last successful
//   renewal is younger than renewDeadline on a monotonic clock, so a process frozen
//   past its lease (SIGSTOP, a paused VM) that wakes up sends no write before it has
//   renewed, even though its timers and buffered watch events fire before the renewal;
// - every Lease request is bounded by the time left until the renew deadline, so a hung
//   connection (an API server restart) cannot keep the loop waiting past it;
// - release() (on a clean shutdown, after the work stopped) empties the holder so a
//   standby takes over at once instead of after leaseDuration.
import type { KubeConfig } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import { ApiError, apiRequest, microTime, type RequestOptions } from './api-request.ts';

// Monotonic: a wall clock stepped by NTP must not extend (or cut) the renew deadline.
const now = (): number => performance.now();

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

export class LeaderElector {
  readonly #kc: KubeConfig;
  readonly #o: Required<Omit<LeaderElectionOptions, 'log'>> & Pick<LeaderElectionOptions, 'log'>;
  #observed: string | undefined;
  #observedAt = 0;
  #lease: Lease | undefined;
  #leading = false;
  /** When the last successful acquire or renewal was sent (monotonic ms). */
  #renewedAt = -Infinity;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;

  constructor(kc: KubeConfig, opts: LeaderElectionOptions) {
    this.#kc = kc;
    this.#o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
    if (!(this.#o.leaseDurationMs > this.#o.renewDeadlineMs && this.#o.renewDeadlineMs > 1.2 * this.#o.retryPeriodMs)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > 1.2 x retryPeriod');
    }
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** True while this replica leads and renewed within renewDeadline: the write fence. */
  mayAct(): boolean {
    return this.#leading && now() - this.#renewedAt < this.#o.renewDeadlineMs;
  }

  /** Time left until the renew deadline, as a request timeout (at least one retry period). */
  #timeoutMs(): number {
    const left = this.#leading ? this.#o.renewDeadlineMs - (now() - this.#renewedAt) : this.#o.renewDeadlineMs;
    return Math.max(this.#o.retryPeriodMs, Math.min(this.#o.renewDeadlineMs, left));
  }

  #request<T>(method: 'GET' | 'POST' | 'PUT', path: string, opts: RequestOptions = {}): Promise<T> {
    return apiRequest<T>(this.#kc, method, path, { ...opts, guard: { timeoutMs: this.#timeoutMs() } });
  }

  get #path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.#o.namespace}/leases`;
  }

  /** Resolves when this replica leads; undefined if stop() came first. */
  async acquire(): Promise<boolean> {
    let logged = false;
    while (!this.#stopped) {
      if (await this.#tryAcquireOrRenew()) {
        this.#leading = true;
        this.#o.log?.info({ lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.#o.identity }, 'became leader');
        return true;
      }
      if (!logged) {
        this.#o.log?.info({ lease: `${this.#o.namespace}/${this.#o.name}`, holder: this.#lease?.spec?.holderIdentity }, 'standing by: another replica leads');
        logged = true;
      }
      await this.#sleep(this.#o.retryPeriodMs * (1 + Math.random() * 0.2));
    }
    return false;
  }

  /** Renews until renewal fails for renewDeadline (resolves 'lost') or stop() (resolves 'stopped'). */
  async hold(): Promise<'lost' | 'stopped'> {
    while (!this.#stopped) {
      await this.#sleep(this.#o.retryPeriodMs);
      if (this.#stopped) break;
      if (!(await this.#tryAcquireOrRenew()) && (now() - this.#renewedAt >= this.#o.renewDeadlineMs || (this.#lease?.spec?.holderIdentity ?? '') !== this.#o.identity)) {
        this.#leading = false;
        this.#o.log?.warn({ lease: `${this.#o.namespace}/${this.#o.name}`, holder: this.#lease?.spec?.holderIdentity }, 'leader election lost');
        return 'lost';
      }
    }
    return 'stopped';
  }

  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  /** Gives the Lease up (only once the guarded work has stopped). */
  async release(): Promise<void> {
    if (!this.#leading || !this.#lease) return;
    this.#leading = false;
    const now = microTime(new Date());
    const body: Lease = { ...this.#lease, spec: { ...this.#lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } };
    try {
      await this.#request('PUT', `${this.#path}/${this.#o.name}`, { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...body } });
    } catch (err) {
      this.#o.log?.warn({ err: (err as Error).message }, 'could not release the leader lease');
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(this.#timer);
        resolve();
      };
    });
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const sentAt = now();
    const wall = new Date();
    const mine = (lease: Lease | undefined): Lease['spec'] => {
      const prev = lease?.spec;
      const wasMine = prev?.holderIdentity === this.#o.identity;
      return {
        holderIdentity: this.#o.identity,
        leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
        acquireTime: wasMine && prev?.acquireTime ? prev.acquireTime : microTime(wall),
        renewTime: microTime(wall),
        leaseTransitions: (prev?.leaseTransitions ?? 0) + (prev && !wasMine && prev.holderIdentity ? 1 : 0),
      };
    };
    let lease: Lease | undefined;
    try {
      lease = await this.#request<Lease>('GET', `${this.#path}/${this.#o.name}`);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) {
        this.#o.log?.warn({ err: (err as Error).message }, 'could not read the leader lease');
        return false;
      }
    }
    if (!lease) {
      try {
        this.#lease = await this.#request<Lease>('POST', this.#path, {
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.#o.name, namespace: this.#o.namespace }, spec: mine(undefined) },
        });
        this.#renewedAt = sentAt;
        return true;
      } catch (err) {
        this.#o.log?.warn({ err: (err as Error).message }, 'could not create the leader lease');
        return false;
      }
    }
    this.#lease = lease;
    const record = JSON.stringify(lease.spec ?? {});
    if (record !== this.#observed) {
      this.#observed = record;
      this.#observedAt = now();
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const durationMs = (lease.spec?.leaseDurationSeconds ?? Math.ceil(this.#o.leaseDurationMs / 1000)) * 1000;
    if (holder !== '' && holder !== this.#o.identity && now() < this.#observedAt + durationMs) return false;
    try {
      this.#lease = await this.#request<Lease>('PUT', `${this.#path}/${this.#o.name}`, {
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: lease.metadata, spec: mine(lease) },
      });
      this.#observed = JSON.stringify(this.#lease.spec ?? {});
      this.#observedAt = now();
      // Counted from when the renewal was sent: the Lease cannot have been valid longer.
      this.#renewedAt = sentAt;
      return true;
    } catch (err) {
      // 409: another replica wrote first; it leads.
      if (!(err instanceof ApiError && err.code === 409)) this.#o.log?.warn({ err: (err as Error).message }, 'could not update the leader lease');
      return false;
    }
  }
}

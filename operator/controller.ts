// The control loop: informers turn API changes into sink keys, a work queue hands
// each key to one worker at a time, reconcile() does one pass, and the result
// decides what happens next (forget, back off, retry on error). Watched, per
// namespace in the list or cluster-wide:
// - RocksetSinks (the key itself);
// - Deployments and ConfigMaps labelled as ours (their controlling owner's key);
// - the sinks' pods (their instance label: a crash or a termination reason shows up at once);
// - Secrets, metadata only (every sink that references the Secret by name), when watchSecrets is on.
// Every sink is also re-queued on a resync interval, and the lag poller queues a sink
// whose lag changed. Reconcile passes are write-free when nothing changed, so
// neither the resync nor the informers' relists cause API writes.
import type { KubeConfig } from '@kubernetes/client-node';
import type { RequestGuard } from './api-request.ts';
import type { Logger } from 'pino';
import { GROUP, KIND, PLURAL, VERSION, type RocksetSink } from './api/rocksetsink.ts';
import { EventRecorder } from './events.ts';
import { Informer, type EventType, type Meta } from './informer.ts';
import { cachedKube } from './cached-kube.ts';
import { createKube, type ExistingObject, type Kube, type PodInfo } from './kube.ts';
import { groupConflicts, groupUse, type GroupUse } from './group-conflicts.ts';
import { LagPoller } from './lag-poller.ts';
import type { OperatorMetrics } from './metrics.ts';
import { WorkQueue } from './queue.ts';
import { reconcile } from './reconcile.ts';
import { secretMounts } from './render/config.ts';
import { MANAGED_BY } from './render/meta.ts';

export interface ControllerOptions {
  kc: KubeConfig;
  /** Namespaces to watch; empty: all. */
  namespaces: string[];
  image: string;
  log: Logger;
  metrics: OperatorMetrics;
  /** Identity for Events (the pod name). */
  identity: string;
  lagIntervalMs: number;
  workers?: number;
  resyncIntervalMs?: number;
  relistIntervalMs?: number;
  /** Timeouts and the leader fence for every API request (operator/leader.ts). */
  guard?: RequestGuard;
  /**
   * true: watch Secrets (metadata only; RBAC list and watch): a rotation rolls the workers
   * at once. false (the default): each pass reads the metadata of the sink's Secrets by
   * name (RBAC get only), and a rotation is seen at the sink's next pass (any change to
   * the sink, its Deployment or its pods, at the latest after resyncIntervalMs).
   */
  watchSecrets?: boolean;
  /** Rockset API hosts sinks may use (api-hosts.ts); empty: any. */
  allowedApiHosts?: string[];
}

const MANAGED = `app.kubernetes.io/managed-by=${MANAGED_BY}`;

/** What the operator keeps of a Secret: it only ever receives its metadata. */
export type SecretMeta = Meta;

// What the caches keep: managedFields (often the largest part of an object) are never
// read, and of a pod only what the status needs. With 500 sinks the caches hold ~2,000
// objects; a heap snapshot put them at a few MB after these cuts.
export function withoutManagedFields<T extends Meta>(o: T): T {
  const { managedFields: _, ...metadata } = o.metadata as T['metadata'] & { managedFields?: unknown };
  return { ...o, metadata };
}

interface RawPod extends Meta {
  metadata: Meta['metadata'] & { deletionTimestamp?: string };
  status?: { containerStatuses?: Record<string, unknown>[]; conditions?: { type: string }[] };
}

/** The named fields of `o` that are set. */
function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

export function podSummary(p: RawPod): RawPod {
  return {
    metadata: pick(p.metadata, ['name', 'namespace', 'labels', 'resourceVersion', 'uid', 'ownerReferences', 'deletionTimestamp']),
    status: {
      containerStatuses: (p.status?.containerStatuses ?? []).map(({ name: c, ready, restartCount, state, lastState }) => ({ name: c, ready, restartCount, state, lastState })),
      conditions: (p.status?.conditions ?? []).filter((c) => c.type === 'PodScheduled'),
    },
  };
}

export function secretMeta(s: Meta): SecretMeta {
  return { metadata: pick(s.metadata, ['name', 'namespace', 'resourceVersion', 'uid']) };
}

function collection(group: string, version: string, plural: string, namespace: string | undefined): string {
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  return namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`;
}

export class Controller {
  readonly #o: ControllerOptions;
  readonly kube: Kube;
  readonly #events: EventRecorder;
  readonly #queue = new WorkQueue({ baseDelayMs: 1000, maxDelayMs: 300_000 });
  readonly #sinkInformers: Informer<RocksetSink & Meta>[] = [];
  readonly #informers: Informer<Meta>[] = [];
  // By kind, for the reconciler's cached reads (one informer per watched scope).
  readonly #deployments: Informer<Meta>[] = [];
  readonly #configMaps: Informer<Meta>[] = [];
  readonly #pods: Informer<Meta>[] = [];
  readonly #secrets: Informer<SecretMeta>[] = [];
  readonly #lag: LagPoller;
  #workers: Promise<void>[] = [];
  #resync: ReturnType<typeof setInterval> | undefined;
  #started = false;
  #pendingEvents: Promise<void> = Promise.resolve();
  /** Each watched sink's consumer group and brokers (namespace/name -> use), kept by the sink informers' events. */
  readonly #groupUses = new Map<string, GroupUse>();

  constructor(o: ControllerOptions) {
    this.#o = o;
    const live = createKube(o.kc, { ...(o.guard ? { guard: o.guard } : {}), onWrite: (kind) => o.metrics.apiWrites.inc({ kind }), onRead: (kind) => o.metrics.apiReads.inc({ kind }) });
    const find = <T extends Meta>(informers: { get(ns: string, name: string): T | undefined }[], ns: string, name: string): T | undefined => {
      for (const i of informers) {
        const hit = i.get(ns, name);
        if (hit) return hit;
      }
      return undefined;
    };
    this.kube = cachedKube(live, {
      sink: (ns, name) => find(this.#sinkInformers, ns, name),
      ...(o.watchSecrets === true
        ? {
            secret: (ns: string, name: string) => {
              const s = find(this.#secrets, ns, name);
              return s ? { resourceVersion: s.metadata.resourceVersion ?? '' } : undefined;
            },
          }
        : {}),
      configMap: (ns, name) => find(this.#configMaps, ns, name) as ExistingObject | undefined,
      deployment: (ns, name) => find(this.#deployments, ns, name) as ExistingObject | undefined,
      pods: (ns) => this.#pods.flatMap((i) => i.list()).filter((p) => p.metadata.namespace === ns) as unknown as (PodInfo & Meta)[],
    });
    this.#events = new EventRecorder(o.kc, { component: 'rockset-sink-operator', instance: o.identity, log: o.log, ...(o.guard ? { guard: o.guard } : {}) });
    const scopes: (string | undefined)[] = o.namespaces.length ? o.namespaces : [undefined];
    const relistIntervalMs = o.relistIntervalMs ?? 300_000;
    const log = o.log.child({ module: 'informer' });
    for (const ns of scopes) {
      const where = ns ? `namespace ${ns}` : 'all namespaces';
      this.#sinkInformers.push(
        new Informer<RocksetSink & Meta>(o.kc, {
          name: `rocksetsinks in ${where}`,
          path: collection(GROUP, VERSION, PLURAL, ns),
          relistIntervalMs,
          log,
          transform: withoutManagedFields,
          onEvent: (type, s) => {
            o.metrics.sinks.set(this.sinks().length);
            this.#enqueue(s.metadata.namespace, s.metadata.name);
            this.#groupPeersChanged(type, s);
          },
        }),
      );
      const owned = (plural: string, group: string, version: string) =>
        new Informer<Meta>(o.kc, {
          name: `${plural} in ${where}`,
          path: collection(group, version, plural, ns),
          labelSelector: MANAGED,
          relistIntervalMs,
          log,
          transform: withoutManagedFields,
          onEvent: (_type, obj) => {
            const owner = obj.metadata.ownerReferences?.find((r) => r.kind === KIND && r.controller);
            if (owner && obj.metadata.namespace) this.#enqueue(obj.metadata.namespace, owner.name);
          },
        });
      const deployments = owned('deployments', 'apps', 'v1');
      const configMaps = owned('configmaps', '', 'v1');
      this.#deployments.push(deployments);
      this.#configMaps.push(configMaps);
      const pods = new Informer<Meta>(o.kc, {
        name: `sink pods in ${where}`,
        path: collection('', 'v1', 'pods', ns),
        labelSelector: `${MANAGED},app.kubernetes.io/component=sink`,
        relistIntervalMs,
        log,
        transform: podSummary,
        onEvent: (_type, pod) => {
          const instance = pod.metadata.labels?.['app.kubernetes.io/instance'];
          if (instance && pod.metadata.namespace) this.#enqueue(pod.metadata.namespace, instance);
        },
      });
      this.#pods.push(pods);
      this.#informers.push(deployments, configMaps, pods);
      if (o.watchSecrets === true) {
        const secrets = new Informer<SecretMeta>(o.kc, {
          name: `secrets in ${where}`,
          path: collection('', 'v1', 'secrets', ns),
          relistIntervalMs,
          log,
          // Metadata only: the API server sends no values (nor annotations such as
          // kubectl's last-applied-configuration, which holds them) to this process. Key
          // names are never read: the kubelet finds a missing key (render/objects.ts).
          metadataOnly: true,
          transform: secretMeta,
          onEvent: (type, secret) => this.#secretChanged(type, secret),
        });
        this.#secrets.push(secrets);
        this.#informers.push(secrets);
      }
    }
    this.#lag = new LagPoller({
      sinks: () => this.sinks(),
      readSecretValue: (ns, name, key) => this.kube.readSecretValue(ns, name, key),
      changed: (ns, name) => this.#enqueue(ns, name),
      log: o.log.child({ module: 'lag' }),
      intervalMs: o.lagIntervalMs,
    });
  }

  sinks(): RocksetSink[] {
    return this.#sinkInformers.flatMap((i) => i.list());
  }

  /** Every informer has listed once. */
  get synced(): boolean {
    return this.#started && [...this.#sinkInformers, ...this.#informers].every((i) => i.synced);
  }

  async start(): Promise<void> {
    this.#started = true;
    for (const i of [...this.#sinkInformers, ...this.#informers]) i.start();
    await Promise.all([...this.#sinkInformers, ...this.#informers].map((i) => i.waitForSync()));
    this.#o.log.info({ sinks: this.sinks().length, namespaces: this.#o.namespaces.length ? this.#o.namespaces : 'all' }, 'caches synced; reconciling');
    const workers = this.#o.workers ?? 8;
    for (let i = 0; i < workers; i++) this.#workers.push(this.#work());
    this.#resync = setInterval(() => {
      for (const s of this.sinks()) this.#enqueue(s.metadata.namespace, s.metadata.name);
    }, this.#o.resyncIntervalMs ?? 600_000);
    this.#resync.unref();
    this.#lag.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.#resync);
    this.#queue.shutDown();
    await Promise.all([...this.#sinkInformers, ...this.#informers].map((i) => i.stop()));
    await Promise.all(this.#workers);
    await this.#pendingEvents;
    await this.#lag.stop();
  }

  /** Sinks sharing the old or new group of a changed sink: their conflict may have begun or ended. */
  #groupPeersChanged(type: EventType, sink: RocksetSink): void {
    const key = `${sink.metadata.namespace}/${sink.metadata.name}`;
    const before = this.#groupUses.get(key);
    const now = type === 'DELETED' ? undefined : groupUse(sink);
    if (now) this.#groupUses.set(key, now);
    else this.#groupUses.delete(key);
    // Status writes and other edits that keep the group and brokers concern no peer.
    if (before?.groupId === now?.groupId && JSON.stringify(before?.brokers) === JSON.stringify(now?.brokers)) return;
    for (const [k, other] of this.#groupUses) {
      if (k === key || (other.groupId !== before?.groupId && other.groupId !== now?.groupId)) continue;
      const [namespace, name] = k.split('/') as [string, string];
      this.#enqueue(namespace, name);
    }
  }

  #enqueue(namespace: string, name: string): void {
    this.#queue.add(`${namespace}/${name}`);
    this.#o.metrics.queueDepth.set(this.#queue.length);
  }

  #secretChanged(_type: EventType, secret: Meta): void {
    const ns = secret.metadata.namespace;
    for (const sink of this.sinks()) {
      if (sink.metadata.namespace !== ns) continue;
      let refs: string[];
      try {
        refs = secretMounts(sink.spec).map((m) => m.ref.name);
      } catch {
        continue; // an invalid spec references nothing we can resolve; its own reconcile says why
      }
      if (refs.includes(secret.metadata.name)) this.#enqueue(sink.metadata.namespace, sink.metadata.name);
    }
  }

  async #work(): Promise<void> {
    const { log, metrics } = this.#o;
    for (;;) {
      const key = await this.#queue.get();
      metrics.queueDepth.set(this.#queue.length);
      if (key === undefined) return;
      const slash = key.indexOf('/');
      const namespace = key.slice(0, slash);
      const name = key.slice(slash + 1);
      const end = metrics.reconcileSeconds.startTimer();
      try {
        const result = await reconcile({ namespace, name }, {
          kube: this.kube,
          now: () => new Date(),
          image: this.#o.image,
          allowedApiHosts: this.#o.allowedApiHosts ?? [],
          groupConflicts: (sink) => {
            const me = groupUse(sink);
            return me ? groupConflicts(me, [...this.#groupUses.values()]) : [];
          },
          readLag: async (s) => this.#lag.lag(s.metadata.namespace, s.metadata.name),
        });
        metrics.reconciles.inc({ result: result.outcome });
        if (result.sink) {
          const sink = result.sink;
          // Recorded in order, but without holding the worker (record() never throws).
          const events = result.events;
          for (const e of events) {
            log.info({ sink: key, reason: e.reason, type: e.type }, e.message);
            metrics.apiWrites.inc({ kind: 'event' });
          }
          if (events.length) this.#pendingEvents = this.#pendingEvents.then(async () => {
            for (const e of events) await this.#events.record(sink, e);
          });
        }
        if (result.outcome === 'done') this.#queue.forget(key);
        else this.#queue.addRateLimited(key);
      } catch (err) {
        metrics.reconciles.inc({ result: 'error' });
        metrics.reconcileErrors.inc();
        const delay = this.#queue.addRateLimited(key);
        log.warn({ sink: key, err: (err as Error).message, retryInMs: delay }, 'reconcile failed; retrying');
      } finally {
        end();
        this.#queue.done(key);
      }
    }
  }
}

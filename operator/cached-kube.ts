// The reconciler's reads served from the informers' caches; writes go to the API
// server. With 500 sinks every pass read the sink, its Secrets, ConfigMap,
// Deployment and pods from kube-apiserver, which on a small control plane was the
// bottleneck (kube-apiserver used 4x the operator's CPU). Two things keep cached reads
// as safe as live ones:
// - A ConfigMap or Deployment missing from the cache is read live: the informers only
//   see objects labelled as ours, and a foreign object of the same name must be
//   found (and refused), never overwritten. It also covers an object created a
//   moment ago whose watch event has not arrived yet.
// - What this operator just wrote is remembered until the cache has caught up with
//   it, so a pass right after a write compares against the write and neither applies
//   nor patches the status again (nor repeats its Events).
import type { RocksetSink } from './api/rocksetsink.ts';
import type { ExistingObject, Kube, PodInfo, SecretInfo } from './kube.ts';

export interface KubeCaches {
  sink(namespace: string, name: string): RocksetSink | undefined;
  /**
   * A Secret's version, from a metadata-only watch (no values, no key names). Absent when
   * the operator does not watch Secrets: they are then read by name on each pass.
   */
  secret?(namespace: string, name: string): SecretInfo | undefined;
  configMap(namespace: string, name: string): ExistingObject | undefined;
  deployment(namespace: string, name: string): ExistingObject | undefined;
  /** Cached pods of a namespace (the sinks' pods only). */
  pods(namespace: string): (PodInfo & { metadata: { labels?: Record<string, string> } })[];
}

type Versioned = { metadata: { resourceVersion?: string } };

// resourceVersions are etcd revisions in every API server this runs against; if one
// ever is not a number the cache wins (at worst one redundant, idempotent write).
const revision = (o: Versioned): bigint | undefined => {
  const v = o.metadata.resourceVersion;
  return v !== undefined && /^\d+$/.test(v) ? BigInt(v) : undefined;
};

/** Parses an equality label selector (k=v,k2=v2), as selectorString() writes them. */
export function selectorMatcher(selector: string): (labels: Record<string, string> | undefined) => boolean {
  const pairs = selector
    .split(',')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      if (i < 0) throw new Error(`unsupported label selector ${selector}`);
      return [p.slice(0, i), p.slice(i + 1)] as const;
    });
  return (labels) => pairs.every(([k, v]) => labels?.[k] === v);
}

export function cachedKube(live: Kube, caches: KubeCaches): Kube {
  const written = new Map<string, Versioned>();

  /** The newer of the cached object and the one this operator last wrote. */
  function fresher<T extends Versioned>(key: string, cached: T | undefined): T | undefined {
    const mine = written.get(key) as T | undefined;
    if (!mine) return cached;
    if (!cached) {
      // Deleted since (or not cached at all): the caller reads live where that matters.
      written.delete(key);
      return undefined;
    }
    const a = revision(cached);
    const b = revision(mine);
    if (a === undefined || b === undefined || a >= b) {
      written.delete(key);
      return cached;
    }
    return mine;
  }

  const remember = (key: string, obj: Versioned): void => {
    if (revision(obj) !== undefined) written.set(key, obj);
  };

  return {
    get writes() {
      return live.writes;
    },

    async getSink(namespace, name) {
      return fresher(`sink/${namespace}/${name}`, caches.sink(namespace, name));
    },

    async getSecretMeta(namespace, name) {
      // With the metadata watch its cache is the truth (a Secret created later wakes the
      // sink through the watch); without it, a metadata-only get by name.
      if (!caches.secret) return live.getSecretMeta(namespace, name);
      return caches.secret(namespace, name);
    },

    async getConfigMap(namespace, name) {
      return fresher(`configmap/${namespace}/${name}`, caches.configMap(namespace, name)) ?? live.getConfigMap(namespace, name);
    },

    async getDeployment(namespace, name) {
      return fresher(`deployment/${namespace}/${name}`, caches.deployment(namespace, name)) ?? live.getDeployment(namespace, name);
    },

    async listPods(namespace, labelSelector) {
      const matches = selectorMatcher(labelSelector);
      return caches.pods(namespace).filter((p) => matches(p.metadata.labels));
    },

    async applyOwned(obj) {
      const out = await live.applyOwned(obj);
      const kind = obj.kind === 'Deployment' ? 'deployment' : obj.kind === 'ConfigMap' ? 'configmap' : undefined;
      if (kind) remember(`${kind}/${obj.metadata.namespace}/${obj.metadata.name}`, out);
      return out;
    },

    async patchSinkStatus(namespace, name, status) {
      const out = await live.patchSinkStatus(namespace, name, status);
      remember(`sink/${namespace}/${name}`, out);
      return out;
    },

    readSecretValue: (namespace, name, key) => live.readSecretValue(namespace, name, key),
  };
}

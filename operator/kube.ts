// The operator's I/O layer: reads of the sink, its
// Secrets (metadata only: existence and resourceVersion), Deployment,
// ConfigMap and pods; server-side apply of owned objects; merge patches of the sink's
// status subresource. Every write is counted (tests assert that idle passes write nothing).
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type RocksetSink, type RocksetSinkStatus } from './api/rocksetsink.ts';
import { apiRequest, type RequestGuard } from './api-request.ts';
import { METADATA_ACCEPT } from './informer.ts';

export const FIELD_MANAGER = 'rockset-sink-operator';

/** What the operator knows about a Secret: its metadata (never its keys or values). */
export interface SecretInfo {
  resourceVersion: string;
}

export interface OwnerRef {
  uid: string;
  controller?: boolean;
}

/** The parts of an existing object the reconciler looks at (as plain JSON-like values). */
export interface ExistingObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; generation?: number; uid?: string; ownerReferences?: OwnerRef[]; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface PodInfo {
  metadata: { name: string; deletionTimestamp?: string };
  status?: {
    /** Only PodScheduled is kept (the scheduler's reason when it cannot place the pod). */
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: {
      name: string;
      ready?: boolean;
      restartCount: number;
      state?: { waiting?: { reason?: string } };
      lastState?: { terminated?: { exitCode: number; message?: string } };
    }[];
  };
}

export interface Kube {
  /** API writes made so far (applies and status patches). */
  readonly writes: number;
  getSink(namespace: string, name: string): Promise<RocksetSink | undefined>;
  /** A Secret's metadata (a PartialObjectMetadata GET: the API server sends no data), or undefined when it does not exist. */
  getSecretMeta(namespace: string, name: string): Promise<SecretInfo | undefined>;
  getConfigMap(namespace: string, name: string): Promise<ExistingObject | undefined>;
  getDeployment(namespace: string, name: string): Promise<ExistingObject | undefined>;
  listPods(namespace: string, labelSelector: string): Promise<PodInfo[]>;
  /** Server-side apply, field manager rockset-sink-operator, force. Returns the object as stored. */
  applyOwned(obj: KubernetesObject & { metadata: { name: string; namespace: string } }): Promise<ExistingObject>;
  /** Returns the sink as stored after the patch. */
  patchSinkStatus(namespace: string, name: string, status: RocksetSinkStatus): Promise<RocksetSink>;
  /** One Secret key's value, for the lag reader's Kafka admin only (never logged, never stored elsewhere). */
  readSecretValue(namespace: string, name: string, key: string): Promise<string | undefined>;
}

export interface KubeOptions {
  onWrite?(kind: 'apply' | 'status'): void;
  onRead?(kind: 'sink' | 'secret' | 'configmap' | 'deployment' | 'pods'): void;
  /** Timeouts and the leader fence for every request (operator/leader.ts). */
  guard?: RequestGuard;
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 404;
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function kubeConfigFromFile(path: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  if (context) kc.setCurrentContext(context);
  return kc;
}

const OWNED_PATHS: Record<string, (ns: string, name: string) => string> = {
  ConfigMap: (ns, name) => `/api/v1/namespaces/${ns}/configmaps/${name}`,
  Deployment: (ns, name) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
};

// Plain JSON requests (api-request.ts) rather than client-node's typed clients: each
// one carries the guard's timeout and, for writes, the leader fence.
export function createKube(kc: KubeConfig, opts: KubeOptions = {}): Kube {
  const guard = opts.guard;
  const get = <T>(path: string, accept?: string): Promise<T | undefined> => orUndefined(apiRequest<T>(kc, 'GET', path, { ...(guard ? { guard } : {}), ...(accept ? { accept } : {}) }));
  const sinkPath = (namespace: string, name: string) => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}/${name}`;
  let writes = 0;

  return {
    get writes() {
      return writes;
    },

    async getSink(namespace, name) {
      opts.onRead?.('sink');
      return get<RocksetSink>(sinkPath(namespace, name));
    },

    async getSecretMeta(namespace, name) {
      opts.onRead?.('secret');
      const s = await get<{ kind?: string; metadata: { resourceVersion?: string } }>(`/api/v1/namespaces/${namespace}/secrets/${name}`, METADATA_ACCEPT);
      if (!s) return undefined;
      // Every supported API server (1.15+) honours the Accept header; anything else is refused
      // rather than holding a Secret's data in this process.
      if (s.kind !== 'PartialObjectMetadata') throw new Error(`GET secret ${namespace}/${name}: expected PartialObjectMetadata, got ${String(s.kind)}`);
      return { resourceVersion: s.metadata.resourceVersion ?? '' };
    },

    // The one full read of a Secret: the lag reader's SASL password (lag-poller.ts).
    async readSecretValue(namespace, name, key) {
      opts.onRead?.('secret');
      const s = await get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/secrets/${name}`);
      const value = s?.data?.[key];
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
    },

    async getConfigMap(namespace, name) {
      opts.onRead?.('configmap');
      return get<ExistingObject>(OWNED_PATHS['ConfigMap']!(namespace, name));
    },

    async getDeployment(namespace, name) {
      opts.onRead?.('deployment');
      return get<ExistingObject>(OWNED_PATHS['Deployment']!(namespace, name));
    },

    async listPods(namespace, labelSelector) {
      opts.onRead?.('pods');
      const list = await apiRequest<{ items: PodInfo[] }>(kc, 'GET', `/api/v1/namespaces/${namespace}/pods`, { query: { labelSelector }, ...(guard ? { guard } : {}) });
      return list.items;
    },

    async applyOwned(obj) {
      const path = OWNED_PATHS[obj.kind ?? '']?.(obj.metadata.namespace, obj.metadata.name);
      if (!path) throw new Error(`internal: applyOwned does not know kind ${obj.kind}`);
      writes++;
      opts.onWrite?.('apply');
      // A fresh object (never one read back: managedFields must be nil in an apply). JSON is YAML.
      return apiRequest<ExistingObject>(kc, 'PATCH', path, {
        query: { fieldManager: FIELD_MANAGER, force: 'true' },
        body: obj,
        contentType: 'application/apply-patch+yaml',
        ...(guard ? { guard } : {}),
      });
    },

    async patchSinkStatus(namespace, name, status) {
      writes++;
      opts.onWrite?.('status');
      // Merge patch on the status subresource; conditions are always written whole.
      return apiRequest<RocksetSink>(kc, 'PATCH', `${sinkPath(namespace, name)}/status`, {
        query: { fieldManager: FIELD_MANAGER },
        body: { status },
        contentType: 'application/merge-patch+json',
        ...(guard ? { guard } : {}),
      });
    },
  };
}

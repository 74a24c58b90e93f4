// The operator's I/O layer over @kubernetes/client-node 2.x: reads of the sink, its
// Secrets (existence, resourceVersion and key names only: never values), Deployment,
// ConfigMap and pods; server-side apply of owned objects; merge patches of the sink's
// status subresource. Every write is counted (tests assert that idle passes write nothing).
import { CustomObjectsApi, KubeConfig, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type RocksetSink, type RocksetSinkStatus } from './api/rocksetsink.ts';

export const FIELD_MANAGER = 'rockset-sink-operator';

/** What the operator may know about a Secret. */
export interface SecretInfo {
  resourceVersion: string;
  keys: string[];
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
  metadata: { name: string };
  status?: {
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
  getSecret(namespace: string, name: string): Promise<SecretInfo | undefined>;
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

/** client-node deserializes known kinds into model classes (Date fields etc.): back to plain JSON. */
function plain<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function kubeConfigFromFile(path: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  if (context) kc.setCurrentContext(context);
  return kc;
}

export function createKube(kc: KubeConfig, opts: KubeOptions = {}): Kube {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  let writes = 0;

  return {
    get writes() {
      return writes;
    },

    async getSink(namespace, name) {
      opts.onRead?.('sink');
      const obj = await orUndefined(custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name }));
      return obj === undefined ? undefined : plain<RocksetSink>(obj);
    },

    async getSecret(namespace, name) {
      opts.onRead?.('secret');
      const s = await orUndefined(objects.read({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace, name } }));
      if (!s) return undefined;
      const data = (s as { data?: Record<string, unknown>; stringData?: Record<string, unknown> }).data ?? {};
      // Only key names leave this function; the values are dropped here.
      return { resourceVersion: s.metadata?.resourceVersion ?? '', keys: Object.keys(data).sort() };
    },

    async readSecretValue(namespace, name, key) {
      opts.onRead?.('secret');
      const s = await orUndefined(objects.read({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace, name } }));
      const value = (s as { data?: Record<string, string> } | undefined)?.data?.[key];
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
    },

    async getConfigMap(namespace, name) {
      opts.onRead?.('configmap');
      const o = await orUndefined(objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name } }));
      return o === undefined ? undefined : plain<ExistingObject>(o);
    },

    async getDeployment(namespace, name) {
      opts.onRead?.('deployment');
      const o = await orUndefined(objects.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace, name } }));
      return o === undefined ? undefined : plain<ExistingObject>(o);
    },

    async listPods(namespace, labelSelector) {
      opts.onRead?.('pods');
      const list = await objects.list('v1', 'Pod', namespace, undefined, undefined, undefined, undefined, labelSelector);
      return plain<PodInfo[]>(list.items);
    },

    async applyOwned(obj) {
      writes++;
      opts.onWrite?.('apply');
      // A fresh object (never one read back: managedFields must be nil in an apply).
      const out = await objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
      return plain<ExistingObject>(out);
    },

    async patchSinkStatus(namespace, name, status) {
      writes++;
      opts.onWrite?.('status');
      // Merge patch on the status subresource; conditions are always written whole.
      const out = await custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status }, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return plain<RocksetSink>(out);
    },
  };
}

// The ConfigMap and Deployment of a RocksetSink (pure values; the controller applies
// them with server-side apply). Nothing here reads a clock or a Secret's bytes: the
// same inputs give the same objects, so an unchanged sink is a no-op apply.
import type { SinkConfigInput } from '../../sink/config/schema.ts';
import { RESTARTED_AT_ANNOTATION, type RocksetSink } from '../api/rocksetsink.ts';
import { canonicalJson, dataChecksum } from './checksum.ts';
import { nodeMemory, quantityValue } from './memory.ts';
import { effectiveResources } from './resources.ts';
import { threadsFor } from '../../sink/mapping/threads.ts';
import { CONFIG_DIR, CONFIG_FILE, HTTP_PORT, renderConfig, secretMounts, type SecretPurpose } from './config.ts';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  SECRETS_CHECKSUM_ANNOTATION,
  commonLabels,
  configMapName,
  deploymentName,
  objectMeta,
  selectorLabels,
  type ObjectMetaOut,
} from './meta.ts';

/** The container's working directory in the sink image (holds the compiled sink/main.js and node_modules). */
export const IMAGE_WORKDIR = '/app';
/** The sink's entrypoint in the image, relative to IMAGE_WORKDIR (the Dockerfile compiles sink/main.ts to it). */
export const SINK_ENTRYPOINT = 'sink/main.js';
/** The non-root user of the sink image (the node images' `node` user). */
export const RUN_AS_USER = 1000;
/** The env var naming where a secret file comes from (`<the sink's env for that secret>_SOURCE`, sink/config/load.ts). */
export const SOURCE_ENV: Record<SecretPurpose, string> = {
  'api-key': 'ROCKSET_API_KEY_SOURCE',
  'kafka-sasl': 'KAFKA_SASL_PASSWORD_SOURCE',
  'kafka-ca': 'NODE_EXTRA_CA_CERTS_SOURCE',
  'schema-registry': 'SCHEMA_REGISTRY_PASSWORD_SOURCE',
};
/** Extra time over the sink's own shutdownTimeoutMs before the kubelet kills it. */
export const GRACE_MARGIN_SECONDS = 5;

export interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMetaOut;
  data: Record<string, string>;
}

// Only what we render; the apply sends exactly this.
export type Json = { [key: string]: unknown };

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ObjectMetaOut;
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: Json & { containers: Container[]; volumes: Json[] };
    };
  };
}

export interface Container extends Json {
  name: string;
  image: string;
  command: string[];
  env?: { name: string; value: string }[];
  volumeMounts: { name: string; mountPath: string; readOnly: boolean }[];
}

export interface DeploymentInputs {
  /** dataChecksum of the ConfigMap's data. */
  configHash: string;
  /** secretsChecksum of the referenced Secrets' versions. */
  secretsHash: string;
  /** The operator's default sink image; spec.image overrides it. */
  image: string;
}

export function renderConfigMap(sink: RocksetSink, config: SinkConfigInput): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: objectMeta(sink, configMapName(sink)), data: { [CONFIG_FILE]: `${canonicalJson(config)}\n` } };
}

export function renderDeployment(sink: RocksetSink, inputs: DeploymentInputs): Deployment {
  const { spec } = sink;
  const pod = spec.podTemplate ?? {};
  const mounts = secretMounts(spec);

  const annotations: Record<string, string> = { ...pod.annotations, [CONFIG_CHECKSUM_ANNOTATION]: inputs.configHash, [SECRETS_CHECKSUM_ANNOTATION]: inputs.secretsHash };
  const restartedAt = sink.metadata.annotations?.[RESTARTED_AT_ANNOTATION];
  if (restartedAt !== undefined) annotations[RESTARTED_AT_ANNOTATION] = restartedAt;

  const resources = effectiveResources(spec.resources);
  const memoryLimit = resources.limits['memory'] === undefined ? undefined : quantityValue(resources.limits['memory']);
  const memory = nodeMemory(memoryLimit);
  const env: { name: string; value: string }[] = [...memory.env];
  // Mapping threads from the cores the worker may use: its CPU limit, else its request (what
  // it is sure to get on a busy node: threads beyond it only compete with the other pods
  // there), less the main thread's core, as far as the memory limit allows (sink/mapping/threads.ts).
  const cpu = resources.limits['cpu'] ?? resources.requests['cpu'];
  const cores = cpu === undefined ? undefined : quantityValue(cpu);
  if (cores !== undefined) env.push({ name: 'SINK_THREADS', value: String(threadsFor(cores, memoryLimit)) });
  // Where each secret file comes from, as the sink names it when the key is missing or
  // Rockset refuses it (a Kubernetes user has no ROCKSET_API_KEY or file path to check).
  for (const m of mounts) env.push({ name: SOURCE_ENV[m.purpose], value: `spec.${m.field} (Secret ${m.ref.name}, key ${m.ref.key})` });
  const ca = mounts.find((m) => m.purpose === 'kafka-ca');
  if (ca) env.push({ name: 'NODE_EXTRA_CA_CERTS', value: ca.file });

  const container: Container = {
    name: 'sink',
    image: spec.image ?? inputs.image,
    command: ['node', ...memory.flags, '--disable-warning=TimeoutNegativeWarning', SINK_ENTRYPOINT, '--config', `${CONFIG_DIR}/${CONFIG_FILE}`],
    workingDir: IMAGE_WORKDIR,
    env,
    ports: [{ name: 'metrics', containerPort: HTTP_PORT, protocol: 'TCP' }],
    livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    resources,
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      ...mounts.map((m) => ({ name: m.volume, mountPath: m.dir, readOnly: true })),
      { name: 'tmp', mountPath: '/tmp', readOnly: false },
    ],
  };

  const volumes: Json[] = [
    { name: 'config', configMap: { name: configMapName(sink), items: [{ key: CONFIG_FILE, path: CONFIG_FILE }] } },
    // Each volume projects only the referenced key: other keys of the Secret never reach the pod.
    // optional: a key missing from the Secret leaves its file out rather than holding the
    // pod in ContainerCreating (a FailedMount Event the operator does not read): the sink
    // then stops with SecretKeyNotFound naming the spec field, the Secret and the key
    // (sink/config/load.ts), which the operator reports. The operator never reads key
    // names itself, and it deploys nothing while a referenced Secret does not exist.
    ...mounts.map((m) => ({ name: m.volume, secret: { secretName: m.ref.name, items: [{ key: m.ref.key, path: m.ref.key }], defaultMode: 0o440, optional: true } })),
    { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
  ];

  const podSpec: Json & { containers: Container[]; volumes: Json[] } = {
    ...(pod.serviceAccountName ? { serviceAccountName: pod.serviceAccountName } : {}),
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
    ...(pod.imagePullSecrets ? { imagePullSecrets: structuredClone(pod.imagePullSecrets) } : {}),
    ...(pod.nodeSelector ? { nodeSelector: { ...pod.nodeSelector } } : {}),
    ...(pod.tolerations ? { tolerations: structuredClone(pod.tolerations) } : {}),
    ...(pod.affinity ? { affinity: structuredClone(pod.affinity) } : {}),
    securityContext: { runAsNonRoot: true, runAsUser: RUN_AS_USER, runAsGroup: RUN_AS_USER, fsGroup: RUN_AS_USER, seccompProfile: { type: 'RuntimeDefault' } },
    terminationGracePeriodSeconds: Math.ceil(spec.shutdownTimeoutMs / 1000) + GRACE_MARGIN_SECONDS,
    containers: [container],
    volumes,
  };

  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(sink, deploymentName(sink)),
    spec: {
      replicas: spec.paused ? 0 : spec.replicas,
      selector: { matchLabels: selectorLabels(sink) },
      template: { metadata: { labels: { ...pod.labels, ...commonLabels(sink) }, annotations }, spec: podSpec },
    },
  };
}

export interface Rendered {
  config: SinkConfigInput;
  configMap: ConfigMap;
  deployment: Deployment;
}

/** Everything a RocksetSink renders to: the config, its ConfigMap, and the Deployment carrying the ConfigMap's checksum. */
export function renderSink(sink: RocksetSink, inputs: Omit<DeploymentInputs, 'configHash'>): Rendered {
  const config = renderConfig(sink);
  const configMap = renderConfigMap(sink, config);
  const deployment = renderDeployment(sink, { ...inputs, configHash: dataChecksum(configMap.data) });
  return { config, configMap, deployment };
}

// RocksetSink literals for the operator tests: as a user writes them, then with the
// defaults the API server would fill in (validateSpec applies the same schema).
import { API_VERSION, KIND, type CROSS_FIELD_RULES, type RocksetSink } from '../../operator/api/rocksetsink.ts';
import { validateSpec } from '../../operator/api/validate.ts';

export type Json = Record<string, unknown>;

export const DEFAULT_IMAGE = 'rockset-sink-operator:0.1.0';

/** The smallest spec a user can apply. */
export function minimalSpec(): Json {
  return {
    // No groupId: each sink gets its own group, rockset-sink.<namespace>.<name>.
    kafka: { brokers: ['kafka-0.kafka:9092'], topics: ['orders'] },
    rockset: { apiServer: 'https://api.usw2a1.rockset.com', collection: 'orders', apiKeySecretRef: { name: 'rockset', key: 'api-key' } },
  };
}

/** Every section and Kubernetes concern set. */
export function fullSpec(): Json {
  return {
    kafka: {
      brokers: ['kafka-0.kafka:9093', 'kafka-1.kafka:9093'],
      clientId: 'orders-sink',
      groupId: 'rockset-orders',
      topics: ['orders', 'refunds'],
      fromBeginning: false,
      ssl: true,
      tls: { caSecretRef: { name: 'kafka-ca', key: 'ca.crt' } },
      sasl: { mechanism: 'scram-sha-512', username: 'sink', passwordSecretRef: { name: 'kafka-user', key: 'password' } },
      sessionTimeoutMs: 45000,
      heartbeatIntervalMs: 5000,
    },
    rockset: {
      apiServer: 'https://api.euc1a1.rockset.com',
      workspace: 'shop',
      collection: 'orders',
      topicCollections: { refunds: 'refunds' },
      apiKeySecretRef: { name: 'rockset', key: 'api-key' },
      maxInFlightRequests: 8,
    },
    batch: { maxDocuments: 1000, maxBytes: 2097152, lingerMs: 100 },
    retry: { initialBackoffMs: 100, maxBackoffMs: 10000, multiplier: 3, maxRetries: 20 },
    documents: { idSource: 'document', eventTime: 'field', eventTimeField: 'createdAt', tombstones: 'ignore' },
    errors: { tolerance: 'all', deadLetterTopic: 'orders.dlq' },
    format: { value: 'avro', key: 'string' },
    schemaRegistry: { url: 'http://apicurio:8080/apis/ccompat/v7', username: 'sink', passwordSecretRef: { name: 'registry', key: 'password' } },
    shutdownTimeoutMs: 60000,
    logLevel: 'debug',
    replicas: 3,
    image: 'registry.example.com/rockset-sink:dev',
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
    podTemplate: {
      labels: { team: 'data', 'app.kubernetes.io/name': 'overridden' },
      annotations: { 'prometheus.io/scrape': 'true', 'rockset-sink.dev/config-checksum': 'user-value' },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'data', effect: 'NoSchedule' }],
      affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } }] } },
      serviceAccountName: 'orders-sink',
      priorityClassName: 'data-high',
      imagePullSecrets: [{ name: 'registry-pull' }],
    },
  };
}

/** A RocksetSink as the API server returns it (spec defaulted); throws if the spec is invalid. */
export function sinkOf(spec: Json, meta: { name?: string; annotations?: Record<string, string> } = {}): RocksetSink {
  const r = validateSpec(spec);
  if (!r.ok) throw new Error(`fixture spec is invalid:\n${r.problems.join('\n')}`);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: meta.name ?? 'orders',
      namespace: 'data',
      uid: '6f1c2c1e-1d7a-4d3b-9a55-2f0f5d1a7c10',
      generation: 1,
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
    },
    spec: r.spec,
  };
}

/** spec with `section` merged one level deep (undefined removes a field). */
export function withSection(spec: Json, section: string, patch: Json): Json {
  const out = structuredClone(spec);
  const merged: Json = { ...((out[section] as Json | undefined) ?? {}), ...patch };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  out[section] = merged;
  return out;
}

// One invalid spec per cross-field rule, and the one-field fix that makes it valid.
/** Per cross-field rule: a spec it refuses, that spec fixed, and (also) other specs it must accept. */
export const RULE_CASES: Record<keyof typeof CROSS_FIELD_RULES, { bad: Json; fixed: Json; also?: Json[] }> = {
  topicsXorPattern: {
    bad: withSection(minimalSpec(), 'kafka', { topicPattern: '^orders\\..*' }),
    fixed: withSection(minimalSpec(), 'kafka', { topicPattern: '^orders\\..*', topics: undefined }),
  },
  tlsNeedsSsl: {
    bad: withSection(minimalSpec(), 'kafka', { tls: { caSecretRef: { name: 'ca', key: 'ca.crt' } } }),
    fixed: withSection(minimalSpec(), 'kafka', { tls: { caSecretRef: { name: 'ca', key: 'ca.crt' } }, ssl: true }),
  },
  deadLetterTopic: {
    bad: withSection(minimalSpec(), 'errors', { tolerance: 'all' }),
    fixed: withSection(minimalSpec(), 'errors', { tolerance: 'all', deadLetterTopic: 'orders.dlq' }),
  },
  documentIdTombstones: {
    bad: withSection(minimalSpec(), 'documents', { idSource: 'document' }),
    fixed: withSection(minimalSpec(), 'documents', { idSource: 'document', tombstones: 'ignore' }),
  },
  eventTimeField: {
    bad: withSection(minimalSpec(), 'documents', { eventTime: 'field' }),
    fixed: withSection(minimalSpec(), 'documents', { eventTime: 'field', eventTimeField: 'ts' }),
  },
  backoffOrder: {
    // maxBackoffMs defaults to 30000: the default counts, as it does for the API server.
    bad: withSection(minimalSpec(), 'retry', { initialBackoffMs: 60000 }),
    fixed: withSection(minimalSpec(), 'retry', { initialBackoffMs: 60000, maxBackoffMs: 60000 }),
  },
  httpsApiServer: {
    bad: withSection(minimalSpec(), 'rockset', { apiServer: 'http://rockset-emulator:3000' }),
    fixed: withSection(minimalSpec(), 'rockset', { apiServer: 'http://rockset-emulator:3000', allowInsecureHttp: true }),
  },
  registryFormats: {
    bad: withSection(minimalSpec(), 'format', { key: 'avro' }),
    fixed: { ...withSection(minimalSpec(), 'format', { key: 'avro' }), schemaRegistry: { url: 'http://registry:8081' } },
    // Keys of Java's number serializers are read without a registry.
    also: (['long', 'integer', 'short', 'json'] as const).map((key) => withSection(minimalSpec(), 'format', { key })),
  },
  requestsWithinLimits: {
    bad: { ...minimalSpec(), resources: { requests: { memory: '256Mi', cpu: '500m' }, limits: { memory: '128Mi', cpu: 1 } } },
    // The limit as an integer quantity (1Gi in bytes): compared by value, not by spelling.
    fixed: { ...minimalSpec(), resources: { requests: { memory: '128Mi', cpu: '500m' }, limits: { memory: 1073741824, cpu: 1 } } },
  },
  registryPassword: {
    bad: { ...minimalSpec(), format: { value: 'protobuf' }, schemaRegistry: { url: 'http://registry:8081', username: 'sink' } },
    fixed: { ...minimalSpec(), format: { value: 'protobuf' }, schemaRegistry: { url: 'http://registry:8081', username: 'sink', passwordSecretRef: { name: 'r', key: 'p' } } },
  },
};

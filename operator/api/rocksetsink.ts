// The RocksetSink API (rockset-sink.dev/v1alpha1): one TypeBox definition gives the
// TypeScript types, the JSON Schema ajv validates, and (through crd.ts) the CRD's
// OpenAPI schema. The spec reuses the sink's own configuration sections from
// sink/config/schema.ts, so a sink field cannot exist on one side only; what differs
// is that secrets are Secret references (the operator mounts them and renders the
// file paths), and http is operator-controlled.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  BatchSchema,
  DocumentsSchema,
  ErrorsSchema,
  FormatSchema,
  KafkaSchema,
  PLAIN_KEY_FORMATS,
  RetrySchema,
  RocksetSchema,
  SaslSchema,
  SchemaRegistrySchema,
  SinkConfigSchema,
} from '../../sink/config/schema.ts';

export const GROUP = 'rockset-sink.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'RocksetSink';
export const LIST_KIND = 'RocksetSinkList';
export const PLURAL = 'rocksetsinks';
export const SINGULAR = 'rocksetsink';
export const SHORT_NAMES = ['rss'];
export const CATEGORIES = ['rockset'];
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Condition types the operator writes in status.conditions. */
export const ConditionType = {
  /** The sink is doing its job: config valid, secrets resolved, workers available. */
  Ready: 'Ready',
  /** The spec renders a configuration the sink accepts (the sink's own validateConfig). */
  ConfigValid: 'ConfigValid',
  /** Every referenced Secret and key exists. */
  SecretsResolved: 'SecretsResolved',
  /** The Deployment has its replicas available (or is paused on purpose). */
  WorkersAvailable: 'WorkersAvailable',
  /** A change is being rolled out. */
  Reconciling: 'Reconciling',
  /** Progress needs a human (an invalid spec, a missing Secret, a crash-looping sink). */
  Stalled: 'Stalled',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Annotation on a RocksetSink whose change restarts its workers (copied into the pod template). */
export const RESTARTED_AT_ANNOTATION = `${GROUP}/restartedAt`;

// ---------------------------------------------------------------------------
// Cross-field rules. Each rule is stated twice, side by side: as CEL for the API
// server (x-kubernetes-validations) and as JSON Schema for ajv (kept out of the
// CRD by crd.ts). The sink's validateConfig, run by the operator on the rendered
// configuration, remains the full check (regular expressions, topic routing, ...).

export interface CrossFieldRule {
  /** Where the rule sits: 'spec' or a top-level spec section. */
  at: 'spec' | 'kafka' | 'rockset' | 'errors' | 'documents' | 'retry' | 'schemaRegistry' | 'resources';
  /** CEL, evaluated with self = the object at `at`. */
  rule: string;
  /** Names the field and the fix. */
  message: string;
  /** The same rule for ajv. */
  jsonSchema: Record<string, unknown>;
}

export const CROSS_FIELD_RULES = {
  topicsXorPattern: {
    at: 'kafka',
    rule: 'has(self.topics) != has(self.topicPattern)',
    message: 'kafka.topics / kafka.topicPattern: set exactly one of them. Use topics for a list of topics, or topicPattern for a regular expression',
    jsonSchema: { oneOf: [{ required: ['topics'] }, { required: ['topicPattern'] }] },
  },
  tlsNeedsSsl: {
    at: 'kafka',
    rule: '!has(self.tls) || (has(self.ssl) && self.ssl)',
    message: 'kafka.tls: needs kafka.ssl: true (the CA is only used for TLS connections). Set kafka.ssl to true, or remove kafka.tls',
    jsonSchema: { if: { required: ['tls'] }, then: { required: ['ssl'], properties: { ssl: { const: true } } } },
  },
  deadLetterTopic: {
    at: 'errors',
    rule: "!has(self.tolerance) || self.tolerance != 'all' || has(self.deadLetterTopic)",
    message: 'errors.deadLetterTopic: is required when errors.tolerance is "all" (bad records go there). Add a topic name, or set errors.tolerance to "none"',
    jsonSchema: { if: { required: ['tolerance'], properties: { tolerance: { const: 'all' } } }, then: { required: ['deadLetterTopic'] } },
  },
  eventTimeField: {
    at: 'documents',
    rule: "!has(self.eventTime) || self.eventTime != 'field' || has(self.eventTimeField)",
    message: 'documents.eventTimeField: is required when documents.eventTime is "field". Name the document field holding the event time',
    jsonSchema: { if: { required: ['eventTime'], properties: { eventTime: { const: 'field' } } }, then: { required: ['eventTimeField'] } },
  },
  documentIdTombstones: {
    at: 'documents',
    // tombstones defaults to "delete": a sink naming idSource "document" must say "ignore"
    rule: "!has(self.idSource) || self.idSource != 'document' || (has(self.tombstones) && self.tombstones == 'ignore')",
    message: 'documents.tombstones: "delete" does not work with documents.idSource "document": a tombstone carries only the key, not the _id its document chose, so the delete would miss. Set documents.tombstones to "ignore", or documents.idSource to "key"',
    jsonSchema: { if: { required: ['idSource'], properties: { idSource: { const: 'document' } } }, then: { required: ['tombstones'], properties: { tombstones: { const: 'ignore' } } } },
  },
  backoffOrder: {
    at: 'retry',
    rule: '!has(self.maxBackoffMs) || !has(self.initialBackoffMs) || self.maxBackoffMs >= self.initialBackoffMs',
    message: 'retry.maxBackoffMs: must be at least retry.initialBackoffMs. Raise maxBackoffMs or lower initialBackoffMs',
    // ajv's $data reference (compile with { $data: true }).
    jsonSchema: { properties: { maxBackoffMs: { minimum: { $data: '1/initialBackoffMs' } } } },
  },
  registryFormats: {
    at: 'spec',
    rule: `has(self.schemaRegistry) || !has(self.format) || ((!has(self.format.value) || self.format.value == 'json') && (!has(self.format.key) || self.format.key in [${PLAIN_KEY_FORMATS.map((f) => `'${f}'`).join(', ')}]))`,
    message: 'schemaRegistry.url: is required when format.value or format.key is avro, protobuf, jsonschema or auto. Add schemaRegistry, or use format json',
    jsonSchema: {
      if: {
        required: ['format'],
        properties: {
          format: {
            anyOf: [
              { required: ['value'], properties: { value: { not: { const: 'json' } } } },
              { required: ['key'], properties: { key: { not: { enum: [...PLAIN_KEY_FORMATS] } } } },
            ],
          },
        },
      },
      then: { required: ['schemaRegistry'] },
    },
  },
  requestsWithinLimits: {
    at: 'resources',
    // quantity() parses Kubernetes quantities (a CEL library since Kubernetes 1.28, the chart's oldest); string() as values are int-or-string.
    rule: "!has(self.requests) || !has(self.limits) || ['cpu', 'memory', 'ephemeral-storage'].all(r, !(r in self.requests) || !(r in self.limits) || !isQuantity(string(self.requests[r])) || !isQuantity(string(self.limits[r])) || quantity(string(self.requests[r])).compareTo(quantity(string(self.limits[r]))) <= 0)",
    message: 'resources.requests / resources.limits: a request is above its limit (requests.memory must be at most limits.memory, requests.cpu at most limits.cpu). Lower the request or raise the limit',
    // A keyword of operator/api/validate.ts's ajv (compares the quantities the same way).
    jsonSchema: { requestsWithinLimits: true },
  },
  httpsApiServer: {
    at: 'rockset',
    // Other schemes are refused by apiServer's own pattern.
    rule: "!self.apiServer.startsWith('http://') || (has(self.allowInsecureHttp) && self.allowInsecureHttp)",
    message: 'rockset.apiServer: must be an https:// URL: over http the API key travels in clear text. Use https, or set rockset.allowInsecureHttp: true for a local emulator',
    jsonSchema: { anyOf: [{ properties: { apiServer: { not: { pattern: '^http://' } } } }, { required: ['allowInsecureHttp'], properties: { allowInsecureHttp: { const: true } } }] },
  },
  registryPassword: {
    at: 'schemaRegistry',
    rule: '!has(self.username) || has(self.passwordSecretRef)',
    message: 'schemaRegistry.passwordSecretRef: is required with schemaRegistry.username. Reference the Secret key holding the password, or remove username',
    jsonSchema: { if: { required: ['username'] }, then: { required: ['passwordSecretRef'] } },
  },
} as const satisfies Record<string, CrossFieldRule>;

function rulesAt(at: CrossFieldRule['at']): { allOf?: unknown[]; 'x-kubernetes-validations'?: unknown[] } {
  const rules: CrossFieldRule[] = Object.values(CROSS_FIELD_RULES).filter((r) => r.at === at);
  if (!rules.length) return {};
  return { allOf: rules.map((r) => r.jsonSchema), 'x-kubernetes-validations': rules.map(({ rule, message }) => ({ rule, message })) };
}

// ---------------------------------------------------------------------------
// Building blocks.

export const SecretKeyRefSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', description: 'Name of a Secret in the RocksetSink\'s namespace' }),
    key: Type.String({ minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$', description: 'Key in the Secret\'s data' }),
  },
  { additionalProperties: false },
);
export type SecretKeyRef = Static<typeof SecretKeyRefSchema>;

const StringMap = (description: string) => Type.Record(Type.String(), Type.String(), { description });

const QUANTITY = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
const Quantity = Type.Union([Type.Integer(), Type.String()], { pattern: QUANTITY, 'x-kubernetes-int-or-string': true, description: 'A Kubernetes quantity, e.g. 500m, 256Mi' });

/** What a worker gets for each field spec.resources leaves out: fits a sink draining at full speed (~200 MB RSS measured). */
export const DEFAULT_RESOURCES = { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } };

export const ResourcesSchema = Type.Object(
  {
    limits: Type.Optional(Type.Record(Type.String(), Quantity, { description: 'Most compute resources a sink worker may use (cpu, memory). limits.cpu (else requests.cpu) also sets its mapping threads: the cores less one (for the main thread), none below 1.5 cores, at most what the memory limit holds (64Mi each above 256Mi). Default: memory 512Mi (or the memory request, when that is higher)' })),
    requests: Type.Optional(
      Type.Record(Type.String(), Quantity, { description: 'Compute resources a sink worker is scheduled with (cpu, memory); each at most its limit. Default: cpu 100m, memory 256Mi (or the limit, when that is lower)' }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "Compute resources of the sink container; each field left out gets its default when the Deployment is rendered (nothing is written into the RocksetSink). The memory limit also sizes the worker's Node heap (40% of it, at least 96 MiB)",
  },
);
export type Resources = Static<typeof ResourcesSchema>;

export const TolerationSchema = Type.Object(
  {
    key: Type.Optional(Type.String({ description: 'Taint key the toleration applies to; empty matches all keys' })),
    operator: Type.Optional(Type.Union([Type.Literal('Exists'), Type.Literal('Equal')], { description: 'Exists or Equal (default Equal)' })),
    value: Type.Optional(Type.String({ description: 'Taint value the toleration matches (with operator Equal)' })),
    effect: Type.Optional(Type.Union([Type.Literal('NoSchedule'), Type.Literal('PreferNoSchedule'), Type.Literal('NoExecute')], { description: 'Taint effect to match; empty matches all effects' })),
    tolerationSeconds: Type.Optional(Type.Integer({ description: 'With effect NoExecute: how long the pod stays bound after the taint appears' })),
  },
  { additionalProperties: false },
);

export const PodTemplateSchema = Type.Object(
  {
    labels: Type.Optional(StringMap('Extra labels on the sink pods (the operator\'s own labels win)')),
    annotations: Type.Optional(StringMap('Extra annotations on the sink pods (the operator\'s checksum annotations win)')),
    nodeSelector: Type.Optional(StringMap('Node labels a sink pod must match to be scheduled')),
    tolerations: Type.Optional(Type.Array(TolerationSchema, { description: 'Taints the sink pods tolerate' })),
    affinity: Type.Optional(
      Type.Unsafe<Record<string, unknown>>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: 'A core/v1 Affinity for the sink pods (node, pod and pod anti-affinity)' }),
    ),
    serviceAccountName: Type.Optional(Type.String({ minLength: 1, description: 'ServiceAccount the sink pods run as (they do not call the Kubernetes API; its token is not mounted)' })),
    priorityClassName: Type.Optional(Type.String({ minLength: 1, description: 'PriorityClass of the sink pods' })),
    imagePullSecrets: Type.Optional(
      Type.Array(Type.Object({ name: Type.String({ minLength: 1, description: 'Name of a docker-registry Secret' }) }, { additionalProperties: false }), {
        description: 'Secrets for pulling the sink image from a private registry',
      }),
    ),
  },
  { additionalProperties: false, description: 'Overrides for the sink pods' },
);

// ---------------------------------------------------------------------------
// The spec: the sink configuration's sections, secrets as Secret references.

const SaslSpecSchema = Type.Composite(
  [Type.Omit(SaslSchema, ['passwordFile']), Type.Object({ passwordSecretRef: Type.Composite([SecretKeyRefSchema], { additionalProperties: false, description: 'Secret key holding the SASL password' }) })],
  { additionalProperties: false, description: 'SASL authentication' },
);

const KafkaTlsSchema = Type.Object(
  {
    caSecretRef: Type.Composite([SecretKeyRefSchema], {
      additionalProperties: false,
      description: 'Secret key holding PEM CA certificates the brokers\' certificates are checked against (added to the trusted roots through NODE_EXTRA_CA_CERTS)',
    }),
  },
  { additionalProperties: false, description: 'TLS trust for the brokers; needs kafka.ssl: true' },
);

/** The consumer group of a RocksetSink without kafka.groupId: its own, never shared by accident. */
export const defaultGroupId = (namespace: string, name: string): string => `rockset-sink.${namespace}.${name}`;

// Field order as in the sink's KafkaSchema (messages list the fields in it).
const { sasl: _sinkSasl, ...kafkaFields } = KafkaSchema.properties;
const KafkaSpecSchema = Type.Object(
  {
    ...kafkaFields,
    // Optional, without a schema default: the default is rendered, never stored, so a
    // sink that names its group keeps it and one that does not gets its own.
    groupId: Type.Optional(Type.String({ minLength: 1, description: 'Consumer group; offsets are committed under it. Default: rockset-sink.<namespace>.<name>. Two sinks must not share one' })),
    sasl: Type.Optional(SaslSpecSchema),
    tls: Type.Optional(KafkaTlsSchema),
  },
  { additionalProperties: false, description: 'The Kafka cluster, consumer group and topics to read', ...rulesAt('kafka') },
);

const RocksetSpecSchema = Type.Composite(
  [
    Type.Omit(RocksetSchema, ['apiKeyFile']),
    Type.Object({
      apiKeySecretRef: Type.Composite([SecretKeyRefSchema], { additionalProperties: false, description: 'Secret key holding the Rockset API key' }),
      allowInsecureHttp: Type.Optional(Type.Boolean({ description: 'Allow an http:// apiServer (the API key is then sent in clear text): for a local emulator only' })),
    }),
  ],
  { additionalProperties: false, description: 'The Rockset API server, workspace and collections to write', ...rulesAt('rockset') },
);

const SchemaRegistrySpecSchema = Type.Composite(
  [
    Type.Omit(SchemaRegistrySchema, ['passwordFile']),
    Type.Object({ passwordSecretRef: Type.Optional(Type.Composite([SecretKeyRefSchema], { additionalProperties: false, description: 'Secret key holding the basic auth password' })) }),
  ],
  { additionalProperties: false, description: 'Confluent-compatible Schema Registry for avro, protobuf, jsonschema and auto formats', ...rulesAt('schemaRegistry') },
);

const section = <T extends TSchema>(schema: T, description: string, at?: CrossFieldRule['at']) =>
  Type.Optional(Type.Composite([schema], { additionalProperties: false, default: {}, description, ...(at ? rulesAt(at) : {}) }));

export const RocksetSinkSpecSchema = Type.Object(
  {
    kafka: KafkaSpecSchema,
    rockset: RocksetSpecSchema,
    batch: section(BatchSchema, 'How records are grouped into write requests'),
    retry: section(RetrySchema, 'Backoff for transient write failures (429, 5xx, timeouts)', 'retry'),
    documents: section(DocumentsSchema, 'How records become documents (_id, _event_time, tombstones)', 'documents'),
    errors: section(ErrorsSchema, 'What happens to bad records', 'errors'),
    format: section(FormatSchema, 'Record key and value formats'),
    schemaRegistry: Type.Optional(SchemaRegistrySpecSchema),
    shutdownTimeoutMs: SinkConfigSchema.properties.shutdownTimeoutMs,
    logLevel: SinkConfigSchema.properties.logLevel,
    replicas: Type.Integer({ minimum: 0, default: 1, description: 'Sink workers; they share the consumer group, so more than the topics\' partitions sit idle' }),
    paused: Type.Boolean({ default: false, description: 'Scale the workers to zero while keeping the configuration and committed offsets' }),
    image: Type.Optional(Type.String({ minLength: 1, description: 'Sink image; defaults to the operator\'s own sink image' })),
    resources: Type.Optional(Type.Composite([ResourcesSchema], { additionalProperties: false, description: ResourcesSchema.description, ...rulesAt('resources') })),
    podTemplate: Type.Optional(PodTemplateSchema),
  },
  { additionalProperties: false, description: 'Desired state of a RocksetSink', ...rulesAt('spec') },
);

/**
 * Descriptions for reused sink fields that have none in sink/config/schema.ts (or
 * whose text names a sink-side mechanism the CRD replaces), keyed by spec path.
 * crd.ts fails when a spec field ends up without a description.
 */
export const FIELD_DOCS: Record<string, string> = {
  'kafka.brokers': 'Bootstrap brokers, host:port',
  'kafka.topics': 'Topics to consume; set this or topicPattern',
  'kafka.clientId': 'Kafka client id of the sink workers',
  'kafka.ssl': 'Connect to the brokers with TLS',
  'kafka.sessionTimeoutMs': 'Consumer group session timeout',
  'kafka.heartbeatIntervalMs': 'Consumer group heartbeat interval; at most a third of sessionTimeoutMs',
  'kafka.sasl.username': 'SASL user name',
  'rockset.requestTimeoutMs': 'Timeout of one write request',
  'batch.maxDocuments': 'Most documents in one write request',
  'retry.initialBackoffMs': 'First backoff after a transient failure',
  'retry.maxBackoffMs': 'Longest backoff; at least initialBackoffMs',
  'retry.multiplier': 'Backoff growth per attempt',
  'documents.tombstones': 'delete: a tombstone deletes its _id; ignore: tombstones are skipped',
  'errors.deadLetterTopic': 'Topic bad records are written to; required with tolerance all',
  'schemaRegistry.username': 'Basic auth user; the password comes from passwordSecretRef',
  'schemaRegistry.requestTimeoutMs': 'Timeout of one registry request',
  shutdownTimeoutMs: 'How long a stopping worker may flush and commit; the pod\'s termination grace period follows it',
  logLevel: 'Sink log level',
};

// ---------------------------------------------------------------------------
// Status.

export const ConditionSchema = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 316, description: 'Condition type: Ready, ConfigValid, SecretsResolved, WorkersAvailable, Reconciling, Stalled' }),
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')], { description: 'True, False or Unknown' }),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: 'metadata.generation the condition was set for' })),
    lastTransitionTime: Type.String({ format: 'date-time', description: 'When the status last changed' }),
    reason: Type.String({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$', description: 'CamelCase reason for the last transition' }),
    message: Type.String({ maxLength: 32768, description: 'Human-readable details, naming the field or object and the fix' }),
  },
  { additionalProperties: false },
);
export type Condition = Static<typeof ConditionSchema>;

export const RocksetSinkStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: 'metadata.generation the status describes' })),
    conditions: Type.Optional(
      Type.Array(ConditionSchema, { description: 'Ready, ConfigValid, SecretsResolved, WorkersAvailable, Reconciling, Stalled', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
    ),
    replicas: Type.Optional(Type.Integer({ minimum: 0, description: 'Sink worker pods (for the scale subresource)' })),
    readyReplicas: Type.Optional(Type.Integer({ minimum: 0, description: 'Sink worker pods ready' })),
    selector: Type.Optional(Type.String({ description: 'Label selector of the worker pods (for the scale subresource)' })),
    lag: Type.Optional(
      Type.Object(
        {
          total: Type.Integer({ minimum: 0, description: 'Records not yet committed, over all topics' }),
          topics: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'Records not yet committed, per topic' })),
        },
        { additionalProperties: false, description: 'Consumer group lag, read from Kafka' },
      ),
    ),
  },
  { additionalProperties: false, description: 'Observed state of a RocksetSink' },
);

export type RocksetSinkSpec = Static<typeof RocksetSinkSpecSchema>;
export type RocksetSinkStatus = Static<typeof RocksetSinkStatusSchema>;

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A RocksetSink as read from the API server (spec defaults applied). */
export interface RocksetSink {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: RocksetSinkSpec;
  status?: RocksetSinkStatus;
}

// The sink's configuration contract: one TypeBox definition gives the JSON Schema
// that ajv validates at start, the TypeScript type, and (later) the part of the
// RocksetSink CRD the operator renders into the sink's ConfigMap.
import { Type, type Static } from '@sinclair/typebox';

export const ROCKSET_MAX_DOCUMENTS = 20_000;
export const ROCKSET_MAX_BYTES = 10 * 1024 * 1024;

const Name = (description: string) => Type.String({ minLength: 1, maxLength: 249, description });

// Rockset's naming rule for workspaces and collections (as Rockset's own Terraform
// provider checks it): letters, digits, '-' and '_', starting with a letter or digit.
// A name outside it is refused by Rockset (or, with '/', reaches another URL), so it is
// refused here, where the CRD, the operator, `validate` and the sink all read it.
export const ROCKSET_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]*$';
// Nested workspaces are written a.b.c.
export const ROCKSET_WORKSPACE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]*(\\.[A-Za-z0-9][A-Za-z0-9_-]*)*$';
const ROCKSET_NAME_RULE = "a Rockset name: letters, digits, '-' and '_', starting with a letter or digit";
export const collectionName = (description: string) =>
  Type.String({ minLength: 1, pattern: ROCKSET_NAME_PATTERN, description: `${description}; ${ROCKSET_NAME_RULE}` });

export const SaslSchema = Type.Object(
  {
    mechanism: Type.Union([Type.Literal('plain'), Type.Literal('scram-sha-256'), Type.Literal('scram-sha-512')], { description: 'SASL mechanism' }),
    username: Type.String({ minLength: 1 }),
    passwordFile: Type.Optional(Type.String({ minLength: 1, description: 'File holding the password (a mounted Secret); else env KAFKA_SASL_PASSWORD' })),
  },
  { additionalProperties: false },
);

export const KafkaSchema = Type.Object(
  {
    brokers: Type.Array(Type.String({ pattern: '^[^\\s:]+:[0-9]{1,5}$', description: 'host:port' }), { minItems: 1 }),
    clientId: Type.String({ minLength: 1, default: 'rockset-sink' }),
    groupId: Type.String({ minLength: 1, description: 'Consumer group; offsets are committed under it' }),
    topics: Type.Optional(Type.Array(Name('topic'), { minItems: 1, uniqueItems: true })),
    topicPattern: Type.Optional(Type.String({ minLength: 1, description: 'JavaScript regular expression matched against topic names; topics created later are picked up (see topicRefreshIntervalMs)' })),
    topicRefreshIntervalMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 300_000, description: 'With topicPattern: how often the sink looks for new and deleted matching topics (and rejoins the group with the topics that match), like Kafka\'s metadata.max.age.ms' }),
    fromBeginning: Type.Boolean({ default: true, description: 'Where a group without committed offsets starts' }),
    ssl: Type.Boolean({ default: false }),
    sasl: Type.Optional(SaslSchema),
    sessionTimeoutMs: Type.Integer({ minimum: 6000, maximum: 300_000, default: 30_000 }),
    heartbeatIntervalMs: Type.Integer({ minimum: 500, maximum: 60_000, default: 3000 }),
    fetchMaxBytesPerPartition: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 4 * 1024 * 1024, description: 'At least the largest record, or the consumer can get stuck' }),
    fetchMinBytes: Type.Integer({ minimum: 1, maximum: 16 * 1024 * 1024, default: 64 * 1024, description: 'With batch.lingerMs: the broker holds a fetch until this much data or the linger time' }),
  },
  { additionalProperties: false },
);

export const RocksetSchema = Type.Object(
  {
    apiServer: Type.String({ format: 'uri', pattern: '^https?://', description: 'Rockset API server, e.g. https://api.usw2a1.rockset.com' }),
    apiKeyFile: Type.Optional(Type.String({ minLength: 1, description: 'File holding the API key (a mounted Secret); else env ROCKSET_API_KEY' })),
    workspace: Type.String({ minLength: 1, pattern: ROCKSET_WORKSPACE_PATTERN, default: 'commons', description: `Rockset workspace of the collections; ${ROCKSET_NAME_RULE} (a.b for a nested workspace)` }),
    collection: Type.Optional(collectionName('Collection for topics without an entry in topicCollections')),
    topicCollections: Type.Record(Type.String({ minLength: 1 }), collectionName('A collection'), { default: {}, description: 'topic -> collection' }),
    requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
    maxInFlightRequests: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'Write requests in flight over all partitions (one per partition at a time, to keep order)' }),
  },
  { additionalProperties: false },
);

export const BatchSchema = Type.Object(
  {
    maxDocuments: Type.Integer({ minimum: 1, maximum: ROCKSET_MAX_DOCUMENTS, default: 5000 }),
    maxBytes: Type.Integer({ minimum: 1024, maximum: ROCKSET_MAX_BYTES, default: 4 * 1024 * 1024, description: 'Serialized request body size' }),
    lingerMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 500, description: 'How long the broker may hold a fetch to fill a batch' }),
  },
  { additionalProperties: false },
);

export const RetrySchema = Type.Object(
  {
    initialBackoffMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 200 }),
    maxBackoffMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 30_000 }),
    multiplier: Type.Number({ minimum: 1, maximum: 10, default: 2 }),
    maxRetries: Type.Integer({ minimum: -1, default: -1, description: '-1: retry transient failures until they pass (the consumer keeps its group membership meanwhile)' }),
  },
  { additionalProperties: false },
);

export const DocumentsSchema = Type.Object(
  {
    idSource: Type.Union([Type.Literal('key'), Type.Literal('coordinates'), Type.Literal('document')], {
      default: 'key',
      description: 'key: record key, else <topic>-<partition>-<offset>; coordinates: always <topic>-<partition>-<offset>; document: the document\'s own _id, else as key',
    }),
    eventTime: Type.Union([Type.Literal('timestamp'), Type.Literal('field'), Type.Literal('none')], {
      default: 'timestamp',
      description: 'timestamp: the record timestamp; field: eventTimeField of the document; none: leave _event_time alone',
    }),
    eventTimeField: Type.Optional(Type.String({ minLength: 1, description: 'A field of the decoded value; a.b.c names a nested field' })),
    tombstones: Type.Union([Type.Literal('delete'), Type.Literal('ignore')], { default: 'delete' }),
  },
  { additionalProperties: false },
);

export const ErrorsSchema = Type.Object(
  {
    tolerance: Type.Union([Type.Literal('none'), Type.Literal('all')], { default: 'none', description: 'none: a bad record stops the sink; all: bad records go to deadLetterTopic' }),
    deadLetterTopic: Type.Optional(Name('dead-letter topic')),
  },
  { additionalProperties: false },
);

// Keys as Kafka's own Java serializers write numbers (no registry, no framing).
const NumberKeyFormat = Type.Union([Type.Literal('long'), Type.Literal('integer'), Type.Literal('short')]);

/** The value and key formats read without a schema registry. */
export const PLAIN_VALUE_FORMATS: readonly string[] = ['json'];
export const PLAIN_KEY_FORMATS: readonly string[] = ['string', 'json', ...NumberKeyFormat.anyOf.map((f) => f.const)];

const ValueFormat = Type.Union([Type.Literal('json'), Type.Literal('avro'), Type.Literal('protobuf'), Type.Literal('jsonschema'), Type.Literal('auto')]);

export const FormatSchema = Type.Object(
  {
    value: Type.Union([...ValueFormat.anyOf], {
      default: 'json',
      description: 'json: plain JSON; avro | protobuf | jsonschema: Confluent-framed through schemaRegistry; auto: framed records through the registry, plain JSON otherwise',
    }),
    key: Type.Union([Type.Literal('string'), ...NumberKeyFormat.anyOf, ...ValueFormat.anyOf], {
      default: 'string',
      description: "string: the key bytes as UTF-8; long | integer | short: a big-endian signed integer of 8 | 4 | 2 bytes, as Java's LongSerializer, IntegerSerializer and ShortSerializer write it, as its decimal digits; otherwise decoded like values and turned into a canonical string",
    }),
  },
  { additionalProperties: false },
);

export const SchemaRegistrySchema = Type.Object(
  {
    url: Type.String({ format: 'uri', pattern: '^https?://', description: 'Confluent-compatible Schema Registry API, e.g. http://registry:8081 or http://apicurio:8080/apis/ccompat/v7' }),
    username: Type.Optional(Type.String({ minLength: 1, description: 'Basic auth user; the password comes from env SCHEMA_REGISTRY_PASSWORD or passwordFile' })),
    passwordFile: Type.Optional(Type.String({ minLength: 1 })),
    requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  },
  { additionalProperties: false },
);

export const SinkConfigSchema = Type.Object(
  {
    kafka: KafkaSchema,
    rockset: RocksetSchema,
    batch: Type.Optional(Type.Composite([BatchSchema], { additionalProperties: false, default: {} })),
    retry: Type.Optional(Type.Composite([RetrySchema], { additionalProperties: false, default: {} })),
    documents: Type.Optional(Type.Composite([DocumentsSchema], { additionalProperties: false, default: {} })),
    errors: Type.Optional(Type.Composite([ErrorsSchema], { additionalProperties: false, default: {} })),
    format: Type.Optional(Type.Composite([FormatSchema], { additionalProperties: false, default: {} })),
    schemaRegistry: Type.Optional(SchemaRegistrySchema),
    http: Type.Optional(Type.Object({ port: Type.Integer({ minimum: 0, maximum: 65535, default: 9090 }), host: Type.String({ default: '0.0.0.0' }) }, { additionalProperties: false, default: {}, description: '/metrics, /healthz, /readyz' })),
    shutdownTimeoutMs: Type.Integer({ minimum: 1000, maximum: 600_000, default: 30_000 }),
    logLevel: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace')], { default: 'info' }),
  },
  { additionalProperties: false },
);

/** The configuration as written (defaults not yet applied). */
export type SinkConfigInput = Static<typeof SinkConfigSchema>;

/** The configuration after defaults: every section present. */
export type SinkConfig = Omit<SinkConfigInput, 'batch' | 'retry' | 'documents' | 'errors' | 'http' | 'format'> & {
  format: Static<typeof FormatSchema>;
  batch: Static<typeof BatchSchema>;
  retry: Static<typeof RetrySchema>;
  documents: Static<typeof DocumentsSchema>;
  errors: Static<typeof ErrorsSchema>;
  http: { port: number; host: string };
};

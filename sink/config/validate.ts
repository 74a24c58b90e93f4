// Validation of a sink configuration: the JSON Schema (ajv, which also fills in
// defaults) plus the rules a schema cannot say. Every problem is reported as
// `<field>: <what is wrong>. <how to fix it>` so a user can act on it.
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { PLAIN_KEY_FORMATS, PLAIN_VALUE_FORMATS, SinkConfigSchema, type SinkConfig } from './schema.ts';

// ajv-formats is CommonJS with a default export; under nodenext it arrives wrapped.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats = (addFormatsModule as unknown as { default: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: false });
addFormats(ajv);
const validateSchema = ajv.compile(SinkConfigSchema);

export class ConfigError extends Error {
  readonly problems: string[];
  /** The reason the sink's termination message starts with (the operator's condition reason). */
  readonly reason: string;
  constructor(problems: string[], reason = 'ConfigInvalid') {
    super(reason === 'ConfigInvalid' ? `invalid sink configuration:\n  - ${problems.join('\n  - ')}` : problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
    this.reason = reason;
  }
}

const SECRET_FIELDS: Record<string, string> = {
  'rockset.apiKey': 'put the key in env ROCKSET_API_KEY or in a file named by rockset.apiKeyFile (a mounted Secret)',
  'kafka.sasl.password': 'put the password in env KAFKA_SASL_PASSWORD or in a file named by kafka.sasl.passwordFile (a mounted Secret)',
  'schemaRegistry.password': 'put the password in env SCHEMA_REGISTRY_PASSWORD or in a file named by schemaRegistry.passwordFile (a mounted Secret)',
};

function fieldOf(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return parts.length ? parts.join('.') : '(top level)';
}

function describe(errors: ErrorObject[]): string[] {
  const out: string[] = [];
  const unionPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const e of errors) {
    const field = fieldOf(e.instancePath);
    switch (e.keyword) {
      case 'additionalProperties': {
        const name = (e.params as { additionalProperty: string }).additionalProperty;
        const full = fieldOf(e.instancePath, name);
        const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
        out.push(full in SECRET_FIELDS ? `${full}: secrets are not accepted in the configuration. ${SECRET_FIELDS[full]}` : `${full}: unknown field. Remove it or use one of: ${allowed.join(', ')}`);
        break;
      }
      case 'required':
        out.push(`${fieldOf(e.instancePath, (e.params as { missingProperty: string }).missingProperty)}: is required. Add it`);
        break;
      case 'anyOf': {
        const branches = ((e.parentSchema as { anyOf?: { const?: unknown }[] }).anyOf ?? []).map((b) => b.const);
        out.push(branches.every((b) => b !== undefined) ? `${field}: is ${JSON.stringify(e.data)}. Use one of: ${branches.join(', ')}` : `${field}: ${e.message ?? 'is invalid'}`);
        break;
      }
      case 'const':
        if (unionPaths.has(e.instancePath)) break; // reported once, by its anyOf
        out.push(`${field}: must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`);
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        out.push(`${field}: is ${JSON.stringify(e.data)}; it ${e.message}. Choose a value in range`);
        break;
      case 'format': {
        const description = (e.parentSchema as { description?: string }).description;
        out.push(`${field}: ${JSON.stringify(e.data)} is not a valid ${description ?? (e.params as { format?: string }).format ?? 'value'}`);
        break;
      }
      case 'pattern': {
        // The description states the rule in words (a Rockset name: letters, digits, ...).
        const description = (e.parentSchema as { description?: string }).description;
        out.push(`${field}: ${JSON.stringify(e.data)} is not valid${description ? ` (${description})` : ''}: it must match ${(e.params as { pattern: string }).pattern}`);
        break;
      }
      default:
        if (unionPaths.has(e.instancePath)) break;
        out.push(`${field}: ${e.message ?? 'is invalid'}${e.keyword === 'type' ? ` (got ${JSON.stringify(e.data)})` : ''}`);
    }
  }
  return [...new Set(out)];
}

/** The rules JSON Schema cannot say; `config` already has its defaults. */
function crossFieldProblems(c: SinkConfig): string[] {
  const p: string[] = [];
  const { kafka, rockset, documents, errors, retry } = c;
  c.format ??= { value: 'json', key: 'string' };
  if (!kafka.topics === !kafka.topicPattern) {
    p.push('kafka.topics / kafka.topicPattern: set exactly one of them (a list of topics, or a regular expression)');
  }
  if (kafka.topicPattern) {
    try {
      new RegExp(kafka.topicPattern);
    } catch (err) {
      p.push(`kafka.topicPattern: ${JSON.stringify(kafka.topicPattern)} is not a valid regular expression (${(err as Error).message})`);
    }
  }
  if (!rockset.collection) {
    if (kafka.topicPattern) p.push('rockset.collection: is required with kafka.topicPattern (topics found by the pattern need a collection). Add it');
    const unrouted = (kafka.topics ?? []).filter((t) => !(t in rockset.topicCollections));
    if (unrouted.length) p.push(`rockset.collection: topics ${unrouted.join(', ')} have no entry in rockset.topicCollections. Add a default rockset.collection or map each topic`);
  }
  for (const t of Object.keys(rockset.topicCollections)) {
    if (kafka.topics && !kafka.topics.includes(t)) p.push(`rockset.topicCollections.${t}: topic ${t} is not in kafka.topics. Remove the entry or add the topic`);
  }
  if (rockset.apiServer.endsWith('/')) rockset.apiServer = rockset.apiServer.replace(/\/+$/, '');
  if (errors.tolerance === 'all' && !errors.deadLetterTopic) {
    p.push('errors.deadLetterTopic: is required when errors.tolerance is "all" (bad records go there). Add a topic name, or set errors.tolerance to "none"');
  }
  if (errors.deadLetterTopic) {
    const dlq = errors.deadLetterTopic;
    const consumed = kafka.topics?.includes(dlq) || (kafka.topicPattern !== undefined && safeTest(kafka.topicPattern, dlq));
    if (consumed) p.push(`errors.deadLetterTopic: ${dlq} is also consumed by the sink, which would loop bad records. Choose another topic`);
  }
  if (documents.idSource === 'document' && documents.tombstones === 'delete') {
    // an upsert takes the _id from its document, a tombstone has only the key: the delete would name another document
    p.push('documents.tombstones: "delete" does not work with documents.idSource "document": a tombstone carries only the key, not the _id its document chose, so the delete would miss. Either set documents.tombstones to "ignore", or set documents.idSource to "key" so that the key names the document and tombstones delete it');
  }
  if (documents.eventTime === 'field' && !documents.eventTimeField) {
    p.push('documents.eventTimeField: is required when documents.eventTime is "field". Name the document field holding the event time');
  }
  const needsRegistry = (['value', 'key'] as const).filter((k) => !(k === 'value' ? PLAIN_VALUE_FORMATS : PLAIN_KEY_FORMATS).includes(c.format[k]));
  if (needsRegistry.length && !c.schemaRegistry) {
    p.push(`schemaRegistry.url: is required when format.${needsRegistry[0]} is "${c.format[needsRegistry[0]!]}". Add the registry's URL, or use format json`);
  }
  if (retry.maxBackoffMs < retry.initialBackoffMs) {
    p.push(`retry.maxBackoffMs: is ${retry.maxBackoffMs}, below retry.initialBackoffMs (${retry.initialBackoffMs}). Raise it`);
  }
  if (kafka.heartbeatIntervalMs * 3 > kafka.sessionTimeoutMs) {
    p.push(`kafka.heartbeatIntervalMs: ${kafka.heartbeatIntervalMs} is more than a third of kafka.sessionTimeoutMs (${kafka.sessionTimeoutMs}). Lower it so the group keeps the member`);
  }
  return p;
}

function safeTest(pattern: string, s: string): boolean {
  try {
    return new RegExp(pattern).test(s);
  } catch {
    return false;
  }
}

/** Validates a parsed configuration, fills in defaults, and returns it; throws ConfigError naming each bad field. */
export function validateConfig(input: unknown): SinkConfig {
  const candidate = structuredClone(input);
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
    throw new ConfigError(['(top level): the configuration must be a JSON object with sections kafka, rockset, batch, retry, documents, errors']);
  }
  if (!validateSchema(candidate)) throw new ConfigError(describe(validateSchema.errors ?? []));
  const config = candidate as SinkConfig;
  const problems = crossFieldProblems(config);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

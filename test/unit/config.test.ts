// validateConfig / loadConfig: what a user with a wrong configuration is told,
// the defaults a right one gets, and that secrets stay out of the configuration.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../sink/config/load.ts';
import { ConfigError, validateConfig } from '../../sink/config/validate.ts';

type Json = Record<string, unknown>;

function minimal(): Json {
  return {
    kafka: { brokers: ['kafka-0.kafka:9092'], groupId: 'rockset-sink', topics: ['orders'] },
    rockset: { apiServer: 'https://api.usw2a1.rockset.com', collection: 'orders' },
  };
}

/** minimal() with sections merged one level deep (a section set to undefined is removed). */
function withConfig(patch: Json): Json {
  const c = minimal();
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete c[k];
    else if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof c[k] === 'object') {
      const merged: Json = { ...(c[k] as Json), ...(v as Json) };
      for (const [kk, vv] of Object.entries(merged)) if (vv === undefined) delete merged[kk];
      c[k] = merged;
    } else c[k] = v;
  }
  return c;
}

function problemsOf(input: unknown): string[] {
  try {
    validateConfig(input);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.ok(err.message.includes(err.problems[0] ?? '\0'), 'the message lists the problems');
    return err.problems;
  }
  assert.fail('the configuration was accepted');
}

describe('validateConfig: defaults', () => {
  test('a minimal valid configuration gets every default', () => {
    const input = minimal();
    const before = JSON.stringify(input);
    assert.deepEqual(validateConfig(input), {
      kafka: {
        brokers: ['kafka-0.kafka:9092'],
        groupId: 'rockset-sink',
        topics: ['orders'],
        clientId: 'rockset-sink',
        topicRefreshIntervalMs: 300_000,
        fromBeginning: true,
        ssl: false,
        sessionTimeoutMs: 30_000,
        heartbeatIntervalMs: 3000,
        fetchMaxBytesPerPartition: 4 * 1024 * 1024,
        fetchMinBytes: 64 * 1024,
      },
      rockset: { apiServer: 'https://api.usw2a1.rockset.com', collection: 'orders', workspace: 'commons', topicCollections: {}, requestTimeoutMs: 30_000, maxInFlightRequests: 4 },
      batch: { maxDocuments: 5000, maxBytes: 4 * 1024 * 1024, lingerMs: 500 },
      retry: { initialBackoffMs: 200, maxBackoffMs: 30_000, multiplier: 2, maxRetries: -1 },
      documents: { idSource: 'key', eventTime: 'timestamp', tombstones: 'delete' },
      errors: { tolerance: 'none' },
      format: { value: 'json', key: 'string' },
      http: { port: 9090, host: '0.0.0.0' },
      shutdownTimeoutMs: 30_000,
      logLevel: 'info',
    });
    assert.equal(JSON.stringify(input), before, 'the input object is not modified');
  });

  test('a partly written section keeps its values and gets the rest', () => {
    const c = validateConfig(withConfig({ batch: { maxDocuments: 100 }, documents: { idSource: 'coordinates' } }));
    assert.deepEqual(c.batch, { maxDocuments: 100, maxBytes: 4 * 1024 * 1024, lingerMs: 500 });
    assert.deepEqual(c.documents, { idSource: 'coordinates', eventTime: 'timestamp', tombstones: 'delete' });
  });

  test('idSource document is accepted with tombstones ignore, and every idSource with tombstones delete but document', () => {
    assert.equal(validateConfig(withConfig({ documents: { idSource: 'document', tombstones: 'ignore' } })).documents.idSource, 'document');
    for (const idSource of ['key', 'coordinates']) assert.equal(validateConfig(withConfig({ documents: { idSource, tombstones: 'delete' } })).documents.tombstones, 'delete');
  });

  test('trailing slashes of apiServer are removed', () => {
    assert.equal(validateConfig(withConfig({ rockset: { apiServer: 'https://api.usw2a1.rockset.com/' } })).rockset.apiServer, 'https://api.usw2a1.rockset.com');
    assert.equal(validateConfig(withConfig({ rockset: { apiServer: 'http://localhost:3000//' } })).rockset.apiServer, 'http://localhost:3000');
  });

  const accepted: { name: string; patch: Json }[] = [
    { name: 'limits at their maximum', patch: { batch: { maxDocuments: 20_000, maxBytes: 10_485_760 } } },
    { name: 'heartbeat exactly a third of the session timeout', patch: { kafka: { heartbeatIntervalMs: 10_000, sessionTimeoutMs: 30_000 } } },
    { name: 'maxBackoffMs equal to initialBackoffMs', patch: { retry: { initialBackoffMs: 500, maxBackoffMs: 500 } } },
    { name: 'topicPattern with a collection', patch: { kafka: { topics: undefined, topicPattern: '^orders\\..*' } } },
    { name: 'topics routed only by topicCollections', patch: { kafka: { topics: ['a', 'b'] }, rockset: { collection: undefined, topicCollections: { a: 'ca', b: 'cb' } } } },
    { name: 'tolerance all with a dead-letter topic', patch: { errors: { tolerance: 'all', deadLetterTopic: 'orders.dlq' } } },
    { name: 'eventTime field with its field', patch: { documents: { eventTime: 'field', eventTimeField: 'ts' } } },
    { name: 'Rockset names with dashes, underscores and a nested workspace', patch: { rockset: { workspace: 'sales.eu-west_1', collection: 'Orders_2024-v2', topicCollections: { orders: '9orders' } } } },
    { name: 'SASL with a passwordFile', patch: { kafka: { sasl: { mechanism: 'scram-sha-512', username: 'u', passwordFile: '/secrets/pw' } } } },
  ];
  for (const c of accepted) {
    test(`accepts ${c.name}`, () => assert.doesNotThrow(() => validateConfig(withConfig(c.patch))));
  }
});

describe('validateConfig: rejected, naming the field and a fix', () => {
  const cases: { name: string; input: unknown; mentions: string[]; notMentions?: string[] }[] = [
    { name: 'unknown top-level field', input: withConfig({ colection: 'x' }), mentions: ['colection: unknown field', 'Remove it', 'rockset'] },
    { name: 'unknown nested field', input: withConfig({ batch: { maxDocs: 10 } }), mentions: ['batch.maxDocs: unknown field', 'maxDocuments'] },
    { name: 'unknown field deep in kafka', input: withConfig({ kafka: { group: 'g' } }), mentions: ['kafka.group: unknown field', 'groupId'] },
    { name: 'missing kafka.groupId', input: withConfig({ kafka: { groupId: undefined } }), mentions: ['kafka.groupId', 'required', 'Add it'] },
    { name: 'missing rockset section', input: withConfig({ rockset: undefined }), mentions: ['rockset', 'required'] },
    { name: 'batch.maxDocuments 0', input: withConfig({ batch: { maxDocuments: 0 } }), mentions: ['batch.maxDocuments', 'is 0', '>= 1', 'Choose a value in range'] },
    { name: 'batch.maxDocuments 20001', input: withConfig({ batch: { maxDocuments: 20_001 } }), mentions: ['batch.maxDocuments', '20001', '<= 20000'] },
    { name: 'batch.maxBytes above 10485760', input: withConfig({ batch: { maxBytes: 10_485_761 } }), mentions: ['batch.maxBytes', '10485761', '<= 10485760'] },
    { name: 'broker without a port', input: withConfig({ kafka: { brokers: ['localhost'] } }), mentions: ['kafka.brokers.0', '"localhost"', 'host:port'] },
    { name: 'a collection name with a slash', input: withConfig({ rockset: { collection: 'orders/with slash' } }), mentions: ['rockset.collection', '"orders/with slash"', "a Rockset name: letters, digits, '-' and '_'"] },
    { name: 'a workspace name with a space', input: withConfig({ rockset: { workspace: 'sales team' } }), mentions: ['rockset.workspace', '"sales team"', 'a Rockset name'] },
    { name: 'a topicCollections route to a dotted name', input: withConfig({ rockset: { topicCollections: { orders: 'orders.eu' } } }), mentions: ['rockset.topicCollections.orders', '"orders.eu"', 'a Rockset name'] },
    { name: 'apiServer ftp://x', input: withConfig({ rockset: { apiServer: 'ftp://x' } }), mentions: ['rockset.apiServer', '"ftp://x"', 'https://'] },
    { name: 'apiServer not a url', input: withConfig({ rockset: { apiServer: 'not a url' } }), mentions: ['rockset.apiServer', '"not a url"', 'https://'] },
    {
      name: 'rockset.apiKey in the configuration',
      input: withConfig({ rockset: { apiKey: 'rs-KEY-0123456789abcdef' } }),
      mentions: ['rockset.apiKey', 'secrets are not accepted', 'ROCKSET_API_KEY', 'rockset.apiKeyFile'],
      notMentions: ['rs-KEY-0123456789abcdef'],
    },
    {
      name: 'kafka.sasl.password in the configuration',
      input: withConfig({ kafka: { sasl: { mechanism: 'plain', username: 'u', password: 'hunter2-pw' } } }),
      mentions: ['kafka.sasl.password', 'secrets are not accepted', 'KAFKA_SASL_PASSWORD', 'kafka.sasl.passwordFile'],
      notMentions: ['hunter2-pw'],
    },
    { name: 'both topics and topicPattern', input: withConfig({ kafka: { topicPattern: 'o.*' } }), mentions: ['kafka.topics / kafka.topicPattern', 'exactly one'] },
    { name: 'neither topics nor topicPattern', input: withConfig({ kafka: { topics: undefined } }), mentions: ['kafka.topics / kafka.topicPattern', 'exactly one'] },
    { name: 'invalid regex topicPattern', input: withConfig({ kafka: { topics: undefined, topicPattern: 'orders(' } }), mentions: ['kafka.topicPattern', '"orders("', 'not a valid regular expression'] },
    {
      name: 'topicPattern without rockset.collection',
      input: withConfig({ kafka: { topics: undefined, topicPattern: '^o' }, rockset: { collection: undefined } }),
      mentions: ['rockset.collection', 'kafka.topicPattern', 'Add it'],
    },
    {
      name: 'topic with neither a collection nor a topicCollections entry',
      input: withConfig({ kafka: { topics: ['a', 'b'] }, rockset: { collection: undefined, topicCollections: { a: 'ca' } } }),
      mentions: ['rockset.collection', 'topics b have no entry', 'rockset.topicCollections'],
      notMentions: ['topics a'],
    },
    {
      name: 'topicCollections entry for a topic not consumed',
      input: withConfig({ rockset: { topicCollections: { payments: 'p' } } }),
      mentions: ['rockset.topicCollections.payments', 'not in kafka.topics', 'Remove the entry or add the topic'],
    },
    { name: 'tolerance all without deadLetterTopic', input: withConfig({ errors: { tolerance: 'all' } }), mentions: ['errors.deadLetterTopic', 'required', 'tolerance'] },
    { name: 'deadLetterTopic equal to a consumed topic', input: withConfig({ errors: { tolerance: 'all', deadLetterTopic: 'orders' } }), mentions: ['errors.deadLetterTopic', 'orders', 'loop', 'Choose another topic'] },
    {
      name: 'deadLetterTopic matched by topicPattern',
      input: withConfig({ kafka: { topics: undefined, topicPattern: '^orders' }, errors: { tolerance: 'all', deadLetterTopic: 'orders.dlq' } }),
      mentions: ['errors.deadLetterTopic', 'orders.dlq', 'also consumed'],
    },
    { name: 'eventTime field without eventTimeField', input: withConfig({ documents: { eventTime: 'field' } }), mentions: ['documents.eventTimeField', 'required', '"field"'] },
    { name: 'maxBackoffMs below initialBackoffMs', input: withConfig({ retry: { initialBackoffMs: 1000, maxBackoffMs: 999 } }), mentions: ['retry.maxBackoffMs', '999', '1000', 'Raise it'] },
    { name: 'heartbeat more than a third of the session', input: withConfig({ kafka: { heartbeatIntervalMs: 10_001, sessionTimeoutMs: 30_000 } }), mentions: ['kafka.heartbeatIntervalMs', '10001', '30000', 'Lower it'] },
    {
      name: 'idSource document with tombstones delete (the default)',
      input: withConfig({ documents: { idSource: 'document' } }),
      mentions: ['documents.tombstones', 'documents.idSource "document"', 'only the key', 'set documents.tombstones to "ignore"', 'documents.idSource to "key"'],
    },
    { name: 'idSource document with tombstones delete (explicit)', input: withConfig({ documents: { idSource: 'document', tombstones: 'delete' } }), mentions: ['documents.tombstones', 'documents.idSource "document"'] },
    { name: 'documents.tombstones "drop"', input: withConfig({ documents: { tombstones: 'drop' } }), mentions: ['documents.tombstones', '"drop"', 'delete, ignore'] },
    { name: 'logLevel "loud"', input: withConfig({ logLevel: 'loud' }), mentions: ['logLevel', '"loud"', 'fatal, error, warn, info, debug, trace'] },
    { name: 'wrong type', input: withConfig({ kafka: { ssl: 'yes' } }), mentions: ['kafka.ssl', 'boolean', '"yes"'] },
    { name: 'an array', input: [], mentions: ['(top level)', 'JSON object'] },
    { name: 'null', input: null, mentions: ['(top level)', 'JSON object'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const problems = problemsOf(c.input);
      const text = problems.join('\n');
      for (const m of c.mentions) assert.ok(text.includes(m), `${JSON.stringify(problems)} should mention ${JSON.stringify(m)}`);
      for (const m of c.notMentions ?? []) assert.ok(!text.includes(m), `${JSON.stringify(problems)} must not mention ${JSON.stringify(m)}`);
    });
  }

  test('the ConfigError message never shows the API key', () => {
    try {
      validateConfig(withConfig({ rockset: { apiKey: 'rs-KEY-0123456789abcdef' }, batch: { maxDocuments: 0 } }));
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.ok(!err.message.includes('rs-KEY-0123456789abcdef'), err.message);
      assert.ok(!JSON.stringify(err.problems).includes('rs-KEY-0123456789abcdef'));
    }
  });

  test('every problem is reported at once, each once', () => {
    const problems = problemsOf(withConfig({ batch: { maxDocuments: 0, maxBytes: 1 }, logLevel: 'loud', foo: 1 }));
    assert.equal(problems.length, 4, JSON.stringify(problems));
    assert.equal(new Set(problems).size, problems.length);
  });
});

describe('loadConfig', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rockset-sink-unit-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const file = (content: string, name = `f${n++}`) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  const KEY = 'rs-api-key-SECRET-42';
  const PASSWORD = 'kafka-pw-SECRET-7';

  function loadError(argv: string[], env: NodeJS.ProcessEnv): ConfigError {
    try {
      loadConfig(argv, env);
    } catch (err) {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      return err;
    }
    assert.fail('loadConfig succeeded');
  }

  test('from --config <file>', () => {
    const p = file(JSON.stringify(minimal()));
    const loaded = loadConfig(['--log', 'x', '--config', p], { ROCKSET_API_KEY: KEY });
    assert.equal(loaded.source, p);
    assert.equal(loaded.config.kafka.groupId, 'rockset-sink');
    assert.equal(loaded.config.batch.maxDocuments, 5000, 'defaults applied');
    assert.deepEqual(loaded.secrets, { apiKey: KEY });
  });

  test('--config wins over the environment', () => {
    const p = file(JSON.stringify(withConfig({ kafka: { groupId: 'from-flag' } })));
    const q = file(JSON.stringify(withConfig({ kafka: { groupId: 'from-env-file' } })));
    const loaded = loadConfig(['--config', p], { ROCKSET_SINK_CONFIG: q, ROCKSET_SINK_CONFIG_JSON: '{}', ROCKSET_API_KEY: KEY });
    assert.equal(loaded.config.kafka.groupId, 'from-flag');
  });

  test('from env ROCKSET_SINK_CONFIG (a path), before ROCKSET_SINK_CONFIG_JSON', () => {
    const p = file(JSON.stringify(withConfig({ kafka: { groupId: 'from-env-file' } })));
    const loaded = loadConfig([], { ROCKSET_SINK_CONFIG: p, ROCKSET_SINK_CONFIG_JSON: '{}', ROCKSET_API_KEY: KEY });
    assert.equal(loaded.source, p);
    assert.equal(loaded.config.kafka.groupId, 'from-env-file');
  });

  test('from env ROCKSET_SINK_CONFIG_JSON', () => {
    const loaded = loadConfig([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ kafka: { groupId: 'from-json' } })), ROCKSET_API_KEY: KEY });
    assert.equal(loaded.source, 'ROCKSET_SINK_CONFIG_JSON');
    assert.equal(loaded.config.kafka.groupId, 'from-json');
  });

  test('no configuration at all -> error naming the three options', () => {
    const err = loadError([], { ROCKSET_API_KEY: KEY });
    for (const m of ['--config', 'ROCKSET_SINK_CONFIG', 'ROCKSET_SINK_CONFIG_JSON']) assert.ok(err.message.includes(m), err.message);
  });

  test('invalid JSON names its source', () => {
    const p = file('{"kafka": ');
    assert.ok(loadError(['--config', p], { ROCKSET_API_KEY: KEY }).message.includes(`${p}: not valid JSON`));
    assert.ok(loadError([], { ROCKSET_SINK_CONFIG: p, ROCKSET_API_KEY: KEY }).message.includes(`${p}: not valid JSON`));
    assert.ok(loadError([], { ROCKSET_SINK_CONFIG_JSON: '{nope', ROCKSET_API_KEY: KEY }).message.includes('ROCKSET_SINK_CONFIG_JSON: not valid JSON'));
  });

  test('a missing configuration file is named, with the reason', () => {
    const missing = path.join(dir, 'does-not-exist.json');
    const err = loadError(['--config', missing], { ROCKSET_API_KEY: KEY });
    assert.ok(err.message.includes(missing) && err.message.includes('ENOENT'), err.message);
  });

  test('an invalid configuration is a ConfigError naming the field', () => {
    const err = loadError([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ batch: { maxDocuments: 0 } })), ROCKSET_API_KEY: KEY });
    assert.ok(err.message.includes('batch.maxDocuments'), err.message);
  });

  test('API key from env ROCKSET_API_KEY (trimmed)', () => {
    const loaded = loadConfig([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(minimal()), ROCKSET_API_KEY: `  ${KEY}\n` });
    assert.equal(loaded.secrets.apiKey, KEY);
  });

  test('API key from rockset.apiKeyFile, content trimmed, preferred over the env', () => {
    const keyFile = file(`${KEY}\n`);
    const loaded = loadConfig([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ rockset: { apiKeyFile: keyFile } })), ROCKSET_API_KEY: 'other' });
    assert.equal(loaded.secrets.apiKey, KEY);
  });

  const missingKey: { name: string; env: NodeJS.ProcessEnv }[] = [
    { name: 'unset', env: {} },
    { name: 'empty', env: { ROCKSET_API_KEY: '' } },
    { name: 'blank', env: { ROCKSET_API_KEY: '  \n' } },
  ];
  for (const c of missingKey) {
    test(`missing API key (${c.name}) -> ConfigError naming ROCKSET_API_KEY`, () => {
      const err = loadError([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(minimal()), ...c.env });
      assert.ok(err.message.includes('ROCKSET_API_KEY') && err.message.includes('rockset.apiKeyFile'), err.message);
    });
  }

  test('an unreadable apiKeyFile -> error naming the field and the path', () => {
    const missing = path.join(dir, 'no-key');
    const err = loadError([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ rockset: { apiKeyFile: missing } })), ROCKSET_API_KEY: KEY });
    assert.ok(err.message.includes('rockset.apiKeyFile') && err.message.includes(missing) && err.message.includes('ENOENT'), err.message);
  });

  test('a secret file missing where the operator mounted it -> SecretKeyNotFound naming the spec field, the Secret and the key, and the fix', () => {
    const missing = path.join(dir, 'sasl', 'password');
    const err = loadError([], {
      ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ kafka: { sasl: { ...sasl, passwordFile: missing } } })),
      ROCKSET_API_KEY: KEY,
      KAFKA_SASL_PASSWORD_SOURCE: 'spec.kafka.sasl.passwordSecretRef (Secret kafka-user, key password)',
    });
    assert.equal(err.reason, 'SecretKeyNotFound');
    assert.equal(err.message, `spec.kafka.sasl.passwordSecretRef (Secret kafka-user, key password): the Secret has no such key (no file ${missing} in the worker). Add the key to the Secret, or point the reference at a key it has`);
  });

  test('NODE_EXTRA_CA_CERTS naming a missing file is an error (Node only warns), with the operator\'s source named', () => {
    const missing = path.join(dir, 'kafka-ca', 'ca.crt');
    const env = { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(minimal()), ROCKSET_API_KEY: KEY, NODE_EXTRA_CA_CERTS: missing };
    const plain = loadError([], env);
    assert.equal(plain.reason, 'ConfigInvalid');
    assert.ok(plain.message.includes('env NODE_EXTRA_CA_CERTS') && plain.message.includes(missing), plain.message);
    const named = loadError([], { ...env, NODE_EXTRA_CA_CERTS_SOURCE: 'spec.kafka.tls.caSecretRef (Secret kafka-ca, key ca.crt)' });
    assert.equal(named.reason, 'SecretKeyNotFound');
    assert.match(named.message, /^spec\.kafka\.tls\.caSecretRef \(Secret kafka-ca, key ca\.crt\): the Secret has no such key/);
    assert.equal(loadConfig([], { ...env, NODE_EXTRA_CA_CERTS: file('-----BEGIN CERTIFICATE-----\n') }).secrets.apiKey, KEY);
  });

  test('an empty apiKeyFile -> error naming the field', () => {
    const empty = file('  \n');
    const err = loadError([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ rockset: { apiKeyFile: empty } })), ROCKSET_API_KEY: KEY });
    assert.ok(err.message.includes('rockset.apiKeyFile') && err.message.includes('empty'), err.message);
  });

  const sasl = { mechanism: 'scram-sha-256', username: 'sink' };

  test('SASL password from env KAFKA_SASL_PASSWORD', () => {
    const loaded = loadConfig([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ kafka: { sasl } })), ROCKSET_API_KEY: KEY, KAFKA_SASL_PASSWORD: PASSWORD });
    assert.deepEqual(loaded.secrets, { apiKey: KEY, saslPassword: PASSWORD });
  });

  test('SASL password from kafka.sasl.passwordFile', () => {
    const pw = file(`${PASSWORD}\n`);
    const loaded = loadConfig([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ kafka: { sasl: { ...sasl, passwordFile: pw } } })), ROCKSET_API_KEY: KEY });
    assert.equal(loaded.secrets.saslPassword, PASSWORD);
  });

  test('SASL without any password -> ConfigError naming KAFKA_SASL_PASSWORD', () => {
    const err = loadError([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ kafka: { sasl } })), ROCKSET_API_KEY: KEY });
    assert.ok(err.message.includes('KAFKA_SASL_PASSWORD') && err.message.includes('kafka.sasl.passwordFile'), err.message);
  });

  test('an unreadable passwordFile -> error naming the field', () => {
    const err = loadError([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ kafka: { sasl: { ...sasl, passwordFile: path.join(dir, 'no-pw') } } })), ROCKSET_API_KEY: KEY });
    assert.ok(err.message.includes('kafka.sasl.passwordFile'), err.message);
  });

  test('without SASL no password is read', () => {
    const loaded = loadConfig([], { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(minimal()), ROCKSET_API_KEY: KEY, KAFKA_SASL_PASSWORD: PASSWORD });
    assert.equal(loaded.secrets.saslPassword, undefined);
  });

  test('the loaded configuration holds no secret anywhere', () => {
    const keyFile = file(KEY);
    const pwFile = file(PASSWORD);
    for (const env of [
      { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ kafka: { sasl } })), ROCKSET_API_KEY: KEY, KAFKA_SASL_PASSWORD: PASSWORD },
      { ROCKSET_SINK_CONFIG_JSON: JSON.stringify(withConfig({ kafka: { sasl: { ...sasl, passwordFile: pwFile } }, rockset: { apiKeyFile: keyFile } })) },
    ]) {
      const loaded = loadConfig([], env);
      const text = JSON.stringify(loaded.config) + loaded.source;
      assert.ok(!text.includes(KEY), text);
      assert.ok(!text.includes(PASSWORD), text);
      assert.equal(loaded.secrets.apiKey, KEY);
      assert.equal(loaded.secrets.saslPassword, PASSWORD);
    }
  });
});

describe('formats and the schema registry', () => {
  test('json values and string keys are the defaults', () => {
    assert.deepEqual(validateConfig(minimal()).format, { value: 'json', key: 'string' });
  });

  test('a registry format without schemaRegistry is refused, naming the field', () => {
    const problems = problemsOf(withConfig({ format: { value: 'avro' } }));
    assert.ok(problems.some((p) => p.startsWith('schemaRegistry.url: is required when format.value is "avro"')), problems.join('\n'));
    const keyProblems = problemsOf(withConfig({ format: { key: 'protobuf' } }));
    assert.ok(keyProblems.some((p) => p.includes('format.key is "protobuf"')), keyProblems.join('\n'));
  });

  test("keys of Java's number serializers need no registry", () => {
    for (const key of ['long', 'integer', 'short'] as const) assert.deepEqual(validateConfig(withConfig({ format: { key } })).format, { value: 'json', key });
  });

  test('unknown formats list the allowed ones', () => {
    const problems = problemsOf(withConfig({ format: { value: 'xml' } }));
    assert.ok(problems.some((p) => p === 'format.value: is "xml". Use one of: json, avro, protobuf, jsonschema, auto'), problems.join('\n'));
  });

  test('a registry password in the configuration is refused without echoing it', () => {
    const problems = problemsOf(withConfig({ format: { value: 'avro' }, schemaRegistry: { url: 'http://registry:8081', password: 'sr-SECRET-1' } }));
    assert.ok(problems.some((p) => p.startsWith('schemaRegistry.password: secrets are not accepted')), problems.join('\n'));
    assert.ok(!problems.join('\n').includes('sr-SECRET-1'));
  });

  test('the registry password comes from SCHEMA_REGISTRY_PASSWORD and stays out of the config', () => {
    const json = JSON.stringify(withConfig({ format: { value: 'auto' }, schemaRegistry: { url: 'http://registry:8081', username: 'sink' } }));
    const loaded = loadConfig([], { ROCKSET_SINK_CONFIG_JSON: json, ROCKSET_API_KEY: 'k', SCHEMA_REGISTRY_PASSWORD: 'sr-SECRET-2' });
    assert.equal(loaded.secrets.registryPassword, 'sr-SECRET-2');
    assert.ok(!JSON.stringify(loaded.config).includes('sr-SECRET-2'));
    assert.throws(() => loadConfig([], { ROCKSET_SINK_CONFIG_JSON: json, ROCKSET_API_KEY: 'k' }), /SCHEMA_REGISTRY_PASSWORD/);
  });
});

// The pure renders: RocksetSink -> sink config, ConfigMap, Deployment.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateConfig } from '../../sink/config/validate.ts';
import { RESTARTED_AT_ANNOTATION } from '../../operator/api/rocksetsink.ts';
import { validateSpec } from '../../operator/api/validate.ts';
import { dataChecksum, secretsChecksum } from '../../operator/render/checksum.ts';
import { renderConfig, secretMounts } from '../../operator/render/config.ts';
import { CONFIG_CHECKSUM_ANNOTATION, SECRETS_CHECKSUM_ANNOTATION, selectorString } from '../../operator/render/meta.ts';
import { renderConfigMap, renderDeployment, renderSink, type Container } from '../../operator/render/objects.ts';
import { DEFAULT_IMAGE, fullSpec, minimalSpec, sinkOf, withSection, type Json } from './fixtures.ts';

const SECRETS_HASH = secretsChecksum({ rockset: '101', 'kafka-user': '202' });
const render = (spec: Json, meta?: Parameters<typeof sinkOf>[1]) => renderSink(sinkOf(spec, meta), { image: DEFAULT_IMAGE, secretsHash: SECRETS_HASH });
const containerOf = (r: ReturnType<typeof render>): Container => r.deployment.spec.template.spec.containers[0]!;
const volumes = (r: ReturnType<typeof render>) => new Map(r.deployment.spec.template.spec.volumes.map((v) => [v.name as string, v]));

const OWNER = { apiVersion: 'rockset-sink.dev/v1alpha1', kind: 'RocksetSink', name: 'orders', uid: '6f1c2c1e-1d7a-4d3b-9a55-2f0f5d1a7c10', controller: true, blockOwnerDeletion: true };
const LABELS = { 'app.kubernetes.io/name': 'rockset-sink', 'app.kubernetes.io/instance': 'orders', 'app.kubernetes.io/component': 'sink', 'app.kubernetes.io/managed-by': 'rockset-sink-operator' };

describe('renderConfig', () => {
  test('minimal: the sections as written, the key as a mounted file, http on 0.0.0.0:9090; the sink accepts it', () => {
    const config = renderConfig(sinkOf(minimalSpec()));
    assert.equal(config.rockset.apiKeyFile, '/var/run/secrets/rockset-sink/api-key/api-key');
    assert.deepEqual(config.http, { port: 9090, host: '0.0.0.0' });
    assert.deepEqual(config.kafka.topics, ['orders']);
    assert.equal('apiKeySecretRef' in config.rockset, false);
    for (const k of ['replicas', 'paused', 'image', 'resources', 'podTemplate']) assert.equal(k in config, false, k);
    const validated = validateConfig(config);
    assert.equal(validated.batch.maxDocuments, 5000);
  });

  test('full: every secret is a file path under its own mount; the sink accepts it', () => {
    const config = renderConfig(sinkOf(fullSpec()));
    assert.equal(config.rockset.apiKeyFile, '/var/run/secrets/rockset-sink/api-key/api-key');
    assert.deepEqual(config.kafka.sasl, { mechanism: 'scram-sha-512', username: 'sink', passwordFile: '/var/run/secrets/rockset-sink/kafka-sasl/password' });
    assert.equal(config.schemaRegistry?.passwordFile, '/var/run/secrets/rockset-sink/schema-registry/password');
    assert.equal(config.kafka.ssl, true);
    assert.equal('tls' in config.kafka, false);
    assert.deepEqual(config.errors, { tolerance: 'all', deadLetterTopic: 'orders.dlq' });
    assert.deepEqual(config.format, { value: 'avro', key: 'string' });
    assert.equal(config.shutdownTimeoutMs, 60000);
    assert.equal(config.logLevel, 'debug');
    validateConfig(config);
  });

  test('a registry without a username renders without a password file', () => {
    const spec = { ...minimalSpec(), format: { value: 'auto' }, schemaRegistry: { url: 'http://registry:8081' } };
    const config = renderConfig(sinkOf(spec));
    assert.deepEqual(config.schemaRegistry, { url: 'http://registry:8081', requestTimeoutMs: 10000 });
    validateConfig(config);
  });

  test('a spec the CRD accepts but the sink does not is caught by the sink\'s validateConfig', () => {
    // topicCollections names a topic that is not consumed: a rule only the sink knows.
    const spec = withSection(minimalSpec(), 'rockset', { topicCollections: { payments: 'payments' } });
    assert.throws(() => validateConfig(renderConfig(sinkOf(spec))), /rockset\.topicCollections\.payments/);
  });
});

describe('renderConfigMap', () => {
  test('name, namespace, labels, owner, and the config as sorted JSON', () => {
    const sink = sinkOf(minimalSpec());
    const config = renderConfig(sink);
    const cm = renderConfigMap(sink, config);
    assert.deepEqual(cm.metadata, { name: 'orders-sink-config', namespace: 'data', labels: LABELS, ownerReferences: [OWNER] });
    assert.deepEqual(Object.keys(cm.data), ['config.json']);
    assert.deepEqual(JSON.parse(cm.data['config.json']!), config);
    const keys = Object.keys(JSON.parse(cm.data['config.json']!) as Json);
    assert.deepEqual(keys, [...keys].sort());
  });
});

describe('renderDeployment', () => {
  test('minimal sink', () => {
    const r = render(minimalSpec());
    const d = r.deployment;
    assert.deepEqual(d.metadata, { name: 'orders-sink', namespace: 'data', labels: LABELS, ownerReferences: [OWNER] });
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'rockset-sink', 'app.kubernetes.io/instance': 'orders' });
    assert.equal(selectorString(sinkOf(minimalSpec())), 'app.kubernetes.io/name=rockset-sink,app.kubernetes.io/instance=orders');
    assert.deepEqual(d.spec.template.metadata.labels, LABELS);
    assert.deepEqual(d.spec.template.metadata.annotations, { [CONFIG_CHECKSUM_ANNOTATION]: dataChecksum(r.configMap.data), [SECRETS_CHECKSUM_ANNOTATION]: SECRETS_HASH });

    const c = containerOf(r);
    assert.equal(c.image, DEFAULT_IMAGE);
    // The default resources (512Mi limit) size the heap: 40% of it.
    assert.deepEqual(c.command, ['node', '--max-old-space-size=204', '--max-semi-space-size=4', '--disable-warning=TimeoutNegativeWarning', 'sink/main.js', '--config', '/etc/rockset-sink/config.json']);
    assert.deepEqual(c.env, [
      { name: 'MALLOC_ARENA_MAX', value: '2' },
      { name: 'MEMORY_LIMIT', value: '536870912' },
      { name: 'MALLOC_MMAP_THRESHOLD_', value: '131072' },
      { name: 'SINK_THREADS', value: '0' },
      // What the sink names when Rockset refuses the key: the spec field and the Secret, never the key.
      { name: 'ROCKSET_API_KEY_SOURCE', value: 'spec.rockset.apiKeySecretRef (Secret rockset, key api-key)' },
    ]);
    assert.deepEqual(c.ports, [{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
    assert.deepEqual((c.livenessProbe as Json).httpGet, { path: '/healthz', port: 'metrics' });
    assert.deepEqual((c.readinessProbe as Json).httpGet, { path: '/readyz', port: 'metrics' });
    assert.equal(c.terminationMessagePolicy, 'FallbackToLogsOnError');
    assert.deepEqual(c.securityContext, {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(c.resources, { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    assert.deepEqual(c.volumeMounts, [
      { name: 'config', mountPath: '/etc/rockset-sink', readOnly: true },
      { name: 'secret-api-key', mountPath: '/var/run/secrets/rockset-sink/api-key', readOnly: true },
      { name: 'tmp', mountPath: '/tmp', readOnly: false },
    ]);

    const pod = d.spec.template.spec;
    assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.terminationGracePeriodSeconds, 35);
    for (const k of ['serviceAccountName', 'nodeSelector', 'tolerations', 'affinity', 'imagePullSecrets', 'priorityClassName']) assert.equal(pod[k], undefined, k);
    const v = volumes(r);
    assert.deepEqual([...v.keys()], ['config', 'secret-api-key', 'tmp']);
    assert.deepEqual(v.get('config'), { name: 'config', configMap: { name: 'orders-sink-config', items: [{ key: 'config.json', path: 'config.json' }] } });
    // optional: a key the Secret lacks is a missing file the sink names (SecretKeyNotFound), not a pod stuck in ContainerCreating
    assert.deepEqual(v.get('secret-api-key'), { name: 'secret-api-key', secret: { secretName: 'rockset', items: [{ key: 'api-key', path: 'api-key' }], defaultMode: 0o440, optional: true } });
  });

  test('full sink: secret volumes select only the referenced keys; pod template overrides merged, ours win', () => {
    const r = render(fullSpec(), { annotations: { [RESTARTED_AT_ANNOTATION]: '2026-11-25T10:00:00Z' } });
    const d = r.deployment;
    assert.equal(d.spec.replicas, 3);
    const c = containerOf(r);
    assert.equal(c.image, 'registry.example.com/rockset-sink:dev');
    assert.deepEqual(c.env, [
      { name: 'MALLOC_ARENA_MAX', value: '2' },
      { name: 'MEMORY_LIMIT', value: '536870912' },
      { name: 'MALLOC_MMAP_THRESHOLD_', value: '131072' },
      { name: 'SINK_THREADS', value: '0' },
      { name: 'ROCKSET_API_KEY_SOURCE', value: 'spec.rockset.apiKeySecretRef (Secret rockset, key api-key)' },
      { name: 'KAFKA_SASL_PASSWORD_SOURCE', value: 'spec.kafka.sasl.passwordSecretRef (Secret kafka-user, key password)' },
      { name: 'NODE_EXTRA_CA_CERTS_SOURCE', value: 'spec.kafka.tls.caSecretRef (Secret kafka-ca, key ca.crt)' },
      { name: 'SCHEMA_REGISTRY_PASSWORD_SOURCE', value: 'spec.schemaRegistry.passwordSecretRef (Secret registry, key password)' },
      { name: 'NODE_EXTRA_CA_CERTS', value: '/var/run/secrets/rockset-sink/kafka-ca/ca.crt' },
    ]);
    assert.deepEqual(c.resources, { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    const v = volumes(r);
    const secretVolumes = [...v.values()].filter((x) => x.secret).map((x) => [x.name, (x.secret as Json).secretName, (x.secret as Json).items, (x.secret as Json).optional]);
    assert.deepEqual(secretVolumes, [
      ['secret-api-key', 'rockset', [{ key: 'api-key', path: 'api-key' }], true],
      ['secret-kafka-sasl', 'kafka-user', [{ key: 'password', path: 'password' }], true],
      ['secret-kafka-ca', 'kafka-ca', [{ key: 'ca.crt', path: 'ca.crt' }], true],
      ['secret-schema-registry', 'registry', [{ key: 'password', path: 'password' }], true],
    ]);
    // Every secret file the config names is inside a mounted volume.
    const mountDirs = c.volumeMounts.map((m) => m.mountPath);
    for (const file of [r.config.rockset.apiKeyFile, r.config.kafka.sasl?.passwordFile, r.config.schemaRegistry?.passwordFile]) {
      assert.ok(file && mountDirs.some((dir) => file.startsWith(`${dir}/`)), `${String(file)} is not mounted`);
    }
    assert.deepEqual(
      secretMounts(sinkOf(fullSpec()).spec).map((m) => m.field),
      ['rockset.apiKeySecretRef', 'kafka.sasl.passwordSecretRef', 'kafka.tls.caSecretRef', 'schemaRegistry.passwordSecretRef'],
    );

    const meta = d.spec.template.metadata;
    assert.deepEqual(meta.labels, { team: 'data', ...LABELS });
    assert.deepEqual(meta.annotations, {
      'prometheus.io/scrape': 'true',
      [CONFIG_CHECKSUM_ANNOTATION]: dataChecksum(r.configMap.data),
      [SECRETS_CHECKSUM_ANNOTATION]: SECRETS_HASH,
      [RESTARTED_AT_ANNOTATION]: '2026-11-25T10:00:00Z',
    });
    const pod = d.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'orders-sink');
    assert.equal(pod.priorityClassName, 'data-high');
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'registry-pull' }]);
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
    assert.deepEqual(pod.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'data', effect: 'NoSchedule' }]);
    assert.deepEqual(pod.affinity, (fullSpec().podTemplate as Json).affinity);
    assert.equal(pod.terminationGracePeriodSeconds, 65);
    // The selector stays the operator's: user labels never reach it.
    assert.deepEqual(d.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'rockset-sink', 'app.kubernetes.io/instance': 'orders' });
  });

  const replicaCases: [string, Json, number][] = [
    ['default', {}, 1],
    ['replicas 3', { replicas: 3 }, 3],
    ['replicas 0', { replicas: 0 }, 0],
    ['paused', { replicas: 3, paused: true }, 0],
    ['paused false', { replicas: 2, paused: false }, 2],
  ];
  for (const [name, patch, replicas] of replicaCases) {
    test(`replicas: ${name} -> ${replicas}`, () => {
      assert.equal(render({ ...minimalSpec(), ...patch }).deployment.spec.replicas, replicas);
    });
  }

  test('resources: each field left out gets its default, kept so a request never exceeds its limit', () => {
    const res = (resources?: Json) => containerOf(render(resources === undefined ? minimalSpec() : { ...minimalSpec(), resources })).resources;
    assert.deepEqual(res(), { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    // Only the memory limit lowered (the edit that used to stall the sink): the default request follows it down.
    assert.deepEqual(res({ limits: { memory: '128Mi' } }), { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '128Mi' } });
    assert.deepEqual(res({ limits: { memory: '1Gi', cpu: '50m' } }), { requests: { cpu: '50m', memory: '256Mi' }, limits: { memory: '1Gi', cpu: '50m' } });
    // A request above the default limit: the limit follows it up.
    assert.deepEqual(res({ requests: { memory: '2Gi' } }), { requests: { cpu: '100m', memory: '2Gi' }, limits: { memory: '2Gi' } });
    assert.deepEqual(res({ requests: { cpu: 2, memory: '300Mi' }, limits: { cpu: 4 } }), { requests: { cpu: 2, memory: '300Mi' }, limits: { cpu: 4, memory: '512Mi' } });
  });

  test('mapping threads follow the CPU limit, else the request (a core left to the main thread), within what the memory limit holds', () => {
    const threads = (resources?: Json) => containerOf(render(resources === undefined ? minimalSpec() : { ...minimalSpec(), resources })).env?.find((e) => e.name === 'SINK_THREADS')?.value;
    assert.equal(threads(), '0', 'the default request of 100m: mapping stays on the main thread');
    assert.equal(threads({ requests: { cpu: '3' } }), '2', 'no limit: the request');
    assert.equal(threads({ requests: { cpu: '500m' }, limits: { cpu: '4' } }), '3', 'the limit wins');
    assert.equal(threads({ limits: { cpu: '2' } }), '1');
    assert.equal(threads({ limits: { cpu: '1500m' } }), '1');
    assert.equal(threads({ limits: { cpu: '1' } }), '0', 'one core: mapping stays on the main thread');
    assert.equal(threads({ limits: { cpu: '8' } }), '4', '512Mi holds 4 threads');
    assert.equal(threads({ limits: { cpu: '8', memory: '1Gi' } }), '7');
    assert.equal(threads({ limits: { cpu: '4', memory: '256Mi' } }), '0', 'no memory for a thread');
  });

  test('resources are not defaulted into the RocksetSink: the API server and ajv leave spec.resources out', () => {
    const ok = validateSpec(minimalSpec());
    assert.ok(ok.ok);
    assert.equal('resources' in ok.spec, false);
  });

  test('pausing does not touch the configuration (no restart on resume)', () => {
    const a = render(minimalSpec());
    const b = render({ ...minimalSpec(), paused: true });
    assert.deepEqual(a.configMap, b.configMap);
    assert.deepEqual(a.deployment.spec.template, b.deployment.spec.template);
  });
});

describe('no secret value anywhere', () => {
  test('the renders carry references and paths only', () => {
    // The renderer never receives a Secret's data; check nothing secret-shaped leaks in either.
    const r = render(fullSpec());
    const text = JSON.stringify(r);
    assert.doesNotMatch(text, /"(apiKey|password|saslPassword|registryPassword)"\s*:/);
    assert.doesNotMatch(text, /secretKeyRef|valueFrom/, 'no secrets as env');
    const config = JSON.parse(r.configMap.data['config.json']!) as Json;
    assert.deepEqual(Object.keys(config.rockset as Json).filter((k) => /key/i.test(k)), ['apiKeyFile']);
  });
});

describe('checksums', () => {
  const hashOf = (spec: Json, meta?: Parameters<typeof sinkOf>[1]) => render(spec, meta).deployment.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
  const base = hashOf(fullSpec());

  const changes: [string, Json][] = [
    ['batch.maxDocuments', withSection(fullSpec(), 'batch', { maxDocuments: 999 })],
    ['kafka.topics', withSection(fullSpec(), 'kafka', { topics: ['orders'], sasl: (fullSpec().kafka as Json).sasl })],
    ['logLevel', { ...fullSpec(), logLevel: 'info' }],
    ['the API key Secret key (its file path)', withSection(fullSpec(), 'rockset', { apiKeySecretRef: { name: 'rockset', key: 'token' } })],
  ];
  for (const [name, spec] of changes) test(`changes with ${name}`, () => assert.notEqual(hashOf(spec), base));

  const noChanges: [string, Json, Parameters<typeof sinkOf>[1]?][] = [
    ['replicas', { ...fullSpec(), replicas: 7 }],
    ['paused', { ...fullSpec(), paused: true }],
    ['image', { ...fullSpec(), image: 'other:1' }],
    ['podTemplate', { ...fullSpec(), podTemplate: { labels: { team: 'other' } } }],
    ['resources', { ...fullSpec(), resources: { limits: { cpu: 2 } } }],
    ['the API key Secret name (same path)', withSection(fullSpec(), 'rockset', { apiKeySecretRef: { name: 'rockset-v2', key: 'api-key' } })],
    ['a restart annotation', fullSpec(), { annotations: { [RESTARTED_AT_ANNOTATION]: 'now' } }],
    ['the order the spec was written in', Object.fromEntries(Object.entries(fullSpec()).reverse())],
  ];
  for (const [name, spec, meta] of noChanges) test(`does not change with ${name}`, () => assert.equal(hashOf(spec, meta), base));

  test('dataChecksum ignores key order; secretsChecksum follows versions', () => {
    assert.equal(dataChecksum({ a: '1', b: '2' }), dataChecksum({ b: '2', a: '1' }));
    assert.notEqual(dataChecksum({ a: '1', b: '2' }), dataChecksum({ a: '2', b: '1' }));
    assert.notEqual(dataChecksum({ ab: '' }), dataChecksum({ a: 'b' }));
    assert.notEqual(secretsChecksum({ rockset: '101' }), secretsChecksum({ rockset: '102' }));
    assert.match(dataChecksum({}), /^[0-9a-f]{64}$/);
  });

  test('the secrets checksum passed in lands in the pod template', () => {
    const sink = sinkOf(minimalSpec());
    const d = renderDeployment(sink, { configHash: 'c', secretsHash: 's2', image: DEFAULT_IMAGE });
    assert.equal(d.spec.template.metadata.annotations[SECRETS_CHECKSUM_ANNOTATION], 's2');
    assert.equal(d.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION], 'c');
  });

  test('deterministic: the same sink renders the same objects', () => {
    assert.deepEqual(render(fullSpec()), render(fullSpec()));
    assert.equal(JSON.stringify(render(fullSpec())), JSON.stringify(render(fullSpec())));
  });
});

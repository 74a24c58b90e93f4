// examples/ as a user applies them: kubectl (built by the harness) against a real
// kube-apiserver with the generated CRD. Each example is created as written, the API
// server stores it with the same defaults validateSpec fills in, the kustomize overlays
// build and apply, `kubectl get/describe rss` show them, and what the validate CLI
// rejects the API server rejects too, with the same CEL messages (or, for the checks
// only the operator makes, accepts: the CLI catches those before they reach a cluster).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { CROSS_FIELD_RULES, GROUP, PLURAL, VERSION, type RocksetSink } from '../../operator/api/rocksetsink.ts';
import { validateSpec } from '../../operator/api/validate.ts';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { kubectl, kubectlPath } from '../harness/kubectl.ts';
import { installCrdAndNamespace } from '../operator/cluster.ts';

const root = path.resolve(import.meta.dirname, '../..');
let cp: ControlPlane;

const sinkPath = (ns: string, name: string) => `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}/${name}`;

async function stored(ns: string, name: string): Promise<RocksetSink> {
  const r = await cp.request<RocksetSink>('GET', sinkPath(ns, name));
  assert.equal(r.status, 200, `RocksetSink ${ns}/${name}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The RocksetSinks of a YAML text, as written. */
function sinksIn(text: string): { metadata: { name: string }; spec: unknown }[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as { kind?: string; metadata: { name: string }; spec: unknown })
    .filter((d) => d?.kind === 'RocksetSink');
}

const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');

/** The API server kept the spec as written, with the defaults validateSpec (the operator's view) fills in. */
async function assertStoredAsValidated(ns: string, doc: { metadata: { name: string }; spec: unknown }): Promise<RocksetSink> {
  const got = await stored(ns, doc.metadata.name);
  const expected = validateSpec(doc.spec);
  assert.ok(expected.ok, JSON.stringify(expected));
  assert.deepEqual(got.spec, expected.spec);
  return got;
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(cp, args, { cwd: root, ...(input !== undefined ? { input } : {}) });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  // Provisioning the control plane builds kubectl too; fail (not skip), naming the fix, when it is missing.
  cp = await testControlPlane();
  kubectlPath();
  await installCrdAndNamespace(cp, 'ex-minimal');
  await ok(['create', 'namespace', 'ex-avro']);
  await ok(['create', 'namespace', 'ex-multi']);
  await ok(['create', 'namespace', 'rockset-staging']);
  await ok(['create', 'namespace', 'rockset-production']);
  await ok(['create', 'namespace', 'data']);
});

describe('examples/ applied with kubectl', () => {
  for (const [dir, ns, created] of [
    ['minimal', 'ex-minimal', ['secret/rockset-api-key created', 'rocksetsink.rockset-sink.dev/orders created']],
    ['avro', 'ex-avro', ['rocksetsink.rockset-sink.dev/payments created', 'secret/rockset-api-key created', 'secret/schema-registry-credentials created']],
    ['multi-topic', 'ex-multi', ['rocksetsink.rockset-sink.dev/shop-events created', 'secret/rockset-api-key created', 'secret/kafka-rockset-sink created', 'secret/kafka-ca created']],
  ] as const) {
    test(`kubectl apply -f examples/${dir}/: created, stored with the defaults the operator expects`, async () => {
      const out = await ok(['apply', '-n', ns, '-f', `examples/${dir}/`]);
      assert.deepEqual(out.trim().split('\n').sort(), [...created].sort());
      const docs = fs
        .readdirSync(path.join(root, 'examples', dir))
        .filter((f) => f.endsWith('.yaml'))
        .flatMap((f) => sinksIn(read(`examples/${dir}/${f}`)));
      assert.equal(docs.length, 1);
      const sink = await assertStoredAsValidated(ns, docs[0]!);
      assert.equal(sink.spec.replicas, dir === 'multi-topic' ? 2 : 1);
      assert.equal(sink.spec.paused, false);
      assert.equal(sink.spec.batch?.maxBytes, 4 * 1024 * 1024, 'a default of a section left out');
      // A second apply of the same files leaves the sink alone (client-side apply always
      // reports a Secret written with stringData as configured: the server stores data).
      const again = await ok(['apply', '-n', ns, '-f', `examples/${dir}/`]);
      const sinkLine = again.split('\n').find((l) => l.startsWith('rocksetsink.'));
      assert.equal(sinkLine, `rocksetsink.rockset-sink.dev/${docs[0]!.metadata.name} unchanged`, again);
    });
  }

  test('kubectl get rss / describe rss show the minimal example', async () => {
    const get = await ok(['get', 'rss', '-n', 'ex-minimal']);
    const [header, row] = get.trim().split('\n');
    assert.deepEqual(header?.split(/\s+/), ['NAME', 'READY', 'REPLICAS', 'LAG', 'AGE']);
    assert.match(row ?? '', /^orders\s+1\s+\S+$/, 'no status yet: Ready and Lag are empty');
    const describeOut = await ok(['describe', 'rss', 'orders', '-n', 'ex-minimal']);
    assert.match(describeOut, /^Name:\s+orders$/m);
    assert.match(describeOut, /^Kind:\s+RocksetSink$/m);
    assert.match(describeOut, /API Key Secret Ref:\s+Key:\s+api-key\s+Name:\s+rockset-api-key/);
    assert.doesNotMatch(describeOut, /REPLACE-WITH-YOUR-ROCKSET-API-KEY/, 'the Secret value is not part of the sink');
    const wide = await ok(['get', 'rocksetsinks', '-A', '-o', 'wide']);
    assert.match(wide.split('\n')[0] ?? '', /NAMESPACE\s+NAME\s+READY\s+REPLICAS\s+AVAILABLE\s+LAG\s+PAUSED\s+REASON\s+AGE/);
  });

  for (const [overlay, replicas, brokers] of [
    ['staging', 1, ['kafka.staging:9092']],
    ['production', 3, ['kafka-0.kafka:9092', 'kafka-1.kafka:9092', 'kafka-2.kafka:9092']],
  ] as const) {
    test(`gitops: kubectl kustomize overlays/${overlay} passes the CLI, and kubectl apply -k creates it in rockset-${overlay}`, async () => {
      const built = await ok(['kustomize', `examples/gitops/overlays/${overlay}`]);
      const cli = spawnSync(process.execPath, ['operator/cli/main.ts', 'validate', '-'], { cwd: root, input: built, encoding: 'utf8', timeout: 60_000 });
      assert.equal(cli.stdout, 'validated 1 RocksetSink in 1 file: no problems\n');
      assert.equal(cli.status, 0);
      const out = await ok(['apply', '-k', `examples/gitops/overlays/${overlay}`]);
      assert.equal(out.trim(), 'rocksetsink.rockset-sink.dev/orders created');
      const [doc] = sinksIn(built);
      const sink = await assertStoredAsValidated(`rockset-${overlay}`, doc!);
      assert.equal(sink.spec.replicas, replicas);
      assert.deepEqual(sink.spec.kafka.brokers, brokers);
      assert.equal(sink.metadata.labels?.['app.kubernetes.io/part-of'], 'shop-analytics');
    });
  }
});

describe('what the CLI rejects, the API server rejects too', () => {
  test('cross-field rules: a server-side dry run fails with the CEL messages the CLI prints', async () => {
    const r = await kubectl(cp, ['apply', '--dry-run=server', '-f', 'test/cli/fixtures/bad/cross-field.yaml'], { cwd: root });
    assert.equal(r.code, 1, r.stdout);
    for (const rule of ['topicsXorPattern', 'deadLetterTopic', 'registryFormats'] as const) assert.ok(r.stderr.includes(CROSS_FIELD_RULES[rule].message), `${rule}: ${r.stderr}`);
    assert.equal((await cp.request('GET', sinkPath('data', 'cross-field'))).status, 404, 'a dry run stores nothing');
  });

  test('unknown field, wrong type, missing field: refused by the server-side dry run', async () => {
    const cases: [string, RegExp][] = [
      ['unknown-field.yaml', /unknown field "spec\.kafka\.autoCommit"/],
      ['wrong-type.yaml', /spec\.kafka\.brokers: Invalid value: "string": spec\.kafka\.brokers in body must be of type array/],
      ['missing-required.yaml', /spec\.kafka\.brokers: Required value/],
    ];
    for (const [file, expected] of cases) {
      const r = await kubectl(cp, ['apply', '--dry-run=server', '-f', `test/cli/fixtures/bad/${file}`], { cwd: root });
      assert.equal(r.code, 1, `${file}: ${r.stdout}`);
      assert.match(r.stderr, expected, file);
    }
  });

  test('what only the operator checks (a bad regular expression, topic routing): the API server accepts it, the CLI does not', async () => {
    const r = await kubectl(cp, ['apply', '--dry-run=server', '-n', 'data', '-f', 'test/cli/fixtures/bad/sink-rules.yaml'], { cwd: root });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rocksetsink\.rockset-sink\.dev\/sink-rules created \(server dry run\)/);
    const cli = spawnSync(process.execPath, ['operator/cli/main.ts', 'validate', 'test/cli/fixtures/bad/sink-rules.yaml'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(cli.status, 1);
    assert.match(cli.stdout, /spec\.kafka\.topicPattern: "\^orders\(\\\\\.\.\*" is not a valid regular expression/);
  });
});

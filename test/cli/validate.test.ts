// `rockset-sink validate`: the pure core on good and bad YAML with the exact lines a
// user sees, and the command as a child process (exit codes 0, 1, 2).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import { CROSS_FIELD_RULES } from '../../operator/api/rocksetsink.ts';
import { configProblemToSpec, formatProblem, nameProblems, validateResource, validateText } from '../../operator/cli/validate.ts';
import { RULE_CASES, fullSpec, minimalSpec, type Json } from '../operator/fixtures.ts';

const root = path.resolve(import.meta.dirname, '../..');
const fixtures = path.join(import.meta.dirname, 'fixtures', 'bad');

const sink = (spec: unknown, metadata: Json = { name: 'orders', namespace: 'data' }): Json => ({ apiVersion: 'rockset-sink.dev/v1alpha1', kind: 'RocksetSink', metadata, spec });

/** The lines validate prints for one fixture file (path relative to the repo, as the CLI shows it). */
function linesOf(name: string): string[] {
  const file = path.relative(root, path.join(fixtures, name));
  return validateText(file, fs.readFileSync(path.join(root, file), 'utf8')).problems.map(formatProblem);
}

// Every bad fixture and the exact lines for it.
const F = 'test/cli/fixtures/bad';
const EXPECTED: Record<string, string[]> = {
  'unknown-field.yaml': [
    `${F}/unknown-field.yaml: RocksetSink data/unknown-field: spec.kafka.autoCommit: unknown field. Remove it or use one of: brokers, clientId, groupId, topics, topicPattern, topicRefreshIntervalMs, fromBeginning, ssl, sessionTimeoutMs, heartbeatIntervalMs, fetchMaxBytesPerPartition, fetchMinBytes, sasl, tls`,
    `${F}/unknown-field.yaml: RocksetSink data/unknown-field: spec.rockset.apiKey: secrets do not belong in a RocksetSink. Put the value in a Secret and reference it with apiKeySecretRef (name, key)`,
  ],
  'wrong-type.yaml': [
    `${F}/wrong-type.yaml: RocksetSink data/wrong-type: spec.kafka.brokers: must be array (got "kafka:9092")`,
    `${F}/wrong-type.yaml: RocksetSink data/wrong-type: spec.batch.maxDocuments: is 50000; it must be <= 20000. Choose a value in range`,
    `${F}/wrong-type.yaml: RocksetSink data/wrong-type: spec.logLevel: is "loud". Use one of: fatal, error, warn, info, debug, trace`,
    `${F}/wrong-type.yaml: RocksetSink data/wrong-type: spec.replicas: must be integer (got "two")`,
  ],
  'missing-required.yaml': [
    `${F}/missing-required.yaml: RocksetSink data/missing-required: spec.kafka.brokers: is required. Add it`,
    `${F}/missing-required.yaml: RocksetSink data/missing-required: spec.rockset.apiKeySecretRef: is required. Add it`,
  ],
  'cross-field.yaml': [
    `${F}/cross-field.yaml: RocksetSink data/cross-field: spec.schemaRegistry.url: is required when format.value or format.key is avro, protobuf, jsonschema or auto. Add schemaRegistry, or use format json`,
    `${F}/cross-field.yaml: RocksetSink data/cross-field: spec.kafka.topics / spec.kafka.topicPattern: set exactly one of them. Use topics for a list of topics, or topicPattern for a regular expression`,
    `${F}/cross-field.yaml: RocksetSink data/cross-field: spec.errors.deadLetterTopic: is required when errors.tolerance is "all" (bad records go there). Add a topic name, or set errors.tolerance to "none"`,
  ],
  'sink-rules.yaml': [
    `${F}/sink-rules.yaml: RocksetSink data/sink-rules: spec.kafka.topicPattern: "^orders(\\\\..*" is not a valid regular expression (Invalid regular expression: /^orders(\\..*/: Unterminated group)`,
    `${F}/sink-rules.yaml: RocksetSink unrouted: spec.rockset.collection: topics refunds have no entry in rockset.topicCollections. Add a default rockset.collection or map each topic`,
    `${F}/sink-rules.yaml: RocksetSink unrouted: spec.rockset.topicCollections.payments: topic payments is not in kafka.topics. Remove the entry or add the topic`,
    `${F}/sink-rules.yaml: RocksetSink unrouted: spec.errors.deadLetterTopic: refunds is also consumed by the sink, which would loop bad records. Choose another topic`,
    `${F}/sink-rules.yaml: RocksetSink unrouted: spec.kafka.heartbeatIntervalMs: 20000 is more than a third of kafka.sessionTimeoutMs (30000). Lower it so the group keeps the member`,
  ],
  'bad-name.yaml': [
    `${F}/bad-name.yaml: RocksetSink Data/Orders_EU: metadata.name: "Orders_EU" is not a valid name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (a DNS-1123 subdomain)`,
    `${F}/bad-name.yaml: RocksetSink Data/Orders_EU: metadata.namespace: "Data" is not a valid namespace: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
    `${F}/bad-name.yaml: RocksetSink orders-from-the-european-union-cluster-into-the-analytics-workspace: metadata.name: is 67 characters; the sink pods' label app.kubernetes.io/instance carries it and a label value holds at most 63. Shorten the name`,
    `${F}/bad-name.yaml: RocksetSink (document 3): metadata.name: is required. Add it`,
  ],
  'wrong-api-version.yaml': [
    `${F}/wrong-api-version.yaml: RocksetSink orders: apiVersion: is "rockset-sink.dev/v1". Use rockset-sink.dev/v1alpha1`,
    `${F}/wrong-api-version.yaml: RocksetSink refunds: kind: is "RocksetSinks". Use RocksetSink (the only kind in rockset-sink.dev)`,
  ],
  'syntax-error.yaml': [`${F}/syntax-error.yaml:8:5: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`],
  'rockset-names.yaml': [
    `${F}/rockset-names.yaml: RocksetSink data/rockset-names: spec.rockset.workspace: "sales team" is not valid (Rockset workspace of the collections; a Rockset name: letters, digits, '-' and '_', starting with a letter or digit (a.b for a nested workspace)): it must match ^[A-Za-z0-9][A-Za-z0-9_-]*(\\.[A-Za-z0-9][A-Za-z0-9_-]*)*$`,
    `${F}/rockset-names.yaml: RocksetSink data/rockset-names: spec.rockset.collection: "orders/with slash" is not valid (Collection for topics without an entry in topicCollections; a Rockset name: letters, digits, '-' and '_', starting with a letter or digit): it must match ^[A-Za-z0-9][A-Za-z0-9_-]*$`,
    `${F}/rockset-names.yaml: RocksetSink data/rockset-names: spec.rockset.topicCollections.refunds: "refunds.eu" is not valid (A collection; a Rockset name: letters, digits, '-' and '_', starting with a letter or digit): it must match ^[A-Za-z0-9][A-Za-z0-9_-]*$`,
  ],
  'multi-doc.yaml': [
    `${F}/multi-doc.yaml: RocksetSink data/bad: spec.kafka.brokers[0]: "kafka" is not valid (host:port): it must match ^[^\\s:]+:[0-9]{1,5}$`,
    `${F}/multi-doc.yaml: RocksetSink data/bad: spec.rockset.apiServer: "ftp://api.usw2a1.rockset.com" is not valid (Rockset API server, e.g. https://api.usw2a1.rockset.com): it must match ^https?://`,
    `${F}/multi-doc.yaml: RocksetSink data/bad: spec.retry.maxBackoffMs: must be at least retry.initialBackoffMs. Raise maxBackoffMs or lower initialBackoffMs`,
  ],
};

describe('validate: the pure core', () => {
  test('every bad fixture has a case here', () => {
    assert.deepEqual(fs.readdirSync(fixtures).sort(), Object.keys(EXPECTED).sort());
  });

  for (const [name, lines] of Object.entries(EXPECTED)) {
    test(`${name}: exactly the expected lines`, () => {
      assert.deepEqual(linesOf(name), lines);
    });
  }

  test('multi-document file: only the RocksetSinks are checked and counted', () => {
    const r = validateText('multi-doc.yaml', fs.readFileSync(path.join(fixtures, 'multi-doc.yaml'), 'utf8'));
    assert.equal(r.sinks, 2);
    assert.ok(r.problems.every((p) => p.resource === 'RocksetSink data/bad'));
  });

  test('each cross-field rule gives the message of its CEL rule, and its fix passes', () => {
    for (const [rule, { bad, fixed }] of Object.entries(RULE_CASES) as [keyof typeof CROSS_FIELD_RULES, { bad: Json; fixed: Json }][]) {
      const message = CROSS_FIELD_RULES[rule].message.replace(/^([^:]+):/, (fields) => fields.split(' / ').map((f) => `spec.${f}`).join(' / '));
      assert.deepEqual(validateResource(sink(bad)), [message], rule);
      assert.deepEqual(validateResource(sink(fixed)), [], `${rule} fixed`);
    }
  });

  test('names: a DNS-1123 subdomain of at most 63 characters (the label value the pods carry)', () => {
    assert.deepEqual(nameProblems('a'.repeat(63)), []);
    assert.deepEqual(nameProblems('orders.eu-1'), []);
    assert.deepEqual(nameProblems('a'.repeat(64)), ["metadata.name: is 64 characters; the sink pods' label app.kubernetes.io/instance carries it and a label value holds at most 63. Shorten the name"]);
    for (const bad of ['-orders', 'orders-', 'Orders', 'or_ders', 'a..b', '']) assert.equal(nameProblems(bad).length, 1, bad);
  });

  test('a spec the API server accepts is accepted (minimal, with every section)', () => {
    assert.deepEqual(validateResource(sink(minimalSpec())), []);
    assert.deepEqual(validateResource(sink(fullSpec())), []);
    assert.deepEqual(validateResource(sink(minimalSpec(), { name: 'orders' })), [], 'no namespace');
  });

  test('missing spec or metadata, unknown top-level fields', () => {
    assert.deepEqual(validateResource({ apiVersion: 'rockset-sink.dev/v1alpha1', kind: 'RocksetSink', metadata: { name: 'x' } }), ['spec: is required. Add it with at least spec.kafka and spec.rockset']);
    assert.deepEqual(validateResource({ apiVersion: 'rockset-sink.dev/v1alpha1', kind: 'RocksetSink', spec: minimalSpec(), extra: 1 }), [
      'extra: unknown field. Remove it or use one of: apiVersion, kind, metadata, spec',
      'metadata.name: is required. Add it (metadata: {name: ...})',
    ]);
  });

  test('validateConfig fields are named as the spec names them', () => {
    assert.equal(configProblemToSpec('rockset.apiKeyFile: x'), 'spec.rockset.apiKeySecretRef: x');
    assert.equal(configProblemToSpec('kafka.topics / kafka.topicPattern: set one'), 'spec.kafka.topics / spec.kafka.topicPattern: set one');
    assert.equal(configProblemToSpec('(top level): must be an object'), 'spec: must be an object');
  });

  test('YAML as kubectl reads it: yes is a boolean, a date stays a string; other kinds and empty files are skipped', () => {
    const text = stringify(sink({ ...minimalSpec(), kafka: { brokers: ['k:9092'], groupId: 'g', topics: ['t'] } })).replace('groupId: g', 'groupId: 2024-01-01\n    ssl: yes');
    assert.match(text, /ssl: yes/);
    assert.deepEqual(validateText('f.yaml', text), { sinks: 1, problems: [] });
    assert.deepEqual(validateText('f.yaml', ''), { sinks: 0, problems: [] });
    assert.deepEqual(validateText('f.yaml', '# only a comment\n'), { sinks: 0, problems: [] });
    assert.deepEqual(validateText('f.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\n- a list\n---\njust text\n'), { sinks: 0, problems: [] });
  });

  test('a v1 List is checked item by item; an alias to another document is invalid YAML', () => {
    const list = stringify({ apiVersion: 'v1', kind: 'List', items: [sink(minimalSpec()), sink({ ...minimalSpec(), replicas: -1 }, { name: 'neg' })] });
    assert.deepEqual(validateText('l.yaml', list).problems.map(formatProblem), ['l.yaml: RocksetSink neg: spec.replicas: is -1; it must be >= 0. Choose a value in range']);
    assert.deepEqual(validateText('a.yaml', 'a: &x 1\n---\nkind: RocksetSink\nb: *x\n').problems.map(formatProblem), ['a.yaml:2:1: invalid YAML: Unresolved alias (the anchor must be set before the alias): x']);
  });

  test('examples/: every file is valid, four RocksetSinks in all', () => {
    let sinks = 0;
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (/\.ya?ml$/.test(e.name)) {
          const r = validateText(full, fs.readFileSync(full, 'utf8'));
          assert.deepEqual(r.problems.map(formatProblem), [], full);
          sinks += r.sinks;
        }
      }
    };
    walk(path.join(root, 'examples'));
    assert.equal(sinks, 4);
  });
});

describe('validate: the command', () => {
  const cli = (args: string[], input?: string) =>
    spawnSync(process.execPath, ['operator/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, ...(input !== undefined ? { input } : {}) });

  test('examples/ -> exit 0 and a summary', () => {
    const r = cli(['validate', 'examples/']);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'validated 4 RocksetSinks in 10 files: no problems\n');
    assert.equal(r.status, 0);
  });

  test('the bad fixtures -> exit 1 with exactly the expected lines, in file order', () => {
    const r = cli(['validate', F]);
    const all = Object.keys(EXPECTED)
      .sort()
      .flatMap((f) => EXPECTED[f]!);
    assert.equal(r.stdout, [...all, `validated 14 RocksetSinks in 10 files: ${all.length} problems`, ''].join('\n'));
    assert.equal(r.status, 1);
  });

  test('a file and stdin', () => {
    const one = cli(['validate', `${F}/missing-required.yaml`]);
    assert.equal(one.status, 1);
    assert.equal(one.stdout, [...EXPECTED['missing-required.yaml']!, 'validated 1 RocksetSink in 1 file: 2 problems', ''].join('\n'));
    const stdin = cli(['validate', '-'], fs.readFileSync(path.join(root, 'examples/minimal/rocksetsink.yaml'), 'utf8'));
    assert.equal(stdin.stdout, 'validated 1 RocksetSink in 1 file: no problems\n');
    assert.equal(stdin.status, 0);
  });

  test('a GitOps tree: .git, node_modules and Helm chart templates are skipped, other YAML is read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rss-cli-'));
    try {
      const put = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
      };
      put('apps/orders.yml', fs.readFileSync(path.join(root, 'examples/minimal/rocksetsink.yaml'), 'utf8'));
      put('.git/config.yaml', 'not: [yaml');
      put('node_modules/x/y.yaml', 'not: [yaml');
      put('chart/Chart.yaml', 'apiVersion: v2\nname: c\nversion: 0.1.0\n');
      put('chart/templates/sink.yaml', 'metadata:\n  name: {{ .Release.Name }}\n  labels: {{- include "x" . | nindent 4 }}\n');
      put('apps/notes.txt', 'not: [yaml');
      const r = cli(['validate', dir]);
      assert.equal(r.stdout, 'validated 1 RocksetSink in 2 files: no problems\n');
      assert.equal(r.status, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('usage errors -> exit 2', () => {
    const none = cli(['validate']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^rockset-sink: name at least one file or directory \(or - for stdin\)\nUsage:/);
    assert.equal(none.stdout, '');
    const missing = cli(['validate', 'examples/', 'no/such/dir']);
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, 'rockset-sink: no/such/dir: cannot read it (ENOENT)\nRun rockset-sink help for usage.\n');
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'rss-cli-'));
    try {
      const r = cli(['validate', empty]);
      assert.equal(r.status, 2);
      assert.equal(r.stderr, `rockset-sink: ${empty}: no .yaml or .yml files in it\nRun rockset-sink help for usage.\n`);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
    assert.equal(cli([]).status, 2);
    assert.equal(cli(['frobnicate']).status, 2);
    assert.equal(cli(['validate', '--strict', 'examples/']).status, 2);
    const help = cli(['help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /rockset-sink validate <file or directory>/);
  });
});

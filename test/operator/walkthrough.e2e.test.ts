// The README's kubectl walkthrough, command for command, against a real API server
// with the operator running as a user starts it (`--kubeconfig`, leader election on,
// the Lease in the kubeconfig context's namespace): what `kubectl get` and
// `kubectl describe` print is what the README promises.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { kubectl } from '../harness/kubectl.ts';
import { waitFor } from '../harness/ports.ts';
import { RESTARTED_AT_ANNOTATION } from '../../operator/api/rocksetsink.ts';
import { startOperator, type OperatorProcess } from './operator-process.ts';

const root = path.resolve(import.meta.dirname, '../..');
let cp: ControlPlane;
let op: OperatorProcess;

async function ok(args: string[]): Promise<string> {
  const r = await kubectl(cp, args, { cwd: root });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function until(what: string, args: string[], check: (out: string) => boolean): Promise<string> {
  let out = '';
  try {
    await waitFor(what, async () => check((out = await ok(args))), { timeoutMs: 30_000, intervalMs: 300 });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last output:\n${out}`);
  }
  return out;
}

const deploymentField = (jsonpath: string) => ok(['get', 'deployment', 'orders-sink', '-n', 'data', '-o', `jsonpath=${jsonpath}`]);

before(async () => {
  cp = await testControlPlane();
});

after(async () => {
  if (op) assert.equal(await op.stop(), 0);
});

describe('README walkthrough', { concurrency: false }, () => {
  test('install the CRD, start the operator, apply examples/minimal: kubectl get rss shows it Ready', async () => {
    assert.match(await ok(['apply', '--server-side', '-f', 'crds/rocksetsinks.rockset-sink.dev.yaml']), /customresourcedefinition\.apiextensions\.k8s\.io\/rocksetsinks\.rockset-sink\.dev serverside-applied/);
    await ok(['wait', '--for=condition=Established', 'crd/rocksetsinks.rockset-sink.dev', '--timeout=30s']);
    op = await startOperator('op-readme', { KUBECONFIG: cp.kubeconfigPath });
    await ok(['create', 'namespace', 'data']);
    await waitFor('the default ServiceAccount', async () => (await kubectl(cp, ['get', 'serviceaccount', 'default', '-n', 'data'])).code === 0, { timeoutMs: 30_000, intervalMs: 200 });
    const applied = await ok(['apply', '-n', 'data', '-f', 'examples/minimal/']);
    assert.deepEqual(applied.trim().split('\n').sort(), ['rocksetsink.rockset-sink.dev/orders created', 'secret/rockset-api-key created']);
    const out = await until('orders to be Ready', ['get', 'rss', '-n', 'data'], (o) => /^orders\s+True\s+1\s/m.test(o));
    assert.deepEqual(out.split('\n')[0]?.split(/\s+/), ['NAME', 'READY', 'REPLICAS', 'LAG', 'AGE']);
    // LAG is empty, as the README's sample shows: examples/minimal's broker is a placeholder, so no lag was read.
    const lagCell = (table: string[]) => {
      const header = table[0]!;
      return table[1]!.slice(header.indexOf('LAG'), header.indexOf('AGE')).trim();
    };
    assert.equal(lagCell(out.split('\n').filter((l) => /^(NAME|orders)\s/.test(l))), '');
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8').split('\n').filter((l) => /^# (NAME|orders)\s/.test(l)).map((l) => l.slice(2));
    assert.equal(readme.length, 2, 'the README shows the header and the orders row');
    assert.equal(lagCell(readme), '', 'the README shows LAG empty');
    assert.match(fs.readFileSync(path.join(root, 'README.md'), 'utf8'), /\*\*An empty LAG\*\*/);
    // The Lease of a local run lives in the kubeconfig context's namespace (default).
    assert.match(await ok(['get', 'lease', 'rockset-sink-operator', '-n', 'default', '-o', 'jsonpath={.spec.holderIdentity}']), /^op-readme$/);
  });

  test('kubectl describe rss: conditions and the Events the README names', async () => {
    const out = await until('Events in describe', ['describe', 'rss', 'orders', '-n', 'data'], (o) => /\bReady\b.*\b1\/1 workers available/.test(o.slice(o.indexOf('Events:'))));
    const events = out.slice(out.indexOf('Events:'));
    for (const reason of ['ConfigCreated', 'DeploymentCreated', 'Ready']) assert.match(events, new RegExp(`Normal\\s+${reason}\\s`), `${reason} in:\n${events}`);
    assert.match(out, /Type:\s+ConfigValid/);
    assert.doesNotMatch(out, /REPLACE-WITH-YOUR-ROCKSET-API-KEY/);
  });

  test('kubectl scale rss --replicas 3: the Deployment follows', async () => {
    assert.match(await ok(['scale', 'rss', 'orders', '-n', 'data', '--replicas', '3']), /rocksetsink\.rockset-sink\.dev\/orders scaled/);
    await waitFor('3 replicas', async () => (await deploymentField('{.spec.replicas}')) === '3', { timeoutMs: 30_000, intervalMs: 300 });
    await until('3 ready', ['get', 'rss', '-n', 'data'], (o) => /^orders\s+True\s+3\s/m.test(o));
  });

  test('kubectl annotate rockset-sink.dev/restartedAt: a rolling restart', async () => {
    const stamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await ok(['annotate', 'rss', 'orders', '-n', 'data', `${RESTARTED_AT_ANNOTATION}=${stamp}`, '--overwrite']);
    await waitFor('the stamp in the pod template', async () => (await deploymentField(`{.spec.template.metadata.annotations.rockset-sink\\.dev/restartedAt}`)) === stamp, { timeoutMs: 30_000, intervalMs: 300 });
  });

  test('kubectl patch paused: workers to 0; get -o wide shows PAUSED and the reason', async () => {
    await ok(['patch', 'rss', 'orders', '-n', 'data', '--type', 'merge', '-p', '{"spec":{"paused":true}}']);
    await waitFor('0 replicas', async () => (await deploymentField('{.spec.replicas}')) === '0', { timeoutMs: 30_000, intervalMs: 300 });
    const wide = await until('Paused in -o wide', ['get', 'rss', '-n', 'data', '-o', 'wide'], (o) => /^orders\s+True\s+3\s+.*\btrue\s+Paused\b/m.test(o));
    assert.deepEqual(wide.split('\n')[0]?.split(/\s+/), ['NAME', 'READY', 'REPLICAS', 'AVAILABLE', 'LAG', 'PAUSED', 'REASON', 'AGE']);
  });
});

// The chart's RBAC, as the operator's ServiceAccount sees it: a bound token of the
// ServiceAccount the chart creates (TokenRequest), then what the API server lets it
// do (SelfSubjectRulesReview: exactly the operator's API usage) and refuses (Secret
// writes, deletes, other namespaces). Then the operator itself runs with that token
// and the env of the chart's Deployment, and reconciles a RocksetSink.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { minimalSpec } from '../operator/fixtures.ts';
import {
  CHART, OPERATOR_PERMISSIONS, createNamespace, get, helmOk, objectPath, permissions, root, serviceAccountToken, tokenKubeconfig, waitGone,
  type Obj, type PolicyRule,
} from './helm.ts';

const NS = 'rso-rbac';
const RELEASE = 'ops';
const NAME = 'ops-rockset-sink-operator';
const WATCHED = ['team-a', 'team-b'];
const OTHER = 'team-c';

let cp: ControlPlane;
let token: string;
let tmp: string;

const release = (args: string[]) => helmOk([...args, '--namespace', NS], { kubeconfig: cp.kubeconfigPath, timeoutMs: 180_000 });
const asOperator = (method: string, apiPath: string, body?: unknown) => cp.request(method, apiPath, body, { token });
/** What the token may do in a namespace, without what every authenticated user may (self reviews). */
async function rulesIn(namespace: string): Promise<string[]> {
  const r = await cp.request<{ status: { resourceRules: PolicyRule[]; incomplete: boolean } }>(
    'POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
    { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } },
    { token },
  );
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.status.incomplete, false);
  return permissions(r.body.status.resourceRules).filter((p) => !/^(authorization|authentication)\.k8s\.io\/self/.test(p));
}

const secret = (ns: string, name: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: { 'api-key': 'not-a-real-key' } });

before(async () => {
  cp = await testControlPlane();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-rbac-'));
  for (const ns of [...WATCHED, OTHER]) await createNamespace(cp, ns);
  await release(['install', RELEASE, CHART, '--create-namespace', '--set-json', `watchNamespaces=${JSON.stringify(WATCHED)}`]);
  token = await serviceAccountToken(cp, NS, NAME);
  // a CRD just created answers 429 (storage initializing) for a moment after Established
  await waitFor('rocksetsinks to be served', async () => (await cp.request('GET', objectPath('RocksetSink', undefined, WATCHED[0]))).status === 200, { timeoutMs: 30_000, intervalMs: 100 });
});
after(async () => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  await cp?.stop();
});

test('watched namespaces: the ServiceAccount may do exactly what the operator does there, and nothing elsewhere', async () => {
  for (const ns of WATCHED) assert.deepEqual(await rulesIn(ns), OPERATOR_PERMISSIONS, `rules in ${ns}`);
  assert.deepEqual(await rulesIn(OTHER), [], 'nothing in a namespace it does not watch');
  assert.deepEqual(await rulesIn(NS), [
    'coordination.k8s.io/leases:create', `coordination.k8s.io/leases:get#${NAME}`, `coordination.k8s.io/leases:update#${NAME}`,
  ], 'only its Lease in the release namespace');
});

test('watched namespaces: reads allowed; Secret writes, deletes and other namespaces refused', async () => {
  assert.equal((await cp.request('POST', objectPath('Secret', undefined, 'team-a'), secret('team-a', 'rockset'))).status, 201);
  assert.equal((await asOperator('GET', objectPath('RocksetSink', undefined, 'team-a'))).status, 200);
  assert.equal((await asOperator('GET', objectPath('Secret', 'rockset', 'team-a'))).status, 200);
  assert.equal((await asOperator('GET', objectPath('Deployment', undefined, 'team-b'))).status, 200);

  const refused: [string, string, unknown?][] = [
    ['POST', objectPath('Secret', undefined, 'team-a'), secret('team-a', 'planted')],
    ['PUT', objectPath('Secret', 'rockset', 'team-a'), secret('team-a', 'rockset')],
    ['PATCH', objectPath('Secret', 'rockset', 'team-a'), { metadata: { labels: { x: 'y' } } }],
    ['DELETE', objectPath('Secret', 'rockset', 'team-a')],
    ['DELETE', objectPath('Deployment', 'anything', 'team-a')],
    ['DELETE', objectPath('ConfigMap', 'anything', 'team-a')],
    ['DELETE', objectPath('RocksetSink', 'anything', 'team-a')],
    ['GET', objectPath('Secret', undefined, 'team-a')], // no listing by default (rbac.watchSecrets)
    ['GET', objectPath('Secret', undefined, OTHER)],
    ['GET', objectPath('Secret', 'rockset', OTHER)],
    ['GET', '/api/v1/secrets'],
    ['GET', '/apis/rockset-sink.dev/v1alpha1/rocksetsinks'],
    ['POST', objectPath('Deployment', undefined, OTHER), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } }],
    ['POST', objectPath('Role', undefined, 'team-a'), { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'x' }, rules: [] }],
  ];
  for (const [method, p, body] of refused) {
    const r = await asOperator(method, p, body);
    assert.equal(r.status, 403, `${method} ${p} must be forbidden, got ${r.status}`);
  }
});

/** The operator with the chart's ServiceAccount token and the env of the chart's Deployment. */
async function startChartOperator(t: TestContext): Promise<{ logs: string[]; env: Record<string, string>; died: () => Error | undefined }> {
  // the container's env as the chart renders it, with what the kubelet would fill in
  type Env = { name: string; value?: string; valueFrom?: unknown };
  const dep = (await get<Obj & { spec: { template: { spec: { containers: { env: Env[] }[] } } } }>(cp, 'Deployment', NAME, NS)).body;
  const port = await freePort();
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: tmp, NODE_OPTIONS: '--disable-warning=ExperimentalWarning --disable-warning=TimeoutNegativeWarning' };
  for (const e of dep.spec.template.spec.containers[0]!.env) if (e.value !== undefined) env[e.name] = e.value;
  Object.assign(env, {
    POD_NAMESPACE: NS,
    POD_NAME: 'ops-pod-0',
    OPERATOR_HTTP_PORT: String(port),
    // the one change from the chart: a kubeconfig with the ServiceAccount's token instead of the in-cluster mount
    KUBECONFIG: tokenKubeconfig(cp, token, path.join(tmp, 'sa-kubeconfig')),
  });
  const logs: string[] = [];
  const proc = spawn(process.execPath, ['operator/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d: Buffer) => logs.push(d.toString()));
  proc.stderr.on('data', (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  });
  const died = () => (proc.exitCode !== null ? new Error(`the operator exited with ${proc.exitCode}:\n${logs.join('')}`) : undefined);

  return { logs, env, died };
}

test('the operator runs with the chart\'s ServiceAccount token and env, reconciles a watched RocksetSink and leaves others alone', async (t) => {
  if (!fs.existsSync(path.join(root, 'operator', 'main.ts'))) {
    t.skip('operator/main.ts does not exist yet');
    return;
  }
  const { logs, env, died } = await startChartOperator(t);
  assert.equal(env.OPERATOR_NAMESPACES, WATCHED.join(','));
  const sink = (ns: string) => ({ apiVersion: 'rockset-sink.dev/v1alpha1', kind: 'RocksetSink', metadata: { name: 'orders', namespace: ns }, spec: minimalSpec() });
  for (const ns of ['team-a', OTHER]) {
    if (ns === OTHER) assert.equal((await cp.request('POST', objectPath('Secret', undefined, ns), secret(ns, 'rockset'))).status, 201);
    const r = await cp.request('POST', objectPath('RocksetSink', undefined, ns), sink(ns));
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }

  await waitFor('the operator to lead (its Lease in the release namespace)', async () => {
    const lease = await cp.request<{ spec?: { holderIdentity?: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${NAME}`);
    return lease.body.spec?.holderIdentity === 'ops-pod-0';
  }, { timeoutMs: 60_000, intervalMs: 200, abort: died });
  await waitFor('the sink Deployment in team-a', async () => (await get(cp, 'Deployment', 'orders-sink', 'team-a')).status === 200, { timeoutMs: 60_000, intervalMs: 200, abort: died }).catch((e: Error) => assert.fail(`${e.message}\n${logs.join('').slice(-3000)}`));
  assert.equal((await get(cp, 'ConfigMap', 'orders-sink-config', 'team-a')).status, 200);
  type Sink = Obj & { metadata: { generation: number }; status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] } };
  await waitFor('the RocksetSink status to be written', async () => {
    const s = (await get<Sink>(cp, 'RocksetSink', 'orders', 'team-a')).body;
    return s.status?.observedGeneration === s.metadata.generation && (s.status.conditions?.length ?? 0) > 0;
  }, { timeoutMs: 60_000, intervalMs: 200, abort: died });

  // outside its namespaces it neither can nor tries to act
  assert.equal((await get(cp, 'Deployment', 'orders-sink', OTHER)).status, 404);
  const other = (await get<Sink>(cp, 'RocksetSink', 'orders', OTHER)).body;
  assert.equal(other.status, undefined);
  const all = logs.join('');
  assert.doesNotMatch(all, /forbidden|\b403\b/i, 'the chart grants everything the operator uses');
  assert.doesNotMatch(all, /not-a-real-key/, 'no Secret value in the logs');
});

test('all namespaces after an upgrade: a ClusterRole, Secrets get only (no listing anywhere, kube-system included), and the namespaced Roles are gone', async () => {
  await release(['upgrade', RELEASE, CHART, '--reuse-values', '--set-json', 'watchNamespaces=[]']);
  for (const ns of WATCHED) await waitGone(cp, 'Role', NAME, ns);
  for (const ns of [...WATCHED, OTHER]) assert.deepEqual(await rulesIn(ns), OPERATOR_PERMISSIONS, `rules in ${ns}`);
  assert.equal((await asOperator('GET', '/api/v1/secrets')).status, 403, 'no cluster-wide Secret list');
  assert.equal((await asOperator('GET', '/api/v1/namespaces/kube-system/secrets')).status, 403, 'no Secret list in kube-system');
  assert.equal((await asOperator('GET', objectPath('Secret', 'rockset', OTHER))).status, 200, 'a referenced Secret is read by name');
  assert.equal((await asOperator('POST', objectPath('Secret', undefined, OTHER), secret(OTHER, 'planted'))).status, 403);
  assert.equal((await asOperator('DELETE', objectPath('Deployment', 'anything', OTHER))).status, 403);
  assert.equal((await asOperator('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } })).status, 403);
});

test('all namespaces, default RBAC (Secrets get only): the operator resolves a referenced Secret and reconciles', async (t) => {
  const { logs, env, died } = await startChartOperator(t);
  assert.equal(env.OPERATOR_WATCH_SECRETS, 'false');
  type Sink = Obj & { status?: { conditions?: { type: string; status: string }[] } };
  await waitFor('the sink in team-c reconciled with its Secret resolved', async () => {
    const s = (await get<Sink>(cp, 'RocksetSink', 'orders', OTHER)).body;
    return s.status?.conditions?.some((c) => c.type === 'SecretsResolved' && c.status === 'True') ?? false;
  }, { timeoutMs: 60_000, intervalMs: 200, abort: died });
  assert.equal((await get(cp, 'Deployment', 'orders-sink', OTHER)).status, 200);
  assert.doesNotMatch(logs.join(''), /forbidden|\b403\b/i, 'the default role grants everything the operator uses');
});

test('rbac.watchSecrets: true (opt-in) adds list and watch on Secrets, and the operator then watches them', async (t) => {
  await release(['upgrade', RELEASE, CHART, '--reuse-values', '--set', 'rbac.watchSecrets=true']);
  const expected = [...OPERATOR_PERMISSIONS, '/secrets:list', '/secrets:watch'].sort();
  await waitFor('the widened rules', async () => JSON.stringify(await rulesIn(OTHER)) === JSON.stringify(expected), { timeoutMs: 30_000, intervalMs: 200 });
  assert.equal((await asOperator('GET', '/api/v1/secrets')).status, 200);
  const { logs, env, died } = await startChartOperator(t);
  assert.equal(env.OPERATOR_WATCH_SECRETS, 'true');
  await waitFor('the Secret informer to sync', async () => logs.join('').includes('caches synced'), { timeoutMs: 60_000, intervalMs: 200, abort: died });
  assert.doesNotMatch(logs.join(''), /forbidden|\b403\b/i, 'the widened role grants the metadata watch');
});

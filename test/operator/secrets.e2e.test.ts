// The operator never reads a Secret's data to deploy a sink: it runs here under a
// ServiceAccount whose Role lets it list and watch Secrets (what its metadata-only
// informer asks for) but not get one, so any GET of a Secret would be refused. It still
// resolves the sink's Secret, reports a missing one by name, deploys once it exists,
// and rolls the workers when it changes. (The lag reader's SASL password is the one
// read by name; these sinks use no SASL.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/ports.ts';
import { GROUP, PLURAL, VERSION, type Condition, type RocksetSink } from '../../operator/api/rocksetsink.ts';
import { SECRETS_CHECKSUM_ANNOTATION } from '../../operator/render/meta.ts';
import { serviceAccountToken, tokenKubeconfig } from '../chart/helm.ts';
import { installCrdAndNamespace } from './cluster.ts';
import { minimalSpec } from './fixtures.ts';
import { startOperator, type OperatorProcess } from './operator-process.ts';

const ns = `sec-${randomBytes(4).toString('hex')}`;
const sinks = `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`;
const secrets = `/api/v1/namespaces/${ns}/secrets`;
const deployments = `/apis/apps/v1/namespaces/${ns}/deployments`;
const API_KEY = `never-read-${randomBytes(6).toString('hex')}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-secrets-'));
const b64 = (s: string) => Buffer.from(s).toString('base64');

// The chart's rules (test/chart/helm.ts OPERATOR_PERMISSIONS), Secrets without get.
const RULES = [
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['get', 'patch', 'update'] },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

let cp: ControlPlane;
let op: OperatorProcess;
let token: string;

const condition = (s: RocksetSink, type: string): Condition | undefined => s.status?.conditions?.find((c) => c.type === type);

async function created(p: string, body: unknown): Promise<void> {
  const r = await cp.request('POST', p, body);
  assert.equal(r.status, 201, `POST ${p}: ${JSON.stringify(r.body)}`);
}

async function sinkUntil(name: string, what: string, check: (s: RocksetSink) => boolean): Promise<RocksetSink> {
  let last: RocksetSink | undefined;
  try {
    await waitFor(what, async () => check((last = (await cp.request<RocksetSink>('GET', `${sinks}/${name}`)).body)), { timeoutMs: 30_000, intervalMs: 200 });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status ${JSON.stringify(last?.status)}\n${op.logs.slice(-20).join('\n')}`);
  }
  return last!;
}

const secretsChecksum = async (name: string): Promise<string | undefined> =>
  (await cp.request<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>('GET', `${deployments}/${name}`)).body.spec.template.metadata.annotations?.[SECRETS_CHECKSUM_ANNOTATION];

before(async () => {
  cp = await testControlPlane();
  await installCrdAndNamespace(cp, ns);
  await created(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'operator' } });
  await created(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'operator' }, rules: RULES });
  await created(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'operator' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'operator' },
    subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: ns }],
  });
  await created(secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rockset' }, data: { 'api-key': b64(API_KEY) } });
  token = await serviceAccountToken(cp, ns, 'operator');
  op = await startOperator('op-secrets', {
    KUBECONFIG: tokenKubeconfig(cp, token, path.join(tmp, 'kubeconfig')),
    OPERATOR_NAMESPACES: ns,
    OPERATOR_LEADER_ELECTION: 'false',
    OPERATOR_WATCH_SECRETS: 'true',
    OPERATOR_ALLOWED_API_HOSTS: '*.rockset.com',
  });
});

after(async () => {
  if (op) await op.stop();
  await cp?.request('DELETE', `/api/v1/namespaces/${ns}`);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('without get on Secrets (list and watch only): the sink becomes Ready, a missing Secret is named, and a changed Secret rolls the workers', async () => {
  const asOperator = (p: string) => cp.request('GET', p, undefined, { token });
  assert.equal((await asOperator(`${secrets}/rockset`)).status, 403, 'the operator\'s token cannot read a Secret');
  assert.equal((await asOperator(secrets)).status, 200, 'it may list them (the informer asks for metadata only)');

  await created(sinks, { apiVersion: `${GROUP}/${VERSION}`, kind: 'RocksetSink', metadata: { name: 'orders' }, spec: minimalSpec() });
  const ready = await sinkUntil('orders', 'orders Ready=True', (s) => condition(s, 'Ready')?.status === 'True');
  assert.equal(condition(ready, 'SecretsResolved')?.status, 'True');

  const late = minimalSpec() as { rockset: { apiKeySecretRef: { name: string } } };
  late.rockset.apiKeySecretRef.name = 'late-secret';
  await created(sinks, { apiVersion: `${GROUP}/${VERSION}`, kind: 'RocksetSink', metadata: { name: 'late' }, spec: late });
  const stuck = await sinkUntil('late', 'late SecretsResolved=False', (s) => condition(s, 'SecretsResolved')?.status === 'False');
  assert.equal(condition(stuck, 'SecretsResolved')?.message, 'Secret references not found: Secret late-secret (rockset.apiKeySecretRef)');
  assert.equal((await cp.request('GET', `${deployments}/late-sink`)).status, 404, 'nothing deployed without its Secret');
  await created(secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'late-secret' }, data: { 'api-key': b64(API_KEY) } });
  await sinkUntil('late', 'late Ready=True once its Secret exists', (s) => condition(s, 'Ready')?.status === 'True');

  const before = await secretsChecksum('orders-sink');
  assert.equal((await cp.request('PATCH', `${secrets}/rockset`, { data: { 'api-key': b64(`${API_KEY}-rotated`) } })).status, 200);
  await waitFor('a new secrets checksum on the workers', async () => (await secretsChecksum('orders-sink')) !== before, { timeoutMs: 20_000, intervalMs: 200 });

  const logs = op.logs.join('\n');
  assert.doesNotMatch(logs, /forbidden|\b403\b|reconcile failed/i, 'the operator asked for nothing it may not have');
  assert.ok(!logs.includes(API_KEY) && !logs.includes(b64(API_KEY)), 'no Secret value in the operator log');
});

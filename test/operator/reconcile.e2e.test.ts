// reconcile() (operator/reconcile.ts) over the client-node I/O layer (operator/kube.ts)
// against a real control plane (test/harness/controlplane.ts; kwok runs the pods):
// owned objects are created, status follows the Deployment, idle passes write
// nothing, spec and Secret changes roll through, a missing Secret or a foreign
// Deployment stops the operator without touching anything, and deleting the sink
// lets the garbage collector remove what it owned.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/ports.ts';
import { GROUP, PLURAL, VERSION, type Condition, type RocksetSink } from '../../operator/api/rocksetsink.ts';
import { createKube, kubeConfigFromFile, type Kube } from '../../operator/kube.ts';
import { reconcile, type ReconcileDeps } from '../../operator/reconcile.ts';
import { SECRETS_CHECKSUM_ANNOTATION } from '../../operator/render/meta.ts';
import { installCrdAndNamespace } from './cluster.ts';
import { minimalSpec } from './fixtures.ts';

const ns = `rec-${randomBytes(4).toString('hex')}`;
const sinks = `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`;
const deployments = `/apis/apps/v1/namespaces/${ns}/deployments`;
const configMaps = `/api/v1/namespaces/${ns}/configmaps`;
const secrets = `/api/v1/namespaces/${ns}/secrets`;
const API_KEY = `never-log-me-${randomBytes(6).toString('hex')}`;

let cp: ControlPlane;
let kube: Kube;
let deps: ReconcileDeps;

interface Deployment {
  metadata: { resourceVersion: string; ownerReferences?: { uid: string; kind: string; controller?: boolean }[] };
  spec: { replicas: number; template: { metadata: { annotations?: Record<string, string> } } };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secretBody = (value: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rockset' }, data: { 'api-key': b64(value) } });

async function getSink(name: string): Promise<RocksetSink> {
  const r = await cp.request<RocksetSink>('GET', `${sinks}/${name}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

const condition = (sink: RocksetSink, type: string): Condition | undefined => sink.status?.conditions?.find((c) => c.type === type);

async function getDeployment(name: string): Promise<Deployment> {
  const r = await cp.request<Deployment>('GET', `${deployments}/${name}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** The Deployment's resourceVersion once the controllers stopped updating it (unchanged for a second). */
async function quietResourceVersion(name: string): Promise<string> {
  let rv = '';
  await waitFor(`Deployment ${name} to be quiet`, async () => {
    const before = (await getDeployment(name)).metadata.resourceVersion;
    await new Promise((r) => setTimeout(r, 1000));
    rv = (await getDeployment(name)).metadata.resourceVersion;
    return rv === before;
  }, { timeoutMs: 15_000, intervalMs: 0 });
  return rv;
}

/** Re-runs reconcile until the sink reports `check` (the pods come up asynchronously). */
async function reconcileUntil(name: string, what: string, check: (s: RocksetSink) => boolean, timeoutMs = 30_000): Promise<RocksetSink> {
  let last: RocksetSink | undefined;
  try {
    await waitFor(what, async () => {
      await reconcile({ namespace: ns, name }, deps);
      last = await getSink(name);
      return check(last);
    }, { timeoutMs, intervalMs: 250 });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status ${JSON.stringify(last?.status)}`);
  }
  return last!;
}

before(async () => {
  cp = await testControlPlane();
  await installCrdAndNamespace(cp, ns);
  // Pods need the namespace's default ServiceAccount (made by the controller-manager).
  await waitFor('the default ServiceAccount', async () => (await cp.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200, { timeoutMs: 30_000, intervalMs: 100 });
  const sec = await cp.request('POST', secrets, secretBody(API_KEY));
  assert.equal(sec.status, 201, JSON.stringify(sec.body));
  kube = createKube(kubeConfigFromFile(cp.kubeconfigPath));
  deps = { kube, now: () => new Date() };
});

after(async () => {
  await cp?.request('DELETE', `/api/v1/namespaces/${ns}`);
});

describe('reconcile against kube-apiserver', { concurrency: false }, () => {
  let uid = '';

  test('creates the owned ConfigMap and Deployment, then reports Ready', async () => {
    const created = await cp.request<RocksetSink>('POST', sinks, { apiVersion: `${GROUP}/${VERSION}`, kind: 'RocksetSink', metadata: { name: 'orders' }, spec: minimalSpec() });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    uid = created.body.metadata.uid;

    const first = await reconcile({ namespace: ns, name: 'orders' }, deps);
    assert.ok(first.writes >= 2, `writes ${first.writes}`);

    const cm = await cp.request<{ metadata: Deployment['metadata']; data: Record<string, string> }>('GET', `${configMaps}/orders-sink-config`);
    assert.equal(cm.status, 200);
    assert.deepEqual(cm.body.metadata.ownerReferences?.map((r) => [r.kind, r.uid, r.controller]), [['RocksetSink', uid, true]]);
    const config = JSON.parse(cm.body.data['config.json'] ?? '{}') as { rockset: { apiKeyFile: string; apiKey?: string } };
    assert.equal(config.rockset.apiKeyFile, '/var/run/secrets/rockset-sink/api-key/api-key');
    assert.equal(config.rockset.apiKey, undefined);
    assert.ok(!JSON.stringify(cm.body).includes(API_KEY), 'the ConfigMap holds no secret value');

    const dep = await getDeployment('orders-sink');
    assert.deepEqual(dep.metadata.ownerReferences?.map((r) => [r.kind, r.uid, r.controller]), [['RocksetSink', uid, true]]);

    const ready = await reconcileUntil('orders', 'Ready=True', (s) => condition(s, 'Ready')?.status === 'True');
    assert.equal(ready.status?.observedGeneration, ready.metadata.generation);
    assert.equal(ready.status?.readyReplicas, ready.spec.replicas);
    assert.equal(ready.status?.replicas, 1);
    assert.ok(!JSON.stringify(ready.status).includes(API_KEY));
  });

  test('idle reconciles make no API writes', async () => {
    // Let a late Deployment status update settle (one pass may still write it).
    await waitFor('a pass without writes', async () => (await reconcile({ namespace: ns, name: 'orders' }, deps)).writes === 0, { timeoutMs: 10_000, intervalMs: 200 });
    const rv = (await getDeployment('orders-sink')).metadata.resourceVersion;
    for (let i = 0; i < 3; i++) {
      const r = await reconcile({ namespace: ns, name: 'orders' }, deps);
      assert.deepEqual({ outcome: r.outcome, writes: r.writes, events: r.events }, { outcome: 'done', writes: 0, events: [] });
    }
    assert.equal((await getDeployment('orders-sink')).metadata.resourceVersion, rv);
  });

  test('a spec change updates the Deployment and observedGeneration follows', async () => {
    const patched = await cp.request<RocksetSink>('PATCH', `${sinks}/orders`, { spec: { replicas: 2 } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const generation = patched.body.metadata.generation;
    assert.equal(generation, 2);
    const r = await reconcile({ namespace: ns, name: 'orders' }, deps);
    assert.ok(r.writes >= 1);
    assert.equal((await getDeployment('orders-sink')).spec.replicas, 2);
    const s = await reconcileUntil('orders', 'Ready=True with 2 workers', (x) => condition(x, 'Ready')?.status === 'True' && x.status?.readyReplicas === 2);
    assert.equal(s.status?.observedGeneration, generation);
    assert.equal(condition(s, 'Ready')?.observedGeneration, generation);
  });

  test('a Secret data change rolls the pod template (secrets checksum)', async () => {
    const before = (await getDeployment('orders-sink')).spec.template.metadata.annotations?.[SECRETS_CHECKSUM_ANNOTATION];
    assert.ok(before);
    const upd = await cp.request('PATCH', `${secrets}/rockset`, { data: { 'api-key': b64(`${API_KEY}-rotated`) } });
    assert.equal(upd.status, 200);
    await reconcile({ namespace: ns, name: 'orders' }, deps);
    const after = (await getDeployment('orders-sink')).spec.template.metadata.annotations?.[SECRETS_CHECKSUM_ANNOTATION];
    assert.ok(after);
    assert.notEqual(after, before);
    await reconcileUntil('orders', 'the rollout to complete', (x) => condition(x, 'Ready')?.status === 'True' && condition(x, 'Reconciling')?.status === 'False');
  });

  test('a missing Secret: SecretsResolved=False naming it, the Deployment untouched', async () => {
    // The controllers' own status updates of the finished rollout must be over first.
    const rv = await quietResourceVersion('orders-sink');
    assert.equal((await cp.request('DELETE', `${secrets}/rockset`)).status, 200);
    const r = await reconcile({ namespace: ns, name: 'orders' }, deps);
    assert.equal(r.outcome, 'requeue');
    const s = await getSink('orders');
    const resolved = condition(s, 'SecretsResolved');
    assert.equal(resolved?.status, 'False');
    assert.equal(resolved?.reason, 'SecretNotFound');
    assert.match(resolved?.message ?? '', /Secret rockset \(rockset\.apiKeySecretRef\)/);
    assert.equal(condition(s, 'Stalled')?.status, 'True');
    assert.equal((await getDeployment('orders-sink')).metadata.resourceVersion, rv);
    // Restore it; a repeat pass writes nothing new.
    assert.equal((await reconcile({ namespace: ns, name: 'orders' }, deps)).writes, 0);
    assert.equal((await cp.request('POST', secrets, secretBody(API_KEY))).status, 201);
  });

  test('a Deployment of the rendered name not owned by the sink: Stalled/ApplyFailed, left alone', async () => {
    const labels = { app: 'someone-else' };
    const foreign = await cp.request<Deployment>('POST', deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'billing-sink' },
      spec: { replicas: 0, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'x', image: 'example.com/x:1' }] } } },
    });
    assert.equal(foreign.status, 201, JSON.stringify(foreign.body));
    const rv = await quietResourceVersion('billing-sink');
    const created = await cp.request('POST', sinks, { apiVersion: `${GROUP}/${VERSION}`, kind: 'RocksetSink', metadata: { name: 'billing' }, spec: minimalSpec() });
    assert.equal(created.status, 201);

    const r = await reconcile({ namespace: ns, name: 'billing' }, deps);
    assert.equal(r.outcome, 'requeue');
    assert.equal(r.writes, 1, 'only the status is written');
    const s = await getSink('billing');
    assert.equal(condition(s, 'Stalled')?.status, 'True');
    assert.equal(condition(s, 'Stalled')?.reason, 'ApplyFailed');
    assert.match(condition(s, 'Stalled')?.message ?? '', /Deployment .*\/billing-sink .*not owned by RocksetSink billing/);
    assert.equal(condition(s, 'Ready')?.status, 'False');
    const after = await getDeployment('billing-sink');
    assert.equal(after.metadata.resourceVersion, rv);
    assert.equal(after.metadata.ownerReferences, undefined);
    assert.equal((await cp.request('GET', `${configMaps}/billing-sink-config`)).status, 404);
    assert.equal((await reconcile({ namespace: ns, name: 'billing' }, deps)).writes, 0);
  });

  test('deleting the sink: the garbage collector removes its ConfigMap and Deployment', async () => {
    assert.equal((await cp.request('DELETE', `${sinks}/orders`)).status, 200);
    const idle = await reconcile({ namespace: ns, name: 'orders' }, deps);
    assert.deepEqual({ outcome: idle.outcome, writes: idle.writes, events: idle.events }, { outcome: 'done', writes: 0, events: [] });
    await waitFor('the owned objects to be collected', async () => {
      const [cm, dep] = await Promise.all([cp.request('GET', `${configMaps}/orders-sink-config`), cp.request('GET', `${deployments}/orders-sink`)]);
      return cm.status === 404 && dep.status === 404;
    }, { timeoutMs: 60_000, intervalMs: 250 });
  });
});

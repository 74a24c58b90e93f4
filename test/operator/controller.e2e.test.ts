// The operator as a process (node operator/main.ts) against a real control plane:
// it reacts to what users do with kubectl (apply, edit, scale, annotate, pause,
// rotate a Secret, break the spec) and to what the cluster does (pods failing, the
// API server restarting), writes Events, and stays quiet when nothing changes.
// Leadership and restarts: test/operator/leader.e2e.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/ports.ts';
import { GROUP, PLURAL, RESTARTED_AT_ANNOTATION, VERSION, type Condition, type RocksetSink } from '../../operator/api/rocksetsink.ts';
import { SECRETS_CHECKSUM_ANNOTATION } from '../../operator/render/meta.ts';
import { installCrdAndNamespace } from './cluster.ts';
import { minimalSpec } from './fixtures.ts';
import { startOperator, type OperatorProcess } from './operator-process.ts';

const ns = `ctl-${randomBytes(4).toString('hex')}`;
const sinks = `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`;
const deployments = `/apis/apps/v1/namespaces/${ns}/deployments`;
const secrets = `/api/v1/namespaces/${ns}/secrets`;
const pods = `/api/v1/namespaces/${ns}/pods`;
const API_KEY = `never-log-me-${randomBytes(6).toString('hex')}`;
const ROTATED_KEY = `rotated-${randomBytes(6).toString('hex')}`;

let cp: ControlPlane;
let op: OperatorProcess;

interface Deployment {
  metadata: { resourceVersion: string; generation: number };
  spec: { replicas: number; template: { metadata: { annotations?: Record<string, string> } } };
  status?: { readyReplicas?: number };
}
interface Event {
  reason: string;
  type: string;
  message: string;
  count?: number;
  involvedObject: { name: string; kind: string };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const condition = (s: RocksetSink | undefined, type: string): Condition | undefined => s?.status?.conditions?.find((c) => c.type === type);

async function getSink(name: string): Promise<RocksetSink> {
  const r = await cp.request<RocksetSink>('GET', `${sinks}/${name}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function getDeployment(name: string): Promise<Deployment> {
  const r = await cp.request<Deployment>('GET', `${deployments}/${name}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function sinkUntil(name: string, what: string, check: (s: RocksetSink) => boolean, timeoutMs = 30_000): Promise<RocksetSink> {
  let last: RocksetSink | undefined;
  try {
    await waitFor(what, async () => check((last = await getSink(name))), { timeoutMs, intervalMs: 200 });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status ${JSON.stringify(last?.status)}`);
  }
  return last!;
}

async function events(name: string): Promise<Event[]> {
  const r = await cp.request<{ items: Event[] }>('GET', `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name=${name}`);
  assert.equal(r.status, 200);
  return r.body.items;
}

async function eventUntil(name: string, reason: string, match: (e: Event) => boolean = () => true): Promise<Event> {
  let found: Event | undefined;
  await waitFor(`event ${reason} on ${name}`, async () => (found = (await events(name)).find((e) => e.reason === reason && match(e))) !== undefined, { timeoutMs: 20_000, intervalMs: 200 });
  return found!;
}

async function createSink(name: string, spec: Record<string, unknown>): Promise<void> {
  const r = await cp.request('POST', sinks, { apiVersion: `${GROUP}/${VERSION}`, kind: 'RocksetSink', metadata: { name }, spec });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

/** Writes until the operator has made no API write for `quietMs`. */
async function quiet(quietMs = 3000): Promise<number> {
  let last = await op.writes();
  let since = Date.now();
  await waitFor('the operator to stop writing', async () => {
    const now = await op.writes();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    return Date.now() - since >= quietMs;
  }, { timeoutMs: 60_000, intervalMs: 250 });
  return last;
}

before(async () => {
  cp = await testControlPlane();
  await installCrdAndNamespace(cp, ns);
  await waitFor('the default ServiceAccount', async () => (await cp.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200, { timeoutMs: 30_000, intervalMs: 100 });
  const sec = await cp.request('POST', secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rockset' }, data: { 'api-key': b64(API_KEY) } });
  assert.equal(sec.status, 201, JSON.stringify(sec.body));
  // The default lease timings: an API server restart (~5 s) is shorter than the renew deadline (10 s).
  op = await startOperator('op-main', {
    KUBECONFIG: cp.kubeconfigPath,
    OPERATOR_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    OPERATOR_LEASE_DURATION_SECONDS: '15',
    OPERATOR_RENEW_DEADLINE_SECONDS: '10',
    OPERATOR_RETRY_PERIOD_SECONDS: '2',
    // Every sink is re-checked every 2 s: the idle test sees those passes served from the caches.
    OPERATOR_RESYNC_SECONDS: '2',
    OPERATOR_ALLOWED_API_HOSTS: '*.rockset.com',
    // The metadata watch (opt-in): a created or rotated Secret wakes its sinks at once.
    OPERATOR_WATCH_SECRETS: 'true',
  });
});

after(async () => {
  if (op) {
    const code = await op.stop();
    assert.equal(code, 0, 'the operator exits 0 on SIGTERM');
    const everything = op.logs.join('\n');
    for (const secret of [API_KEY, ROTATED_KEY, b64(API_KEY), b64(ROTATED_KEY)]) assert.ok(!everything.includes(secret), 'no secret value in the operator log');
  }
  await cp?.request('DELETE', `/api/v1/namespaces/${ns}`);
});

describe('the operator process', { concurrency: false }, () => {
  test('a new RocksetSink gets its ConfigMap and Deployment, becomes Ready, with Events', async () => {
    await createSink('orders', minimalSpec());
    const ready = await sinkUntil('orders', 'Ready=True', (s) => condition(s, 'Ready')?.status === 'True');
    assert.equal(ready.status?.observedGeneration, ready.metadata.generation);
    assert.equal(ready.status?.readyReplicas, 1);
    assert.equal((await cp.request('GET', `/api/v1/namespaces/${ns}/configmaps/orders-sink-config`)).status, 200);
    await eventUntil('orders', 'DeploymentCreated');
    await eventUntil('orders', 'Ready');
    const all = JSON.stringify(await events('orders')) + JSON.stringify(ready.status);
    assert.ok(!all.includes(API_KEY));
  });

  test('idle: no API writes and no reads outside the informers while nothing changes', async () => {
    const before = await quiet();
    const reads = await op.metric('rockset_sink_operator_api_reads_total');
    const passes = await op.metric('rockset_sink_operator_reconciles_total');
    await new Promise((r) => setTimeout(r, 8000));
    assert.equal(await op.writes(), before, 'writes during 8 s of idle');
    assert.ok((await op.metric('rockset_sink_operator_reconciles_total')) >= passes + 2, 'the resync re-checked the sink');
    assert.equal(await op.metric('rockset_sink_operator_api_reads_total'), reads, 'reads from the API server during 8 s of idle');
    assert.equal(await op.metric('rockset_sink_operator_sinks'), 1);
    assert.equal(await op.metric('rockset_sink_operator_leader'), 1);
    assert.equal(await op.metric('rockset_sink_operator_workqueue_depth'), 0);
  });

  test('an invalid spec -> ConfigValid=False naming the field, an Event, the Deployment untouched; fixing it recovers', async () => {
    const rv = (await getDeployment('orders-sink')).metadata.resourceVersion;
    // A regular expression the API server's schema cannot check: the sink's own validation (run by the operator) does.
    const bad = await cp.request('PATCH', `${sinks}/orders`, { spec: { kafka: { topics: null, topicPattern: 'orders-(' } } });
    assert.equal(bad.status, 200, JSON.stringify(bad.body));
    const invalid = await sinkUntil('orders', 'ConfigValid=False', (s) => condition(s, 'ConfigValid')?.status === 'False');
    const cv = condition(invalid, 'ConfigValid')!;
    assert.equal(cv.reason, 'InvalidSpec');
    assert.match(cv.message, /^kafka\.topicPattern: /);
    assert.equal(condition(invalid, 'Ready')?.status, 'False');
    assert.equal(condition(invalid, 'Stalled')?.status, 'True');
    const ev = await eventUntil('orders', 'InvalidSpec');
    assert.equal(ev.type, 'Warning');
    assert.match(ev.message, /kafka\.topicPattern/);
    assert.equal((await getDeployment('orders-sink')).metadata.resourceVersion, rv, 'the running Deployment is left as it was');

    const fix = { spec: { kafka: { topicPattern: null, topics: ['orders'] } } };
    await cp.request('PATCH', `${sinks}/orders`, fix);
    await sinkUntil('orders', 'Ready=True again', (s) => condition(s, 'Ready')?.status === 'True' && condition(s, 'ConfigValid')?.status === 'True');
    await eventUntil('orders', 'Recovered');

    // The same mistake again: the same Event, counted twice (as kubectl shows "x2").
    await cp.request('PATCH', `${sinks}/orders`, { spec: { kafka: { topics: null, topicPattern: 'orders-(' } } });
    await eventUntil('orders', 'InvalidSpec', (e) => e.count === 2);
    assert.equal((await events('orders')).filter((e) => e.reason === 'InvalidSpec').length, 1);
    await cp.request('PATCH', `${sinks}/orders`, fix);
    await sinkUntil('orders', 'Ready=True once more', (s) => condition(s, 'Ready')?.status === 'True');
  });

  test('an apiServer host outside OPERATOR_ALLOWED_API_HOSTS -> ConfigValid=False naming the host and the chart value; no workers, no key sent', async () => {
    const spec = minimalSpec() as { rockset: Record<string, unknown> };
    spec.rockset['apiServer'] = 'https://collector.example.net';
    await createSink('elsewhere', spec);
    const s = await sinkUntil('elsewhere', 'ConfigValid=False', (x) => condition(x, 'ConfigValid')?.status === 'False');
    assert.match(condition(s, 'ConfigValid')!.message, /^rockset\.apiServer: host collector\.example\.net is not among the API hosts this operator allows \(\*\.rockset\.com\).*allowedApiHosts/);
    assert.equal(condition(s, 'Ready')?.status, 'False');
    assert.equal((await cp.request('GET', `${deployments}/elsewhere-sink`)).status, 404, 'no Deployment for a host that is not allowed');
    assert.equal((await cp.request('GET', `/api/v1/namespaces/${ns}/configmaps/elsewhere-sink-config`)).status, 404);
    assert.equal((await cp.request('DELETE', `${sinks}/elsewhere`)).status, 200);
  });

  test('a sink without kafka.groupId consumes as rockset-sink.<namespace>.<name>; two sinks sharing a group on the same brokers both get Stalled/GroupConflict naming the other with a Warning, until one changes group', async () => {
    const cm = await cp.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/configmaps/orders-sink-config`);
    assert.equal(cm.status, 200, JSON.stringify(cm.body));
    const rendered = JSON.parse(Object.values(cm.body.data)[0]!) as { kafka: { groupId: string } };
    assert.equal(rendered.kafka.groupId, `rockset-sink.${ns}.orders`);
    assert.equal((await getSink('orders')).spec.kafka.groupId, undefined, 'the default is rendered, not written into the spec');

    const shared = (topic: string) => {
      const spec = minimalSpec() as { kafka: Record<string, unknown> };
      spec.kafka['groupId'] = 'shared-group';
      spec.kafka['topics'] = [topic];
      return spec;
    };
    await createSink('share-a', shared('orders'));
    await createSink('share-b', shared('refunds'));
    for (const [name, other] of [['share-a', 'share-b'], ['share-b', 'share-a']] as const) {
      const s = await sinkUntil(name, 'Stalled=True GroupConflict', (x) => condition(x, 'Stalled')?.reason === 'GroupConflict');
      assert.equal(condition(s, 'Ready')?.status, 'False');
      assert.match(condition(s, 'Ready')!.message, new RegExp(`^kafka\\.groupId: consumer group "shared-group" on the same brokers is also used by RocksetSink ${ns}/${other}: `));
      const ev = await eventUntil(name, 'GroupConflict');
      assert.equal(ev.type, 'Warning');
    }
    // One of them drops its groupId (merge patch null): both recover.
    const r = await cp.request('PATCH', `${sinks}/share-b`, { spec: { kafka: { groupId: null } } }, { contentType: 'application/merge-patch+json' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const name of ['share-a', 'share-b']) await sinkUntil(name, 'no longer in conflict', (x) => condition(x, 'Stalled')?.status === 'False' && condition(x, 'Ready')?.status === 'True');
    for (const name of ['share-a', 'share-b']) assert.equal((await cp.request('DELETE', `${sinks}/${name}`)).status, 200);
  });

  test('a missing Secret -> SecretsResolved=False with its name; creating it resolves', async () => {
    const spec = minimalSpec() as { rockset: { apiKeySecretRef: { name: string } } };
    spec.rockset.apiKeySecretRef.name = 'late-secret';
    await createSink('late', spec);
    const stuck = await sinkUntil('late', 'SecretsResolved=False', (s) => condition(s, 'SecretsResolved')?.status === 'False');
    assert.match(condition(stuck, 'SecretsResolved')!.message, /Secret late-secret \(rockset\.apiKeySecretRef\)/);
    assert.equal((await cp.request('GET', `${deployments}/late-sink`)).status, 404);
    const ev = await eventUntil('late', 'SecretNotFound');
    assert.equal(ev.type, 'Warning');
    // The Secret informer wakes the sink up: no waiting for a resync.
    await cp.request('POST', secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'late-secret' }, data: { 'api-key': b64(API_KEY) } });
    await sinkUntil('late', 'Ready=True', (s) => condition(s, 'Ready')?.status === 'True', 20_000);
  });

  test('rotating the Secret rolls the workers (template checksum) with a RollingRestart Event', async () => {
    const before = (await getDeployment('orders-sink')).spec.template.metadata.annotations?.[SECRETS_CHECKSUM_ANNOTATION];
    const r = await cp.request('PATCH', `${secrets}/rockset`, { data: { 'api-key': b64(ROTATED_KEY) } });
    assert.equal(r.status, 200);
    await waitFor('a new secrets checksum', async () => (await getDeployment('orders-sink')).spec.template.metadata.annotations?.[SECRETS_CHECKSUM_ANNOTATION] !== before, { timeoutMs: 20_000, intervalMs: 200 });
    const ev = await eventUntil('orders', 'RollingRestart', (e) => e.message.includes('Secret changed'));
    assert.ok(!ev.message.includes(ROTATED_KEY));
  });

  test('the restart annotation rolls the workers', async () => {
    const stamp = new Date().toISOString();
    await cp.request('PATCH', `${sinks}/orders`, { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: stamp } } });
    await waitFor('the restart stamp in the pod template', async () => (await getDeployment('orders-sink')).spec.template.metadata.annotations?.[RESTARTED_AT_ANNOTATION] === stamp, { timeoutMs: 20_000, intervalMs: 200 });
    await eventUntil('orders', 'RollingRestart', (e) => e.message.includes('restart was requested'));
  });

  test('kubectl scale (the scale subresource) -> Deployment replicas and status follow', async () => {
    const r = await cp.request('PATCH', `${sinks}/orders/scale`, { spec: { replicas: 3 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitFor('3 replicas in the Deployment', async () => (await getDeployment('orders-sink')).spec.replicas === 3, { timeoutMs: 20_000, intervalMs: 200 });
    const s = await sinkUntil('orders', 'readyReplicas 3', (x) => x.status?.readyReplicas === 3 && condition(x, 'Ready')?.status === 'True');
    assert.equal(s.spec.replicas, 3);
    const scale = await cp.request<{ status: { replicas: number; selector: string } }>('GET', `${sinks}/orders/scale`);
    assert.equal(scale.body.status.replicas, 3);
    assert.match(scale.body.status.selector, /app\.kubernetes\.io\/instance=orders/);
  });

  test('paused: true scales the workers to 0 (Ready, reason Paused); unpausing brings them back', async () => {
    await cp.request('PATCH', `${sinks}/orders`, { spec: { paused: true } });
    await waitFor('0 replicas', async () => (await getDeployment('orders-sink')).spec.replicas === 0, { timeoutMs: 20_000, intervalMs: 200 });
    const paused = await sinkUntil('orders', 'Ready=True Paused', (s) => condition(s, 'Ready')?.reason === 'Paused' && condition(s, 'Ready')?.status === 'True');
    assert.equal(paused.status?.readyReplicas ?? 0, 0);
    await eventUntil('orders', 'Paused');
    await cp.request('PATCH', `${sinks}/orders`, { spec: { paused: false } });
    await waitFor('3 replicas again', async () => (await getDeployment('orders-sink')).spec.replicas === 3, { timeoutMs: 20_000, intervalMs: 200 });
    await sinkUntil('orders', 'Ready=True Available', (s) => condition(s, 'Ready')?.reason === 'Available');
  });

  test("a worker's termination message -> Ready=False with its reason, pod and restart count", async () => {
    const list = await cp.request<{ items: { metadata: { name: string } }[] }>('GET', `${pods}?labelSelector=app.kubernetes.io/instance=late`);
    const pod = list.body.items[0];
    assert.ok(pod, 'a pod of sink late');
    // What the kubelet reports for a sink that exited with its reason (kwok leaves a Running pod's status alone).
    const status = {
      status: {
        conditions: [{ type: 'Ready', status: 'False' }, { type: 'ContainersReady', status: 'False' }],
        containerStatuses: [{
          name: 'sink', ready: false, restartCount: 4, image: 'x', imageID: '', started: false,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off restarting failed container' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', message: 'AuthFailed: Rockset refused the API key (401)' } },
        }],
      },
    };
    const r = await cp.request('PATCH', `${pods}/${pod.metadata.name}/status`, status, { contentType: 'application/strategic-merge-patch+json' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const failed = await sinkUntil('late', 'Ready=False AuthFailed', (s) => condition(s, 'Ready')?.reason === 'AuthFailed');
    const ready = condition(failed, 'Ready')!;
    assert.equal(ready.status, 'False');
    assert.match(ready.message, new RegExp(`Worker pod ${pod.metadata.name} failed: AuthFailed: Rockset refused the API key \\(401\\) \\(restarted 4 times`));
    const ev = await eventUntil('late', 'AuthFailed');
    assert.equal(ev.type, 'Warning');
  });

  test('a pod template naming a missing ServiceAccount -> WorkersAvailable and Ready False/FailedCreate naming it, Stalled with a Warning; creating it recovers', async () => {
    const spec = minimalSpec() as Record<string, unknown>;
    spec['podTemplate'] = { serviceAccountName: 'no-such-sa' };
    await createSink('nosa', spec);
    const s = await sinkUntil('nosa', 'WorkersAvailable=False FailedCreate', (x) => condition(x, 'WorkersAvailable')?.reason === 'FailedCreate');
    assert.match(condition(s, 'WorkersAvailable')!.message, /^0\/1 workers available: The Deployment cannot create worker pods: .*serviceaccount "no-such-sa" not found/);
    assert.equal(condition(s, 'Ready')?.status, 'False');
    assert.match(condition(s, 'Ready')!.message, /serviceaccount "no-such-sa" not found/);
    assert.equal(condition(s, 'Stalled')?.reason, 'FailedCreate');
    const ev = await eventUntil('nosa', 'FailedCreate');
    assert.equal(ev.type, 'Warning');
    const sa = await cp.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'no-such-sa' } });
    assert.equal(sa.status, 201, JSON.stringify(sa.body));
    await sinkUntil('nosa', 'Ready once the ServiceAccount exists', (x) => condition(x, 'Ready')?.status === 'True', 60_000);
  });

  test('the kube-apiserver restarts mid-run: the operator reconnects and converges without a restart of its own', async () => {
    const pid = op.proc.pid;
    await cp.restartApiServer();
    await cp.request('PATCH', `${sinks}/orders`, { spec: { replicas: 2 } });
    await waitFor('2 replicas after the API server restart', async () => (await getDeployment('orders-sink')).spec.replicas === 2, { timeoutMs: 60_000, intervalMs: 500 });
    await sinkUntil('orders', 'observedGeneration follows', (s) => s.status?.observedGeneration === s.metadata.generation && s.status?.readyReplicas === 2, 60_000);
    assert.equal(op.proc.exitCode, null);
    assert.equal(op.proc.pid, pid);
  });

  test('deleting a sink: its objects are garbage-collected and the operator forgets it', async () => {
    const r = await cp.request('DELETE', `${sinks}/late`);
    assert.equal(r.status, 200);
    await waitFor('late-sink collected', async () => (await cp.request('GET', `${deployments}/late-sink`)).status === 404, { timeoutMs: 60_000, intervalMs: 500 });
  });
});

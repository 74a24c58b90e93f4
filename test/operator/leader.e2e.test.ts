// Two operator replicas on one Lease: only the leader acts (the standby makes no
// API writes), the standby takes over when the leader is SIGKILLed, and a restarted
// operator (a clean SIGTERM releases the Lease) takes over at once and finds nothing
// to change: zero API writes for sinks that already match their spec. A leader frozen
// (SIGSTOP) past its lease and woken after the standby took over writes nothing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/ports.ts';
import { testKafka } from '../harness/test-kafka.ts';
import { GROUP, PLURAL, VERSION, type RocksetSink } from '../../operator/api/rocksetsink.ts';
import { installCrdAndNamespace } from './cluster.ts';
import { minimalSpec } from './fixtures.ts';
import { startOperator, type OperatorProcess } from './operator-process.ts';

const ns = `lead-${randomBytes(4).toString('hex')}`;
const sinks = `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`;
let topic = '';
const LEASE_SECONDS = 4;

let cp: ControlPlane;
let brokers: string[];
const started: OperatorProcess[] = [];

async function operator(name: string, env: Record<string, string> = {}): Promise<OperatorProcess> {
  const op = await startOperator(name, { ...env, KUBECONFIG: cp.kubeconfigPath, OPERATOR_NAMESPACES: ns, POD_NAMESPACE: ns, OPERATOR_LEASE_DURATION_SECONDS: String(LEASE_SECONDS), OPERATOR_RENEW_DEADLINE_SECONDS: '3', OPERATOR_RETRY_PERIOD_SECONDS: '0.5' });
  started.push(op);
  return op;
}

const leading = async (op: OperatorProcess): Promise<boolean> => (await op.metric('rockset_sink_operator_leader')) === 1;

async function holder(): Promise<string | undefined> {
  const r = await cp.request<{ spec?: { holderIdentity?: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/rockset-sink-operator`);
  return r.status === 200 ? r.body.spec?.holderIdentity : undefined;
}

async function createSink(name: string): Promise<void> {
  // A reachable broker and an existing topic: the lag is read, so the status is stable.
  const spec = minimalSpec() as { kafka: { brokers: string[]; topics: string[]; groupId?: string } };
  spec.kafka.brokers = brokers;
  spec.kafka.topics = [topic];
  spec.kafka.groupId = `g-${name}`;
  const r = await cp.request('POST', sinks, { apiVersion: `${GROUP}/${VERSION}`, kind: 'RocksetSink', metadata: { name }, spec });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function readyWithLag(name: string): Promise<void> {
  await waitFor(`${name} Ready with its lag`, async () => {
    const s = (await cp.request<RocksetSink>('GET', `${sinks}/${name}`)).body;
    const ready = s.status?.conditions?.find((c) => c.type === 'Ready');
    return ready?.status === 'True' && s.status?.lag?.total === 0 && !ready.message.includes('lag not updated');
  }, { timeoutMs: 30_000, intervalMs: 200 });
}

before(async () => {
  const kafka = await testKafka();
  brokers = kafka.brokers;
  topic = await kafka.createTopic('lead', { partitions: 2 });
  cp = await testControlPlane();
  await installCrdAndNamespace(cp, ns);
  await waitFor('the default ServiceAccount', async () => (await cp.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200, { timeoutMs: 30_000, intervalMs: 100 });
  const sec = await cp.request('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rockset' }, data: { 'api-key': Buffer.from('k').toString('base64') } });
  assert.equal(sec.status, 201);
});

after(async () => {
  await Promise.all(started.map((o) => o.stop('SIGKILL')));
  await cp?.request('DELETE', `/api/v1/namespaces/${ns}`);
});

describe('leader election and restarts', { concurrency: false }, () => {
  let a: OperatorProcess;
  let b: OperatorProcess;

  test('two replicas: one leads and acts, the other stands by without writing', async () => {
    a = await operator('op-a');
    await waitFor('op-a to lead', () => leading(a), { timeoutMs: 20_000, intervalMs: 200 });
    b = await operator('op-b');
    await createSink('one');
    await readyWithLag('one');
    assert.equal(await holder(), 'op-a');
    assert.equal(await leading(b), false);
    assert.equal(await b.writes(), 0, 'the standby wrote to the API');
    assert.equal((await fetch(`http://127.0.0.1:${b.port}/readyz`)).status, 200, 'a standby is ready');
    assert.ok(b.logs.some((l) => l.includes('standing by')));
  });

  test('the leader is SIGKILLed: the standby takes over within the lease duration and acts', async () => {
    a.proc.kill('SIGKILL');
    await a.exited;
    const t0 = Date.now();
    await waitFor('op-b to lead', () => leading(b), { timeoutMs: 30_000, intervalMs: 100 });
    const took = Date.now() - t0;
    assert.ok(took >= (LEASE_SECONDS - 1) * 1000, `took over after ${took} ms: before the dead leader's lease ran out`);
    assert.equal(await holder(), 'op-b');
    await createSink('two');
    await readyWithLag('two');
  });

  test('a restarted operator takes over at once (the lease was released) and writes nothing for converged sinks', async () => {
    await readyWithLag('one');
    assert.equal(await b.stop('SIGTERM'), 0);
    assert.equal(await holder(), '', 'SIGTERM releases the lease');
    const t0 = Date.now();
    const c = await operator('op-c');
    await waitFor('op-c to lead', () => leading(c), { timeoutMs: 10_000, intervalMs: 100 });
    assert.ok(Date.now() - t0 < LEASE_SECONDS * 1000, 'no wait for a released lease');
    // Both sinks are reconciled (and their lag read) at least once, then some idle time.
    await waitFor('op-c to reconcile both sinks', async () => (await c.metric('rockset_sink_operator_reconciles_total')) >= 2, { timeoutMs: 20_000, intervalMs: 200 });
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(await c.writes(), 0, `op-c wrote to the API:\n${c.logs.filter((l) => l.includes('"level":30')).join('\n')}`);
  });
});

interface Deployment {
  metadata: { name: string; generation: number };
  spec: { template: { spec: { containers: { image: string }[] } } };
}

async function deployments(): Promise<Map<string, { generation: number; image: string }>> {
  const r = await cp.request<{ items: Deployment[] }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments`);
  return new Map(r.body.items.map((d) => [d.metadata.name, { generation: d.metadata.generation, image: d.spec.template.spec.containers[0]?.image ?? '' }]));
}

async function eventsBy(instance: string): Promise<number> {
  const r = await cp.request<{ items: { reportingInstance?: string; count?: number }[] }>('GET', `/api/v1/namespaces/${ns}/events`);
  return r.body.items.filter((e) => e.reportingInstance === instance).reduce((n, e) => n + (e.count ?? 1), 0);
}

describe('a leader frozen past its lease', { concurrency: false }, () => {
  // Each replica renders its own default image, so a write by either one shows in the
  // Deployments: any apply by the frozen one after it wakes would change the image (and
  // the generation) back to its own.
  const FROZEN_IMAGE = 'example.invalid/frozen-leader:1';
  const STANDBY_IMAGE = 'example.invalid/standby:1';

  test('after SIGCONT it writes nothing (it has not renewed) and exits, while the standby acts', async () => {
    for (const o of started) await o.stop('SIGTERM');
    const e = await operator('op-e', { OPERATOR_SINK_IMAGE: FROZEN_IMAGE });
    await waitFor('op-e to lead', () => leading(e), { timeoutMs: 20_000, intervalMs: 100 });
    await waitFor('op-e to roll its image into every Deployment', async () => [...(await deployments()).values()].every((d) => d.image === FROZEN_IMAGE), { timeoutMs: 30_000, intervalMs: 200 });
    const f = await operator('op-f', { OPERATOR_SINK_IMAGE: STANDBY_IMAGE });

    e.proc.kill('SIGSTOP');
    const frozenAt = Date.now();
    await waitFor('op-f to lead', () => leading(f), { timeoutMs: 30_000, intervalMs: 100 });
    await createSink('three');
    let seen = new Map<string, { generation: number; image: string }>();
    await waitFor('op-f to have written every Deployment, also the new sink\'s', async () => {
      seen = await deployments();
      return seen.has('three-sink') && [...seen.values()].every((x) => x.image === STANDBY_IMAGE);
    }, { timeoutMs: 30_000, intervalMs: 200 }).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify([...seen])}`));
    await readyWithLag('three');
    // Frozen well past the lease; op-e's watches hold op-f's changes, buffered, for when it wakes.
    const left = 2 * LEASE_SECONDS * 1000 - (Date.now() - frozenAt);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    const before = await deployments();
    const eventsBefore = await eventsBy('op-e');

    e.proc.kill('SIGCONT');
    const code = await Promise.race([e.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 15_000))]);
    assert.equal(code, 1, 'the woken leader found the lease lost and exited');
    // Time for a write sent at the last moment to land, and for op-f to react to it.
    await new Promise((r) => setTimeout(r, 2000));
    const afterWake = await deployments();
    for (const [name, d] of before) {
      assert.deepEqual(afterWake.get(name), d, `Deployment ${name} was written after op-e woke:\n${e.logs.slice(-30).join('\n')}`);
    }
    assert.equal(await eventsBy('op-e'), eventsBefore, 'op-e recorded Events after it woke');
    assert.equal(await holder(), 'op-f');
    assert.ok(e.logs.some((l) => l.includes('leader election lost')), 'op-e says why it stopped');
  });
});

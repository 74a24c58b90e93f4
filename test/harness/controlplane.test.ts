import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAKE_NODE_NAME, reapStaleControlPlanes, startControlPlane, testControlPlane, type ControlPlane } from './controlplane.ts';
import { pidAlive, stillRunning } from './processes.ts';
import { waitFor } from './ports.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const ns = `harness-${randomBytes(4).toString('hex')}`;

function rssMb(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

interface DeploymentLike {
  metadata: { name: string; uid: string };
  spec: { replicas: number };
  status?: { availableReplicas?: number };
}
interface PodList {
  items: { metadata: { name: string }; spec: { nodeName?: string }; status: { phase?: string; podIP?: string } }[];
}

async function waitAvailable(cp: ControlPlane, name: string, replicas: number): Promise<DeploymentLike> {
  let last: DeploymentLike | undefined;
  await waitFor(`Deployment ${name} to have ${replicas} available replicas`, async () => {
    const res = await cp.request<DeploymentLike>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
    last = res.body;
    return res.status === 200 && res.body.status?.availableReplicas === replicas;
  }, { timeoutMs: 30_000, intervalMs: 100 });
  return last!;
}

// The Deployment of this file's control plane, created once.
let deployment: Promise<DeploymentLike> | undefined;
function webDeployment(): Promise<DeploymentLike> {
  deployment ??= (async () => {
    const cp = await testControlPlane();
    const nsRes = await cp.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    assert.equal(nsRes.status, 201, JSON.stringify(nsRes.body));
    // Pods need the namespace's default ServiceAccount (made by the controller-manager)
    await waitFor('ServiceAccount default', async () => (await cp.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200);
    const labels = { app: 'web' };
    const res = await cp.request<DeploymentLike>('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } },
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return waitAvailable(cp, 'web', 2);
  })();
  return deployment;
}

test('the API server answers with the admin token, not with a wrong one', async (t) => {
  const t0 = Date.now();
  const cp = await testControlPlane();
  t.diagnostic(`control plane ready in ${cp.startupMs} ms (testControlPlane() ${Date.now() - t0} ms)`);
  assert.match(cp.server, /^https:\/\/127\.0\.0\.1:\d+$/);
  const version = await cp.request<{ gitVersion: string }>('GET', '/version');
  assert.equal(version.status, 200);
  assert.match(version.body.gitVersion, /^v1\.\d+\.\d+/);
  assert.equal((await cp.request('GET', '/api/v1/namespaces')).status, 200);
  assert.equal((await cp.request('GET', '/api/v1/namespaces', undefined, { token: 'wrong' })).status, 401);
  const kubeconfig = fs.readFileSync(cp.kubeconfigPath, 'utf8');
  for (const part of [cp.server, cp.token, cp.restrictedToken, cp.caPath, 'current-context: test']) assert.ok(kubeconfig.includes(part), `kubeconfig lacks ${part}`);
  assert.match(cp.ca, /-----BEGIN CERTIFICATE-----/);
  const node = await cp.request<{ metadata: { annotations: Record<string, string> } }>('GET', `/api/v1/nodes/${FAKE_NODE_NAME}`);
  assert.equal(node.body.metadata.annotations['kwok.x-k8s.io/node'], 'fake');
  const mem = Object.entries(cp.pids).map(([name, pid]) => `${name} ${rssMb(pid) ?? '?'} MB`);
  t.diagnostic(`RSS: ${mem.join(', ')}`);
});

test('a 2-replica Deployment becomes available (scheduler + kwok)', async () => {
  const cp = await testControlPlane();
  const d = await webDeployment();
  assert.equal(d.status?.availableReplicas, 2);
  const pods = await cp.request<PodList>('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`);
  assert.equal(pods.body.items.length, 2);
  for (const pod of pods.body.items) {
    assert.equal(pod.status.phase, 'Running');
    assert.equal(pod.spec.nodeName, FAKE_NODE_NAME);
    assert.ok(pod.status.podIP, 'kwok gives each Pod an IP');
  }
});

test('the restricted user is forbidden to list secrets, admin is not', async () => {
  const cp = await testControlPlane();
  const denied = await cp.request<{ reason: string; message: string }>('GET', '/api/v1/namespaces/default/secrets', undefined, { token: cp.restrictedToken });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.reason, 'Forbidden');
  assert.match(denied.body.message, /User "restricted" cannot list resource "secrets"/);
  assert.equal((await cp.request('GET', '/api/v1/namespaces/default/secrets')).status, 200);
  // authenticated users keep what RBAC grants everyone (discovery)
  assert.equal((await cp.request('GET', '/api', undefined, { token: cp.restrictedToken })).status, 200);
});

test('restartApiServer keeps the data and the controllers reconnect', async (t) => {
  const cp = await testControlPlane();
  const before = await webDeployment();
  const oldPid = cp.pids['kube-apiserver'];
  const t0 = Date.now();
  await cp.restartApiServer();
  t.diagnostic(`apiserver restarted in ${Date.now() - t0} ms`);
  assert.notEqual(cp.pids['kube-apiserver'], oldPid);
  assert.ok(oldPid && !pidAlive(oldPid), 'the old apiserver is gone');
  const after = await cp.request<DeploymentLike>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`);
  assert.equal(after.status, 200);
  assert.equal(after.body.metadata.uid, before.metadata.uid, 'the same Deployment, from etcd');
  // controller-manager, scheduler and kwok talk to the new apiserver
  const scaled = await cp.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/web`, { spec: { replicas: 3 } });
  assert.equal(scaled.status, 200);
  await waitAvailable(cp, 'web', 3);
});

test('stop() ends every server and removes the directory (kwok: false)', async (t) => {
  const own = await startControlPlane({ kwok: false });
  t.diagnostic(`without kwok ready in ${own.startupMs} ms`);
  const pids = Object.values(own.pids);
  assert.deepEqual(Object.keys(own.pids).sort(), ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
  assert.equal((await own.request('GET', '/api/v1/nodes')).status, 200);
  const t0 = Date.now();
  await own.stop();
  t.diagnostic(`stopped in ${Date.now() - t0} ms`);
  assert.deepEqual(await stillRunning(pids), [], 'servers still running');
  assert.equal(fs.existsSync(own.dataDir), false, 'directory still present');
  await assert.rejects(own.request('GET', '/version'));
});

// Starts a control plane in a child process that then dies in the given way.
async function leftBy(mode: 'failing-test' | 'sigterm' | 'sigkill'): Promise<{ dataDir: string; pids: number[]; exitCode: number | null }> {
  // kwok only in one of them: it is stopped the same way as the others
  const kwok = mode === 'failing-test' ? 'kwok' : 'no-kwok';
  const child = spawn(process.execPath, [path.join(here, 'fixtures', 'controlplane-then-die.ts'), mode, kwok], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const re = /^controlplane (\S+) (\S+)$/m;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (re.test(out) && mode !== 'failing-test') child.kill(mode === 'sigterm' ? 'SIGTERM' : 'SIGKILL');
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exitCode: number | null = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const m = re.exec(out);
  assert.ok(m, `the child never started its control plane: ${out}\n${err.slice(-3000)}`);
  const pids = m[2]!.split(',').map(Number);
  assert.equal(pids.length, kwok === 'kwok' ? 5 : 4, `pids: ${m[2]}`);
  return { dataDir: m[1]!, pids, exitCode };
}

test('everything is stopped and removed when a test fails', async () => {
  const left = await leftBy('failing-test');
  assert.notEqual(left.exitCode, 0, 'the failing test should fail its process');
  assert.deepEqual(await stillRunning(left.pids), [], 'servers still running');
  assert.equal(fs.existsSync(left.dataDir), false, 'directory still present');
});

test('everything is stopped and removed when the run is interrupted (SIGTERM)', async () => {
  const left = await leftBy('sigterm');
  assert.deepEqual(await stillRunning(left.pids), [], 'servers still running');
  assert.equal(fs.existsSync(left.dataDir), false, 'directory still present');
});

test('servers of a SIGKILLed owner are reaped by the next start', async () => {
  const left = await leftBy('sigkill');
  assert.ok(left.pids.some((pid) => pidAlive(pid)), 'nothing survived SIGKILL: nothing to test');
  reapStaleControlPlanes();
  await waitFor('the reaped servers to go', () => left.pids.every((pid) => !pidAlive(pid)), { timeoutMs: 5000, intervalMs: 50 });
  assert.equal(fs.existsSync(left.dataDir), false, 'directory still present');
});

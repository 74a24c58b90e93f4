// helm install, upgrade and uninstall of the chart on a real control plane, and the
// CRD's upgrade story: the CRD is a template with helm.sh/resource-policy: keep, so
// `helm upgrade` applies a changed CRD, while neither an upgrade that drops it nor
// `helm uninstall` deletes it (with it every RocksetSink would go).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/ports.ts';
import { minimalSpec } from '../operator/fixtures.ts';
import { CHART, copyChart, createNamespace, get, helm, helmOk, objectPath, waitGone, type Obj } from './helm.ts';

const NS = 'rso-system';
const RELEASE = 'rso';
const NAME = 'rso-rockset-sink-operator';
const CRD = 'rocksetsinks.rockset-sink.dev';
const SINK_NS = 'orders';

let cp: ControlPlane;
let kubeconfig: string;
let tmp: string;

type CrdObj = Obj & {
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: { versions: { name: string; additionalPrinterColumns?: { name: string; type: string; jsonPath: string }[] }[] };
  status?: { conditions?: { type: string; status: string }[] };
};

const release = (args: string[], timeoutMs = 180_000) => helmOk([...args, '--namespace', NS], { kubeconfig, timeoutMs });

async function exists(kind: string, name: string, namespace?: string): Promise<boolean> {
  const r = await get(cp, kind, name, namespace);
  assert.ok(r.status === 200 || r.status === 404, `${kind} ${name}: ${r.status}`);
  return r.status === 200;
}

const RELEASE_OBJECTS: [string, string, string | undefined][] = [
  ['Deployment', NAME, NS],
  ['ServiceAccount', NAME, NS],
  ['Service', `${NAME}-metrics`, NS],
  ['ClusterRole', NAME, undefined],
  ['ClusterRoleBinding', NAME, undefined],
  ['Role', `${NAME}-leader-election`, NS],
  ['RoleBinding', `${NAME}-leader-election`, NS],
];

before(async () => {
  cp = await testControlPlane();
  kubeconfig = cp.kubeconfigPath;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-chart-'));
  await createNamespace(cp, SINK_NS);
});
after(async () => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  await cp?.stop();
});

test('helm install creates the CRD, the operator Deployment, its ServiceAccount and RBAC, and waits for it to be ready', async () => {
  const out = await release(['install', RELEASE, CHART, '--create-namespace', '--wait', '--timeout', '150s']);
  assert.match(out, /STATUS: deployed/);
  assert.match(out, /reconciles RocksetSinks in all namespaces/, 'NOTES.txt is shown');

  const crd = (await get<CrdObj>(cp, 'CustomResourceDefinition', CRD)).body;
  assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
  assert.equal(crd.metadata.annotations?.['meta.helm.sh/release-name'], RELEASE);
  await waitFor('the CRD to be Established', async () => {
    const c = (await get<CrdObj>(cp, 'CustomResourceDefinition', CRD)).body;
    return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ?? false;
  }, { timeoutMs: 30_000 });
  for (const [kind, name, ns] of RELEASE_OBJECTS) assert.ok(await exists(kind, name, ns), `${kind} ${name} exists`);
  assert.equal(await exists('PodDisruptionBudget', NAME, NS), false, 'no PDB for one replica');
  const dep = (await get<Obj & { status?: { readyReplicas?: number } }>(cp, 'Deployment', NAME, NS)).body;
  assert.equal(dep.status?.readyReplicas, 1);
});

test('helm upgrade to two replicas adds a PodDisruptionBudget; back to one removes it', async () => {
  await release(['upgrade', RELEASE, CHART, '--reuse-values', '--set', 'replicaCount=2']);
  assert.ok(await exists('PodDisruptionBudget', NAME, NS));
  const dep = (await get<Obj & { spec: { replicas: number } }>(cp, 'Deployment', NAME, NS)).body;
  assert.equal(dep.spec.replicas, 2);

  await release(['upgrade', RELEASE, CHART, '--reuse-values', '--set', 'replicaCount=1']);
  await waitGone(cp, 'PodDisruptionBudget', NAME, NS);
});

test('helm upgrade applies a changed CRD, and RocksetSinks live through it', async () => {
  const sink = { apiVersion: 'rockset-sink.dev/v1alpha1', kind: 'RocksetSink', metadata: { name: 'orders', namespace: SINK_NS }, spec: minimalSpec() };
  await waitFor('rocksetsinks to be served', async () => (await cp.request('GET', objectPath('RocksetSink', undefined, SINK_NS))).status === 200, { timeoutMs: 30_000 });
  const created = await cp.request('POST', objectPath('RocksetSink', undefined, SINK_NS), sink);
  assert.equal(created.status, 201, JSON.stringify(created.body));

  // the next chart version: the same chart with one more printer column in its CRD
  const next = copyChart(path.join(tmp, 'next'));
  const crdFile = path.join(next, 'crds-src', `${CRD}.yaml`);
  const changed = parse(fs.readFileSync(crdFile, 'utf8')) as CrdObj;
  changed.spec.versions[0]!.additionalPrinterColumns!.push({ name: 'Collection', type: 'string', jsonPath: '.spec.rockset.collection' });
  fs.writeFileSync(crdFile, stringify(changed));
  const chartYaml = path.join(next, 'Chart.yaml');
  fs.writeFileSync(chartYaml, fs.readFileSync(chartYaml, 'utf8').replace(/^version: .*$/m, 'version: 0.1.1'));

  await release(['upgrade', RELEASE, next, '--reuse-values']);
  const crd = (await get<CrdObj>(cp, 'CustomResourceDefinition', CRD)).body;
  assert.ok(crd.spec.versions[0]!.additionalPrinterColumns!.some((c) => c.name === 'Collection'), 'the upgraded CRD is on the server');
  assert.ok(await exists('RocksetSink', 'orders', SINK_NS));

  // and back to this chart: the column goes again
  await release(['upgrade', RELEASE, CHART, '--reuse-values']);
  const back = (await get<CrdObj>(cp, 'CustomResourceDefinition', CRD)).body;
  assert.ok(!back.spec.versions[0]!.additionalPrinterColumns!.some((c) => c.name === 'Collection'));
});

test('an upgrade with crds.install=false keeps the CRD; turning it on again adopts it', async () => {
  await release(['upgrade', RELEASE, CHART, '--reuse-values', '--set', 'crds.install=false']);
  assert.ok(await exists('CustomResourceDefinition', CRD), 'resource-policy keep: dropped from the release, not deleted');
  assert.ok(await exists('RocksetSink', 'orders', SINK_NS));
  await release(['upgrade', RELEASE, CHART, '--reuse-values', '--set', 'crds.install=true']);
  const manifest = await release(['get', 'manifest', RELEASE]);
  assert.match(manifest, /kind: CustomResourceDefinition/);
});

test('helm uninstall removes everything but the CRD (and so the RocksetSinks); installing again adopts it', async () => {
  const out = await release(['uninstall', RELEASE, '--wait', '--timeout', '60s']);
  assert.match(out, /These resources were kept due to the resource policy:\n\[CustomResourceDefinition\] rocksetsinks\.rockset-sink\.dev/);
  for (const [kind, name, ns] of RELEASE_OBJECTS) await waitGone(cp, kind, name, ns);
  assert.ok(await exists('CustomResourceDefinition', CRD));
  assert.ok(await exists('RocksetSink', 'orders', SINK_NS), 'the RocksetSink survived the uninstall');
  const list = await helm(['list', '--namespace', NS, '--short'], { kubeconfig });
  assert.equal(list.stdout.trim(), '');

  await release(['install', RELEASE, CHART]);
  assert.ok(await exists('Deployment', NAME, NS));
  await release(['uninstall', RELEASE]);
});

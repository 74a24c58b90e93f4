// The README's two install paths in one cluster, word by word: the kubectl walkthrough
// applies the CRD, then `helm install` must work as the README says: the plain command
// fails with the ownership error the README quotes, `--set crds.install=false` installs
// next to the kubectl-managed CRD, and the README's `kubectl label`/`kubectl annotate`
// lines hand the CRD to the release, which then installs and upgrades it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { kubectl } from '../harness/kubectl.ts';
import { CHART, get, helm, root, waitGone, type Obj } from './helm.ts';

const CRD = 'rocksetsinks.rockset-sink.dev';
const README = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
let cp: ControlPlane;

/** The README's command lines starting with `prefix`, as argv (after the program name). */
function readmeCommands(prefix: string): string[][] {
  return README.split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.replace(/\s+#.*$/, '').trim().split(/\s+/).slice(1));
}

async function kubectlOk(args: string[]): Promise<string> {
  const r = await kubectl(cp, args, { cwd: root });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// The README's helm install, with the chart from this checkout and a test image name.
const INSTALL = ['install', 'rso', CHART, '-n', 'rockset-sink', '--create-namespace', '--set', 'image.repository=registry.example.com/rockset-sink-operator'];

before(async () => {
  cp = await testControlPlane();
});
after(async () => {
  await cp?.stop();
});

test('after the kubectl walkthrough applied the CRD, helm install works the two ways the README gives', async () => {
  assert.ok(README.includes('kubectl apply --server-side -f crds/rocksetsinks.rockset-sink.dev.yaml'));
  await kubectlOk(['apply', '--server-side', '-f', 'crds/rocksetsinks.rockset-sink.dev.yaml']);

  // The plain install: refused, with the error the README quotes.
  const plain = await helm(INSTALL, { kubeconfig: cp.kubeconfigPath });
  assert.notEqual(plain.code, 0);
  assert.match(plain.stderr, /CustomResourceDefinition "rocksetsinks\.rockset-sink\.dev" .*exists and cannot be imported into the current release/);
  assert.ok(README.includes('exists and cannot be imported into the current release'));

  // 1. Leave the CRD to kubectl.
  assert.ok(README.includes('--set crds.install=false'));
  const side = await helm([...INSTALL, '--set', 'crds.install=false'], { kubeconfig: cp.kubeconfigPath });
  assert.equal(side.code, 0, side.stderr);
  const kept = (await get<Obj & { metadata: { annotations?: Record<string, string> } }>(cp, 'CustomResourceDefinition', CRD)).body;
  assert.equal(kept.metadata.annotations?.['meta.helm.sh/release-name'], undefined, 'the CRD stays kubectl\'s');
  assert.equal((await helm(['uninstall', 'rso', '-n', 'rockset-sink', '--wait'], { kubeconfig: cp.kubeconfigPath })).code, 0);
  await waitGone(cp, 'Deployment', 'rso-rockset-sink-operator', 'rockset-sink');

  // 2. Hand the CRD to the release with the README's own lines, then install as usual.
  const handOver = [...readmeCommands('kubectl label crd'), ...readmeCommands('kubectl annotate crd')];
  assert.equal(handOver.length, 2, 'the README gives a label and an annotate line');
  for (const args of handOver) await kubectlOk(args);
  const adopted = await helm(INSTALL, { kubeconfig: cp.kubeconfigPath });
  assert.equal(adopted.code, 0, adopted.stderr);
  const manifest = await helm(['get', 'manifest', 'rso', '-n', 'rockset-sink'], { kubeconfig: cp.kubeconfigPath });
  assert.match(manifest.stdout, /kind: CustomResourceDefinition/, 'the release owns the CRD now');
  const owned = (await get<Obj & { metadata: { annotations?: Record<string, string> } }>(cp, 'CustomResourceDefinition', CRD)).body;
  assert.equal(owned.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
  const upgraded = await helm(['upgrade', 'rso', CHART, '-n', 'rockset-sink', '--reuse-values'], { kubeconfig: cp.kubeconfigPath });
  assert.equal(upgraded.code, 0, upgraded.stderr);
});

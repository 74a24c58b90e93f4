// The chart without installing it: helm lint, values.schema.json refusing bad values
// with helm's own message, what the templates render in both RBAC modes, and every
// rendered object admitted by a real API server (server-side apply, dryRun=All).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/ports.ts';
import {
  CHART, CRD_FILE, KUBE_VERSION, OPERATOR_PERMISSIONS, applyDryRun, createNamespace, find, helm, helmOk, one, parseManifests, permissions, template, valuesArgs,
  type Obj, type PolicyRule,
} from './helm.ts';

type Container = {
  name: string;
  image: string;
  command: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  securityContext: Record<string, unknown>;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: { name: string; mountPath: string }[];
};
type DeploymentObj = Obj & { spec: { replicas: number; template: { spec: { securityContext: Record<string, unknown>; serviceAccountName: string; containers: Container[]; volumes: { name: string; emptyDir?: unknown }[] } } } };

const env = (c: Container, name: string) => c.env.find((e) => e.name === name);
const WATCHED = ['team-a', 'team-b'];

describe('helm lint', () => {
  for (const [label, values] of [
    ['defaults', {}],
    ['every option on', { replicaCount: 2, watchNamespaces: WATCHED, serviceMonitor: { enabled: true, labels: { release: 'prom' } }, image: { repository: 'registry.example.com/rso', digest: 'sha256:' + 'a'.repeat(64) } }],
  ] as const) {
    test(`is clean with ${label}`, async () => {
      const r = await helm(['lint', CHART, '--strict', '--kube-version', KUBE_VERSION, ...valuesArgs(values)]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/);
      assert.equal(r.stderr, '');
    });
  }
});

describe('values.schema.json', () => {
  const cases: [string, string[], RegExp][] = [
    ['a wrong type', ['--set', 'replicaCount=two'], /at '\/replicaCount': got string, want integer/],
    ['a wrong nested type', ['--set-json', 'leaderElection={"enabled":"yes"}'], /at '\/leaderElection\/enabled': got string, want boolean/],
    ['an unknown top-level key', ['--set', 'replicas=2'], /at '': additional properties 'replicas' not allowed/],
    ['an unknown nested key', ['--set', 'image.name=x'], /at '\/image': additional properties 'name' not allowed/],
    ['a bad logLevel', ['--set', 'logLevel=verbose'], /at '\/logLevel': value must be one of 'fatal', 'error', 'warn', 'info', 'debug', 'trace'/],
    ['a bad pullPolicy', ['--set', 'image.pullPolicy=Sometimes'], /at '\/image\/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'/],
    ['a namespace that is not a DNS label', ['--set', 'watchNamespaces[0]=Team_A'], /at '\/watchNamespaces\/0': 'Team_A' does not match pattern/],
    ['a namespace listed twice', ['--set-json', 'watchNamespaces=["a","a"]'], /at '\/watchNamespaces': items at 0 and 1 are equal/],
  ];
  for (const [label, args, message] of cases) {
    test(`rejects ${label} with helm's message`, async () => {
      const r = await helm(['template', 'rso', CHART, '--kube-version', KUBE_VERSION, ...args]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /values don't meet the specifications of the schema\(s\) in the following chart\(s\):\nrockset-sink-operator:/);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '', 'nothing is rendered');
    });
  }

  test('refuses more than one replica without leader election', async () => {
    const r = await helm(['template', 'rso', CHART, '--kube-version', KUBE_VERSION, '--set', 'replicaCount=2', '--set', 'leaderElection.enabled=false']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /replicaCount > 1 needs leaderElection.enabled=true/);
  });

  test('refuses a cluster older than the chart supports', async () => {
    const r = await helm(['template', 'rso', CHART, '--kube-version', '1.27.9']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /chart requires kubeVersion: >=1\.28\.0-0 which is incompatible with Kubernetes v1\.27\.9/);
  });
});

describe('helm template', () => {
  test('the CRD is the generated file, linked (not copied) into the chart, and kept on uninstall', async () => {
    const link = path.join(CHART, 'crds-src');
    assert.ok(fs.lstatSync(link).isSymbolicLink(), 'charts/rockset-sink-operator/crds-src is a symlink to crds/');
    assert.equal(fs.realpathSync(link), path.dirname(CRD_FILE));
    // a chart `crds/` folder would be installed once and never upgraded by helm
    assert.ok(!fs.existsSync(path.join(CHART, 'crds')));

    const source = parse(fs.readFileSync(CRD_FILE, 'utf8')) as Obj & { spec: unknown; metadata: { labels: Record<string, string> } };
    const crd = one(await template(), 'CustomResourceDefinition') as Obj & { spec: unknown; metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
    assert.equal(crd.metadata.name, source.metadata.name);
    assert.deepEqual(crd.spec, source.spec, 'the rendered CRD spec is the generated file, value for value');
    assert.equal(crd.metadata.annotations['helm.sh/resource-policy'], 'keep');
    for (const [k, v] of Object.entries(source.metadata.labels)) assert.equal(crd.metadata.labels[k], v);
    assert.equal(crd.metadata.labels['app.kubernetes.io/managed-by'], 'Helm');

    assert.equal(find(await template({ crds: { install: false } }), 'CustomResourceDefinition').length, 0);
    const unkept = one(await template({ crds: { keep: false } }), 'CustomResourceDefinition') as Obj & { metadata: { annotations?: Record<string, string> } };
    assert.equal(unkept.metadata.annotations?.['helm.sh/resource-policy'], undefined);
  });

  test('helm package stores the CRD file itself, and the packaged chart renders the same CRD', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-package-'));
    try {
      const out = await helmOk(['package', CHART, '--destination', dir]);
      const tgz = path.join(dir, 'rockset-sink-operator-0.1.0.tgz');
      assert.match(out, /Successfully packaged chart/);
      const listing = spawnSync('tar', ['-tvzf', tgz], { encoding: 'utf8' }).stdout;
      assert.match(listing, /^-\S+ .* rockset-sink-operator\/crds-src\/rocksetsinks\.rockset-sink\.dev\.yaml$/m, 'a regular file, not a link');
      const fromPackage = parseManifests(await helmOk(['template', 'rso', tgz, '--namespace', 'rso-system', '--kube-version', KUBE_VERSION]));
      assert.deepEqual(one(fromPackage, 'CustomResourceDefinition'), one(await template(), 'CustomResourceDefinition'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the operator Deployment has secure defaults, probes, resources and its configuration in env', async () => {
    const objs = await template();
    const dep = one(objs, 'Deployment', 'rso-rockset-sink-operator', 'rso-system') as DeploymentObj;
    assert.equal(dep.spec.replicas, 1);
    const pod = dep.spec.template.spec;
    assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    assert.equal(pod.serviceAccountName, 'rso-rockset-sink-operator');
    const c = pod.containers[0]!;
    assert.deepEqual(c.command, ['node', 'operator/main.js']);
    assert.equal(c.image, 'rockset-sink-operator:0.1.0');
    assert.deepEqual(c.securityContext, {
      runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false,
      capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.ok(c.resources.requests?.cpu && c.resources.requests.memory && c.resources.limits?.cpu && c.resources.limits.memory);
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'http' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'http' });
    assert.deepEqual(c.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }]);
    assert.ok(pod.volumes.find((v) => v.name === 'tmp')?.emptyDir);
    assert.equal(env(c, 'OPERATOR_NAMESPACES')?.value, '');
    assert.equal(env(c, 'OPERATOR_SINK_IMAGE')?.value, 'rockset-sink-operator:0.1.0');
    assert.equal(env(c, 'OPERATOR_LEADER_ELECTION')?.value, 'true');
    assert.equal(env(c, 'OPERATOR_LEASE_NAME')?.value, 'rso-rockset-sink-operator');
    assert.equal(env(c, 'OPERATOR_HTTP_PORT')?.value, '8080');
    assert.equal(env(c, 'OPERATOR_LOG_LEVEL')?.value, 'info');
    assert.equal(env(c, 'OPERATOR_LAG_INTERVAL_SECONDS')?.value, '30');
    assert.equal(env(c, 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace');
    assert.equal(env(c, 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');

    const custom = one(await template({ watchNamespaces: WATCHED, logLevel: 'debug', image: { repository: 'r.example/op', tag: '1.2.3' }, sinkImage: { repository: 'r.example/sink' } }), 'Deployment') as DeploymentObj;
    const cc = custom.spec.template.spec.containers[0]!;
    assert.equal(cc.image, 'r.example/op:1.2.3');
    assert.equal(env(cc, 'OPERATOR_SINK_IMAGE')?.value, 'r.example/sink:1.2.3', 'the sink image follows the operator tag unless given its own');
    assert.equal(env(cc, 'OPERATOR_NAMESPACES')?.value, 'team-a,team-b');
    assert.equal(env(cc, 'OPERATOR_LOG_LEVEL')?.value, 'debug');
    const pinned = one(await template({ image: { repository: 'r.example/op', digest: 'sha256:' + 'b'.repeat(64) } }), 'Deployment') as DeploymentObj;
    assert.equal(pinned.spec.template.spec.containers[0]!.image, `r.example/op@sha256:${'b'.repeat(64)}`);
  });

  test('all namespaces: one ClusterRole with exactly the operator\'s permissions, the Lease in the release namespace only', async () => {
    const objs = await template();
    const cr = one(objs, 'ClusterRole') as Obj & { rules: PolicyRule[] };
    assert.deepEqual(permissions(cr.rules), OPERATOR_PERMISSIONS);
    const crb = one(objs, 'ClusterRoleBinding') as Obj & { roleRef: { kind: string; name: string }; subjects: unknown[] };
    assert.deepEqual(crb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: cr.metadata.name });
    assert.deepEqual(crb.subjects, [{ kind: 'ServiceAccount', name: 'rso-rockset-sink-operator', namespace: 'rso-system' }]);
    const lease = one(objs, 'Role') as Obj & { rules: PolicyRule[] };
    assert.equal(lease.metadata.namespace, 'rso-system');
    assert.deepEqual(permissions(lease.rules), [
      'coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:get#rso-rockset-sink-operator', 'coordination.k8s.io/leases:update#rso-rockset-sink-operator',
    ]);
    assert.equal(find(await template({ leaderElection: { enabled: false } }), 'Role').length, 0, 'no Lease access without leader election');
    assert.equal(find(await template({ rbac: { create: false } }), 'ClusterRole').length, 0);
  });

  test('watched namespaces: a Role and RoleBinding in each, no cluster-wide grant', async () => {
    const objs = await template({ watchNamespaces: WATCHED });
    assert.equal(find(objs, 'ClusterRole').length + find(objs, 'ClusterRoleBinding').length, 0);
    for (const ns of WATCHED) {
      const role = one(objs, 'Role', 'rso-rockset-sink-operator', ns) as Obj & { rules: PolicyRule[] };
      assert.deepEqual(permissions(role.rules), OPERATOR_PERMISSIONS);
      const rb = one(objs, 'RoleBinding', 'rso-rockset-sink-operator', ns) as Obj & { roleRef: unknown; subjects: unknown[] };
      assert.deepEqual(rb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'rso-rockset-sink-operator' });
      assert.deepEqual(rb.subjects, [{ kind: 'ServiceAccount', name: 'rso-rockset-sink-operator', namespace: 'rso-system' }]);
    }
    assert.equal(find(objs, 'Role').length, WATCHED.length + 1, 'plus the leader-election Role');
  });

  test('a PodDisruptionBudget only with more than one replica; a ServiceMonitor only when asked', async () => {
    const single = await template();
    assert.equal(find(single, 'PodDisruptionBudget').length, 0);
    assert.equal(find(single, 'ServiceMonitor').length, 0);
    const svc = one(single, 'Service') as Obj & { spec: { ports: { name: string; port: number; targetPort: string }[]; selector: Record<string, string> } };
    assert.deepEqual(svc.spec.ports.map((p) => [p.name, p.port, p.targetPort]), [['http-metrics', 8080, 'http']]);

    const ha = await template({ replicaCount: 2, serviceMonitor: { enabled: true, labels: { release: 'prom' } } });
    const pdb = one(ha, 'PodDisruptionBudget') as Obj & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, svc.spec.selector);
    const sm = one(ha, 'ServiceMonitor') as Obj & { metadata: { labels: Record<string, string> }; spec: { endpoints: { port: string; path: string }[] } };
    assert.equal(sm.metadata.labels.release, 'prom');
    assert.deepEqual(sm.spec.endpoints.map((e) => [e.port, e.path]), [['http-metrics', '/metrics']]);
    assert.equal(find(await template({ replicaCount: 2, podDisruptionBudget: { enabled: false } }), 'PodDisruptionBudget').length, 0);
  });
});

describe('rendered objects on a real API server (server-side apply, dry run)', () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await testControlPlane();
    for (const ns of ['rso-system', ...WATCHED]) await createNamespace(cp, ns);
    // the Prometheus Operator's CRD, reduced to what admits a ServiceMonitor
    const smCrd = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'servicemonitors.monitoring.coreos.com' },
      spec: {
        group: 'monitoring.coreos.com', scope: 'Namespaced', names: { kind: 'ServiceMonitor', plural: 'servicemonitors', singular: 'servicemonitor', listKind: 'ServiceMonitorList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    assert.equal((await cp.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', smCrd)).status, 201);
    await waitFor('ServiceMonitors to be served', async () => (await cp.request('GET', '/apis/monitoring.coreos.com/v1/namespaces/rso-system/servicemonitors')).status === 200, { timeoutMs: 30_000 });
  });
  after(async () => cp?.stop());

  for (const [label, values] of [
    ['all namespaces', { serviceMonitor: { enabled: true } }],
    ['watched namespaces, two replicas', { watchNamespaces: WATCHED, replicaCount: 2, serviceMonitor: { enabled: true } }],
  ] as const) {
    test(`${label}: every object is admitted`, async () => {
      const objs = await template(values);
      assert.ok(objs.length >= 8);
      for (const obj of objs) {
        const r = await applyDryRun(cp, obj);
        assert.ok(r.status === 200 || r.status === 201, `${obj.kind} ${obj.metadata.name}: ${r.status} ${JSON.stringify(r.body)}`);
      }
      // dryRun=All stores nothing
      assert.equal((await cp.request('GET', '/apis/apps/v1/namespaces/rso-system/deployments/rso-rockset-sink-operator')).status, 404);
    });
  }

  test('the API server refuses what the schema would let through broken (the dry run can fail)', async () => {
    const dep = one(await template(), 'Deployment') as DeploymentObj;
    dep.spec.template.spec.containers[0]!.securityContext.runAsUser = -1;
    const r = await applyDryRun(cp, dep);
    assert.equal(r.status, 422, JSON.stringify(r.body));
  });
});

describe('the chart README', () => {
  test('documents every value, and only values that exist', () => {
    const values = parse(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const readme = fs.readFileSync(path.join(CHART, 'README.md'), 'utf8');
    const documented = new Set([...readme.matchAll(/^\| `([A-Za-z0-9_.]+)` \|/gm)].map((m) => m[1]!));
    const leaves: string[] = [];
    const walk = (obj: Record<string, unknown>, prefix: string): void => {
      for (const [k, v] of Object.entries(obj)) {
        const key = prefix + k;
        // an object documented as a whole (securityContext, resources, probes) counts for its keys
        if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length && !documented.has(key)) walk(v as Record<string, unknown>, `${key}.`);
        else leaves.push(key);
      }
    };
    walk(values, '');
    assert.deepEqual(leaves.filter((k) => !documented.has(k)), [], 'values missing from the README table');
    const known = new Set(leaves);
    assert.deepEqual([...documented].filter((k) => !known.has(k)), [], 'README rows for values that do not exist');
  });
});

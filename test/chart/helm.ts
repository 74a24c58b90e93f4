// The chart tests' helm: the binary built by provision-helm.sh, run with its own
// config/cache/data folders (nothing from the machine's ~/.config/helm), against a
// test control plane's kubeconfig. Plus what the tests share: the chart's path,
// multi-document YAML, server-side dry-run applies, ServiceAccount tokens.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/ports.ts';

export const root = path.resolve(import.meta.dirname, '../..');
export const CHART = path.join(root, 'charts', 'rockset-sink-operator');
export const CRD_FILE = path.join(root, 'crds', 'rocksetsinks.rockset-sink.dev.yaml');
/** The test control plane's version: `helm template`/`lint` check the chart's kubeVersion against it. */
export const KUBE_VERSION = '1.35.4';

export type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

let bin: string | undefined;
function helmBin(): string {
  if (bin) return bin;
  const r = spawnSync('sh', [path.join(root, 'test/harness/provision-helm.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  assert.equal(r.status, 0, 'provision-helm.sh failed');
  bin = path.join(r.stdout.trim().split('\n').pop() ?? '', 'helm');
  assert.ok(fs.existsSync(bin), `no helm at ${bin}`);
  return bin;
}

let home: string | undefined;
function helmHome(): string {
  if (!home) {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-helm-'));
    process.on('exit', () => fs.rmSync(home!, { recursive: true, force: true }));
  }
  return home;
}

export interface HelmResult {
  code: number | null;
  stdout: string;
  /** stderr without helm's notice that crds-src is a symlink (expected: it is how the chart shares the CRD file). */
  stderr: string;
}

export function helm(args: string[], opts: { kubeconfig?: string; timeoutMs?: number } = {}): Promise<HelmResult> {
  const h = helmHome();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    HOME: h,
    HELM_CONFIG_HOME: path.join(h, 'config'),
    HELM_CACHE_HOME: path.join(h, 'cache'),
    HELM_DATA_HOME: path.join(h, 'data'),
    // no cluster unless one is given: `helm template` must not reach anything
    KUBECONFIG: opts.kubeconfig ?? path.join(h, 'no-kubeconfig'),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(helmBin(), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const filtered = stderr.split('\n').filter((l) => !/found symbolic link in path: .*crds-src resolves to/.test(l)).join('\n').trim();
      resolve({ code, stdout, stderr: filtered });
    });
  });
}

/** helm that must succeed; returns stdout. */
export async function helmOk(args: string[], opts: { kubeconfig?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await helm(args, opts);
  assert.equal(r.code, 0, `helm ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** `--set`/`--set-json` pairs from a values object (one --set-json per top-level key). */
export function valuesArgs(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([k, v]) => ['--set-json', `${k}=${JSON.stringify(v)}`]);
}

export async function template(values: Record<string, unknown> = {}, { namespace = 'rso-system', release = 'rso' } = {}): Promise<Obj[]> {
  const out = await helmOk(['template', release, CHART, '--namespace', namespace, '--kube-version', KUBE_VERSION, ...valuesArgs(values)]);
  return parseManifests(out);
}

export function parseManifests(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw d.errors[0];
      return d.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o !== null && typeof o === 'object');
}

export function find(objs: Obj[], kind: string, name?: string, namespace?: string): Obj[] {
  return objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name) && (namespace === undefined || o.metadata.namespace === namespace));
}

export function one(objs: Obj[], kind: string, name?: string, namespace?: string): Obj {
  const found = find(objs, kind, name, namespace);
  assert.equal(found.length, 1, `expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

// ---------------------------------------------------------------------------
// the API server

const RESOURCES: Record<string, { prefix: string; plural: string; namespaced: boolean }> = {
  CustomResourceDefinition: { prefix: '/apis/apiextensions.k8s.io/v1', plural: 'customresourcedefinitions', namespaced: false },
  ServiceAccount: { prefix: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  Service: { prefix: '/api/v1', plural: 'services', namespaced: true },
  Secret: { prefix: '/api/v1', plural: 'secrets', namespaced: true },
  ConfigMap: { prefix: '/api/v1', plural: 'configmaps', namespaced: true },
  Namespace: { prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  ClusterRole: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
  Role: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  RoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  PodDisruptionBudget: { prefix: '/apis/policy/v1', plural: 'poddisruptionbudgets', namespaced: true },
  ServiceMonitor: { prefix: '/apis/monitoring.coreos.com/v1', plural: 'servicemonitors', namespaced: true },
  RocksetSink: { prefix: '/apis/rockset-sink.dev/v1alpha1', plural: 'rocksetsinks', namespaced: true },
};

/** The API path of one object (or of its collection without a name). */
export function objectPath(kind: string, name?: string, namespace?: string): string {
  const r = RESOURCES[kind];
  assert.ok(r, `no API path known for kind ${kind}`);
  const ns = r.namespaced ? `/namespaces/${namespace ?? 'default'}` : '';
  return `${r.prefix}${ns}/${r.plural}${name ? `/${name}` : ''}`;
}

/** Server-side apply with dryRun=All: the API server validates and admits the object, and stores nothing. */
export async function applyDryRun(cp: ControlPlane, obj: Obj): Promise<{ status: number; body: unknown }> {
  const p = `${objectPath(obj.kind, obj.metadata.name, obj.metadata.namespace)}?dryRun=All&fieldManager=chart-test&force=true`;
  return cp.request('PATCH', p, obj, { contentType: 'application/apply-patch+yaml' });
}

export async function get<T = Obj>(cp: ControlPlane, kind: string, name: string, namespace?: string): Promise<{ status: number; body: T }> {
  return cp.request<T>('GET', objectPath(kind, name, namespace));
}

export async function createNamespace(cp: ControlPlane, name: string): Promise<void> {
  const r = await cp.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  assert.ok(r.status === 201 || r.status === 409, `namespace ${name}: ${r.status} ${JSON.stringify(r.body)}`);
}

/** A bound token of a ServiceAccount (TokenRequest), as a pod of it would get. */
export async function serviceAccountToken(cp: ControlPlane, namespace: string, sa: string): Promise<string> {
  const r = await cp.request<{ status?: { token?: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  assert.equal(r.status, 201, `TokenRequest for ${namespace}/${sa}: ${r.status}`);
  const token = r.body.status?.token;
  assert.ok(token, 'TokenRequest returned no token');
  return token;
}

export async function waitGone(cp: ControlPlane, kind: string, name: string, namespace?: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${kind} ${namespace ? `${namespace}/` : ''}${name} to be deleted`, async () => (await get(cp, kind, name, namespace)).status === 404, { timeoutMs, intervalMs: 200 });
}

/** A kubeconfig for the control plane that authenticates with `token` (e.g. a ServiceAccount's). */
export function tokenKubeconfig(cp: ControlPlane, token: string, file: string): string {
  fs.writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: test, cluster: {server: "${cp.server}", certificate-authority: "${cp.caPath}"}}]`,
      `users: [{name: sa, user: {token: "${token}"}}]`,
      'contexts: [{name: sa, context: {cluster: test, user: sa}}]',
      'current-context: sa',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

// ---------------------------------------------------------------------------
// what the operator may do: exactly its API usage, nothing more

/** Namespaced permissions, per watched namespace (or cluster-wide), as `group/resource:verb`. */
export const OPERATOR_PERMISSIONS = [
  ...['get', 'list', 'watch'].map((v) => `rockset-sink.dev/rocksetsinks:${v}`),
  ...['get', 'patch', 'update'].map((v) => `rockset-sink.dev/rocksetsinks/status:${v}`),
  'rockset-sink.dev/rocksetsinks/finalizers:update',
  ...['get', 'list', 'watch', 'create', 'patch'].map((v) => `apps/deployments:${v}`),
  ...['get', 'list', 'watch', 'create', 'patch'].map((v) => `/configmaps:${v}`),
  '/secrets:get', // list and watch only with rbac.watchSecrets: true
  ...['get', 'list', 'watch'].map((v) => `/pods:${v}`),
  ...['create', 'patch'].map((v) => `/events:${v}`),
  ...['create', 'patch'].map((v) => `events.k8s.io/events:${v}`),
].sort();

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** `group/resource:verb` (with `#name` for rules limited to resource names), sorted and unique. */
export function permissions(rules: PolicyRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    for (const g of r.apiGroups ?? []) {
      for (const res of r.resources ?? []) {
        for (const v of r.verbs) {
          const names = r.resourceNames?.length ? r.resourceNames.map((n) => `#${n}`) : [''];
          for (const n of names) out.add(`${g}/${res}:${v}${n}`);
        }
      }
    }
  }
  return [...out].sort();
}

/**
 * A real copy of the chart, symlinks resolved into files (fs.cpSync's dereference
 * keeps nested symlinks, and writing through crds-src would change the repository's
 * CRD file), for tests that change a file of the chart.
 */
export function copyChart(dest: string): string {
  const copy = (from: string, to: string): void => {
    const st = fs.statSync(from);
    if (st.isDirectory()) {
      fs.mkdirSync(to, { recursive: true });
      for (const entry of fs.readdirSync(from)) copy(path.join(from, entry), path.join(to, entry));
    } else {
      fs.writeFileSync(to, fs.readFileSync(from));
    }
  };
  copy(CHART, dest);
  assert.ok(!fs.lstatSync(path.join(dest, 'crds-src')).isSymbolicLink());
  return dest;
}

// What the operator's end-to-end tests need on the test control plane before
// they start: the generated CRD, Established and served, and a namespace.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/ports.ts';
import { CRD_NAME, GROUP, PLURAL, VERSION } from '../../operator/api/rocksetsink.ts';

const root = path.resolve(import.meta.dirname, '../..');

export async function installCrdAndNamespace(cp: ControlPlane, ns: string): Promise<void> {
  const crd = parse(fs.readFileSync(path.join(root, 'crds', `${CRD_NAME}.yaml`), 'utf8')) as Record<string, unknown>;
  const res = await cp.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  assert.ok(res.status === 201 || res.status === 409, `CRD rejected (${res.status}): ${JSON.stringify(res.body)}`);
  await waitFor('the CRD to be Established', async () => {
    const r = await cp.request<{ status?: { conditions?: { type: string; status: string }[] } }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`);
    return r.body.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  }, { timeoutMs: 30_000, intervalMs: 100 });
  const nsRes = await cp.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  assert.equal(nsRes.status, 201, JSON.stringify(nsRes.body));
  // The resource is served a moment after Established.
  const sinks = `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`;
  await waitFor('rocksetsinks to be served', async () => (await cp.request('GET', sinks)).status === 200, { timeoutMs: 30_000, intervalMs: 100 });
}

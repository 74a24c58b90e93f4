// The generated CRD against a real kube-apiserver (test/harness/controlplane.ts):
// it is accepted and established (structural schema, CEL rules compile), the API
// server's defaulting gives the same spec as ajv's, each CEL rule rejects what the
// ajv form rejects with its message, the rendered ConfigMap and Deployment are valid
// objects that run, and the scale/status subresources and printer columns work.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { kubectl } from '../harness/kubectl.ts';
import { waitFor } from '../harness/ports.ts';
import { CROSS_FIELD_RULES, CRD_NAME, GROUP, PLURAL, VERSION, type RocksetSink } from '../../operator/api/rocksetsink.ts';
import { validateSpec } from '../../operator/api/validate.ts';
import { secretsChecksum } from '../../operator/render/checksum.ts';
import { selectorString } from '../../operator/render/meta.ts';
import { renderSink } from '../../operator/render/objects.ts';
import { installCrdAndNamespace } from './cluster.ts';
import { DEFAULT_IMAGE, RULE_CASES, fullSpec, minimalSpec, withSection, type Json } from './fixtures.ts';

const ns = `rss-${randomBytes(4).toString('hex')}`;
const base = `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`;
let cp: ControlPlane;

interface Status {
  message?: string;
  details?: { causes?: { message: string; field?: string }[] };
}

async function create(spec: Json, name: string, query = ''): Promise<{ status: number; body: RocksetSink & Status }> {
  return cp.request<RocksetSink & Status>('POST', `${base}${query}`, { apiVersion: `${GROUP}/${VERSION}`, kind: 'RocksetSink', metadata: { name }, spec });
}

let n = 0;
const uniqueName = (prefix: string) => `${prefix}-${++n}`;

before(async () => {
  cp = await testControlPlane();
  await installCrdAndNamespace(cp, ns);
});

after(async () => {
  await cp?.request('DELETE', `/api/v1/namespaces/${ns}`);
});

describe('RocksetSink CRD on kube-apiserver', () => {
  test('the CRD names no problem and keeps the schema as generated', async () => {
    const r = await cp.request<{ status: { conditions: { type: string; status: string }[]; acceptedNames: Json } }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`);
    const byType = Object.fromEntries(r.body.status.conditions.map((c) => [c.type, c.status]));
    assert.equal(byType.NamesAccepted, 'True');
    assert.equal(byType.NonStructuralSchema, undefined, 'the schema is structural');
    assert.deepEqual(r.body.status.acceptedNames.shortNames, ['rss']);
  });

  for (const [name, spec] of [['minimal', minimalSpec()], ['full', fullSpec()]] as const) {
    test(`${name} spec: accepted, and the API server's defaults equal ajv's`, async () => {
      const res = await create(spec, uniqueName(name), '?fieldValidation=Strict');
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const ajv = validateSpec(spec);
      assert.ok(ajv.ok);
      assert.deepEqual(res.body.spec, ajv.spec);
    });
  }

  for (const [rule, { bad, fixed, also = [] }] of Object.entries(RULE_CASES) as [keyof typeof CROSS_FIELD_RULES, (typeof RULE_CASES)[keyof typeof CROSS_FIELD_RULES]][]) {
    test(`CEL ${rule}: rejects with its message, accepts the fix`, async () => {
      const res = await create(bad, uniqueName('bad'));
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.ok(res.body.message?.includes(CROSS_FIELD_RULES[rule].message), res.body.message);
      for (const spec of [fixed, ...also]) {
        const ok = await create(spec, uniqueName('fixed'));
        assert.equal(ok.status, 201, JSON.stringify(ok.body));
      }
    });
  }

  test('secrets inline are refused (strict field validation), name longer than a label value refused', async () => {
    const inline = await create(withSection(minimalSpec(), 'rockset', { apiKey: 'k' }), uniqueName('inline'), '?fieldValidation=Strict');
    assert.equal(inline.status, 400);
    assert.match(inline.body.message ?? '', /unknown field "spec\.rockset\.apiKey"/);
    const long = await create(minimalSpec(), 'x'.repeat(64));
    assert.equal(long.status, 422, JSON.stringify(long.body));
  });

  test('lowering only resources.limits.memory: accepted, no request was stored to trap it, and the rendered Deployment is valid', async () => {
    const name = uniqueName('limit');
    const created = await create(minimalSpec(), name);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.spec.resources, undefined, 'no resources defaulted into the stored object');
    const patched = await cp.request<RocksetSink & Status>('PATCH', `${base}/${name}`, { spec: { resources: { limits: { memory: '128Mi' } } } }, { contentType: 'application/merge-patch+json' });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const { deployment } = renderSink(patched.body, { image: DEFAULT_IMAGE, secretsHash: secretsChecksum({}) });
    const dep = await cp.request<Json>('POST', `/apis/apps/v1/namespaces/${ns}/deployments?dryRun=All&fieldValidation=Strict`, deployment);
    assert.equal(dep.status, 201, JSON.stringify(dep.body));
    // Both set, the request above the limit: refused at apply time, naming both fields.
    const both = await cp.request<Status>('PATCH', `${base}/${name}`, { spec: { resources: { requests: { memory: '256Mi' } } } }, { contentType: 'application/merge-patch+json' });
    assert.equal(both.status, 422, JSON.stringify(both.body));
    assert.ok(both.body.message?.includes(`spec.resources: Invalid value`) && both.body.message.includes(CROSS_FIELD_RULES.requestsWithinLimits.message), both.body.message);
  });

  test('kubectl explain rocksetsinks.spec.batch shows each field\'s range and default', async () => {
    const r = await kubectl(cp, ['explain', 'rocksetsinks.spec.batch']);
    assert.equal(r.code, 0, r.stderr);
    const flat = r.stdout.replace(/\s+/g, ' ');
    for (const text of ['Most documents in one write request. Between 1 and 20000. Default: 5000.', 'Between 1024 and 10485760. Default: 4194304.', 'Between 0 and 60000. Default: 500.']) {
      assert.ok(flat.includes(text), `${text} in:\n${r.stdout}`);
    }
  });

  test("Rockset names: a collection, workspace or route target outside Rockset's naming rule is refused, naming the field", async () => {
    for (const [field, section] of [
      ['spec.rockset.collection', { collection: 'orders/with slash' }],
      ['spec.rockset.workspace', { workspace: 'sales team' }],
      ['spec.rockset.topicCollections.orders', { topicCollections: { orders: 'orders.eu' } }],
    ] as const) {
      const res = await create(withSection(minimalSpec(), 'rockset', section), uniqueName('names'));
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.ok(res.body.message?.includes(field), `${field} in: ${res.body.message}`);
    }
    const ok = await create(withSection(minimalSpec(), 'rockset', { workspace: 'sales.eu-west_1', collection: 'Orders_2024-v2' }), uniqueName('names'));
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });

  test('the rendered ConfigMap and Deployment are accepted, and the workers come up', async () => {
    const created = await create(fullSpec(), 'orders');
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const sink = created.body;
    // The ServiceAccount the full spec names; the namespace's default one is made by the controller-manager.
    assert.equal((await cp.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'orders-sink' } })).status, 201);
    const pc = await cp.request('POST', '/apis/scheduling.k8s.io/v1/priorityclasses', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'data-high' }, value: 1000 });
    assert.ok(pc.status === 201 || pc.status === 409, JSON.stringify(pc.body));
    const { configMap, deployment } = renderSink(sink, { image: DEFAULT_IMAGE, secretsHash: secretsChecksum({}) });
    const cm = await cp.request<Json>('POST', `/api/v1/namespaces/${ns}/configmaps?fieldValidation=Strict`, configMap);
    assert.equal(cm.status, 201, JSON.stringify(cm.body));
    const dep = await cp.request<Json>('POST', `/apis/apps/v1/namespaces/${ns}/deployments?fieldValidation=Strict`, deployment);
    assert.equal(dep.status, 201, JSON.stringify(dep.body));
    // The pod template survives the API server unchanged where we set it (kwok runs the pods; no containers).
    let last: unknown;
    try {
      await waitFor('the sink workers to be available', async () => {
        const r = await cp.request<{ status?: { availableReplicas?: number } }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${deployment.metadata.name}`);
        last = r.body.status;
        return r.body.status?.availableReplicas === 3;
      }, { timeoutMs: 60_000, intervalMs: 200 });
    } catch (err) {
      const rs = await cp.request<{ items: { status: unknown }[] }>('GET', `/apis/apps/v1/namespaces/${ns}/replicasets`);
      throw new Error(`${(err as Error).message}: deployment ${JSON.stringify(last)}; replicasets ${JSON.stringify(rs.body.items.map((i) => i.status))}`);
    }
  });

  test('scale and status subresources, printer columns', async () => {
    const name = uniqueName('scale');
    const created = await create(minimalSpec(), name);
    assert.equal(created.status, 201);
    const scaled = await cp.request<Json>('PATCH', `${base}/${name}/scale`, { spec: { replicas: 4 } });
    assert.equal(scaled.status, 200, JSON.stringify(scaled.body));
    assert.equal((await cp.request<RocksetSink>('GET', `${base}/${name}`)).body.spec.replicas, 4);

    const status = {
      observedGeneration: 2,
      replicas: 4,
      readyReplicas: 3,
      selector: selectorString(created.body),
      lag: { total: 1234, topics: { orders: 1234 } },
      conditions: [{ type: 'Ready', status: 'False', reason: 'WorkersUnavailable', message: '3 of 4 workers ready', lastTransitionTime: '2026-11-25T10:00:00Z', observedGeneration: 2 }],
    };
    const st = await cp.request<RocksetSink>('PATCH', `${base}/${name}/status`, { status });
    assert.equal(st.status, 200, JSON.stringify(st.body));
    assert.deepEqual(st.body.status, status);
    const scale = await cp.request<{ status: { replicas: number; selector: string } }>('GET', `${base}/${name}/scale`);
    assert.deepEqual(scale.body.status, { replicas: 4, selector: 'app.kubernetes.io/name=rockset-sink,app.kubernetes.io/instance=' + name });

    const agent = new Agent({ connect: { ca: cp.ca } });
    try {
      const res = await fetch(`${cp.server}${base}/${name}`, {
        headers: { authorization: `Bearer ${cp.token}`, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
        dispatcher: agent,
      });
      const table = (await res.json()) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
      const cells = Object.fromEntries(table.columnDefinitions.map((c, i) => [c.name, table.rows[0]!.cells[i]]));
      assert.equal(cells.Ready, 'False');
      assert.equal(cells.Replicas, 4);
      assert.equal(cells.Lag, 1234);
      assert.equal(cells.Available, 3);
      assert.equal(cells.Reason, 'WorkersUnavailable');
      assert.ok(typeof cells.Age === 'string');
    } finally {
      await agent.close();
    }
  });
});

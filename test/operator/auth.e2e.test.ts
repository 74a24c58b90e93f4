// A refused API key, as a RocksetSink user meets it: the operator renders the sink's
// ConfigMap and Deployment on the API server; the sink, run locally with exactly
// that configuration and the Deployment's environment (the key file path pointed at
// a local copy, as the Secret volume would provide it), gets a 401 from the emulator
// and stops with AuthFailed naming spec.rockset.apiKeySecretRef and the Secret, not
// the sink's own ROCKSET_API_KEY / rockset.apiKeyFile, and never the key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/ports.ts';
import { WS, produce, startSinkProcess, testKafka, withEmulator } from '../sink/helpers.ts';
import type { Emulator } from '../../emulator/server.ts';
import { GROUP, PLURAL, VERSION } from '../../operator/api/rocksetsink.ts';
import type { Deployment } from '../../operator/render/objects.ts';
import { installCrdAndNamespace } from './cluster.ts';
import { startOperator, type OperatorProcess } from './operator-process.ts';

const ns = `auth-${randomBytes(4).toString('hex')}`;
const WRONG_KEY = 'wrong-key-5d1e0c';
let cp: ControlPlane;
let op: OperatorProcess;
let emu: Emulator;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-auth-'));

before(async () => {
  emu = await withEmulator();
  cp = await testControlPlane();
  await installCrdAndNamespace(cp, ns);
  const sec = await cp.request('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rockset-api-key' }, data: { 'api-key': Buffer.from(WRONG_KEY).toString('base64') } });
  assert.equal(sec.status, 201);
  op = await startOperator('op-auth', { KUBECONFIG: cp.kubeconfigPath, OPERATOR_NAMESPACES: ns, POD_NAMESPACE: ns, OPERATOR_LEADER_ELECTION: 'false' });
});

after(async () => {
  await op?.stop();
  await emu?.close();
  await cp?.request('DELETE', `/api/v1/namespaces/${ns}`);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a refused API key: AuthFailed names spec.rockset.apiKeySecretRef and the Secret, never the key', async () => {
  const k = await testKafka();
  const topic = await k.createTopic('auth');
  await produce(k, topic, [{ key: 'a', value: '{"x":1}' }]);
  const spec = {
    kafka: { brokers: k.brokers, groupId: `g-${topic}`, topics: [topic] },
    rockset: { apiServer: emu.url, workspace: WS, collection: 'events', apiKeySecretRef: { name: 'rockset-api-key', key: 'api-key' } },
    batch: { lingerMs: 50 },
  };
  const created = await cp.request('POST', `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`, { apiVersion: `${GROUP}/${VERSION}`, kind: 'RocksetSink', metadata: { name: 'orders' }, spec });
  assert.equal(created.status, 201, JSON.stringify(created.body));

  let deployment: Deployment | undefined;
  await waitFor('the rendered Deployment', async () => {
    const r = await cp.request<Deployment>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/orders-sink`);
    if (r.status === 200) deployment = r.body;
    return r.status === 200;
  }, { timeoutMs: 30_000, intervalMs: 200 });
  const cm = await cp.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/configmaps/orders-sink-config`);
  const config = JSON.parse(cm.body.data['config.json'] ?? '{}') as { rockset: { apiKeyFile: string }; http: unknown };
  const keyFile = path.join(dir, 'api-key');
  fs.writeFileSync(keyFile, WRONG_KEY, { mode: 0o600 });
  config.rockset.apiKeyFile = keyFile;
  config.http = { port: 0, host: '127.0.0.1' };
  const env = Object.fromEntries((deployment!.spec.template.spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
  const termination = path.join(dir, 'termination-log');

  const sink = startSinkProcess(config, { ...env, TERMINATION_MESSAGE_PATH: termination });
  assert.equal(await sink.exited, 1);
  const message = fs.readFileSync(termination, 'utf8');
  assert.match(message, /^AuthFailed: .*HTTP 401/);
  assert.ok(message.includes('check spec.rockset.apiKeySecretRef (Secret rockset-api-key, key api-key)'), message);
  assert.ok(!message.includes('ROCKSET_API_KEY') && !message.includes('rockset.apiKeyFile'), message);
  assert.ok(!sink.lines.some((l) => l.includes(WRONG_KEY)) && !message.includes(WRONG_KEY), 'the key was shown');
});

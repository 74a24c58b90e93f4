// status.lag end to end: the operator reads the consumer group's lag from the real
// broker and writes it into the RocksetSink's status; the sink, run locally with the
// configuration the operator rendered into the ConfigMap (the API key file path
// pointed at a local copy, as the Secret volume would provide it), drains the topic
// into the emulator, and status.lag falls to 0.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { testControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/ports.ts';
import { API_KEY, WS, produce, startSinkProcess, stopSink, testKafka, waitForCount, withEmulator, type SinkProcess } from '../sink/helpers.ts';
import type { Emulator } from '../../emulator/server.ts';
import { GROUP, PLURAL, VERSION, type RocksetSink } from '../../operator/api/rocksetsink.ts';
import { installCrdAndNamespace } from './cluster.ts';
import { startOperator, type OperatorProcess } from './operator-process.ts';

const ns = `lag-${randomBytes(4).toString('hex')}`;
const sinks = `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`;
const RECORDS = 3000;

let cp: ControlPlane;
let op: OperatorProcess;
let emu: Emulator;
let sink: SinkProcess | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rso-lag-'));

before(async () => {
  emu = await withEmulator();
  cp = await testControlPlane();
  await installCrdAndNamespace(cp, ns);
  const sec = await cp.request('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rockset' }, data: { 'api-key': Buffer.from(API_KEY).toString('base64') } });
  assert.equal(sec.status, 201);
  op = await startOperator('op-lag', { KUBECONFIG: cp.kubeconfigPath, OPERATOR_NAMESPACES: ns, POD_NAMESPACE: ns, OPERATOR_LEADER_ELECTION: 'false', OPERATOR_LAG_INTERVAL_SECONDS: '1' });
});

after(async () => {
  if (sink) await stopSink(sink);
  await op?.stop();
  await emu?.close();
  await cp?.request('DELETE', `/api/v1/namespaces/${ns}`);
  fs.rmSync(dir, { recursive: true, force: true });
});

async function lagUntil(what: string, check: (lag: RocksetSink['status'] extends infer S ? S extends { lag?: infer L } ? L : never : never) => boolean): Promise<RocksetSink> {
  let last: RocksetSink | undefined;
  try {
    await waitFor(what, async () => {
      last = (await cp.request<RocksetSink>('GET', `${sinks}/orders`)).body;
      return last.status?.lag !== undefined && check(last.status.lag);
    }, { timeoutMs: 60_000, intervalMs: 250 });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status ${JSON.stringify(last?.status)}`);
  }
  return last!;
}

test('status.lag counts the records not yet written and falls to 0 while the sink runs the rendered configuration', async () => {
  const k = await testKafka();
  const topic = await k.createTopic('lag', { partitions: 3 });
  const messages = Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ n: i }) }));
  await produce(k, topic, messages);

  const spec = {
    kafka: { brokers: k.brokers, groupId: `g-${topic}`, topics: [topic], fromBeginning: true },
    rockset: { apiServer: emu.url, allowInsecureHttp: true, workspace: WS, collection: 'events', apiKeySecretRef: { name: 'rockset', key: 'api-key' } },
    batch: { lingerMs: 50 },
  };
  const created = await cp.request('POST', sinks, { apiVersion: `${GROUP}/${VERSION}`, kind: 'RocksetSink', metadata: { name: 'orders' }, spec });
  assert.equal(created.status, 201, JSON.stringify(created.body));

  // Nothing consumed yet: every record counts.
  const before = await lagUntil(`lag ${RECORDS}`, (lag) => lag?.total === RECORDS);
  assert.equal(before.status?.lag?.topics?.[topic], RECORDS);

  // The sink, with exactly the configuration the operator rendered.
  const cm = await cp.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/configmaps/orders-sink-config`);
  assert.equal(cm.status, 200);
  const config = JSON.parse(cm.body.data['config.json'] ?? '{}') as { rockset: { apiKeyFile: string }; http: { port: number; host: string } };
  assert.equal(config.rockset.apiKeyFile, '/var/run/secrets/rockset-sink/api-key/api-key');
  const keyFile = path.join(dir, 'api-key');
  fs.writeFileSync(keyFile, API_KEY, { mode: 0o600 });
  config.rockset.apiKeyFile = keyFile;
  config.http = { port: 0, host: '127.0.0.1' };
  sink = startSinkProcess(config, {});

  await waitForCount(emu, RECORDS, 'events', 60_000, sink);
  const drained = await lagUntil('lag 0', (lag) => lag?.total === 0);
  assert.deepEqual(drained.status?.lag, { total: 0, topics: { [topic]: 0 } });
  assert.equal((await emu.admin.count(WS, 'events')), RECORDS);
});

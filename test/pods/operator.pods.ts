// The operator and its workers as real containers: the image built from ./Dockerfile
// (build-image.sh), a real kubelet and containerd (node.ts) joined to the test control
// plane, the chart installed with helm, examples/minimal applied with kubectl. Pods on
// the CNI bridge reach the broker and the emulator on the bridge's gateway address.
// Needs root; run with `npm run test:pods` (README: Tests).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { parseAllDocuments, stringify } from 'yaml';
import { nodeMemory } from '../../operator/render/memory.ts';
import { startEmulator, type Emulator } from '../../emulator/server.ts';
import { startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { startKafka, type KafkaBroker } from '../harness/kafka.ts';
import { kubectl } from '../harness/kubectl.ts';
import { startNode, type RealNode } from '../harness/node.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { CHART, helmOk } from '../chart/helm.ts';

const root = path.resolve(import.meta.dirname, '../..');
const NS = 'data';
const OP_NS = 'rockset-system';
const RELEASE = 'rso';
const API_KEY = 'pods-test-key';
const WS = 'commons';
// What the test setup needs beyond the user's files, in one place: the emulator speaks
// http (an apiServer the CRD refuses without allowInsecureHttp) on a host the chart's
// default allowedApiHosts (*.rockset.com) leaves out.
const ROCKSET_EXTRA: Record<string, unknown> = { allowInsecureHttp: true };
const chartExtra = (emulatorHost: string): string[] => ['--set-json', `allowedApiHosts=${JSON.stringify([emulatorHost])}`];

let cp: ControlPlane;
let node: RealNode;
let kafka: KafkaBroker;
let emulator: Emulator;

type Obj = { metadata: { name: string; uid?: string; labels?: Record<string, string>; deletionTimestamp?: string }; spec?: Record<string, unknown>; status?: Record<string, unknown> };
type Pod = Obj & {
  spec: { serviceAccountName?: string; containers: { name: string; image: string }[] };
  status: { phase?: string; containerStatuses?: { ready: boolean; image: string; restartCount: number; state?: Record<string, unknown>; lastState?: { terminated?: { exitCode: number; message?: string } } }[] };
};

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(cp, args, { cwd: root, ...(input === undefined ? {} : { input }), timeoutMs: 60_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function pods(ns: string, selector: string): Promise<Pod[]> {
  return (JSON.parse(await ok(['get', 'pods', '-n', ns, '-l', selector, '-o', 'json'])) as { items: Pod[] }).items;
}

const workerSelector = (sink: string) => `app.kubernetes.io/instance=${sink},app.kubernetes.io/component=sink`;
const running = (p: Pod) => !p.metadata.deletionTimestamp && p.status.phase === 'Running' && (p.status.containerStatuses ?? []).every((c) => c.ready);

async function until<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 180_000): Promise<T> {
  let last: T | undefined;
  try {
    await waitFor(what, async () => check((last = await read())), { timeoutMs, intervalMs: 1000 });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen:\n${JSON.stringify(last, null, 1)?.slice(0, 4000)}`);
  }
  return last as T;
}

function condition(sink: Obj, type: string): { status?: string; reason?: string; message?: string } {
  const conditions = (sink.status?.['conditions'] ?? []) as { type: string; status: string; reason?: string; message?: string }[];
  return conditions.find((c) => c.type === type) ?? {};
}

async function getSink(name: string): Promise<Obj> {
  return JSON.parse(await ok(['get', 'rocksetsink', name, '-n', NS, '-o', 'json'])) as Obj;
}

/** examples/minimal, pointed at the test broker and emulator: the user's files with only the addresses changed. */
function minimalExample(name: string, opts: { secret: string; apiKey: string; topic: string; secretKey?: string }): string {
  const docs: Record<string, unknown>[] = [];
  for (const file of ['secret.yaml', 'rocksetsink.yaml']) {
    for (const d of parseAllDocuments(fs.readFileSync(path.join(root, 'examples/minimal', file), 'utf8'))) {
      const obj = d.toJS() as { kind: string; metadata: { name: string }; stringData?: Record<string, string>; spec?: { kafka: Record<string, unknown>; rockset: Record<string, unknown> } };
      if (obj.kind === 'Secret') {
        obj.metadata.name = opts.secret;
        obj.stringData = { [opts.secretKey ?? 'api-key']: opts.apiKey };
      } else if (obj.spec) {
        obj.metadata.name = name;
        Object.assign(obj.spec.kafka, { brokers: kafka.brokers, topics: [opts.topic], groupId: `rockset-${name}` });
        Object.assign(obj.spec.rockset, { apiServer: emulator.url, collection: name, apiKeySecretRef: { name: opts.secret, key: 'api-key' }, ...ROCKSET_EXTRA });
      }
      docs.push(obj);
    }
  }
  return docs.map((d) => stringify(d)).join('---\n');
}

async function produce(topic: string, count: number, from = 0): Promise<void> {
  const client = new Kafka({ clientId: 'pods-test', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  const producer = client.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: JSON.stringify({ n: from + i }) })) });
  await producer.disconnect();
}

async function createTopic(topic: string): Promise<void> {
  const admin = new Kafka({ clientId: 'pods-test', brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
}

async function docCount(collection: string): Promise<number> {
  return (await emulator.admin.collections()).find((c) => c.workspace === WS && c.collection === collection)?.count ?? 0;
}

before(async () => {
  cp = await startControlPlane({ kwok: false });
  node = await startNode(cp);
  kafka = await startKafka({ host: node.gatewayIp });
  emulator = await startEmulator({ host: node.gatewayIp, apiKey: API_KEY, autoCreate: true });
  await ok(['create', 'namespace', NS]);
});

after(async () => {
  // workloads before the node: the sinks' pods go while the kubelet still runs
  // (the operator's namespace too: its Deployment would bring the pod back on the node)
  if (cp) await kubectl(cp, ['delete', 'namespace', NS, OP_NS, '--ignore-not-found', '--wait=true', '--timeout=90s'], { timeoutMs: 100_000 }).catch(() => {});
  await node?.stop();
  await emulator?.close();
  await kafka?.stop();
  await cp?.stop();
});

describe('real pods', { concurrency: false }, () => {
  test('the chart runs the operator as a real pod from the built image, under its own ServiceAccount', async () => {
    const port = new URL(cp.server).port;
    const [repository, tag] = node.image.split(/:(?=[^:]+$)/) as [string, string];
    await helmOk([
      'install', RELEASE, CHART, '--namespace', OP_NS, '--create-namespace',
      '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`, '--set', 'image.pullPolicy=Never',
      '--set-json', `extraEnv=${JSON.stringify([{ name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' }, { name: 'KUBERNETES_SERVICE_PORT', value: port }])}`,
      '--set', 'lagIntervalSeconds=5',
      // on the host network: a free port, not 8080, which anything on this machine may hold
      '--set', `httpPort=${await freePort()}`,
      ...chartExtra(new URL(emulator.url).hostname),
      '--post-renderer', process.execPath, '--post-renderer-args', path.join(import.meta.dirname, 'host-network.ts'),
      '--wait', '--timeout', '240s',
    ], { kubeconfig: cp.kubeconfigPath, timeoutMs: 260_000 });
    const [op] = await until('the operator pod to be Ready', () => pods(OP_NS, 'app.kubernetes.io/instance=rso'), (ps) => ps.length === 1 && ps.every(running));
    assert.ok(op);
    assert.equal(op.spec.containers[0]?.image, node.image);
    assert.equal(op.status.containerStatuses?.[0]?.restartCount, 0, 'the operator container never restarted');
    const sa = op.spec.serviceAccountName ?? '';
    assert.match(sa, /rso/);
    assert.equal(JSON.parse(await ok(['get', 'serviceaccount', sa, '-n', OP_NS, '-o', 'json'])).metadata.name, sa);
    // the entrypoint the image runs by default, as uid 1000 on a read-only root filesystem
    const exec = await ok(['exec', '-n', OP_NS, op.metadata.name, '--', 'sh', '-c', 'id -u; id -g; cat /proc/1/cmdline | tr "\\0" " "; echo; touch /app/x 2>&1; touch /tmp/x && echo tmp-writable']);
    const lines = exec.trim().split('\n');
    assert.equal(lines[0], '1000');
    assert.equal(lines[1], '1000');
    assert.match(lines[2] ?? '', /^node operator\/main\.js\s*$/);
    assert.match(lines[3] ?? '', /Read-only file system/);
    assert.equal(lines[4], 'tmp-writable');
  });

  test('kubectl apply of examples/minimal gives real worker pods that write the produced records as documents; Ready is True', async () => {
    await createTopic('orders');
    await produce('orders', 200);
    const applied = await ok(['apply', '-n', NS, '-f', '-'], minimalExample('orders', { secret: 'rockset-api-key', apiKey: API_KEY, topic: 'orders' }));
    assert.deepEqual(applied.trim().split('\n').sort(), ['rocksetsink.rockset-sink.dev/orders created', 'secret/rockset-api-key created']);
    const workers = await until('a running worker pod', () => pods(NS, workerSelector('orders')), (ps) => ps.length === 1 && ps.every(running));
    assert.equal(workers[0]?.spec.containers[0]?.image, node.image, 'the workers run the operator\'s own image');
    await until('200 documents in the emulator', () => docCount('orders'), (n) => n === 200);
    const sink = await until('orders Ready=True', () => getSink('orders'), (s) => condition(s, 'Ready').status === 'True');
    assert.equal(sink.status?.['replicas'], 1);
    await produce('orders', 50, 200);
    await until('250 documents', () => docCount('orders'), (n) => n === 250, 60_000);
  });

  test('a worker pod runs sink/main.js as uid 1000 on a read-only root filesystem, with the heap flags its real memory limit calls for', async () => {
    const [w] = (await pods(NS, workerSelector('orders'))).filter(running);
    assert.ok(w);
    const out = await ok(['exec', '-n', NS, w.metadata.name, '--', 'sh', '-c',
      'id -u; cat /proc/1/cmdline | tr "\\0" " "; echo; touch /app/x 2>&1; touch /tmp/x && echo tmp-writable; cat /sys/fs/cgroup/memory/memory.limit_in_bytes']);
    const [uid, cmdline, rootFs, tmp, limit] = out.trim().split('\n');
    assert.equal(uid, '1000');
    assert.match(cmdline ?? '', /^node .*sink\/main\.js --config /);
    assert.match(rootFs ?? '', /Read-only file system/);
    assert.equal(tmp, 'tmp-writable');
    // the memory limit the container really runs under (its cgroup), and the flags it gives
    const expected = nodeMemory(Number(limit));
    assert.ok(expected.flags.length > 0, `a memory limit is set (${limit})`);
    for (const flag of expected.flags) assert.ok(cmdline?.includes(flag), `${flag} in ${cmdline}`);
  });

  test('the image ships no .ts source and no dev dependency', async () => {
    const [w] = (await pods(NS, workerSelector('orders'))).filter(running);
    assert.ok(w);
    const script = `
      const fs = require('fs'), path = require('path');
      const ts = [];
      const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) { if (e.name !== 'node_modules') walk(p); } else if (/\\.(c|m)?ts$/.test(e.name) && !/\\.d\\.(c|m)?ts$/.test(e.name)) ts.push(p);
      } };
      walk('/app');
      console.log(JSON.stringify({ ts, modules: fs.readdirSync('/app/node_modules').flatMap((m) => m.startsWith('@') ? fs.readdirSync('/app/node_modules/' + m).map((s) => m + '/' + s) : [m]) }));`;
    const { ts, modules } = JSON.parse(await ok(['exec', '-n', NS, w.metadata.name, '--', 'node', '-e', script])) as { ts: string[]; modules: string[] };
    assert.deepEqual(ts, []);
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const dev = Object.entries(lock.packages).filter(([p, v]) => v.dev && p.split('node_modules/').length === 2).map(([p]) => p.replace(/^node_modules\//, ''));
    assert.ok(dev.includes('typescript'), 'the lockfile names typescript as a dev dependency');
    assert.deepEqual(modules.filter((m) => dev.includes(m)), []);
    assert.ok(modules.includes('kafkajs'));
    // the README states the size; a much bigger image is a regression to look at
    assert.ok(node.imageBytes < 420 * 1024 * 1024, `image archive is ${Math.round(node.imageBytes / 1048576)} MiB (348 MiB when the README was written)`);
  });

  test('a wrong API key: the worker exits with AuthFailed in its termination message, Ready=False with that reason; fixing the Secret rolls the pods', async () => {
    await createTopic('payments');
    await produce('payments', 20);
    await ok(['apply', '-n', NS, '-f', '-'], minimalExample('payments', { secret: 'payments-key', apiKey: 'not-the-key', topic: 'payments' }));
    const failed = await until('a worker terminated with AuthFailed', () => pods(NS, workerSelector('payments')),
      (ps) => ps.some((p) => (p.status.containerStatuses ?? []).some((c) => /^AuthFailed:/.test(c.lastState?.terminated?.message ?? ''))));
    const term = failed.flatMap((p) => p.status.containerStatuses ?? []).find((c) => c.lastState?.terminated)?.lastState?.terminated;
    assert.notEqual(term?.exitCode, 0);
    assert.ok(!(term?.message ?? '').includes('not-the-key'), 'the key never appears in the termination message');
    const sink = await until('payments Ready=False AuthFailed', () => getSink('payments'), (s) => condition(s, 'Ready').status === 'False' && condition(s, 'Ready').reason === 'AuthFailed');
    assert.ok(!JSON.stringify(sink.status).includes('not-the-key'));
    assert.equal(await docCount('payments'), 0);

    const oldUids = new Set(failed.map((p) => p.metadata.uid));
    await ok(['create', 'secret', 'generic', 'payments-key', '-n', NS, `--from-literal=api-key=${API_KEY}`, '--dry-run=client', '-o', 'yaml'])
      .then((y) => ok(['apply', '-n', NS, '-f', '-'], y));
    const rolled = await until('new worker pods after the Secret change', () => pods(NS, workerSelector('payments')),
      (ps) => ps.length === 1 && ps.every((p) => !oldUids.has(p.metadata.uid) && running(p)));
    assert.equal(rolled[0]?.status.containerStatuses?.[0]?.restartCount, 0);
    await until('20 documents', () => docCount('payments'), (n) => n === 20);
    await until('payments Ready=True', () => getSink('payments'), (s) => condition(s, 'Ready').status === 'True');
  });

  test('a key the Secret lacks: the worker stops with SecretKeyNotFound naming the spec field, the Secret and the key (the operator never reads key names); adding the key brings it up', async () => {
    await createTopic('refunds');
    await produce('refunds', 10);
    // the RocksetSink references key api-key; the Secret holds the key under another name
    await ok(['apply', '-n', NS, '-f', '-'], minimalExample('refunds', { secret: 'refunds-key', apiKey: API_KEY, topic: 'refunds', secretKey: 'apikey' }));
    const sink = await until('refunds SecretsResolved=False SecretKeyNotFound', () => getSink('refunds'), (s) => condition(s, 'SecretsResolved').reason === 'SecretKeyNotFound');
    assert.equal(condition(sink, 'SecretsResolved').status, 'False');
    assert.match(condition(sink, 'SecretsResolved').message ?? '', /SecretKeyNotFound: spec\.rockset\.apiKeySecretRef \(Secret refunds-key, key api-key\): the Secret has no such key .*Add the key to the Secret/);
    assert.equal(condition(sink, 'Ready').reason, 'SecretKeyNotFound');
    assert.ok(!JSON.stringify(sink.status).includes(API_KEY));

    await ok(['create', 'secret', 'generic', 'refunds-key', '-n', NS, `--from-literal=api-key=${API_KEY}`, '--dry-run=client', '-o', 'yaml'])
      .then((y) => ok(['apply', '-n', NS, '-f', '-'], y));
    await until('10 documents', () => docCount('refunds'), (n) => n === 10);
    await until('refunds Ready=True, SecretsResolved=True', () => getSink('refunds'), (s) => condition(s, 'Ready').status === 'True' && condition(s, 'SecretsResolved').status === 'True');
  });

  test('kubectl scale and paused change the number of real pods', async () => {
    await ok(['scale', 'rocksetsink', 'orders', '-n', NS, '--replicas=2']);
    await until('2 running workers', () => pods(NS, workerSelector('orders')), (ps) => ps.length === 2 && ps.every(running));
    await ok(['patch', 'rocksetsink', 'orders', '-n', NS, '--type=merge', '-p', '{"spec":{"paused":true}}']);
    await until('no workers while paused', () => pods(NS, workerSelector('orders')), (ps) => ps.length === 0);
    await produce('orders', 30, 250);
    await ok(['patch', 'rocksetsink', 'orders', '-n', NS, '--type=merge', '-p', '{"spec":{"paused":false}}']);
    await until('2 running workers again', () => pods(NS, workerSelector('orders')), (ps) => ps.length === 2 && ps.every(running));
    await until('the records produced while paused are written', () => docCount('orders'), (n) => n === 280);
  });

  test('deleting the sink removes its real pods', async () => {
    await ok(['delete', 'rocksetsink', 'orders', '-n', NS, '--wait=true', '--timeout=60s']);
    await until('the workers to be gone', () => pods(NS, workerSelector('orders')), (ps) => ps.length === 0, 120_000);
    // and on the node: no process of theirs runs in containerd (the kubelet removes the
    // stopped containers later, at its next container garbage collection)
    const ids = (await node.ctr(['containers', 'ls', '-q', `labels."io.kubernetes.pod.namespace"==${NS},labels."io.kubernetes.pod.name"~=^orders-`])).split('\n').filter(Boolean);
    assert.ok(ids.length > 0, 'containerd knew the workers\' containers');
    const tasks = await node.ctr(['tasks', 'ls']);
    const runningIds = tasks.split('\n').filter((l) => /\bRUNNING\b/.test(l)).map((l) => l.split(/\s+/)[0]);
    assert.deepEqual(ids.filter((id) => runningIds.includes(id)), [], `workers' containers still running:\n${tasks}`);
  });
});

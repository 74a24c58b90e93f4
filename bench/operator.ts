// Operator benchmark on the real test control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok; test/harness/controlplane.ts):
//
//   operator_500_apply_s    time to create N RocksetSinks (default 500, 16 POSTs in flight)
//   operator_500_ready_s    first create -> every sink reports Ready=True for its current
//                           generation (the list endpoint polled every second)
//   operator_500_writes     the operator's API writes (applies, status patches, events) meanwhile
//   operator_rss_peak_mb    VmHWM of the operator process at the end of the run
//   operator_idle_writes    API writes over --idle-seconds (default 60) once the operator
//                           went quiet (no write for --quiet-seconds, default 5)
//   operator_floor_ready_s  the same N Deployments (as the operator renders them, no owner)
//                           created directly, no operator, until all are available: what
//                           kcm + scheduler + kwok alone take, on a control plane of its own
//
// The operator runs as users run it (node operator/main.ts, a child process), leader
// election off (one replica; the election is only a Lease renewal every 2 s, not
// counted as a sink write either way), OPERATOR_WORKERS=--workers (default 8: each
// reconcile waits on ~5-10 API round trips one after the other, so with 500 sinks more
// workers win until the API server saturates; 2, 4 and 8 compared in bench/README.md),
// OPERATOR_LAG_INTERVAL_SECONDS=30. The sinks' kafka.brokers point at a closed port
// on 127.0.0.1: the lag poller's connection is refused at once (an unresolvable host
// would cost a DNS timeout per sink), so every sink is Ready with a "lag not updated"
// note and the figures are about the operator and the control plane, not about Kafka.
// The fake Node of the harness takes 110 pods: the bench registers more kwok Nodes.
//
// Prints a table and one JSON line ({"bench":"operator",...}) on stdout (progress on
// stderr) and merges its figures into bench-results.json (--out). Everything started
// here is stopped on success, error and Ctrl-C.
//
//   node bench/operator.ts [--sinks 500] [--sink-namespaces 1] [--workers 8] [--idle-seconds 60]
//                          [--quiet-seconds 5] [--skip-floor] [--leader-election] [--operator-profile]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startControlPlane, type ControlPlane } from '../test/harness/controlplane.ts';
import { freePort, waitFor } from '../test/harness/ports.ts';
import { installCrdAndNamespace } from '../test/operator/cluster.ts';
import { minimalSpec, sinkOf } from '../test/operator/fixtures.ts';
import { startOperator, type OperatorProcess } from '../test/operator/operator-process.ts';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION, type RocksetSink } from '../operator/api/rocksetsink.ts';
import { Agent, fetch as undiciFetch } from 'undici';
import { renderSink } from '../operator/render/objects.ts';
import { DEFAULT_SINK_IMAGE } from '../operator/reconcile.ts';
import { summarizeProfile, type ProfileEntry } from './profile.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    sinks: { type: 'string', default: '500' },
    'sink-namespaces': { type: 'string', default: '1' },
    workers: { type: 'string', default: '8' },
    'idle-seconds': { type: 'string', default: '60' },
    'quiet-seconds': { type: 'string', default: '5' },
    'timeout-seconds': { type: 'string', default: '900' },
    'skip-floor': { type: 'boolean', default: false },
    'leader-election': { type: 'boolean', default: false },
    'operator-profile': { type: 'boolean', default: false },
    // The controller manager's defaults (20 requests/s, 5 Deployment and ReplicaSet
    // workers) alone need ~120 s to make 500 Deployments available here, whatever the
    // operator does; clusters that run hundreds of workloads raise them. 0 keeps the defaults.
    'kcm-qps': { type: 'string', default: '200' },
    out: { type: 'string', default: path.join(root, 'bench-results.json') },
  },
});
const SINKS = Number(args.sinks);
const NAMESPACES = Number(args['sink-namespaces']);
const WORKERS = Number(args.workers);
const IDLE_S = Number(args['idle-seconds']);
const QUIET_S = Number(args['quiet-seconds']);
const TIMEOUT_MS = Number(args['timeout-seconds']) * 1000;
for (const [name, n] of [['--sinks', SINKS], ['--sink-namespaces', NAMESPACES], ['--workers', WORKERS], ['--idle-seconds', IDLE_S], ['--quiet-seconds', QUIET_S], ['--timeout-seconds', TIMEOUT_MS]] as const) {
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`bench: ${name} must be a positive integer`);
    process.exit(2);
  }
}

const CREATE_IN_FLIGHT = 16;
const POLL_MS = 1000;
const LAG_INTERVAL_S = 30;
// kwok Nodes of this many pods each (the harness's own Node takes 110).
const PODS_PER_NODE = 110;

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 0) => Number(n.toFixed(digits));
const seconds = (ms: number) => round(ms / 1000, 1);

// ---- cleanup: everything started is stopped, also on errors and Ctrl-C ---------

const cleanups: (() => Promise<unknown>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => say(`cleanup: ${(err as Error).message}`));
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    say(`${signal}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---- cluster set-up -----------------------------------------------------------------

async function controlPlane(what: string): Promise<ControlPlane> {
  const qps = Number(args['kcm-qps']);
  const tuned = qps > 0 ? [`--kube-api-qps=${qps}`, `--kube-api-burst=${qps * 2}`] : [];
  const cp = await startControlPlane({
    extraArgs: {
      'kube-controller-manager': qps > 0 ? [...tuned, '--concurrent-deployment-syncs=20', '--concurrent-replicaset-syncs=20'] : [],
      'kube-scheduler': tuned,
    },
  });
  cleanups.push(() => cp.stop());
  say(`${what}: control plane ready in ${cp.startupMs} ms`);
  // The harness's one fake Node takes 110 pods: enough kwok Nodes for one pod per sink.
  const extra = Math.max(0, Math.ceil((SINKS - PODS_PER_NODE) / PODS_PER_NODE));
  const names: string[] = [];
  for (let i = 1; i <= extra; i++) {
    const name = `kwok-bench-${i}`;
    names.push(name);
    const r = await cp.request('POST', '/api/v1/nodes', {
      apiVersion: 'v1', kind: 'Node',
      metadata: { name, annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' }, labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } },
      status: { allocatable: { cpu: '32', memory: '256Gi', pods: String(PODS_PER_NODE) }, capacity: { cpu: '32', memory: '256Gi', pods: String(PODS_PER_NODE) } },
    });
    if (r.status !== 201) throw new Error(`creating Node ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  await waitFor(`${extra} more kwok Nodes to be Ready`, async () => {
    const r = await cp.request<{ items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] }>('GET', '/api/v1/nodes');
    const ready = r.body.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata.name);
    return names.every((n) => ready.includes(n));
  }, { timeoutMs: 60_000, intervalMs: 200 });
  return cp;
}

async function namespace(cp: ControlPlane, ns: string, first: boolean): Promise<void> {
  if (first) await installCrdAndNamespace(cp, ns);
  else {
    const r = await cp.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    if (r.status !== 201) throw new Error(`creating namespace ${ns}: ${r.status}`);
  }
  // Pods are refused until the namespace's default ServiceAccount exists.
  await waitFor(`ServiceAccount ${ns}/default`, async () => (await cp.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200, { timeoutMs: 60_000, intervalMs: 100 });
  const sec = await cp.request('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rockset' }, data: { 'api-key': Buffer.from('bench-key').toString('base64') } });
  if (sec.status !== 201) throw new Error(`creating Secret ${ns}/rockset: ${sec.status}`);
}

const nsName = (i: number) => `bench-op-${i}`;
const sinkName = (i: number) => `sink-${String(i).padStart(4, '0')}`;
const nsOf = (i: number) => nsName(i % NAMESPACES);

function sinkSpec(i: number, brokers: string[]): Record<string, unknown> {
  const spec = minimalSpec() as { kafka: { brokers: string[]; groupId: string; topics: string[] } };
  spec.kafka.brokers = brokers;
  spec.kafka.groupId = `bench-${i}`;
  return spec;
}

/** Runs `task(i)` for i < n with `inFlight` at a time. */
async function pool(n: number, inFlight: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(n, inFlight) }, worker));
}

async function create(cp: ControlPlane, apiPath: string, body: unknown): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const r = await cp.request('POST', apiPath, body);
    if (r.status === 201) return;
    // 429 (priority and fairness) or a 5xx under load: try again, a few times.
    if (attempt < 5 && (r.status === 429 || r.status >= 500)) {
      await sleep(200 * attempt);
      continue;
    }
    throw new Error(`POST ${apiPath}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }
}

interface Progress {
  tS: number;
  ready: number;
  deploymentsAvailable: number;
}

type Condition = { type: string; status: string; observedGeneration?: number };

// One per cluster CA: the floor and the operator run each have a control plane of their own.
const agents = new Map<string, Agent>();
/**
 * A list in the API server's Table form: only the printer columns, a few hundred bytes
 * per object instead of the whole object, so polling 500 of them every second costs
 * the API server (which the operator needs) little.
 */
async function tableRows(cp: ControlPlane, apiPath: string): Promise<Record<string, unknown>[]> {
  let agent = agents.get(cp.ca);
  if (!agent) agents.set(cp.ca, (agent = new Agent({ connect: { ca: cp.ca }, keepAliveTimeout: 1000 })));
  const res = await undiciFetch(`${cp.server}${apiPath}`, {
    headers: { authorization: `Bearer ${cp.token}`, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    dispatcher: agent,
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) throw new Error(`GET ${apiPath} (Table): ${res.status}`);
  const table = (await res.json()) as { columnDefinitions: { name: string }[]; rows?: { cells: unknown[] }[] };
  const names = table.columnDefinitions.map((c) => c.name);
  return (table.rows ?? []).map((r) => Object.fromEntries(names.map((n, i) => [n, r.cells[i]])));
}

/** Sinks whose Ready column (the CRD's printer column: the Ready condition) is True. */
async function countReadyColumn(cp: ControlPlane): Promise<number> {
  let n = 0;
  for (let i = 0; i < NAMESPACES; i++) for (const row of await tableRows(cp, `/apis/${GROUP}/${VERSION}/namespaces/${nsName(i)}/${PLURAL}`)) if (row['Ready'] === 'True') n++;
  return n;
}

/**
 * The whole objects, once the Ready column says all are: sinks Ready=True for their
 * current generation, and sinks whose status carries the lag poller's answer (a
 * figure, or the "lag not updated" note of a refused read).
 */
async function countReady(cp: ControlPlane): Promise<{ ready: number; lagKnown: number }> {
  let ready = 0;
  let lagKnown = 0;
  for (let i = 0; i < NAMESPACES; i++) {
    const r = await cp.request<{ items: RocksetSink[] }>('GET', `/apis/${GROUP}/${VERSION}/namespaces/${nsName(i)}/${PLURAL}`);
    for (const s of r.body.items ?? []) {
      const gen = s.metadata.generation ?? 0;
      const cond = (s.status?.conditions as (Condition & { message?: string })[] | undefined)?.find((c) => c.type === 'Ready');
      if (cond?.status === 'True' && s.status?.observedGeneration === gen && (cond.observedGeneration ?? gen) === gen) ready++;
      if (s.status?.lag !== undefined || cond?.message?.includes('lag not updated')) lagKnown++;
    }
  }
  return { ready, lagKnown };
}

/** Deployments with at least one available replica (Table column Available). */
async function countAvailable(cp: ControlPlane, labelSelector?: string): Promise<number> {
  let n = 0;
  const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
  for (let i = 0; i < NAMESPACES; i++) for (const row of await tableRows(cp, `/apis/apps/v1/namespaces/${nsName(i)}/deployments${q}`)) if (Number(row['Available'] ?? 0) >= 1) n++;
  return n;
}

/** Seconds from t0 until the first sample at or above `count`. */
const reached = (series: Progress[], key: 'ready' | 'deploymentsAvailable', count: number): number | null => series.find((p) => p[key] >= count)?.tS ?? null;

function vmHwmMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : NaN;
  } catch {
    return NaN;
  }
}

function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function writesByKind(op: OperatorProcess): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const kind of ['apply', 'status', 'event']) out[kind] = await op.metric('rockset_sink_operator_api_writes_total', { kind });
  return out;
}

const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]));
const sum = (r: Record<string, number>): number => Object.values(r).reduce((x, y) => x + y, 0);

/**
 * Long waits poll for minutes; waitFor() keeps a failing check's error to itself until
 * its deadline. This stops the wait after 10 failures in a row, with the error.
 */
function failFast<T>(check: () => Promise<T>): { check: () => Promise<T>; abort: () => Error | undefined } {
  let failures = 0;
  let last: Error | undefined;
  return {
    check: async () => {
      try {
        const r = await check();
        failures = 0;
        return r;
      } catch (err) {
        failures++;
        last = err as Error;
        throw err;
      }
    },
    abort: () => (failures >= 10 ? new Error(`10 polls failed in a row: ${last?.message}`) : undefined),
  };
}

// ---- the floor: Deployments without the operator ----------------------------------

async function floor(): Promise<Record<string, unknown>> {
  const cp = await controlPlane('floor');
  const cpus0 = Object.fromEntries(Object.entries(cp.pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  for (let i = 0; i < NAMESPACES; i++) await namespace(cp, nsName(i), i === 0);
  // The Deployment exactly as the operator renders it for a minimal sink, without the
  // owner reference (the garbage collector would delete it: its owner does not exist).
  const deployment = (i: number) => {
    const d = renderSink(sinkOf(sinkSpec(i, ['127.0.0.1:9']), { name: sinkName(i) }), { image: DEFAULT_SINK_IMAGE, secretsHash: 'floor' }).deployment as unknown as { metadata: Record<string, unknown> };
    const { ownerReferences: _o, namespace: _n, ...metadata } = d.metadata;
    return { ...d, metadata };
  };
  const t0 = performance.now();
  await pool(SINKS, CREATE_IN_FLIGHT, (i) => create(cp, `/apis/apps/v1/namespaces/${nsOf(i)}/deployments`, deployment(i)));
  const applyMs = performance.now() - t0;
  say(`floor: ${SINKS} Deployments created in ${seconds(applyMs)} s`);
  const series: Progress[] = [];
  const floorPoll = failFast(async () => {
    const n = await countAvailable(cp);
    series.push({ tS: seconds(performance.now() - t0), ready: 0, deploymentsAvailable: n });
    if (series.length % 10 === 0) say(`floor: ${n}/${SINKS} Deployments available after ${series.at(-1)?.tS} s`);
    return n >= SINKS;
  });
  await waitFor(`${SINKS} Deployments available`, floorPoll.check, { timeoutMs: TIMEOUT_MS, intervalMs: POLL_MS, abort: floorPoll.abort });
  const readyMs = performance.now() - t0;
  const cpus = Object.fromEntries(Object.entries(cp.pids).map(([k, pid]) => [k, round(cpuSeconds(pid) - (cpus0[k] ?? 0), 1)]));
  say(`floor: all ${SINKS} Deployments available after ${seconds(readyMs)} s`);
  await cp.stop();
  return {
    applyS: seconds(applyMs), readyS: seconds(readyMs),
    halfS: reached(series, 'deploymentsAvailable', SINKS / 2),
    cpuSecondsByComponent: cpus,
    series: series.filter((_, i) => i % 5 === 0 || i === series.length - 1).map((p) => [p.tS, p.deploymentsAvailable]),
  };
}

// ---- the operator run -----------------------------------------------------------------

async function operatorRun(): Promise<Record<string, unknown>> {
  const cp = await controlPlane('operator');
  for (let i = 0; i < NAMESPACES; i++) await namespace(cp, nsName(i), i === 0);
  const closedPort = await freePort();
  const brokers = [`127.0.0.1:${closedPort}`];
  const profileDir = args['operator-profile'] ? fs.mkdtempSync(path.join(os.tmpdir(), 'rso-bench-op-prof-')) : undefined;
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => nsName(i));
  const op = await startOperator('bench-operator', {
    KUBECONFIG: cp.kubeconfigPath,
    OPERATOR_NAMESPACES: namespaces.join(','),
    OPERATOR_LEADER_ELECTION: String(args['leader-election']),
    POD_NAMESPACE: namespaces[0] ?? '',
    OPERATOR_WORKERS: String(WORKERS),
    OPERATOR_LAG_INTERVAL_SECONDS: String(LAG_INTERVAL_S),
    OPERATOR_LEASE_DURATION_SECONDS: '15',
    OPERATOR_RENEW_DEADLINE_SECONDS: '10',
    OPERATOR_RETRY_PERIOD_SECONDS: '2',
    OPERATOR_LOG_LEVEL: 'warn',
    NODE_OPTIONS: ['--disable-warning=ExperimentalWarning', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])].join(' '),
  });
  cleanups.push(() => op.stop('SIGTERM'));
  const pid = op.proc.pid ?? 0;
  await waitFor('the operator to sync its caches', async () => (await fetch(`http://127.0.0.1:${op.port}/readyz`)).status === 200, { timeoutMs: 60_000, intervalMs: 100 });
  const cp0 = Object.fromEntries(Object.entries(cp.pids).map(([k, p]) => [k, cpuSeconds(p)]));
  const opCpu0 = cpuSeconds(pid);
  const w0 = await writesByKind(op);

  const t0 = performance.now();
  await pool(SINKS, CREATE_IN_FLIGHT, (i) =>
    create(cp, `/apis/${GROUP}/${VERSION}/namespaces/${nsOf(i)}/${PLURAL}`, { apiVersion: API_VERSION, kind: KIND, metadata: { name: sinkName(i) }, spec: sinkSpec(i, brokers) }),
  );
  const applyMs = performance.now() - t0;
  say(`operator: ${SINKS} RocksetSinks created in ${seconds(applyMs)} s`);

  const series: Progress[] = [];
  const readyPoll = failFast(async () => {
    const [column, available] = [await countReadyColumn(cp), await countAvailable(cp, 'app.kubernetes.io/managed-by=rockset-sink-operator')];
    // The Ready column says all are; the whole objects confirm it for the current generation.
    const ready = column >= SINKS ? (await countReady(cp)).ready : column;
    series.push({ tS: seconds(performance.now() - t0), ready, deploymentsAvailable: available });
    if (series.length % 10 === 0) say(`operator: ${ready}/${SINKS} Ready, ${available} Deployments available after ${series.at(-1)?.tS} s`);
    return ready >= SINKS;
  });
  const operatorExited = () => (op.proc.exitCode !== null ? new Error(`the operator exited with ${op.proc.exitCode}:\n${op.logs.slice(-20).join('\n')}`) : undefined);
  await waitFor(`${SINKS} RocksetSinks Ready`, readyPoll.check, { timeoutMs: TIMEOUT_MS, intervalMs: POLL_MS, abort: () => operatorExited() ?? readyPoll.abort() });
  const readyMs = performance.now() - t0;
  const wReady = await writesByKind(op);
  const opCpuReady = cpuSeconds(pid) - opCpu0;
  const cpCpu = Object.fromEntries(Object.entries(cp.pids).map(([k, p]) => [k, round(cpuSeconds(p) - (cp0[k] ?? 0), 1)]));
  const reconciles = await op.metric('rockset_sink_operator_reconciles_total');
  const reconcileSum = await op.metric('rockset_sink_operator_reconcile_duration_seconds_sum');
  say(`operator: all ${SINKS} Ready after ${seconds(readyMs)} s; ${sum(diff(w0, wReady))} API writes, ${reconciles} reconciles`);

  // Settle: the lag poller's first round over the sinks (every LAG_INTERVAL_S, one sink
  // after the other) puts its answer into each status; idle starts once every sink has
  // it and nothing was written for QUIET_S seconds.
  const tSettle = performance.now();
  let lagKnownMs: number | undefined;
  let last = await op.writes();
  let quietSince = performance.now();
  const settlePoll = failFast(async () => {
    const now = await op.writes();
    if (now !== last) {
      last = now;
      quietSince = performance.now();
    }
    if (lagKnownMs === undefined) {
      const { lagKnown } = await countReady(cp);
      if (lagKnown < SINKS) return false;
      lagKnownMs = performance.now() - tSettle;
    }
    return performance.now() - quietSince >= QUIET_S * 1000;
  });
  await waitFor(`every sink's lag in its status and the operator not writing for ${QUIET_S} s`, settlePoll.check, { timeoutMs: TIMEOUT_MS, intervalMs: 1000, abort: () => operatorExited() ?? settlePoll.abort() });
  const settleMs = performance.now() - tSettle;
  const wIdle0 = await writesByKind(op);
  const rec0 = await op.metric('rockset_sink_operator_reconciles_total');
  say(`operator: quiet after ${seconds(settleMs)} s more (${sum(diff(wReady, wIdle0))} writes meanwhile); measuring ${IDLE_S} s of idle`);
  await sleep(IDLE_S * 1000);
  const wIdle1 = await writesByKind(op);
  const idleReconciles = (await op.metric('rockset_sink_operator_reconciles_total')) - rec0;
  const rssPeakMb = vmHwmMb(pid);
  const heapMb = round((await op.metric('rockset_sink_operator_process_nodejs_heap_size_used_bytes')) / 2 ** 20, 1);

  let profile: { top: ProfileEntry[]; file: string } | undefined;
  if (profileDir) {
    await op.stop('SIGTERM');
    const file = fs.readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(profileDir, f))[0];
    if (file) profile = { top: summarizeProfile(file, 20), file };
    else say('profile: no .cpuprofile written');
  }
  return {
    applyS: seconds(applyMs),
    readyS: seconds(readyMs),
    writesToReady: sum(diff(w0, wReady)),
    writesToReadyByKind: diff(w0, wReady),
    reconcilesToReady: reconciles,
    reconcileSecondsTotal: round(reconcileSum, 1),
    settleS: seconds(settleMs),
    lagInStatusAfterReadyS: lagKnownMs === undefined ? null : seconds(lagKnownMs),
    writesWhileSettling: diff(wReady, wIdle0),
    idleWrites: sum(diff(wIdle0, wIdle1)),
    idleWritesByKind: diff(wIdle0, wIdle1),
    idleReconciles,
    rssPeakMb,
    heapUsedMb: heapMb,
    operatorCpuSecondsToReady: round(opCpuReady, 1),
    controlPlaneCpuSecondsToReady: cpCpu,
    firstReadyS: reached(series, 'ready', 1),
    halfReadyS: reached(series, 'ready', SINKS / 2),
    allDeploymentsAvailableS: reached(series, 'deploymentsAvailable', SINKS),
    series: series.filter((_, i) => i % 5 === 0 || i === series.length - 1).map((p) => [p.tS, p.ready, p.deploymentsAvailable]),
    profile,
  };
}

// ---- main -----------------------------------------------------------------------------

let exitCode = 0;
try {
  const started = new Date();
  const loadAtStart = os.loadavg().map((l) => round(l, 2));
  const floorRun = args['skip-floor'] ? undefined : await floor();
  const run = await operatorRun();
  const summary = {
    bench: 'operator',
    date: started.toISOString(),
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', ramGb: round(os.totalmem() / 2 ** 30, 1), node: process.version, loadavgAtStart: loadAtStart, loadavgAtEnd: os.loadavg().map((l) => round(l, 2)) },
    settings: {
      sinks: SINKS, namespaces: NAMESPACES, workers: WORKERS, leaderElection: args['leader-election'], lagIntervalSeconds: LAG_INTERVAL_S,
      idleSeconds: IDLE_S, quietSeconds: QUIET_S, createInFlight: CREATE_IN_FLIGHT, pollMs: POLL_MS, kcmQps: Number(args['kcm-qps']) || 'default (20)',
      brokers: 'a closed port on 127.0.0.1 (lag reads refused at once)', kwokNodes: `${Math.ceil(SINKS / PODS_PER_NODE)} x ${PODS_PER_NODE} pods`,
    },
    operator_500_apply_s: run['applyS'],
    operator_500_ready_s: run['readyS'],
    operator_500_writes: run['writesToReady'],
    operator_rss_peak_mb: run['rssPeakMb'],
    operator_idle_writes: run['idleWrites'],
    operator_floor_ready_s: floorRun?.['readyS'] ?? null,
    operator_targets: {
      operator_500_ready_s: { target: '< 60', met: (run['readyS'] as number) < 60 },
      operator_idle_writes: { target: '0', met: run['idleWrites'] === 0 },
    },
  };
  const details = { ...run, floor: floorRun ?? null };

  // Merge into the results file (bench/sink.ts writes it first in `npm run bench`).
  let results: Record<string, unknown> = {};
  try {
    results = JSON.parse(fs.readFileSync(args.out, 'utf8')) as Record<string, unknown>;
  } catch {
    // none yet, or unreadable: start afresh
  }
  const { bench: _b, date, machine, settings, ...figures } = summary;
  void _b;
  results = {
    ...results,
    ...figures,
    operator_date: date,
    operator_machine: machine,
    operator_settings: settings,
    details: { ...((results['details'] as Record<string, unknown> | undefined) ?? {}), operator: details },
  };
  fs.writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);

  const fmt = (v: unknown) => (v === null || v === undefined ? 'n/a' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const mark = (met: boolean) => (met ? 'ok' : 'MISSED');
  const rows: [string, string, string, string][] = [
    [`operator_500_apply_s (${SINKS} creates)`, fmt(run['applyS']), '', ''],
    ['operator_500_ready_s', fmt(run['readyS']), '< 60', mark(summary.operator_targets.operator_500_ready_s.met)],
    ['  first / half Ready (s)', `${fmt(run['firstReadyS'])} / ${fmt(run['halfReadyS'])}`, '', ''],
    ['  all Deployments available (s)', fmt(run['allDeploymentsAvailableS']), '', ''],
    ['operator_500_writes', fmt(run['writesToReady']), '', ''],
    ['  by kind', fmt(run['writesToReadyByKind']), '', ''],
    ['  reconciles', fmt(run['reconcilesToReady']), '', ''],
    ['  operator CPU s to Ready', fmt(run['operatorCpuSecondsToReady']), '', ''],
    ['  control plane CPU s to Ready', fmt(run['controlPlaneCpuSecondsToReady']), '', ''],
    ['  after Ready: lag in every status (s)', fmt(run['lagInStatusAfterReadyS']), '', ''],
    ['  after Ready: settled, quiet (s)', fmt(run['settleS']), '', ''],
    ['  writes while settling', fmt(run['writesWhileSettling']), '', ''],
    ['operator_rss_peak_mb', fmt(run['rssPeakMb']), '', ''],
    [`operator_idle_writes (${IDLE_S} s)`, fmt(run['idleWrites']), '0', mark(summary.operator_targets.operator_idle_writes.met)],
    ['operator_floor_ready_s (no operator)', fmt(floorRun?.['readyS']), '', ''],
    ['  floor CPU s by component', fmt(floorRun?.['cpuSecondsByComponent']), '', ''],
  ];
  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(8, ...rows.map((r) => r[1].length)), 6, 6];
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i] ?? 0)).join('  ').trimEnd();
  process.stdout.write(`\nOperator benchmark ${summary.date}  (${summary.machine.cores} cores, Node ${summary.machine.node}; load average 1 min ${loadAtStart[0]} at start)\n`);
  process.stdout.write(`${SINKS} RocksetSinks in ${NAMESPACES} namespace(s), OPERATOR_WORKERS=${WORKERS}, leader election ${args['leader-election'] ? 'on' : 'off'}\n`);
  process.stdout.write(`${line(['metric', 'value', 'target', ''])}\n${line(rows[0]!.map((_, i) => '-'.repeat(w[i] ?? 0)))}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  const profile = run['profile'] as { top: ProfileEntry[]; file: string } | undefined;
  if (profile) {
    process.stdout.write(`\noperator CPU profile: top self time (${profile.file})\n`);
    for (const p of profile.top) process.stdout.write(`  ${p.selfPct.toFixed(1).padStart(5)}%  ${p.selfMs.toFixed(0).padStart(6)} ms  ${p.name}  ${p.where}\n`);
  }
  process.stdout.write(`results: ${args.out}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} catch (err) {
  exitCode = 1;
  say(`failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await cleanup();
}
process.exit(exitCode);

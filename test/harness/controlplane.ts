// A real Kubernetes control plane for tests: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok (fake kubelets) built from the Go
// module proxy into the shared cache (provision-k8s.sh, see K8S-PROVISIONING.md),
// started on free ports in a temp directory, probed for readiness, and always
// stopped with the directory removed (also when the owning process is interrupted;
// leftovers of a killed run are reaped by the next start).
//
// Layout of the temp directory (<tmp>/rso-k8s-*):
//   owner.pid            the process that started it
//   pids                 one line per server: `<pid> <name> <binary>` (for the reaper)
//   sa.key               service-account signing key (RSA, made with node:crypto)
//   tokens.csv           static bearer tokens: admin (system:masters) and restricted (no grants)
//   certs/apiserver.crt  the apiserver's self-signed serving cert (+ its CA): caPath
//   kubeconfig           admin kubeconfig (with the CA), used by the components too;
//                        context `restricted` is the user without grants
//   logs/<name>.log      each server's stdout+stderr (or opts.logDir)
//   etcd/                etcd's data
//
// With kwok (the default) one fake Node, `kwok-node-0`, is registered and Ready; it has
// no taint, so any Pod schedules onto it and kwok reports it Running (no containers run).
// Requests: use apiFetch()/ControlPlane.request() below (undici with the cluster CA),
// or any client with kubeconfigPath.
//
// Measured here (2 cores, other work running): ready in 3.5-5.5 s, of which the
// apiserver's /readyz is ~3-4 s; RSS ~515 MB (apiserver ~260, kcm ~100, scheduler ~60,
// kwok ~50, etcd ~42). restartApiServer() takes ~3.5-4.5 s (~1.1 s graceful stop, the
// rest a fresh start); afterwards client-go components (kcm, scheduler, kwok) resume
// only after their reflectors' backoff, a few seconds (a scale-up took ~6 s). stop()
// takes ~1.2 s. The process-exit hook SIGKILLs instead (the data is thrown away anyway).
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, fetch as undiciFetch } from 'undici';
import { freePort, waitFor } from './ports.ts';
import { pidAlive } from './processes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const DATA_PREFIX = 'rso-k8s-';
export const FAKE_NODE_NAME = 'kwok-node-0';

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

export interface ControlPlane {
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** Bearer token of `admin` (group system:masters). */
  readonly token: string;
  /** Bearer token of `restricted`: authenticated, but no RBAC grants of its own. */
  readonly restrictedToken: string;
  /** Kubeconfig: context `test` (current) is admin, context `restricted` the restricted user; cluster CA = caPath. */
  readonly kubeconfigPath: string;
  /** PEM: the apiserver's serving cert and its CA; trust it to verify the server. */
  readonly caPath: string;
  readonly ca: string;
  /** Temp directory of this control plane; removed by stop(). */
  readonly dataDir: string;
  /** Pids of the running servers (the apiserver's changes on restartApiServer()). */
  readonly pids: Readonly<Partial<Record<ComponentName, number>>>;
  /** Milliseconds from spawning etcd until everything was ready. */
  readonly startupMs: number;
  /** A request to the API server as admin (or `token`); the body is JSON-encoded. */
  request<T = unknown>(method: string, apiPath: string, body?: unknown, opts?: { token?: string; contentType?: string }): Promise<{ status: number; body: T }>;
  /** Stops kube-apiserver and starts it again on the same port with the same etcd: data is kept. */
  restartApiServer(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartControlPlaneOptions {
  /** Run kwok and register a fake Ready Node; default true. Without it Pods stay Pending. */
  kwok?: boolean;
  /** Keep the servers' logs in this folder (not removed by stop()); default: in the temp dir. */
  logDir?: string;
  startTimeoutMs?: number;
  /** Extra flags for a component, e.g. a higher --kube-api-qps for the controller manager in benchmarks. */
  extraArgs?: Partial<Record<'kube-controller-manager' | 'kube-scheduler', string[]>>;
}

/** Builds the binaries on first use (visible progress on stderr); returns the bin folder. */
export async function provisionK8s(): Promise<string> {
  const script = path.join(here, 'provision-k8s.sh');
  const child = spawn('sh', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`provision-k8s.sh failed with exit code ${code}`);
  const dir = out.trim().split('\n').pop() ?? '';
  if (!fs.existsSync(path.join(dir, 'kube-apiserver'))) throw new Error(`provision-k8s.sh printed no bin folder (got "${dir}")`);
  return dir;
}

// ---------------------------------------------------------------------------
// process bookkeeping

interface Proc {
  name: ComponentName;
  bin: string;
  child: ChildProcess;
  exited: Promise<void>;
  logFile: string;
}

interface Group {
  dataDir: string;
  procs: Map<ComponentName, Proc>;
}

const live = new Set<Group>();
let exitHooksInstalled = false;

function running(p: Proc): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

function killGroupNow(group: Group): void {
  for (const p of group.procs.values()) if (running(p)) p.child.kill('SIGKILL');
  // a SIGKILLed etcd may still be closing files for a moment
  fs.rmSync(group.dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  live.delete(group);
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => [...live].forEach(killGroupNow));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      // Nothing here is worth a graceful stop: kill at once, whoever else listens.
      [...live].forEach(killGroupNow);
      // An owner with its own handler (npm start, kafka.ts) ends the process.
      if (process.listenerCount(signal) > 0) return;
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    });
  }
}

function writePids(group: Group): void {
  const lines = [...group.procs.values()].filter(running).map((p) => `${p.child.pid} ${p.name} ${p.bin}`);
  fs.writeFileSync(path.join(group.dataDir, 'pids'), lines.join('\n') + '\n');
}

function cmdline0(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return undefined;
  }
}

/**
 * Like processes.ts reapStale, for several servers per directory: removes
 * `<tmp>/rso-k8s-*` directories whose owner is dead, SIGKILLing every server listed
 * in their `pids` file that still runs (checked against its binary, so a reused pid
 * is left alone).
 */
export function reapStaleControlPlanes(): void {
  const tmp = os.tmpdir();
  for (const name of fs.readdirSync(tmp)) {
    if (!name.startsWith(DATA_PREFIX)) continue;
    const dir = path.join(tmp, name);
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'owner.pid'), 'utf8'));
    } catch {
      // a start that died before writing it: reap
    }
    if (Number.isInteger(owner) && pidAlive(owner)) continue;
    let pids = '';
    try {
      pids = fs.readFileSync(path.join(dir, 'pids'), 'utf8');
    } catch {
      // nothing was started
    }
    for (const line of pids.split('\n')) {
      const [pidText, , bin] = line.split(' ');
      const pid = Number(pidText);
      if (!Number.isInteger(pid) || pid <= 0 || !bin) continue;
      if (pidAlive(pid) && cmdline0(pid) === bin) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }
}

function logTail(p: Proc, chars = 4000): string {
  try {
    const text = fs.readFileSync(p.logFile, 'utf8');
    return text.slice(-chars);
  } catch {
    return '';
  }
}

class PortTaken extends Error {}

function spawnProc(group: Group, binDir: string, logDir: string, name: ComponentName, args: string[]): Proc {
  const bin = path.join(binDir, name);
  const logFile = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(bin, args, { cwd: group.dataDir, stdio: ['ignore', fd, fd], env: { ...process.env, KUBECONFIG: undefined } });
  } finally {
    fs.closeSync(fd);
  }
  // Servers never keep their owner alive: the exit hooks stop them when it ends.
  child.unref();
  child.once('error', () => {}); // a spawn failure shows as an exit below
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const proc: Proc = { name, bin, child, exited, logFile };
  group.procs.set(name, proc);
  writePids(group);
  return proc;
}

function diedError(p: Proc): Error | undefined {
  if (running(p)) return undefined;
  const log = logTail(p);
  const msg = `${p.name} exited with ${p.child.exitCode ?? p.child.signalCode} during start:\n${log}`;
  return /address already in use/i.test(log) ? new PortTaken(msg) : new Error(msg);
}

async function stopProc(p: Proc | undefined, timeoutMs = 15_000): Promise<void> {
  if (!p) return;
  if (running(p)) {
    // an unref'd child alone would not keep the owner alive until its exit is seen
    p.child.ref();
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
    await p.exited;
    clearTimeout(timer);
    p.child.unref();
  }
}

// ---------------------------------------------------------------------------
// HTTP

/** An undici dispatcher that trusts the cluster CA (one per CA). */
const agents = new Map<string, Agent>();
function agentFor(ca: string): Agent {
  let agent = agents.get(ca);
  if (!agent) {
    agent = new Agent({ connect: { ca }, keepAliveTimeout: 1000 });
    agents.set(ca, agent);
  }
  return agent;
}

/** A JSON request to an API server; non-JSON answers (e.g. `/readyz`) come back as text. */
export async function apiFetch<T = unknown>(
  target: { server: string; ca: string },
  token: string,
  method: string,
  apiPath: string,
  body?: unknown,
  { contentType, timeoutMs = 10_000 }: { contentType?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = contentType ?? (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
  const res = await undiciFetch(`${target.server}${apiPath}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    dispatcher: agentFor(target.ca),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text
    }
  }
  return { status: res.status, body: parsed as T };
}

// ---------------------------------------------------------------------------
// start

export async function startControlPlane(opts: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = await provisionK8s();
  installExitHooks();
  reapStaleControlPlanes();
  // A free port can be taken by someone else before a server binds it: try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, binDir);
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= 3) throw err;
    }
  }
}

interface NodeLike {
  status?: { conditions?: { type: string; status: string }[] };
}

async function startOnce(opts: StartControlPlaneOptions, binDir: string): Promise<ControlPlane> {
  const withKwok = opts.kwok ?? true;
  const timeoutMs = opts.startTimeoutMs ?? 120_000;
  const spawnedAt = Date.now();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), DATA_PREFIX));
  fs.writeFileSync(path.join(dataDir, 'owner.pid'), String(process.pid));
  const group: Group = { dataDir, procs: new Map() };
  live.add(group);
  const logDir = opts.logDir ?? path.join(dataDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });

  try {
    const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const token = randomBytes(24).toString('hex');
    const restrictedToken = randomBytes(24).toString('hex');
    const saKey = path.join(dataDir, 'sa.key');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    const tokens = path.join(dataDir, 'tokens.csv');
    fs.writeFileSync(tokens, `${token},admin,admin,"system:masters"\n${restrictedToken},restricted,restricted\n`, { mode: 0o600 });
    const certDir = path.join(dataDir, 'certs');
    const caPath = path.join(certDir, 'apiserver.crt');
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfigPath = path.join(dataDir, 'kubeconfig');
    fs.writeFileSync(
      kubeconfigPath,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: test, cluster: {server: "${server}", certificate-authority: "${caPath}"}}]`,
        `users: [{name: admin, user: {token: "${token}"}}, {name: restricted, user: {token: "${restrictedToken}"}}]`,
        'contexts: [{name: test, context: {cluster: test, user: admin}}, {name: restricted, context: {cluster: test, user: restricted}}]',
        'current-context: test',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );

    // 1. etcd
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = spawnProc(group, binDir, logDir, 'etcd', [
      '--name', 't', '--data-dir', path.join(dataDir, 'etcd'),
      '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `t=${peerUrl}`, '--unsafe-no-fsync=true', '--log-level=warn',
    ]);
    await waitFor('etcd to be healthy', async () => {
      const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(1000) });
      return ((await res.json()) as { health?: string }).health === 'true';
    }, { timeoutMs, intervalMs: 50, abort: () => diedError(etcd) });

    // 2. kube-apiserver
    const apiArgs = [
      `--etcd-servers=${etcdUrl}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`, `--cert-dir=${certDir}`, '--service-cluster-ip-range=10.0.0.0/24',
      `--service-account-issuer=${server}`, `--service-account-key-file=${saKey}`,
      `--service-account-signing-key-file=${saKey}`, '--authorization-mode=RBAC',
      `--token-auth-file=${tokens}`,
      // 127.0.0.1 is refused as an endpoint of the `kubernetes` Service ("may not be in the
      // loopback range"): do not keep trying (that Service has no endpoints here)
      '--endpoint-reconciler-type=none',
      // end open watches on SIGTERM; otherwise the apiserver waits up to 60 s for them
      '--shutdown-watch-termination-grace-period=1s',
    ];
    let ca = '';
    const startApiServer = async (): Promise<Proc> => {
      const p = spawnProc(group, binDir, logDir, 'kube-apiserver', apiArgs);
      await waitFor('kube-apiserver /readyz', async () => {
        // written by the apiserver at its first start (and reused by later ones); read
        // again on every probe so a half-written file is never kept
        if (!fs.existsSync(caPath)) return false;
        ca = fs.readFileSync(caPath, 'utf8');
        if (!ca.includes('END CERTIFICATE')) return false;
        const res = await apiFetch<string>({ server, ca }, token, 'GET', '/readyz', undefined, { timeoutMs: 2000 });
        return res.status === 200 && res.body === 'ok';
      }, { timeoutMs, intervalMs: 100, abort: () => diedError(p) });
      return p;
    };
    await startApiServer();
    const target = { server, get ca() { return ca; } };
    const request: ControlPlane['request'] = (method, apiPath, body, o) =>
      apiFetch(target, o?.token ?? token, method, apiPath, body, o?.contentType ? { contentType: o.contentType } : {});

    // 3. controllers, scheduler, kwok side by side
    const kubeconfigArg = `--kubeconfig=${kubeconfigPath}`;
    const kcm = spawnProc(group, binDir, logDir, 'kube-controller-manager', [
      kubeconfigArg, '--leader-elect=false', '--bind-address=127.0.0.1', '--secure-port=0',
      `--service-account-private-key-file=${saKey}`, `--root-ca-file=${caPath}`, '--cluster-name=test',
      ...(opts.extraArgs?.['kube-controller-manager'] ?? []),
    ]);
    const scheduler = spawnProc(group, binDir, logDir, 'kube-scheduler', [
      kubeconfigArg, '--leader-elect=false', '--bind-address=127.0.0.1', '--secure-port=0',
      ...(opts.extraArgs?.['kube-scheduler'] ?? []),
    ]);
    const waits: Promise<void>[] = [];
    // the kcm's serviceaccount controller creates this once its informers run; Pods need it
    waits.push(waitFor('kube-controller-manager (ServiceAccount default/default)', async () => {
      return (await request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200;
    }, { timeoutMs, intervalMs: 100, abort: () => diedError(kcm) ?? diedError(scheduler) }));
    if (withKwok) {
      const kwokConfig = path.join(path.dirname(binDir), 'share', 'kwok.yaml');
      const kwok = spawnProc(group, binDir, logDir, 'kwok', [
        kubeconfigArg, '-c', kwokConfig, '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        '--node-ip=127.0.0.1', '--cidr=10.0.0.0/24', '--node-lease-duration-seconds=40',
      ]);
      const node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: FAKE_NODE_NAME,
          annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
          labels: { type: 'kwok', 'kubernetes.io/hostname': FAKE_NODE_NAME, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
        },
        status: {
          allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
          capacity: { cpu: '32', memory: '256Gi', pods: '110' },
        },
      };
      const created = await request('POST', '/api/v1/nodes', node);
      if (created.status !== 201) throw new Error(`creating the fake Node failed: ${created.status} ${JSON.stringify(created.body)}`);
      waits.push(waitFor(`Node ${FAKE_NODE_NAME} to be Ready (kwok)`, async () => {
        const res = await request<NodeLike>('GET', `/api/v1/nodes/${FAKE_NODE_NAME}`);
        return res.status === 200 && (res.body.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      }, { timeoutMs, intervalMs: 100, abort: () => diedError(kwok) }));
    }
    await Promise.all(waits);
    const startupMs = Date.now() - spawnedAt;

    const pids = (): Partial<Record<ComponentName, number>> => {
      const out: Partial<Record<ComponentName, number>> = {};
      for (const p of group.procs.values()) if (running(p) && p.child.pid) out[p.name] = p.child.pid;
      return out;
    };

    let stopping: Promise<void> | undefined;
    let restarting: Promise<void> | undefined;
    return {
      server,
      token,
      restrictedToken,
      kubeconfigPath,
      caPath,
      get ca() {
        return ca;
      },
      dataDir,
      get pids() {
        return pids();
      },
      startupMs,
      request,
      restartApiServer() {
        if (stopping) return Promise.reject(new Error('the control plane is stopped'));
        restarting ??= (async () => {
          await stopProc(group.procs.get('kube-apiserver'));
          // the port is free again once the old process has gone; the cert in certDir is reused
          await startApiServer();
        })().finally(() => (restarting = undefined));
        return restarting;
      },
      stop() {
        stopping ??= (async () => {
          await restarting?.catch(() => {});
          // clients first, then the apiserver, then its storage
          await Promise.all((['kwok', 'kube-scheduler', 'kube-controller-manager'] as const).map((n) => stopProc(group.procs.get(n))));
          await stopProc(group.procs.get('kube-apiserver'));
          await stopProc(group.procs.get('etcd'));
          killGroupNow(group);
        })();
        return stopping;
      },
    };
  } catch (err) {
    killGroupNow(group);
    throw err;
  }
}

// ---------------------------------------------------------------------------
// per test file

let shared: Promise<ControlPlane> | undefined;

/**
 * The control plane of this test file (process): started on first use, killed
 * with its directory when the process exits. Tests share it: use unique names.
 */
export function testControlPlane(): Promise<ControlPlane> {
  shared ??= startControlPlane().catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  return shared;
}

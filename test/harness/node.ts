// A real Kubernetes node for tests: containerd and runc from Debian, a kubelet built
// from the Go module proxy (provision-node.sh), pods on a CNI bridge, joined to a test
// control plane (controlplane.ts, started with kwok: false). The project image is
// built from ./Dockerfile by build-image.sh and imported into containerd, so pods run
// it with imagePullPolicy: Never (there is no registry).
//
// Needs root (mounts, cgroups, network namespaces) and one node per machine at a time:
// the bridge, its subnet and the state directories below are fixed, and a lock file
// (with the owner's pid) refuses a second live node. What a killed run left behind is
// cleaned by the next start.
//
//   /run/rso-node/             owner.pid, pids of containerd and the kubelet
//   /run/rso-node/containerd/  containerd's state and sockets
//   /var/lib/rso-kubelet/      the kubelet's root dir (pod volumes, plugins, pki)
//   /var/log/rso-pods/         container logs
//   $CACHE/containerd/         containerd's root (content and snapshots: imports stay warm)
//   rso0 (10.244.77.1/24)      the pods' bridge; broker and emulator listen on its gateway
//
// Teardown order (the only one that leaves nothing behind): delete the workloads and
// wait until their pods are gone (the caller does, or stop() deletes what is left),
// stop the kubelet, remove leftover containers, stop containerd and its shims, then
// unmount, remove the state directories, the pods' cgroups, the bridge and the
// iptables chains the node created.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ControlPlane } from './controlplane.ts';
import { waitFor } from './ports.ts';
import { pidAlive } from './processes.ts';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const CACHE_DIR = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'rockset-sink-operator');

const RUN_DIR = '/run/rso-node';
const CTRD_STATE = path.join(RUN_DIR, 'containerd');
const CTRD_SOCK = path.join(CTRD_STATE, 'containerd.sock');
const CTRD_ROOT = path.join(CACHE_DIR, 'containerd');
const KUBELET_ROOT = '/var/lib/rso-kubelet';
const POD_LOGS = '/var/log/rso-pods';
const BRIDGE = 'rso0';
export const POD_SUBNET = '10.244.77.0/24';
/** The bridge's address on the host: what pods reach the host's servers at. */
export const GATEWAY_IP = '10.244.77.1';
/** The node's name (kubelet --hostname-override): the API server reaches the kubelet there for logs and exec. */
export const NODE_NAME = '127.0.0.1';
const PAUSE_IMAGE = 'localhost/rso-pause:1';
// containerd's shims put their sockets here whatever its state dir is (containerd 1.6)
const SHIM_SOCKETS = '/run/containerd/s';

export interface RealNode {
  readonly name: string;
  /** The project image built from ./Dockerfile, imported into the node (pull policy Never). */
  readonly image: string;
  /** Image archive size in bytes (docker archive: about the image's size). */
  readonly imageBytes: number;
  readonly gatewayIp: string;
  /** Runs `ctr -n k8s.io <args>` against the node's containerd. */
  ctr(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

async function provision(script: string, args: string[] = []): Promise<string> {
  const child = spawn('sh', [path.join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`${script} failed with exit code ${code}`);
  return out.trim().split('\n').pop() ?? '';
}

/** Builds (or reuses) the kubelet, the pause and base images and the project image. */
export async function provisionNode(): Promise<{ nodeDir: string; image: string; imageTar: string }> {
  const nodeDir = await provision('provision-node.sh');
  const [image, imageTar] = (await provision('build-image.sh')).split(' ');
  if (!image || !imageTar || !fs.existsSync(imageTar)) throw new Error('build-image.sh printed no image');
  return { nodeDir, image, imageTar };
}

async function sh(cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000 });
    return stdout;
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function ctrArgs(args: string[]): string[] {
  return ['-a', CTRD_SOCK, '-n', 'k8s.io', ...args];
}

// ---------------------------------------------------------------------------
// cleanup: shared by stop() and by the next start after a killed run

function iptablesChains(): Promise<string[]> {
  return Promise.all(['filter', 'nat', 'mangle'].map(async (table) => {
    const out = await sh('iptables-save', ['-t', table], { allowFail: true });
    return out.split('\n').filter((l) => l.startsWith(':')).map((l) => `${table} ${l.slice(1).split(' ')[0]}`);
  })).then((x) => x.flat());
}

/** Removes the chains named `table chain` (their rules, the jumps into them, then the chains). */
async function dropChains(chains: string[]): Promise<void> {
  for (const tc of chains) {
    const [table, chain] = tc.split(' ') as [string, string];
    const rules = await sh('iptables-save', ['-t', table], { allowFail: true });
    for (const line of rules.split('\n')) {
      if (line.startsWith('-A ') && line.includes(` -j ${chain}`) && !line.startsWith(`-A ${chain} `)) {
        await sh('iptables', ['-t', table, ...line.replace(/^-A /, '-D ').split(' ')], { allowFail: true });
      }
    }
    await sh('iptables', ['-t', table, '-F', chain], { allowFail: true });
  }
  for (const tc of chains) {
    const [table, chain] = tc.split(' ') as [string, string];
    await sh('iptables', ['-t', table, '-X', chain], { allowFail: true });
  }
}

function mountsUnder(prefixes: string[]): string[] {
  const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '')
    .map((m) => m.replace(/\\040/g, ' '))
    .filter((m) => prefixes.some((p) => m === p || m.startsWith(`${p}/`)));
  return [...new Set(mounts)].sort((a, b) => b.length - a.length); // deepest first
}

async function unmountAll(prefixes: string[]): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const mounts = mountsUnder(prefixes);
    if (mounts.length === 0) return;
    for (const m of mounts) await sh('umount', ['-l', m], { allowFail: true });
  }
}

/** rmdir a cgroup tree in every v1 hierarchy, children first (cgroupfs needs that). */
function removeCgroups(name: string): void {
  let roots: string[] = [];
  try {
    roots = fs.readdirSync('/sys/fs/cgroup').map((c) => path.join('/sys/fs/cgroup', c));
  } catch {
    return;
  }
  const rmTree = (dir: string): void => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rmTree(path.join(dir, e.name));
    try {
      fs.rmdirSync(dir);
    } catch {
      // still has tasks (a process not yet gone): left for the next cleanup
    }
  };
  for (const root of roots) rmTree(path.join(root, name));
}

/** Every process in a cgroup tree (v1: the pids hierarchy holds every task). */
function cgroupPids(name: string): number[] {
  const pids: number[] = [];
  const walk = (dir: string): void => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
      for (const l of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.push(Number(l));
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
  };
  for (const root of ['/sys/fs/cgroup/pids', '/sys/fs/cgroup/memory']) walk(path.join(root, name));
  return [...new Set(pids)];
}

function shimPids(): number[] {
  const pids: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      // a shim started by our containerd names its address
      if (path.basename(cmd[0] ?? '').startsWith('containerd-shim') && cmd.includes(CTRD_SOCK)) pids.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function killPid(pid: number, timeoutMs: number): Promise<void> {
  if (!pidAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** Everything a node leaves behind, in teardown order; safe to run when nothing is there. */
async function cleanNode(createdChains: string[]): Promise<void> {
  const readPid = (f: string): number => {
    try {
      return Number(fs.readFileSync(path.join(RUN_DIR, f), 'utf8'));
    } catch {
      return NaN;
    }
  };
  const kubelet = readPid('kubelet.pid');
  if (Number.isInteger(kubelet)) await killPid(kubelet, 15_000);
  const containerd = readPid('containerd.pid');
  if (Number.isInteger(containerd) && pidAlive(containerd)) {
    // containers the kubelet did not stop (it was killed, or stop() ran early)
    for (const id of (await sh('ctr', ctrArgs(['tasks', 'ls', '-q']), { allowFail: true })).split('\n').filter(Boolean)) {
      await sh('ctr', ctrArgs(['tasks', 'kill', '-s', 'SIGKILL', id]), { allowFail: true });
      await sh('ctr', ctrArgs(['tasks', 'delete', '-f', id]), { allowFail: true });
    }
    for (const id of (await sh('ctr', ctrArgs(['containers', 'ls', '-q']), { allowFail: true })).split('\n').filter(Boolean)) {
      await sh('ctr', ctrArgs(['containers', 'rm', id]), { allowFail: true });
    }
    await killPid(containerd, 15_000);
  }
  // containers whose containerd died with a killed run live on under their shims:
  // kill what runs in the pods' cgroups, then the shims
  for (let i = 0; i < 50; i++) {
    const left = cgroupPids('kubepods');
    if (left.length === 0) break;
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const pid of shimPids()) await killPid(pid, 5_000);
  await unmountAll([KUBELET_ROOT, RUN_DIR, '/run/containerd', path.join(CTRD_ROOT, 'io.containerd.grpc.v1.cri'), '/run/netns']);
  // the CRI plugin's network namespaces of our pods (cni-<uuid>), now unmounted
  try {
    for (const ns of fs.readdirSync('/run/netns')) if (ns.startsWith('cni-')) fs.rmSync(path.join('/run/netns', ns), { force: true });
  } catch {
    // no /run/netns
  }
  fs.rmSync(KUBELET_ROOT, { recursive: true, force: true, maxRetries: 3 });
  fs.rmSync(POD_LOGS, { recursive: true, force: true, maxRetries: 3 });
  // host-local IPAM's leases for the bridge network
  fs.rmSync('/var/lib/cni/networks/rso-pods', { recursive: true, force: true });
  fs.rmSync(SHIM_SOCKETS, { recursive: true, force: true });
  fs.rmSync('/run/containerd/runc/k8s.io', { recursive: true, force: true });
  // the runc root and the CNI cache dirs our pods made; a system containerd's stay (not empty)
  for (const dir of ['/run/containerd/runc', '/run/containerd', '/var/lib/cni/results', '/var/lib/cni/networks', '/var/lib/cni']) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // not empty or not there
    }
  }
  fs.rmSync(RUN_DIR, { recursive: true, force: true, maxRetries: 3 });
  removeCgroups('kubepods');
  await sh('ip', ['link', 'del', BRIDGE], { allowFail: true });
  await dropChains(createdChains);
}

// ---------------------------------------------------------------------------

export interface StartNodeOptions {
  /** Folder for containerd's and the kubelet's logs (kept); default: a temp dir. */
  logDir?: string;
  startTimeoutMs?: number;
}

/** Starts containerd and a kubelet joined to `cp` (which must run without kwok); resolves once the Node is Ready. */
export async function startNode(cp: ControlPlane, opts: StartNodeOptions = {}): Promise<RealNode> {
  if (process.getuid?.() !== 0) throw new Error('a real node needs root (containerd, kubelet, mounts, cgroups)');
  const { nodeDir, image, imageTar } = await provisionNode();
  const timeoutMs = opts.startTimeoutMs ?? 180_000;

  // one node per machine: refuse while another live process owns it, else clean what a killed run left
  try {
    const owner = Number(fs.readFileSync(path.join(RUN_DIR, 'owner.pid'), 'utf8'));
    if (owner !== process.pid && pidAlive(owner)) throw new Error(`another test run (pid ${owner}) owns the node in ${RUN_DIR}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const knownChains = new Set(await iptablesChains());
  let staleChains: string[] = [];
  try {
    staleChains = JSON.parse(fs.readFileSync(path.join(CTRD_ROOT, 'created-chains.json'), 'utf8')) as string[];
  } catch {
    // none recorded
  }
  await cleanNode(staleChains.filter((c) => knownChains.has(c)));
  const chainsBefore = new Set(await iptablesChains());

  fs.mkdirSync(RUN_DIR, { recursive: true });
  fs.writeFileSync(path.join(RUN_DIR, 'owner.pid'), String(process.pid));
  const logDir = opts.logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rso-node-logs-'));
  fs.mkdirSync(logDir, { recursive: true });
  for (const d of [CTRD_STATE, CTRD_ROOT, KUBELET_ROOT, POD_LOGS, path.join(RUN_DIR, 'net.d')]) fs.mkdirSync(d, { recursive: true });

  const children: ChildProcess[] = [];
  const spawnLogged = (name: string, bin: string, args: string[]): ChildProcess => {
    const out = fs.openSync(path.join(logDir, `${name}.log`), 'a');
    const child = spawn(bin, args, { stdio: ['ignore', out, out], detached: false });
    fs.closeSync(out);
    fs.writeFileSync(path.join(RUN_DIR, `${name}.pid`), String(child.pid));
    children.push(child);
    return child;
  };
  const died = (child: ChildProcess, name: string) => (): Error | undefined =>
    child.exitCode !== null || child.signalCode !== null
      ? new Error(`${name} exited (${child.exitCode ?? child.signalCode}) during start:\n${tail(path.join(logDir, `${name}.log`))}`)
      : undefined;

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= (async () => {
    // workloads first: pods still bound to the node are deleted and waited for, so the
    // kubelet stops their containers and unmounts their volumes itself
    const pods = await cp.request<{ items?: { metadata: { name: string; namespace: string } }[] }>('GET', `/api/v1/pods?fieldSelector=spec.nodeName=${NODE_NAME}`).catch(() => undefined);
    for (const p of pods?.body.items ?? []) {
      await cp.request('DELETE', `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`, { gracePeriodSeconds: 5 }).catch(() => {});
    }
    await waitFor('pods on the node to be gone', async () => {
      const left = await cp.request<{ items?: unknown[] }>('GET', `/api/v1/pods?fieldSelector=spec.nodeName=${NODE_NAME}`);
      return (left.body.items ?? []).length === 0;
    }, { timeoutMs: 60_000, intervalMs: 500 }).catch(() => {});
    const created = (await iptablesChains()).filter((c) => !chainsBefore.has(c));
    await cleanNode(created);
    fs.rmSync(path.join(CTRD_ROOT, 'created-chains.json'), { force: true });
    await cp.request('DELETE', `/api/v1/nodes/${NODE_NAME}`).catch(() => {});
  })());

  try {
    // the bridge exists before any pod, so the broker and the emulator can listen on its gateway
    await sh('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    await sh('ip', ['addr', 'add', `${GATEWAY_IP}/24`, 'dev', BRIDGE]);
    await sh('ip', ['link', 'set', BRIDGE, 'up']);
    fs.writeFileSync(path.join(RUN_DIR, 'net.d', '10-rso-pods.conflist'), JSON.stringify({
      cniVersion: '1.0.0',
      name: 'rso-pods',
      plugins: [
        // no ipMasq: pods talk only to this host (the gateway); nothing to NAT, no chains left behind
        { type: 'bridge', bridge: BRIDGE, isGateway: true, ipMasq: false, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: POD_SUBNET, gateway: GATEWAY_IP }]], routes: [{ dst: '0.0.0.0/0' }] } },
        { type: 'loopback' },
      ],
    }, null, 2));
    const ctrdConfig = path.join(RUN_DIR, 'containerd.toml');
    fs.writeFileSync(ctrdConfig, [
      'version = 2',
      `root = "${CTRD_ROOT}"`,
      `state = "${CTRD_STATE}"`,
      'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
      '[grpc]', `  address = "${CTRD_SOCK}"`,
      '[ttrpc]', `  address = "${CTRD_SOCK}.ttrpc"`,
      '[debug]', `  address = "${CTRD_STATE}/debug.sock"`,
      '[plugins."io.containerd.internal.v1.opt"]', `  path = "${CTRD_ROOT}/opt"`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = "${PAUSE_IMAGE}"`,
      // the kubelet sets oom_score_adj; without CAP_SYS_RESOURCE in the bounding set only raising it is allowed
      '  restrict_oom_score_adj = true',
      '  enable_selinux = false',
      '  [plugins."io.containerd.grpc.v1.cri".containerd]',
      '    snapshotter = "overlayfs"',
      '    default_runtime_name = "runc"',
      '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
      '      runtime_type = "io.containerd.runc.v2"',
      '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
      '        SystemdCgroup = false',
      '  [plugins."io.containerd.grpc.v1.cri".cni]',
      '    bin_dir = "/usr/lib/cni"',
      `    conf_dir = "${path.join(RUN_DIR, 'net.d')}"`,
      '',
    ].join('\n'));
    const containerd = spawnLogged('containerd', 'containerd', ['--config', ctrdConfig]);
    await waitFor('containerd to answer', async () => (await sh('ctr', ['-a', CTRD_SOCK, 'version'], { allowFail: true })).includes('Server:'),
      { timeoutMs, intervalMs: 200, abort: died(containerd, 'containerd') });
    fs.writeFileSync(path.join(CTRD_ROOT, 'created-chains.json'), '[]');

    for (const tar of [path.join(nodeDir, 'images', 'pause.tar'), imageTar]) {
      await sh('ctr', ctrArgs(['images', 'import', tar]), { timeoutMs: 300_000 });
    }
    // containerd's root persists (warm imports): earlier builds of the image only take
    // disk. Keep the two images (and the sha256:<id> names the CRI plugin gives them),
    // remove every other name so containerd's GC frees their layers.
    const refs = (await sh('ctr', ctrArgs(['images', 'ls']))).split('\n').slice(1).map((l) => l.split(/\s+/)).filter((f) => f[0]);
    const kept = new Set(refs.filter(([ref]) => ref === image || ref === PAUSE_IMAGE).map((f) => f[2]));
    const stale = refs.filter(([ref, , digest]) => ref !== image && ref !== PAUSE_IMAGE && !kept.has(digest)).map((f) => f[0] as string);
    if (stale.length) await sh('ctr', ctrArgs(['images', 'rm', '--sync', ...stale]), { allowFail: true });

    const kubeletConfig = path.join(RUN_DIR, 'kubelet.yaml');
    fs.writeFileSync(kubeletConfig, [
      'apiVersion: kubelet.config.k8s.io/v1beta1',
      'kind: KubeletConfiguration',
      // this machine's hierarchy is cgroup v1 (hybrid); kubelet 1.35 refuses it unless told
      'failCgroupV1: false',
      'cgroupDriver: cgroupfs',
      'failSwapOn: false',
      'address: 127.0.0.1',
      'port: 10350',
      'readOnlyPort: 0',
      'healthzPort: 0',
      // the API server (the only client, on 127.0.0.1) fetches logs and runs exec here
      'authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}',
      'authorization: {mode: AlwaysAllow}',
      // a test node: never garbage-collect the imported images (they cannot be pulled again) nor evict
      'imageGCHighThresholdPercent: 100',
      'imageGCLowThresholdPercent: 99',
      'evictionHard: {}',
      `podLogsDir: ${POD_LOGS}`,
      'containerRuntimeEndpoint: unix://' + CTRD_SOCK,
      'registerNode: true',
      'nodeStatusUpdateFrequency: 2s',
      'syncFrequency: 5s',
      'fileCheckFrequency: 5s',
      'resolvConf: /etc/resolv.conf',
      'serializeImagePulls: false',
      'maxPods: 30',
      '',
    ].join('\n'));
    const kubelet = spawnLogged('kubelet', path.join(nodeDir, 'bin', 'kubelet'), [
      `--config=${kubeletConfig}`, `--kubeconfig=${cp.kubeconfigPath}`, `--root-dir=${KUBELET_ROOT}`,
      `--hostname-override=${NODE_NAME}`, `--cert-dir=${path.join(KUBELET_ROOT, 'pki')}`, '--v=1',
    ]);
    await waitFor('the Node to be Ready', async () => {
      const res = await cp.request<{ status?: { conditions?: { type: string; status: string }[] } }>('GET', `/api/v1/nodes/${NODE_NAME}`);
      return res.status === 200 && (res.body.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    }, { timeoutMs, intervalMs: 500, abort: died(kubelet, 'kubelet') });
    fs.writeFileSync(path.join(CTRD_ROOT, 'created-chains.json'), JSON.stringify((await iptablesChains()).filter((c) => !chainsBefore.has(c))));
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }

  return {
    name: NODE_NAME,
    image,
    imageBytes: fs.statSync(imageTar).size,
    gatewayIp: GATEWAY_IP,
    ctr: (args) => sh('ctr', ctrArgs(args)),
    stop,
  };
}

function tail(file: string, chars = 4000): string {
  try {
    const s = fs.readFileSync(file, 'utf8');
    return s.slice(-chars);
  } catch {
    return '';
  }
}

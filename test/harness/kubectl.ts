// kubectl (built by provision-k8s.sh next to the control plane's binaries) against a
// test control plane: what a user types, run as a child process.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ControlPlane } from './controlplane.ts';

const CACHE_DIR = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'rockset-sink-operator');
const K8S_VERSION = process.env.K8S_VERSION ?? 'v1.35.4';

/** The kubectl binary; throws, naming the fix, when it has not been built. */
export function kubectlPath(): string {
  const bin = path.join(CACHE_DIR, `k8s-${K8S_VERSION}`, 'bin', 'kubectl');
  if (!fs.existsSync(bin)) throw new Error(`kubectl is not built: ${bin} is missing. Run sh test/harness/provision-k8s.sh (it builds kubectl into the cache)`);
  return bin;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  cwd?: string;
  /** Written to kubectl's stdin (for `-f -`). */
  input?: string;
  timeoutMs?: number;
}

/** Runs `kubectl --kubeconfig <cp's> <args>`; never throws on a non-zero exit. */
export function kubectl(cp: ControlPlane, args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const bin = kubectlPath();
  return new Promise((resolve, reject) => {
    // A private HOME keeps kubectl's discovery cache (~/.kube/cache) out of the user's.
    const child = spawn(bin, ['--kubeconfig', cp.kubeconfigPath, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, HOME: cp.dataDir, KUBECONFIG: cp.kubeconfigPath },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

// The operator as users run it (node operator/main.ts, a child process) against the
// test control plane: its log lines are kept (tests grep them for secrets), its
// /metrics are read (API writes, leadership), and it is always stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, waitFor } from '../harness/ports.ts';

const root = path.resolve(import.meta.dirname, '../..');

export interface OperatorProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly port: number;
  /** Every line written to stdout and stderr so far. */
  readonly logs: string[];
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Sum of rockset_sink_operator_api_writes_total over kinds. */
  writes(): Promise<number>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const live = new Set<OperatorProcess>();
// Tests stop their operators in after(); this catches what a crashed test file leaves.
process.once('exit', () => live.forEach((o) => o.proc.kill('SIGKILL')));

export async function startOperator(name: string, env: Record<string, string>): Promise<OperatorProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(root, 'operator/main.ts')], {
    cwd: root,
    env: {
      PATH: process.env['PATH'] ?? '',
      NODE_OPTIONS: '--disable-warning=ExperimentalWarning',
      POD_NAME: name,
      OPERATOR_HTTP_PORT: String(port),
      OPERATOR_LOG_LEVEL: 'debug',
      OPERATOR_LEASE_DURATION_SECONDS: '4',
      OPERATOR_RENEW_DEADLINE_SECONDS: '3',
      OPERATOR_RETRY_PERIOD_SECONDS: '0.5',
      OPERATOR_LAG_INTERVAL_SECONDS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  for (const stream of [proc.stdout, proc.stderr]) {
    let buf = '';
    stream?.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      logs.push(...lines);
      const dir = process.env['OPERATOR_TEST_LOGS'];
      if (dir) fs.appendFileSync(path.join(dir, `${name}.log`), lines.map((l) => `${l}\n`).join(''));
    });
  }
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code, signal) => {
      const dir = process.env['OPERATOR_TEST_LOGS'];
      if (dir) fs.appendFileSync(path.join(dir, `${name}.log`), `exited code=${code} signal=${signal} at ${new Date().toISOString()}\n`);
      resolve(code);
    }),
  );
  const metrics = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    return await res.text();
  };
  const op: OperatorProcess = {
    name,
    proc,
    port,
    logs,
    exited,
    async metric(metricName, labels = {}) {
      const text = await metrics();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(metricName)) continue;
        const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
        if (!m || m[1] !== metricName) continue;
        if (!Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) continue;
        sum += Number(m[3]);
      }
      return sum;
    },
    async writes() {
      return op.metric('rockset_sink_operator_api_writes_total');
    },
    async stop(signal = 'SIGTERM') {
      live.delete(op);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  live.add(op);
  await waitFor(`operator ${name} to serve /healthz`, async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, {
    timeoutMs: 20_000,
    intervalMs: 100,
    abort: () => (proc.exitCode !== null ? new Error(`operator ${name} exited with ${proc.exitCode}:\n${logs.join('\n')}`) : undefined),
  });
  return op;
}

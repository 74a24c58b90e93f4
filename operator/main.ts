#!/usr/bin/env node
// The operator process: configuration from the environment (the Helm chart sets it)
// or flags, the HTTP endpoints (/metrics, /healthz, /readyz), leader election, then
// the controller while this replica leads. Losing the lease ends the process (exit 1)
// so Kubernetes restarts it as a standby: acting on a lost lease is the one thing a
// replica must never do. SIGTERM stops the controller, then releases the lease so a
// standby takes over at once.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../sink/log.ts';
import { parseAllowedHosts } from './api-hosts.ts';
import { Controller } from './controller.ts';
import { pooledKubeConfig } from './kube-config.ts';
import { LeaderElector } from './leader.ts';
import { createOperatorMetrics } from './metrics.ts';
import { DEFAULT_SINK_IMAGE } from './reconcile.ts';

// operator/main.ts from a clone, operator/main.js in the image
const HELP = `Usage: node operator/${path.basename(import.meta.filename)} [--kubeconfig FILE] [--namespaces a,b] [--http-port N]

Reconciles RocksetSink resources into sink Deployments. Configuration (environment):
  KUBECONFIG                      kubeconfig file (default: in-cluster ServiceAccount)
  OPERATOR_NAMESPACES             comma-separated namespaces to watch (default: all)
  OPERATOR_SINK_IMAGE             default sink worker image (default ${DEFAULT_SINK_IMAGE})
  OPERATOR_LEADER_ELECTION        true | false (default true)
  OPERATOR_LEASE_NAME             Lease name (default rockset-sink-operator)
  POD_NAMESPACE, POD_NAME         Lease namespace (default: the pod's, else the kubeconfig context's, else default) and this replica's identity
  OPERATOR_LEASE_DURATION_SECONDS, OPERATOR_RENEW_DEADLINE_SECONDS, OPERATOR_RETRY_PERIOD_SECONDS (15, 10, 2)
  OPERATOR_HTTP_PORT              /metrics, /healthz, /readyz (default 8080)
  OPERATOR_LOG_LEVEL              trace | debug | info | warn | error (default info)
  OPERATOR_LAG_INTERVAL_SECONDS   consumer lag refresh (default 30)
  OPERATOR_RESYNC_SECONDS         re-check every sink even without events (default 600)
  OPERATOR_WORKERS                sinks reconciled at once (default 8: a pass mostly waits on the API server)
  OPERATOR_WATCH_SECRETS          true: watch Secrets' metadata (RBAC list, watch), rotations roll at once; false: read referenced Secrets' metadata by name on each pass (RBAC get only), rotations roll at the sink's next pass (default false)
  OPERATOR_ALLOWED_API_HOSTS      comma-separated Rockset API hosts sinks may send their API key to, e.g. *.rockset.com (default: any)
`;

class UsageError extends Error {}

function envNumber(env: NodeJS.ProcessEnv, name: string, def: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${name}=${JSON.stringify(raw)}: must be a number >= ${min}`);
  return n;
}

export interface OperatorSettings {
  kubeconfig: string | undefined;
  namespaces: string[];
  image: string;
  leaderElection: boolean;
  leaseName: string;
  leaseNamespace: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  httpPort: number;
  logLevel: LevelWithSilent;
  lagIntervalMs: number;
  resyncIntervalMs: number;
  workers: number;
  allowedApiHosts: string[];
  watchSecrets: boolean;
}

export function settingsFrom(argv: string[], env: NodeJS.ProcessEnv): OperatorSettings | 'help' {
  const { values } = parseArgs({ args: argv, options: { kubeconfig: { type: 'string' }, namespaces: { type: 'string' }, 'http-port': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) return 'help';
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  const logLevel = env['OPERATOR_LOG_LEVEL'] || 'info';
  if (!levels.includes(logLevel)) throw new UsageError(`OPERATOR_LOG_LEVEL=${JSON.stringify(logLevel)}: use one of ${levels.join(', ')}`);
  const election = (env['OPERATOR_LEADER_ELECTION'] ?? 'true').toLowerCase();
  if (election !== 'true' && election !== 'false') throw new UsageError(`OPERATOR_LEADER_ELECTION=${JSON.stringify(env['OPERATOR_LEADER_ELECTION'])}: use true or false`);
  const watchSecrets = (env['OPERATOR_WATCH_SECRETS'] || 'false').toLowerCase();
  if (watchSecrets !== 'true' && watchSecrets !== 'false') throw new UsageError(`OPERATOR_WATCH_SECRETS=${JSON.stringify(env['OPERATOR_WATCH_SECRETS'])}: use true or false`);
  const namespaces = (values.namespaces ?? env['OPERATOR_NAMESPACES'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const leaseNamespace = env['POD_NAMESPACE'] || '';
  const settings: OperatorSettings = {
    kubeconfig: values.kubeconfig ?? env['KUBECONFIG'] ?? undefined,
    namespaces,
    image: env['OPERATOR_SINK_IMAGE'] || DEFAULT_SINK_IMAGE,
    leaderElection: election === 'true',
    leaseName: env['OPERATOR_LEASE_NAME'] || 'rockset-sink-operator',
    leaseNamespace,
    identity: env['POD_NAME'] || `${os.hostname()}_${randomBytes(4).toString('hex')}`,
    leaseDurationMs: envNumber(env, 'OPERATOR_LEASE_DURATION_SECONDS', 15, 1) * 1000,
    renewDeadlineMs: envNumber(env, 'OPERATOR_RENEW_DEADLINE_SECONDS', 10, 1) * 1000,
    retryPeriodMs: envNumber(env, 'OPERATOR_RETRY_PERIOD_SECONDS', 2, 0.1) * 1000,
    httpPort: values['http-port'] !== undefined ? Number(values['http-port']) : envNumber(env, 'OPERATOR_HTTP_PORT', 8080, 0),
    logLevel: logLevel as LevelWithSilent,
    lagIntervalMs: envNumber(env, 'OPERATOR_LAG_INTERVAL_SECONDS', 30, 0.1) * 1000,
    resyncIntervalMs: envNumber(env, 'OPERATOR_RESYNC_SECONDS', 600, 1) * 1000,
    workers: Math.trunc(envNumber(env, 'OPERATOR_WORKERS', 8, 1)),
    allowedApiHosts: allowedHosts(env['OPERATOR_ALLOWED_API_HOSTS']),
    watchSecrets: watchSecrets === 'true',
  };
  if (!Number.isInteger(settings.httpPort) || settings.httpPort < 0 || settings.httpPort > 65535) throw new UsageError('--http-port / OPERATOR_HTTP_PORT: must be a port number (0-65535)');
  return settings;
}

function allowedHosts(raw: string | undefined): string[] {
  try {
    return parseAllowedHosts(raw);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function podNamespace(): string | undefined {
  try {
    return fs.readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  let settings: OperatorSettings | 'help';
  try {
    settings = settingsFrom(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (settings === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const s = settings;
  const log = createLogger(s.logLevel, undefined, 'rockset-sink-operator');
  const kc = pooledKubeConfig(s.kubeconfig);

  if (!s.leaseNamespace) s.leaseNamespace = podNamespace() ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';

  const metrics = createOperatorMetrics();
  const elector = s.leaderElection
    ? new LeaderElector(kc, { namespace: s.leaseNamespace, name: s.leaseName, identity: s.identity, leaseDurationMs: s.leaseDurationMs, renewDeadlineMs: s.renewDeadlineMs, retryPeriodMs: s.retryPeriodMs, log })
    : undefined;
  // Every request the controller makes ends within the renew deadline, and no write
  // leaves while the lease is not freshly renewed (operator/leader.ts, mayAct).
  const guard = elector ? { timeoutMs: s.renewDeadlineMs, mayWrite: () => elector.mayAct() } : { timeoutMs: 30_000 };
  const controller = new Controller({ kc, namespaces: s.namespaces, image: s.image, log, metrics, identity: s.identity, lagIntervalMs: s.lagIntervalMs, resyncIntervalMs: s.resyncIntervalMs, workers: s.workers, guard, allowedApiHosts: s.allowedApiHosts, watchSecrets: s.watchSecrets });
  let leading = false;

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (path === '/readyz') {
      // A standby is ready (it is healthy and waiting); a leader once its caches synced.
      const ready = !leading || controller.synced;
      return void res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok\n' : 'caches not synced\n');
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(s.httpPort, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  log.info({ port, namespaces: s.namespaces.length ? s.namespaces : 'all', leaderElection: s.leaderElection, allowedApiHosts: s.allowedApiHosts.length ? s.allowedApiHosts : 'any', identity: s.identity, cluster: kc.getCurrentCluster()?.server }, 'operator started');

  let stopping = false;
  const stopped = new Promise<number>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        stopping = true;
        log.info({ signal }, 'stopping');
        elector?.stop();
        resolve(0);
      });
    }
  });

  const run = async (): Promise<number> => {
    if (elector) {
      if (!(await elector.acquire())) return 0;
    }
    leading = true;
    metrics.leader.set(1);
    await controller.start();
    if (elector) {
      const outcome = await elector.hold();
      if (outcome === 'lost') return 1;
    }
    return await stopped;
  };
  const code = await Promise.race([run(), stopped]);
  metrics.leader.set(0);
  if (code !== 0 && !stopping) log.error({ lease: `${s.leaseNamespace}/${s.leaseName}` }, 'leader election lost: exiting so that only the new leader acts');
  // Stop acting first, then give the lease up.
  await Promise.race([controller.stop(), new Promise((r) => setTimeout(r, 5000).unref())]);
  if (elector && code === 0) await elector.release();
  server.close();
  return code;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`rockset-sink-operator: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

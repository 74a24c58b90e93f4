// The operator's KubeConfig: client-node 2.0.1 builds a new undici Agent (so a new
// TLS connection) for every request (config.js createDispatcher is not cached).
// Measured with 500 sinks: TLS setup was a quarter of the operator's CPU and peak RSS
// 688 MB; with one pool per cluster and TLS settings, 477 MB and a reconcile pass at
// a third of the CPU. Credentials sent as headers (tokens) are unaffected; client
// certificates are part of the TLS settings, so they key the cache.
import { createHash } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';

type CreateDispatcher = (cluster: { server?: string } | null, agentOptions: Record<string, unknown>) => unknown;

export function pooledKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  else kc.loadFromDefault();
  const target = kc as unknown as { createDispatcher: CreateDispatcher };
  const create = target.createDispatcher.bind(kc);
  const pools = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = createHash('sha256')
      .update(JSON.stringify([cluster?.server, Object.entries(agentOptions).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('base64') : v])]))
      .digest('hex');
    if (!pools.has(key)) pools.set(key, create(cluster, agentOptions));
    return pools.get(key);
  };
  return kc;
}

// The container's limits, as the worker sees them.
import fs from 'node:fs';

/**
 * The container's memory limit: MEMORY_LIMIT (bytes, as the operator renders it from
 * the Downward API), else the cgroup's own (v2, then v1); undefined when there is none.
 */
export function memoryLimitBytes(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const fromEnv = Number(env.MEMORY_LIMIT);
  if (Number.isFinite(fromEnv) && fromEnv > 0) return fromEnv;
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const n = Number(fs.readFileSync(file, 'utf8').trim());
      // v2 says "max" without a limit, v1 a number near 2^63
      if (Number.isFinite(n) && n > 0 && n < 2 ** 60) return n;
    } catch {
      // not this cgroup version, or not in a container
    }
  }
  return undefined;
}

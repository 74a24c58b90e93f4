// How many mapping threads a sink worker runs: one per core it may use. Below two
// cores a thread has no core of its own to run on, and moving batches to it would
// only add the copies, so mapping stays on the main thread.
import os from 'node:os';
import v8 from 'node:v8';

/** More threads than this only add memory: a worker rarely has more partition batches in flight. */
export const MAX_MAPPING_THREADS = 16;

/** Threads for a CPU limit in cores (resources.limits.cpu): 0 below 1.5 cores, else the cores rounded. */
export function threadsForCpus(cpus: number): number {
  const n = Math.round(cpus);
  return n >= 2 ? Math.min(n, MAX_MAPPING_THREADS) : 0;
}

/**
 * SINK_THREADS when set (the operator renders it from resources.limits.cpu; 0 maps on
 * the main thread), else one per core Node may use (os.availableParallelism, which
 * follows the CPU affinity and the cgroup's CPU quota).
 */
export function mappingThreads(env: NodeJS.ProcessEnv = process.env): number {
  const set = env.SINK_THREADS;
  if (set !== undefined && set.trim() !== '') {
    const n = Number(set);
    if (!Number.isInteger(n) || n < 0 || n > MAX_MAPPING_THREADS) throw new Error(`SINK_THREADS is ${JSON.stringify(set)}: use an integer from 0 (map on the main thread) to ${MAX_MAPPING_THREADS}`);
    return n;
  }
  return threadsForCpus(os.availableParallelism());
}

/**
 * Each thread's old-generation cap: a quarter of the main thread's (which the operator
 * derives from the memory limit), 32-256 MiB. A thread holds one batch at a time and
 * little of it survives, so it needs a fraction of what the main thread keeps.
 */
export function threadHeapMb(): number {
  const mainMb = v8.getHeapStatistics().heap_size_limit / 2 ** 20;
  return Math.min(256, Math.max(32, Math.floor(mainMb / 4)));
}

// How many mapping threads a sink worker runs: one per core it may use besides the one
// its main thread keeps busy (Kafka, writes, commits), as far as its memory limit allows.
// Below two cores a thread has no core of its own to run on, and moving batches to it
// would only add the copies, so mapping stays on the main thread. On 2 cores one thread
// drained as fast as two (36,400-36,500 vs 35,100-35,400 records/s) with ~20 MB less
// RSS (197-203 vs 221 MB), 2026-12-06: the main thread's share is now about a thread's.
import os from 'node:os';
import v8 from 'node:v8';
import { memoryLimitBytes } from '../limits.ts';

/** More threads than this only add memory: a worker rarely has more partition batches in flight. */
export const MAX_MAPPING_THREADS = 16;
/** What a worker needs besides its threads (MiB): the main thread's heap and fetch buffers (~170 MB at the 512Mi default). */
export const BASE_MEMORY_MIB = 256;
/** What each mapping thread may add (MiB): its heap (capped by threadHeapMb; ~30 MB measured while draining) and its isolate. */
export const THREAD_MEMORY_MIB = 64;

/**
 * Threads for a CPU limit in cores (resources.limits.cpu) and a memory limit in bytes
 * (undefined: none): the cores rounded, less the main thread's, none below 1.5 cores,
 * and no more than the memory above BASE_MEMORY_MIB holds at THREAD_MEMORY_MIB each.
 */
export function threadsFor(cpus: number, memoryLimitBytes: number | undefined): number {
  const cores = Math.round(cpus);
  const byCpu = cores >= 2 ? Math.min(cores - 1, MAX_MAPPING_THREADS) : 0;
  if (memoryLimitBytes === undefined) return byCpu;
  const byMemory = Math.max(0, Math.floor((memoryLimitBytes / 2 ** 20 - BASE_MEMORY_MIB) / THREAD_MEMORY_MIB));
  return Math.min(byCpu, byMemory);
}

/**
 * SINK_THREADS when set (the operator renders it from resources.limits; 0 maps on the
 * main thread), else one per core Node may use (os.availableParallelism, which follows
 * the CPU affinity and the cgroup's CPU quota) within the memory limit (MEMORY_LIMIT,
 * else the cgroup's).
 */
export function mappingThreads(env: NodeJS.ProcessEnv = process.env): number {
  const set = env.SINK_THREADS;
  if (set !== undefined && set.trim() !== '') {
    const n = Number(set);
    if (!Number.isInteger(n) || n < 0 || n > MAX_MAPPING_THREADS) throw new Error(`SINK_THREADS is ${JSON.stringify(set)}: use an integer from 0 (map on the main thread) to ${MAX_MAPPING_THREADS}`);
    return n;
  }
  return threadsFor(os.availableParallelism(), memoryLimitBytes(env));
}

/**
 * Each thread's old-generation cap: SINK_THREAD_HEAP_MB when set, else a quarter of the
 * main thread's (which the operator derives from the memory limit), 32-128 MiB. A thread
 * holds one batch at a time and little of it survives, so it needs a fraction of what
 * the main thread keeps; a record too big for it is mapped on the main thread.
 */
export function threadHeapMb(env: NodeJS.ProcessEnv = process.env): number {
  const set = env.SINK_THREAD_HEAP_MB;
  if (set !== undefined && set.trim() !== '') {
    const n = Number(set);
    if (!Number.isInteger(n) || n < 8 || n > 4096) throw new Error(`SINK_THREAD_HEAP_MB is ${JSON.stringify(set)}: use an integer from 8 to 4096 (MiB)`);
    return n;
  }
  const mainMb = v8.getHeapStatistics().heap_size_limit / 2 ** 20;
  return Math.min(128, Math.max(32, Math.floor(mainMb / 4)));
}

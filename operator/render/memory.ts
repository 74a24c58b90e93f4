// Node's memory settings for a sink worker, derived from its container's memory limit.
// Left alone, V8 grows the heap towards its own default (sized for the host, not the
// cgroup) and keeps it: a draining sink used ~390 MB with 25-100 MB of live heap, and
// glibc kept freed fetch buffers in per-thread arenas. A heap cap that follows the
// limit makes V8 collect before the kubelet OOM-kills the pod; the cap leaves room for
// what lives outside the V8 heap (fetch buffers, sockets, code: ~100 MB at rest).

/** Share of the memory limit given to V8's old generation. */
export const HEAP_SHARE = 0.4;
/** Never below this (MiB): the sink's live heap alone reaches ~100 MB with large batches. */
export const MIN_HEAP_MIB = 96;
/**
 * Young generation semi-space (MiB) for limits under 1 GiB: smaller pauses, less RSS.
 * The sink keeps documents as views of the fetched buffers, so little survives a
 * scavenge: 4 MiB drained as fast as 8 (52,700-55,500 vs 50,400-52,700 records/s)
 * with a peak ~10 MB lower (186-199 vs 190-204 MB), 2026-12-03.
 */
export const SMALL_SEMI_SPACE_MIB = 4;
/**
 * glibc's mmap threshold (bytes) for limits under 1 GiB, fixed. Left dynamic, glibc
 * raises it to the size of the largest block freed (a 10 MB fetch response), so later
 * fetch buffers and request bodies come from the heap arenas, which keep the freed
 * space. Fixed, blocks of 128 KiB and more are mapped and unmapped as they come and go:
 * a peak ~9 MB lower (177-186 vs 187-197 MB over 5 back-to-back pairs), ~4% slower.
 */
export const SMALL_MMAP_THRESHOLD = 128 * 1024;

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity in base units (bytes for memory), or undefined when it is not one. */
export function quantityValue(q: string | number): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([KMGTPE]i)|([eE][+-]?\d+)|([numkMGTPE]?))$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2]) return n * BINARY[m[2]]!;
  if (m[3]) return n * 10 ** Number(m[3].slice(1));
  return n * DECIMAL[m[4] ?? '']!;
}

export interface NodeMemory {
  /** node flags, before the script. */
  flags: string[];
  env: { name: string; value: string }[];
}

/**
 * Flags and environment for a worker with this memory limit (bytes; undefined: no
 * limit). glibc's arenas are capped either way: the sink is single-threaded JavaScript
 * and more arenas only hold on to freed memory.
 */
export function nodeMemory(limitBytes: number | undefined): NodeMemory {
  const env = [{ name: 'MALLOC_ARENA_MAX', value: '2' }];
  if (limitBytes === undefined || limitBytes <= 0) return { flags: [], env };
  // The sink compares what a fetch of compressed records decompresses to with it (sink/kafka/fetch-memory.ts).
  env.push({ name: 'MEMORY_LIMIT', value: String(Math.round(limitBytes)) });
  const limitMib = limitBytes / 2 ** 20;
  const heap = Math.max(MIN_HEAP_MIB, Math.floor(limitMib * HEAP_SHARE));
  const flags = [`--max-old-space-size=${heap}`];
  if (limitMib < 1024) {
    flags.push(`--max-semi-space-size=${SMALL_SEMI_SPACE_MIB}`);
    env.push({ name: 'MALLOC_MMAP_THRESHOLD_', value: String(SMALL_MMAP_THRESHOLD) });
  }
  return { flags, env };
}

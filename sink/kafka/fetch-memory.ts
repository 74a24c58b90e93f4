// Whether a fetch of compressed records fits the worker's memory (pure). Kafka's fetch
// limits count compressed bytes and kafkajs decompresses a whole fetch before handing
// it over (the Java client decompresses batch by batch), so a worker holds about fetch
// size x compression ratio of records: 563 MB at its peak for JSON compressing 23x,
// with the default fetch sizes (bench, 2026-12-03), over the default 512Mi limit.

/** kafkajs's `maxBytes`: what one fetch response carries at most (compressed). */
export const FETCH_MAX_BYTES = 10 * 1024 * 1024;
/** Decompressed records of one fetch may take this share of the memory limit... */
const WARN_SHARE = 0.4;
/** ...and the advice aims for this share. */
const AIM_SHARE = 0.2;
const MIN_SUGGESTED = 64 * 1024;

export interface FetchMemory {
  /** Decompressed / compressed bytes of the batches seen so far. */
  ratio: number;
  fetchMaxBytesPerPartition: number;
  /** Partitions assigned to this worker (a fetch covers all of them). */
  partitions: number;
  memoryLimitBytes: number;
}

const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

/** An actionable warning when a full fetch would hold too much of the memory limit, else undefined. */
export function fetchMemoryAdvice(m: FetchMemory): string | undefined {
  const partitions = Math.max(1, m.partitions);
  const fetchBytes = Math.min(FETCH_MAX_BYTES, m.fetchMaxBytesPerPartition * partitions);
  const held = fetchBytes * m.ratio;
  if (!(m.ratio > 1) || held <= WARN_SHARE * m.memoryLimitBytes) return undefined;
  const perPartition = Math.max(MIN_SUGGESTED, Math.floor((AIM_SHARE * m.memoryLimitBytes) / m.ratio / partitions / 1024) * 1024);
  return (
    `records arrive compressed ${m.ratio.toFixed(1)}x: a full fetch (${mb(fetchBytes)} compressed over ${partitions} partition(s)) ` +
    `holds ~${mb(held)} of records at once, against a memory limit of ${mb(m.memoryLimitBytes)}. ` +
    `Set kafka.fetchMaxBytesPerPartition to ${perPartition} (now ${m.fetchMaxBytesPerPartition}) or raise the memory limit`
  );
}

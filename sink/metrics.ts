// Prometheus metrics of one sink process (its own registry: no global state).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rockset_sink_process_' });
  const r = [registry];
  return {
    registry,
    recordsConsumed: new Counter({ name: 'rockset_sink_records_consumed_total', help: 'Records fetched from Kafka', labelNames: ['topic'], registers: r }),
    recordsWritten: new Counter({ name: 'rockset_sink_records_written_total', help: 'Records Rockset acknowledged (documents added, replaced or deleted)', labelNames: ['topic'], registers: r }),
    recordsFailed: new Counter({ name: 'rockset_sink_records_failed_total', help: 'Bad records that stopped the sink (errors.tolerance=none)', labelNames: ['topic'], registers: r }),
    recordsDeadLettered: new Counter({ name: 'rockset_sink_records_dead_lettered_total', help: 'Bad records sent to the dead-letter topic', labelNames: ['topic', 'stage'], registers: r }),
    recordsSkipped: new Counter({ name: 'rockset_sink_records_skipped_total', help: 'Records that need no write (ignored tombstones, tombstones without a key)', labelNames: ['topic', 'reason'], registers: r }),
    requestDocuments: new Histogram({ name: 'rockset_sink_request_documents', help: 'Documents per acknowledged Write API request', buckets: [1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000], registers: r }),
    requestSeconds: new Histogram({ name: 'rockset_sink_request_seconds', help: 'Write API request latency', labelNames: ['method', 'outcome'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: r }),
    retries: new Counter({ name: 'rockset_sink_retries_total', help: 'Write retries by cause', labelNames: ['cause'], registers: r }),
    splits: new Counter({ name: 'rockset_sink_request_splits_total', help: 'Requests split after Rockset refused their size', registers: r }),
    offsetCommitSeconds: new Histogram({ name: 'rockset_sink_offset_commit_seconds', help: 'OffsetCommit requests to the group coordinator (one carries the offsets of every partition ready to commit), by outcome', labelNames: ['outcome'], buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5], registers: r }),
    inFlight: new Gauge({ name: 'rockset_sink_requests_in_flight', help: 'Write API requests in flight', registers: r }),
    fetchedCompressedBytes: new Counter({ name: 'rockset_sink_fetched_compressed_bytes_total', help: 'Bytes of compressed record batches fetched (their ratio to the decompressed bytes is what a fetch costs in memory)', registers: r }),
    fetchedDecompressedBytes: new Counter({ name: 'rockset_sink_fetched_decompressed_bytes_total', help: 'Bytes those compressed batches decompressed to', registers: r }),
    mappingThreads: new Gauge({ name: 'rockset_sink_mapping_threads', help: 'Worker threads that decode and map records (0: on the main thread); SINK_THREADS', registers: r }),
    lag: new Gauge({ name: 'rockset_sink_partition_lag', help: 'Records between the committed offset and the high watermark', labelNames: ['topic', 'partition'], registers: r }),
    heldRecords: new Gauge({ name: 'rockset_sink_partition_held_records', help: 'Records past the last stable offset, once everything before it is committed: they wait for an open transaction to end', labelNames: ['topic', 'partition'], registers: r }),
  };
}

export type SinkMetrics = ReturnType<typeof createMetrics>;

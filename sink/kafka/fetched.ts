// The records of a fetch as Kafka's Java consumer delivers them, where kafkajs 2.2.4
// differs in ways that write what must not be written or stop a partition for good.
//
// Aborted transactions. A read_committed fetch still returns the records of aborted
// transactions, with the list of aborted transactions (producer id, first offset) that
// overlap it; the client must drop them. kafkajs (consumer/filterAbortedMessages.js)
// lets some through, and the sink would write them to Rockset:
// - it takes at most one listed transaction per record, in list order, but the broker
//   lists them in the order they ended, not by first offset: a transaction that began
//   first and aborted last is reached too late, and its first records pass;
// - a fetch that starts inside two aborted transactions takes the second one only at
//   its second record, so a record of it can pass at every fetch boundary;
// - any record whose key is the bytes 00 00 00 00 counts as an abort marker, though
//   only a control record can be one: Java's IntegerSerializer writes the key 0 so,
//   and the rest of that aborted transaction passed.
// Here, as in the Java consumer (CompletedFetch#nextFetchedBatch): per record batch,
// every listed transaction that begins at or before the batch's last offset becomes
// "aborting" for its producer; a control batch holding an ABORT marker ends it; a
// transactional batch of an aborting producer is skipped whole.
//
// Compacted batches. Compaction keeps a batch's last offset when it removes records
// from it, and keeps the last batch of every producer that is still active (its last
// sequence number fences duplicates) even with no records left in it: a compacted topic
// written by many short-lived idempotent producers (Java's default) holds runs of empty
// batches. kafkajs goes by the records it sees: a fetch of nothing but empty batches
// looked like no data, its offset never moved, and the partition was fetched from the
// same place forever; and after a batch whose last records were removed, it fetched
// the gap one offset at a time (and the sink committed each). The Java consumer moves
// on to the batch's next offset; here such a batch gets a placeholder at its last
// offset, flagged as a control record, so kafkajs moves past it too (and the sink
// commits past it) while delivering nothing more.
import { createRequire } from 'node:module';
import path from 'node:path';
import { registerHeaderCodec } from './headers.ts';

export interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

interface BatchContext {
  firstOffset: string;
  lastOffsetDelta: number;
  producerId: string;
  inTransaction: boolean;
  isControlBatch: boolean;
}

export interface FetchedRecord {
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: BatchContext;
}

export interface FetchedPartition {
  abortedTransactions?: AbortedTransaction[] | null;
  messages: FetchedRecord[];
}

// A control record's key: version (int16), type (int16): 0 ABORT, 1 COMMIT.
const isAbortMarker = (record: FetchedRecord): boolean => record.key !== null && record.key.length >= 4 && record.key.readInt16BE(2) === 0;

/**
 * Flags every record of an aborted transaction in a fetched partition as kafkajs flags a
 * control record: kafkajs then leaves it out of `batch.messages` but still counts its
 * offset (`batch.lastOffset()`), so the offset moves past it and nothing is delivered.
 * Empties the aborted-transaction list, so kafkajs's own filter has nothing to do.
 * Returns how many records were flagged.
 */
export function flagAbortedRecords(partition: FetchedPartition): number {
  const listed = partition.abortedTransactions;
  if (!listed || listed.length === 0) return 0;
  const pending = listed
    .map((t) => ({ producerId: t.producerId, firstOffset: BigInt(t.firstOffset) }))
    .sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  let next = 0;
  const aborting = new Set<string>();
  let batch: BatchContext | undefined;
  let skip = false;
  let flagged = 0;
  for (const record of partition.messages) {
    // The records of one record batch share its context object.
    if (record.batchContext !== batch) {
      batch = record.batchContext;
      skip = false;
      if (!batch.producerId.startsWith('-')) {
        const last = BigInt(batch.firstOffset) + BigInt(batch.lastOffsetDelta);
        while (next < pending.length && pending[next]!.firstOffset <= last) aborting.add(pending[next++]!.producerId);
        if (batch.isControlBatch) {
          if (isAbortMarker(record)) aborting.delete(batch.producerId);
        } else if (batch.inTransaction && aborting.has(batch.producerId)) {
          skip = true;
        }
      }
    }
    if (skip) {
      record.isControlRecord = true;
      flagged++;
    }
  }
  partition.abortedTransactions = [];
  return flagged;
}

interface FetchResponse {
  responses: { topicName: string; partitions: (FetchedPartition & { partition: number; errorCode: number; highWatermark: string; lastStableOffset?: string })[] }[];
}

/** Told of every partition of every fetch response, with its high watermark and last stable offset ("-1": none). */
export type FetchObserver = (topic: string, partition: number, highWatermark: string, lastStableOffset: string) => void;

let observer: FetchObserver | undefined;

/** One observer per process (one sink per process); undefined removes it. */
export function observeFetches(fn: FetchObserver | undefined): void {
  observer = fn;
}

let installed = false;

/**
 * Puts flagAbortedRecords and the empty-batch placeholders into kafkajs's fetch
 * decoding (record batches, and the fetch responses of v4 and later, which carry
 * aborted transactions). Idempotent.
 */
export function registerFetchedRecords(): void {
  if (installed) return;
  // The header codec drops these modules from require's cache so they load again with
  // its record decoder; it must do so before they are wrapped, or it drops the wrappers.
  registerHeaderCodec();
  const require = createRequire(import.meta.url);
  const protocol = path.join(path.dirname(require.resolve('kafkajs')), 'src/protocol');
  const batchId = require.resolve(path.join(protocol, 'recordBatch/v0/decoder.js'));
  const decodeBatch = require(batchId) as (decoder: unknown) => Promise<DecodedBatch>;
  require.cache[batchId]!.exports = async (decoder: unknown): Promise<DecodedBatch> => {
    const batch = await decodeBatch(decoder);
    const placeholder = compactedBatchPlaceholder(batch);
    if (placeholder) batch.records.push(placeholder);
    return batch;
  };
  // Wrapped after the record-batch decoder, so that they load with the wrapped one.
  for (let version = 4; version <= 11; version++) {
    const id = require.resolve(path.join(protocol, `requests/fetch/v${version}/response.js`));
    const original = require(id) as { decode(raw: Buffer): Promise<FetchResponse> };
    require.cache[id]!.exports = {
      ...original,
      async decode(raw: Buffer): Promise<FetchResponse> {
        const response = await original.decode(raw);
        for (const topic of response.responses) {
          for (const partition of topic.partitions) {
            flagAbortedRecords(partition);
            // a partition answered with an error carries no watermarks (kafkajs throws it next)
            if (partition.errorCode === 0) observer?.(topic.topicName, partition.partition, partition.highWatermark, partition.lastStableOffset ?? '-1');
          }
        }
        return response;
      },
    };
  }
  installed = true;
}

interface DecodedBatch extends BatchContext {
  maxTimestamp: string;
  records: { offset: string }[];
}

/**
 * For a batch with no record at its last offset (compaction removed it, or all of
 * them): a record at that offset, a control record, so never delivered. Else undefined.
 */
export function compactedBatchPlaceholder(batch: DecodedBatch) {
  const records = batch.records;
  // a batch as its producer wrote it has a record at every offset: nothing to do
  if (records.length === batch.lastOffsetDelta + 1) return undefined;
  const lastOffset = (BigInt(batch.firstOffset) + BigInt(batch.lastOffsetDelta)).toString();
  if (records.length > 0 && records[records.length - 1]!.offset === lastOffset) return undefined;
  const { records: _, ...context } = batch;
  return {
    magicByte: 2,
    attributes: 0,
    timestamp: batch.maxTimestamp,
    offset: lastOffset,
    key: null,
    value: null,
    headers: {},
    isControlRecord: true,
    batchContext: { ...context, magicByte: 2 },
  };
}

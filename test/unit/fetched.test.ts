// Which fetched records belong to aborted transactions: the layouts of one partition
// that kafkajs's own filter gets wrong, decided per record batch as Java decides them;
// and what kafkajs makes of an empty batch's placeholder. (The e2e tests in
// test/sink/producers.e2e.test.ts make the same layouts with Java's producers and a
// real broker's log cleaner.)
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { compactedBatchPlaceholder, flagAbortedRecords, type FetchedRecord } from '../../sink/kafka/fetched.ts';

const require = createRequire(import.meta.url);

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

/** One record batch of one record at `offset`: 'p1' a transactional record of producer 1, 'p1!' its ABORT marker, 'p1+' its COMMIT marker, '-' a non-transactional record. */
function log(...entries: (string | [string, Buffer])[]): FetchedRecord[] {
  return entries.map((entry, offset) => {
    const [spec, key] = Array.isArray(entry) ? entry : [entry, Buffer.from(`k${offset}`)];
    const control = spec.endsWith('!') || spec.endsWith('+');
    const producerId = spec === '-' ? '-1' : spec.replace(/\D/g, '');
    return {
      key: control ? (spec.endsWith('!') ? ABORT : COMMIT) : key,
      isControlRecord: control,
      batchContext: { firstOffset: String(offset), lastOffsetDelta: 0, producerId, inTransaction: spec !== '-', isControlBatch: control },
    };
  });
}

const delivered = (records: FetchedRecord[], from = 0) =>
  records.flatMap((r, offset) => (offset >= from && !r.isControlRecord ? [offset] : []));

test('a transaction that began first and aborted last is dropped from its first record, whatever order the broker lists them in', () => {
  //                 0     1     2      3     4      5
  const records = log('p1', 'p2', 'p2!', 'p1', 'p1!', '-');
  // The broker lists aborted transactions in the order they ended.
  const flagged = flagAbortedRecords({ abortedTransactions: [{ producerId: '2', firstOffset: '1' }, { producerId: '1', firstOffset: '0' }], messages: records });
  assert.equal(flagged, 3);
  assert.deepEqual(delivered(records), [5]);
});

test('a fetch that starts inside two aborted transactions drops both from its first record', () => {
  //           0     1     2     3     4      5      6
  const all = log('p1', 'p2', 'p1', 'p2', 'p1!', 'p2!', '-');
  const fetched = all.slice(1); // this fetch starts at offset 1
  flagAbortedRecords({ abortedTransactions: [{ producerId: '1', firstOffset: '0' }, { producerId: '2', firstOffset: '1' }], messages: fetched });
  assert.deepEqual(delivered(fetched).map((i) => i + 1), [6]);
});

test('a record keyed 00 00 00 00 is a record, not an abort marker', () => {
  //                 0             1     2      3     4               5
  const records = log(['p1', ABORT], 'p1', 'p1!', 'p1', ['p1', ABORT], 'p1+');
  flagAbortedRecords({ abortedTransactions: [{ producerId: '1', firstOffset: '0' }], messages: records });
  // 0-1 aborted; 3-4 are the same producer's next transaction, committed.
  assert.deepEqual(delivered(records), [3, 4]);
});

test('the records of a batch are decided together, and only listed producers are dropped', () => {
  const context = { firstOffset: '10', lastOffsetDelta: 2, producerId: '7', inTransaction: true, isControlBatch: false };
  // one compressed batch of three records (offsets 10-12): the transaction is listed from offset 11
  const batch: FetchedRecord[] = [0, 1, 2].map(() => ({ key: null, isControlRecord: false, batchContext: context }));
  const other: FetchedRecord = { key: null, isControlRecord: false, batchContext: { ...context, firstOffset: '13', lastOffsetDelta: 0, producerId: '8' } };
  assert.equal(flagAbortedRecords({ abortedTransactions: [{ producerId: '7', firstOffset: '11' }], messages: [...batch, other] }), 3);
  assert.deepEqual([...batch, other].map((r) => r.isControlRecord), [true, true, true, false]);
});

test('no aborted transaction listed: nothing is touched', () => {
  const records = log('p1', ['p1', ABORT], '-');
  assert.equal(flagAbortedRecords({ abortedTransactions: [], messages: records }), 0);
  assert.equal(flagAbortedRecords({ abortedTransactions: null, messages: records }), 0);
  assert.deepEqual(delivered(records), [0, 1, 2]);
});

test('a fetch of nothing but empty batches: kafkajs delivers nothing and moves past the last of them', () => {
  const Batch = require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, partition: unknown) => {
    messages: unknown[];
    isEmptyDueToFiltering(): boolean;
    lastOffset(): string;
  };
  const empty = (firstOffset: string) => ({ firstOffset, lastOffsetDelta: 0, producerId: '4000', inTransaction: false, isControlBatch: false, maxTimestamp: '1700000000000', records: [] });
  const messages = [empty('7'), empty('8'), empty('9')].map((b) => compactedBatchPlaceholder(b)!);
  assert.deepEqual(messages.map((m) => m.offset), ['7', '8', '9']);
  const batch = new Batch('t', '7', { partition: 0, highWatermark: '12', abortedTransactions: [], messages });
  assert.deepEqual(batch.messages, []);
  // kafkajs resolves such a fetch to its last offset and the sink commits 10.
  assert.equal(batch.isEmptyDueToFiltering(), true);
  assert.equal(batch.lastOffset(), '9');
});

test('a batch whose last records compaction removed ends in a placeholder at its last offset; a whole batch, or one missing only middle records, gets none', () => {
  const batch = (firstOffset: string, lastOffsetDelta: number, offsets: string[]) => ({
    firstOffset, lastOffsetDelta, producerId: '-1', inTransaction: false, isControlBatch: false, maxTimestamp: '1700000000000', records: offsets.map((offset) => ({ offset })),
  });
  assert.equal(compactedBatchPlaceholder(batch('100', 2, ['100', '101', '102'])), undefined);
  assert.equal(compactedBatchPlaceholder(batch('100', 2, ['100', '102'])), undefined);
  const p = compactedBatchPlaceholder(batch('9007199254740990', 99, ['9007199254740990']))!;
  assert.equal(p.offset, '9007199254741089', 'offsets beyond 2^53 are exact');
  assert.equal(p.isControlRecord, true);
  const Batch = require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, partition: unknown) => { messages: unknown[]; lastOffset(): string };
  // fetched from inside the gap: kafkajs moves to the batch's last offset, not one past the fetch offset
  const compacted = batch('0', 99, ['0']);
  compacted.records.push(compactedBatchPlaceholder(compacted)! as { offset: string });
  const b = new Batch('t', '1', { partition: 0, highWatermark: '200', abortedTransactions: [], messages: compacted.records });
  assert.deepEqual(b.messages, []);
  assert.equal(b.lastOffset(), '99');
});

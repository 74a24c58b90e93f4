// Which fetched records belong to aborted transactions: the layouts of one partition
// that kafkajs's own filter gets wrong, decided per record batch as Java decides them.
// (The e2e tests in test/sink/producers.e2e.test.ts make the same layouts with Java's
// transactional producers against a real broker.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flagAbortedRecords, type FetchedRecord } from '../../sink/kafka/transactions.ts';

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

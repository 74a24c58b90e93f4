// A partition batch as it crosses to a mapping thread and back: a few flat buffers
// that postMessage moves (transfers) instead of cloning, never an object per record.
// Going: every key and value copied back to back into one buffer, their lengths in
// another; coming back: the write requests' bodies, ready to send, and every `_id`,
// back to back, four numbers per document and per request, and only skips and bad
// records as objects. The main thread makes no object per written record unless a
// request is retried in part, split, or has a document rejected. Pure functions.
import { writeBody, type MappedBatch, type WriteRequest } from '../batch.ts';
import type { Action, SinkRecord, WriteAction } from '../record.ts';

export interface RecordsWire {
  topic: string;
  partition: number;
  /** Offsets, joined by ','. */
  offsets: string;
  /** Timestamps, joined by ','. */
  timestamps: string;
  /** Per record: key length, value length (-1: null). */
  lengths: Int32Array;
  /** The keys and values, in record order. */
  bytes: Uint8Array;
}

export interface BatchWire {
  /** Per request: method (0 POST, 1 DELETE), documents, body bytes, `_id` bytes. */
  requests: Int32Array;
  /** Per document, in request order: its record's index, its JSON's start in `bytes` and length, its `_id`'s length. */
  documents: Int32Array;
  /** The request bodies back to back, then every document's `_id` in the same order. */
  bytes: Uint8Array;
  /** The records that write nothing (skips, bad records). */
  others: MappedBatch['others'];
}

/** The wire form of a batch's records, and the buffers to transfer with it. */
export function packRecords(records: readonly SinkRecord[]): { wire: RecordsWire; transfer: ArrayBuffer[] } {
  const n = records.length;
  const lengths = new Int32Array(2 * n);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    size += (r.key?.length ?? 0) + (r.value?.length ?? 0);
  }
  // Its own ArrayBuffer (never a slice of Node's pool), so that it can be moved.
  const bytes = new Uint8Array(new ArrayBuffer(size));
  const offsets = new Array<string>(n);
  const timestamps = new Array<string>(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    offsets[i] = r.offset;
    timestamps[i] = r.timestamp;
    lengths[2 * i] = r.key === null ? -1 : r.key.length;
    if (r.key !== null) {
      bytes.set(r.key, at);
      at += r.key.length;
    }
    lengths[2 * i + 1] = r.value === null ? -1 : r.value.length;
    if (r.value !== null) {
      bytes.set(r.value, at);
      at += r.value.length;
    }
  }
  const topic = records[0]?.topic ?? '';
  const partition = records[0]?.partition ?? 0;
  return { wire: { topic, partition, offsets: offsets.join(','), timestamps: timestamps.join(','), lengths, bytes }, transfer: [lengths.buffer as ArrayBuffer, bytes.buffer as ArrayBuffer] };
}

/** The records again, keys and values as views of the one buffer; headers are not sent (mapping never reads them). */
export function unpackRecords(wire: RecordsWire): SinkRecord[] {
  const { topic, partition, lengths } = wire;
  const bytes = Buffer.from(wire.bytes.buffer, wire.bytes.byteOffset, wire.bytes.byteLength);
  const offsets = wire.offsets === '' ? [] : wire.offsets.split(',');
  const timestamps = wire.timestamps.split(',');
  const out = new Array<SinkRecord>(offsets.length);
  let at = 0;
  const take = (len: number): Buffer | null => {
    if (len < 0) return null;
    const b = bytes.subarray(at, at + len);
    at += len;
    return b;
  };
  for (let i = 0; i < offsets.length; i++) {
    const key = take(lengths[2 * i]!);
    const value = take(lengths[2 * i + 1]!);
    out[i] = { topic, partition, offset: offsets[i]!, key, value, timestamp: timestamps[i]!, headers: {} };
  }
  return out;
}

/**
 * The wire form of a mapped batch (its actions one per record, in record order),
 * request bodies built, and the buffers to transfer with it.
 */
export function packBatch(actions: readonly Action[], mapped: MappedBatch): { wire: BatchWire; transfer: ArrayBuffer[] } {
  const { requests: planned, others } = mapped;
  const requests = new Int32Array(4 * planned.length);
  let documentCount = 0;
  let size = 0;
  for (let r = 0; r < planned.length; r++) {
    const req = planned[r]!;
    requests[4 * r] = req.method === 'POST' ? 0 : 1;
    requests[4 * r + 1] = req.count;
    requests[4 * r + 2] = req.bytes;
    requests[4 * r + 3] = req.idBytes;
    documentCount += req.count;
    size += req.bytes + req.idBytes;
  }
  const documents = new Int32Array(4 * documentCount);
  const bytes = Buffer.from(new ArrayBuffer(size));
  let at = 0;
  let d = 0;
  // Requests hold the write actions in record order: one walk finds each one's record.
  let record = 0;
  for (const req of planned) {
    const end = writeBody(bytes, at, req.actions, (i, start, length) => {
      const a = req.actions[i]!;
      // `bytes` is computed where each document is made; should one be off, no torn body may go out.
      if (length !== a.bytes) throw new Error(`the document of offset ${a.offset} is ${length} bytes, not the ${a.bytes} its action says`);
      while (actions[record] !== a) record++;
      documents[4 * d] = record;
      documents[4 * d + 1] = start;
      documents[4 * d + 2] = length;
      d++;
    });
    if (end - at !== req.bytes) throw new Error(`a request body is ${end - at} bytes, not the ${req.bytes} planned`);
    at = end;
  }
  d = 0;
  for (const req of planned) {
    for (const a of req.actions) {
      const n = bytes.write(a.id, at, 'utf8');
      documents[4 * d++ + 3] = n;
      at += n;
    }
  }
  return { wire: { requests, documents, bytes, others }, transfer: [requests.buffer as ArrayBuffer, documents.buffer as ArrayBuffer, bytes.buffer as ArrayBuffer] };
}

/** A request a mapping thread built: its body ready, its actions made only when something asks for them. */
class EncodedRequest implements WriteRequest {
  readonly method: 'POST' | 'DELETE';
  readonly collection: string;
  readonly count: number;
  readonly firstOffset: string;
  readonly bytes: number;
  readonly idBytes: number;
  readonly body: Uint8Array;
  #actions: WriteAction[] | undefined;
  readonly #make: () => WriteAction[];

  constructor(init: Omit<WriteRequest, 'actions'> & { body: Uint8Array }, make: () => WriteAction[]) {
    this.method = init.method;
    this.collection = init.collection;
    this.count = init.count;
    this.firstOffset = init.firstOffset;
    this.bytes = init.bytes;
    this.idBytes = init.idBytes;
    this.body = init.body;
    this.#make = make;
  }

  get actions(): WriteAction[] {
    return (this.#actions ??= this.#make());
  }
}

/** The mapped batch again: bodies as views of the one buffer, offsets from the main thread's records. */
export function unpackBatch(wire: BatchWire, records: readonly SinkRecord[], collection: string): MappedBatch {
  const bytes = Buffer.from(wire.bytes.buffer, wire.bytes.byteOffset, wire.bytes.byteLength);
  const { documents } = wire;
  const requests: WriteRequest[] = [];
  let bodyAt = 0;
  let idsAt = bodyLengths(wire);
  for (let r = 0, d = 0; r < wire.requests.length / 4; r++) {
    const method = wire.requests[4 * r] === 0 ? 'POST' : 'DELETE';
    const count = wire.requests[4 * r + 1]!;
    const size = wire.requests[4 * r + 2]!;
    const idBytes = wire.requests[4 * r + 3]!;
    const first = d;
    const firstId = idsAt;
    const make = (): WriteAction[] => {
      const out = new Array<WriteAction>(count);
      let idAt = firstId;
      for (let i = 0; i < count; i++) {
        const k = 4 * (first + i);
        const start = documents[k + 1]!;
        const length = documents[k + 2]!;
        const idEnd = idAt + documents[k + 3]!;
        out[i] = { kind: method === 'POST' ? 'upsert' : 'delete', offset: records[documents[k]!]!.offset, collection, id: bytes.toString('utf8', idAt, idEnd), json: bytes.subarray(start, start + length), bytes: length };
        idAt = idEnd;
      }
      return out;
    };
    const body = bytes.subarray(bodyAt, bodyAt + size);
    requests.push(new EncodedRequest({ method, collection, count, firstOffset: records[documents[4 * first]!]!.offset, bytes: size, idBytes, body }, make));
    bodyAt += size;
    idsAt += idBytes;
    d += count;
  }
  return { requests, others: wire.others };
}

/** Where the `_id`s start: after every body. */
function bodyLengths(wire: BatchWire): number {
  let n = 0;
  for (let r = 0; r < wire.requests.length / 4; r++) n += wire.requests[4 * r + 2]!;
  return n;
}

// Cuts a partition's write actions into Write API requests (pure). Requests keep
// the records' order: a new request starts whenever the method (add vs delete)
// or the collection changes, or the next document would break the count or byte
// limit. Bytes count the serialized request body, the size Rockset limits.
import { jsonText, type Action, type WriteAction } from './record.ts';

export interface WriteRequest {
  method: 'POST' | 'DELETE';
  collection: string;
  /**
   * The documents, in record order. A request built on a mapping thread makes these
   * objects on first use only: a retry of part of it, a split, a rejected document.
   */
  readonly actions: WriteAction[];
  /** How many documents. */
  count: number;
  /** The offset of the first document's record. */
  firstOffset: string;
  /** Size of the body, in bytes. */
  bytes: number;
  /** UTF-8 bytes of all the documents' `_id`s: what bounds the size of the answer. */
  idBytes: number;
  /** The body, when a mapping thread built it; else requestBodyBytes(actions). */
  body?: Uint8Array;
}

/** A partition batch after mapping: its write requests in order, and the records that write nothing (skips, bad records). */
export interface MappedBatch {
  requests: WriteRequest[];
  others: Exclude<Action, WriteAction>[];
}

const ENVELOPE = '{"data":[]}'.length;

export function requestBody(actions: readonly WriteAction[]): string {
  return `{"data":[${actions.map((a) => jsonText(a.json)).join(',')}]}`;
}

/**
 * The same body as bytes, written once into a buffer of its exact size: joining
 * the documents into one string and encoding that copies every document twice
 * more, and a multi-MB string lives in the V8 heap until the request is done.
 */
export function requestBodyBytes(actions: readonly WriteAction[]): Buffer {
  let size = ENVELOPE + Math.max(0, actions.length - 1);
  for (const a of actions) size += a.bytes;
  const body = Buffer.allocUnsafe(size);
  const at = writeBody(body, 0, actions);
  // `bytes` is computed where each document is made; should one be off, a torn body must not go out.
  return at === size ? body : Buffer.from(requestBody(actions));
}

/**
 * Writes the body of `actions` into `out` at `at`; returns where it ends, or -1 when a
 * document's size is not its `bytes`. `written` learns where each document went.
 */
export function writeBody(out: Buffer, at: number, actions: readonly WriteAction[], written?: (index: number, start: number, length: number) => void): number {
  at += out.write('{"data":[', at, 'latin1');
  for (let i = 0; i < actions.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    const a = actions[i]!;
    const json = a.json;
    let length: number;
    if (typeof json === 'string') {
      length = out.write(json, at, 'utf8');
    } else if (json instanceof Uint8Array) {
      out.set(json, at);
      length = json.length;
    } else {
      out.set(json.head, at);
      length = json.head.length + out.write(json.tail, at + json.head.length, 'utf8');
    }
    written?.(i, at, length);
    if (length !== a.bytes) return -1;
    at += length;
  }
  return at + out.write(']}', at, 'latin1');
}

/** One request of actions of one method and collection (at least one). */
export function writeRequest(actions: WriteAction[]): WriteRequest {
  const first = actions[0]!;
  let bytes = ENVELOPE + actions.length - 1;
  let idBytes = 0;
  for (const a of actions) {
    bytes += a.bytes;
    idBytes += Buffer.byteLength(a.id);
  }
  return { method: first.kind === 'upsert' ? 'POST' : 'DELETE', collection: first.collection, actions, count: actions.length, firstOffset: first.offset, bytes, idBytes };
}

export function planRequests(actions: readonly WriteAction[], limits: { maxDocuments: number; maxBytes: number }): WriteRequest[] {
  const out: WriteRequest[] = [];
  let current: (WriteRequest & { actions: WriteAction[] }) | undefined;
  for (const a of actions) {
    const method = a.kind === 'upsert' ? 'POST' : 'DELETE';
    const added = a.bytes + (current && current.actions.length > 0 ? 1 : 0);
    const idBytes = Buffer.byteLength(a.id);
    if (
      !current ||
      current.method !== method ||
      current.collection !== a.collection ||
      current.actions.length >= limits.maxDocuments ||
      current.bytes + added > limits.maxBytes
    ) {
      current = { method, collection: a.collection, actions: [a], count: 1, firstOffset: a.offset, bytes: ENVELOPE + a.bytes, idBytes };
      out.push(current);
    } else {
      current.actions.push(a);
      current.count++;
      current.bytes += added;
      current.idBytes += idBytes;
    }
  }
  return out;
}

/** A batch's actions (one per record, in order) as requests and the rest. */
export function planBatch(actions: readonly Action[], limits: { maxDocuments: number; maxBytes: number }): MappedBatch {
  const writes: WriteAction[] = [];
  const others: MappedBatch['others'] = [];
  for (const a of actions) {
    if (a.kind === 'upsert' || a.kind === 'delete') writes.push(a);
    else others.push(a);
  }
  return { requests: planRequests(writes, limits), others };
}

/** The requests cut before the record at offset `end` (a bad record the sink stops at). */
export function requestsBefore(requests: readonly WriteRequest[], end: string): WriteRequest[] {
  const limit = BigInt(end);
  const out: WriteRequest[] = [];
  for (const req of requests) {
    if (BigInt(req.firstOffset) >= limit) break;
    const kept = req.actions.filter((a) => BigInt(a.offset) < limit);
    out.push(kept.length === req.count ? req : writeRequest(kept));
  }
  return out;
}

/** Halves a request the server refused as too large; a single document cannot be split. */
export function splitRequest(req: WriteRequest): [WriteRequest, WriteRequest] | undefined {
  if (req.count < 2) return undefined;
  const mid = Math.ceil(req.count / 2);
  return [writeRequest(req.actions.slice(0, mid)), writeRequest(req.actions.slice(mid))];
}

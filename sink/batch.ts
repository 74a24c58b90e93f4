// Cuts a partition's write actions into Write API requests (pure). Requests keep
// the records' order: a new request starts whenever the method (add vs delete)
// or the collection changes, or the next document would break the count or byte
// limit. Bytes count the serialized request body, the size Rockset limits.
import { jsonText, type WriteAction } from './record.ts';

export interface WriteRequest {
  method: 'POST' | 'DELETE';
  collection: string;
  actions: WriteAction[];
  /** Size of `body()`, in bytes. */
  bytes: number;
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
  let at = body.write('{"data":[', 0, 'latin1');
  for (let i = 0; i < actions.length; i++) {
    if (i > 0) body[at++] = 0x2c; // ,
    const a = actions[i]!;
    let written: number;
    if (typeof a.json === 'string') {
      written = body.write(a.json, at, 'utf8');
    } else {
      body.set(a.json.head, at);
      written = a.json.head.length + body.write(a.json.tail, at + a.json.head.length, 'utf8');
    }
    // `bytes` is computed where each document is made; should one be off, a torn body must not go out.
    if (written !== a.bytes) return Buffer.from(requestBody(actions));
    at += written;
  }
  body.write(']}', at, 'latin1');
  return body;
}

export function planRequests(actions: readonly WriteAction[], limits: { maxDocuments: number; maxBytes: number }): WriteRequest[] {
  const out: WriteRequest[] = [];
  let current: WriteRequest | undefined;
  for (const a of actions) {
    const method = a.kind === 'upsert' ? 'POST' : 'DELETE';
    const added = a.bytes + (current && current.actions.length > 0 ? 1 : 0);
    if (
      !current ||
      current.method !== method ||
      current.collection !== a.collection ||
      current.actions.length >= limits.maxDocuments ||
      current.bytes + added > limits.maxBytes
    ) {
      current = { method, collection: a.collection, actions: [a], bytes: ENVELOPE + a.bytes };
      out.push(current);
    } else {
      current.actions.push(a);
      current.bytes += added;
    }
  }
  return out;
}

/** Halves a request the server refused as too large; a single document cannot be split. */
export function splitRequest(req: WriteRequest): [WriteRequest, WriteRequest] | undefined {
  if (req.actions.length < 2) return undefined;
  const mid = Math.ceil(req.actions.length / 2);
  const part = (actions: WriteAction[]): WriteRequest => ({ ...req, actions, bytes: Buffer.byteLength(requestBody(actions)) });
  return [part(req.actions.slice(0, mid)), part(req.actions.slice(mid))];
}

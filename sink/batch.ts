// Cuts a partition's write actions into Write API requests (pure). Requests keep
// the records' order: a new request starts whenever the method (add vs delete)
// or the collection changes, or the next document would break the count or byte
// limit. Bytes count the serialized request body, the size Rockset limits.
import type { WriteAction } from './record.ts';

export interface WriteRequest {
  method: 'POST' | 'DELETE';
  collection: string;
  actions: WriteAction[];
  /** Size of `body()`, in bytes. */
  bytes: number;
}

const ENVELOPE = '{"data":[]}'.length;

export function requestBody(actions: readonly WriteAction[]): string {
  return `{"data":[${actions.map((a) => a.json).join(',')}]}`;
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

// The shapes that flow through the data path, independent of kafkajs.

export interface SinkRecord {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit: kept as the decimal string kafkajs gives. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Milliseconds since epoch, as a decimal string (kafkajs's form). */
  timestamp: string;
  /** As kafkajs folds them (a repeated key: an array); null where a producer sent a null value. sink/kafka/headers.ts keeps the wire order. */
  headers: Record<string, Buffer | string | null | (Buffer | string | null)[] | undefined>;
}

/**
 * A document's JSON: its text; its UTF-8 bytes (as a mapping thread sends it back);
 * or the record value's own bytes up to (not including) its closing brace followed
 * by a tail that closes it. The last two keep the document out of the V8 heap until
 * the request body is written: no string copy of it waits there for its request.
 */
export type DocumentJson = string | Uint8Array | { head: Uint8Array; tail: string };

const utf8 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

/** The document's JSON text. */
export function jsonText(json: DocumentJson): string {
  if (typeof json === 'string') return json;
  return json instanceof Uint8Array ? utf8(json) : utf8(json.head) + json.tail;
}

/** One record turned into what the sink must do with it. `bytes` is the UTF-8 size of `json`. */
export type Action =
  | { kind: 'upsert'; offset: string; collection: string; id: string; json: DocumentJson; bytes: number }
  | { kind: 'delete'; offset: string; collection: string; id: string; json: DocumentJson; bytes: number }
  | { kind: 'skip'; offset: string; reason: string }
  | { kind: 'bad'; offset: string; stage: 'decode' | 'map'; errorClass: string; message: string };

export type WriteAction = Extract<Action, { kind: 'upsert' | 'delete' }>;

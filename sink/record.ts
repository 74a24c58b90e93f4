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
 * A document's JSON: its text, or the record value's own bytes up to (not including)
 * its closing brace followed by a tail that closes it. The second form keeps the
 * document in the fetched buffer until the request body is written: no string copy
 * of it lives in the V8 heap while it waits for its request.
 */
export type DocumentJson = string | { head: Uint8Array; tail: string };

/** The document's JSON text. */
export function jsonText(json: DocumentJson): string {
  return typeof json === 'string' ? json : Buffer.from(json.head.buffer, json.head.byteOffset, json.head.byteLength).toString('utf8') + json.tail;
}

/** One record turned into what the sink must do with it. `bytes` is the UTF-8 size of `json`. */
export type Action =
  | { kind: 'upsert'; offset: string; collection: string; id: string; json: DocumentJson; bytes: number }
  | { kind: 'delete'; offset: string; collection: string; id: string; json: string; bytes: number }
  | { kind: 'skip'; offset: string; reason: string }
  | { kind: 'bad'; offset: string; stage: 'decode' | 'map'; errorClass: string; message: string };

export type WriteAction = Extract<Action, { kind: 'upsert' | 'delete' }>;

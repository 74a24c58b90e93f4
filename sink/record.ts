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
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

/** One record turned into what the sink must do with it. */
export type Action =
  | { kind: 'upsert'; offset: string; collection: string; id: string; json: string; bytes: number }
  | { kind: 'delete'; offset: string; collection: string; id: string; json: string; bytes: number }
  | { kind: 'skip'; offset: string; reason: string }
  | { kind: 'bad'; offset: string; stage: 'decode' | 'map'; errorClass: string; message: string };

export type WriteAction = Extract<Action, { kind: 'upsert' | 'delete' }>;

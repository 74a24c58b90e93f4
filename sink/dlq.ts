// Dead letters: the original record (key, value, headers) plus headers that say
// where it came from and why it failed, named as Kafka Connect names them so
// existing tooling and habits carry over. The send is acknowledged by all
// in-sync replicas before the sink commits past the record.
import type { Producer, IHeaders } from 'kafkajs';
import type { DeadLetter } from './pipeline.ts';

export const DLQ_HEADERS = {
  topic: '__connect.errors.topic',
  partition: '__connect.errors.partition',
  offset: '__connect.errors.offset',
  stage: '__connect.errors.stage',
  errorClass: '__connect.errors.exception.class.name',
  message: '__connect.errors.exception.message',
  connector: '__connect.errors.connector.name',
} as const;

export function deadLetterMessage(l: DeadLetter, sinkName: string) {
  const headers: IHeaders = {};
  for (const [k, v] of Object.entries(l.record.headers)) if (v !== undefined) headers[k] = v;
  headers[DLQ_HEADERS.topic] = l.record.topic;
  headers[DLQ_HEADERS.partition] = String(l.record.partition);
  headers[DLQ_HEADERS.offset] = l.record.offset;
  headers[DLQ_HEADERS.stage] = l.stage;
  headers[DLQ_HEADERS.errorClass] = l.errorClass;
  headers[DLQ_HEADERS.message] = l.message;
  headers[DLQ_HEADERS.connector] = sinkName;
  return { key: l.record.key, value: l.record.value, headers, timestamp: l.record.timestamp };
}

export function deadLetterWriter(producer: Producer, topic: string, sinkName: string) {
  return async (letters: DeadLetter[]): Promise<void> => {
    await producer.send({ topic, acks: -1, messages: letters.map((l) => deadLetterMessage(l, sinkName)) });
  };
}

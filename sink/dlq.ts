// Dead letters: the original record (key, value, headers) plus headers that say
// where it came from and why it failed, named as Kafka Connect names them so
// existing tooling and habits carry over. The send is acknowledged by all
// in-sync replicas before the sink commits past the record.
import type { Producer } from 'kafkajs';
import type { DeadLetter } from './pipeline.ts';
import { FatalSinkError } from './errors.ts';
import { headerEntries, headersOf, type HeaderEntry } from './kafka/headers.ts';

export const DLQ_HEADERS = {
  topic: '__connect.errors.topic',
  partition: '__connect.errors.partition',
  offset: '__connect.errors.offset',
  stage: '__connect.errors.stage',
  errorClass: '__connect.errors.exception.class.name',
  message: '__connect.errors.exception.message',
  connector: '__connect.errors.connector.name',
} as const;

const STAMPS = new Set<string>(Object.values(DLQ_HEADERS));

/**
 * The record's own headers as produced (order, repeated keys and null values kept;
 * those named like the error headers are replaced), then the error headers.
 */
export function deadLetterMessage(l: DeadLetter, sinkName: string) {
  const entries: HeaderEntry[] = headerEntries(l.record.headers).filter(([k]) => !STAMPS.has(k));
  entries.push(
    [DLQ_HEADERS.topic, l.record.topic],
    [DLQ_HEADERS.partition, String(l.record.partition)],
    [DLQ_HEADERS.offset, l.record.offset],
    [DLQ_HEADERS.stage, l.stage],
    [DLQ_HEADERS.errorClass, l.errorClass],
    [DLQ_HEADERS.message, l.message],
    [DLQ_HEADERS.connector, sinkName],
  );
  return { key: l.record.key, value: l.record.value, headers: headersOf(entries), timestamp: l.record.timestamp };
}

/**
 * Sends dead letters, after making sure the topic is there: the producer would retry
 * a deleted topic for a minute and the batch would then be fetched and retried for
 * good, the partition stalled while /readyz says ready.
 */
export function deadLetterWriter(producer: Producer, topic: string, sinkName: string, exists: () => Promise<boolean>) {
  const missing = (letters: DeadLetter[]) => {
    const first = letters[0]!.record;
    return new FatalSinkError(
      'DeadLetterTopicMissing',
      `the dead-letter topic "${topic}" (errors.deadLetterTopic) does not exist (deleted?), so the bad record at ${first.topic}/${first.partition}@${first.offset} cannot be set aside; the sink stops without committing past it. Recreate the topic, or set errors.deadLetterTopic to an existing one`,
    );
  };
  return async (letters: DeadLetter[]): Promise<void> => {
    if (!(await exists())) throw missing(letters);
    try {
      await producer.send({ topic, acks: -1, messages: letters.map((l) => deadLetterMessage(l, sinkName)) });
    } catch (err) {
      if (!(await exists().catch(() => true))) throw missing(letters);
      throw err;
    }
  };
}

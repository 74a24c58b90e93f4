// Errors that end the sink. Everything else on the data path is retried.

/** Why the sink stopped, in a word the operator can put into a condition's reason. */
export type FatalReason =
  | 'BadRecord'
  | 'AuthFailed'
  | 'CollectionNotFound'
  | 'WriteRejected'
  | 'RetriesExhausted'
  | 'KafkaFailed'
  | 'TopicNotFound'
  | 'BadResponse'
  | 'TlsFailed'
  | 'DeadLetterTopicMissing';

/** The sink cannot go on without a human: a bad record with errors.tolerance=none, a refused API key, a missing collection. */
export class FatalSinkError extends Error {
  override name = 'FatalSinkError';
  readonly reason: FatalReason;
  constructor(reason: FatalReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** The batch's partition was revoked or the sink is stopping: leave it uncommitted. */
export class BatchAbandoned extends Error {
  override name = 'BatchAbandoned';
}

const MEMBERSHIP_ERRORS = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'FENCED_INSTANCE_ID']);

/** The Kafka error types on an error and its causes: kafkajs wraps the broker's error (retries exhausted, non-retriable) and keeps it as the cause. */
function* kafkaErrorTypes(err: unknown): Generator<string> {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.type === 'string') yield e.type;
  }
}

/**
 * The Kafka error type when this consumer's group membership is gone or changing (a
 * rebalance, or the group expelled it), else undefined. kafkajs wraps some of these
 * (a commit's UNKNOWN_MEMBER_ID arrives as a non-retriable error with the code on its cause).
 */
export function membershipLost(err: unknown): string | undefined {
  for (const type of kafkaErrorTypes(err)) if (MEMBERSHIP_ERRORS.has(type)) return type;
  return undefined;
}

/** The broker says a topic or partition the consumer asked for does not exist (deleted, or not there yet). */
export function topicOrPartitionUnknown(err: unknown): boolean {
  for (const type of kafkaErrorTypes(err)) if (type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
  return false;
}

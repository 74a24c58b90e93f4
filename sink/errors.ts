// Errors that end the sink. Everything else on the data path is retried.

/** Why the sink stopped, in a word the operator can put into a condition's reason. */
export type FatalReason = 'BadRecord' | 'AuthFailed' | 'CollectionNotFound' | 'WriteRejected' | 'RetriesExhausted' | 'KafkaFailed';

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

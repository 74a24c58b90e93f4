// Errors that end the sink. Everything else on the data path is retried.

/** The sink cannot go on without a human: a bad record with errors.tolerance=none, a refused API key, a missing collection. */
export class FatalSinkError extends Error {
  override name = 'FatalSinkError';
}

/** The batch's partition was revoked or the sink is stopping: leave it uncommitted. */
export class BatchAbandoned extends Error {
  override name = 'BatchAbandoned';
}

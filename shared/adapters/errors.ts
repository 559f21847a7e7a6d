/**
 * Failures that belong to the AWS adapters rather than to the domain (STYLE §7): each names what
 * failed so an operator can act on the log line alone.
 */

abstract class AdapterError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The last reason one microbatch could not be sent. */
export interface QueueSendFailure {
  readonly deduplicationId: string;
  /** The SQS error code of a failed entry, or the error name when the whole call threw. */
  readonly code: string;
  readonly message?: string;
  /** True when SQS blamed the request itself: retrying the same entry cannot succeed. */
  readonly senderFault: boolean;
}

/** Some microbatches were still not accepted by SQS after every attempt. */
export class QueueSendError extends AdapterError {
  /** The deduplication ids of the microbatches that were not sent. */
  readonly deduplicationIds: readonly string[];

  constructor(
    readonly failures: readonly QueueSendFailure[],
    attempts: number,
  ) {
    const ids = failures.map((failure) => failure.deduplicationId);
    super(`${failures.length} microbatch(es) not sent after up to ${attempts} attempt(s): ${ids.join(', ')}`, {
      cause: failures.map(({ deduplicationId, code, message }) => ({ deduplicationId, code, message })),
    });
    this.deduplicationIds = ids;
  }
}

/** BatchGetItem kept returning unprocessed keys (throttling) after every retry. */
export class UnprocessedKeysError extends AdapterError {
  constructor(
    readonly tableName: string,
    readonly unprocessed: number,
    attempts: number,
  ) {
    super(`${unprocessed} key(s) of ${tableName} still unprocessed after ${attempts} BatchGetItem attempt(s)`);
  }
}

/** A stored item lacks an attribute or holds one of the wrong type: the table was written by something else. */
export class MalformedItemError extends AdapterError {
  constructor(
    readonly tableName: string,
    readonly attribute: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${tableName}: attribute ${attribute} ${message}`, options);
  }
}

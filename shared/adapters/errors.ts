/**
 * Failures that belong to the AWS adapters rather than to the domain (STYLE §7): each names what
 * failed so an operator can act on the log line alone.
 */
import { MicrobatchSyncError } from '#shared/domain/errors.ts';

/** BatchGetItem kept returning unprocessed keys and reading nothing (throttling), `attempts` times in a row. */
export class UnprocessedKeysError extends MicrobatchSyncError {
  constructor(
    readonly tableName: string,
    readonly unprocessed: number,
    attempts: number,
  ) {
    super(`${unprocessed} key(s) of ${tableName} still unprocessed after ${attempts} BatchGetItem attempt(s) in a row that read nothing`);
  }
}

/** A stored item lacks an attribute or holds one of the wrong type: the table was written by something else. */
export class MalformedItemError extends MicrobatchSyncError {
  constructor(
    readonly tableName: string,
    readonly attribute: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${tableName}: attribute ${attribute} ${message}`, options);
  }
}

/**
 * An AWS call answered without what every real answer carries: no response at all, or a
 * DescribeTable answer without its table. The service never does this; a mocked client that was
 * not told how to answer the command does (aws-sdk-client-mock resolves it to undefined), and
 * without this error the adapter fails on destructuring the answer, naming neither the call nor the table.
 */
export class MissingResponseError extends MicrobatchSyncError {
  constructor(
    readonly operation: string,
    readonly resource: string,
    readonly missing = 'response',
  ) {
    super(`${operation} on ${resource} returned no ${missing}${missing === 'response' ? ` (a mocked client that does not answer ${operation}?)` : ''}`);
  }
}

/** The answer to `operation` on `resource`, or MissingResponseError when there is none. */
export function answered<T>(response: T | undefined, operation: string, resource: string): T {
  if (response === undefined) throw new MissingResponseError(operation, resource);
  return response;
}

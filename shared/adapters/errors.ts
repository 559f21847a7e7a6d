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

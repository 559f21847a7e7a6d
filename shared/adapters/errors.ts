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

/** BatchGetItem kept returning unprocessed keys and reading nothing (throttling), `attempts` times in a row. */
export class UnprocessedKeysError extends AdapterError {
  constructor(
    readonly tableName: string,
    readonly unprocessed: number,
    attempts: number,
  ) {
    super(`${unprocessed} key(s) of ${tableName} still unprocessed after ${attempts} BatchGetItem attempt(s) in a row that read nothing`);
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

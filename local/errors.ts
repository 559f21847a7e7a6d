/**
 * The local runtime's failures that decide the command line's exit code (STYLE, "A command line"):
 * a bad argument is the user's to fix (exit 2), a missing tool is the machine's (exit 3).
 */
import { MicrobatchSyncError } from '#shared/domain/errors.ts';
import { plural } from './counts.ts';

/** An option or argument is invalid; the message names it. */
export class UsageError extends MicrobatchSyncError {}

/** The machine lacks something the emulators need (Java 17+), or an emulator would not start. */
export class EnvironmentError extends MicrobatchSyncError {}

/**
 * An emulator answered one of the runtime's own requests (not a handler's) in a way the run cannot
 * go on from: a batch call with failed entries, a queue without a URL, a message without an id.
 */
export class EmulatorResponseError extends MicrobatchSyncError {
  constructor(
    /** The API call, as in `DeleteMessageBatch`. */
    readonly operation: string,
    /** What was wrong with the answer, as in `failed for 2 records: …`. */
    problem: string,
  ) {
    super(`${operation} ${problem}`);
  }
}

/** A handler kept failing through the retries its caller (a producer, the scheduler) makes; `cause` is the last failure. */
export class HandlerFailedError extends MicrobatchSyncError {
  constructor(
    /** The function, as in `planner`. */
    readonly handler: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(`the ${handler} failed ${plural(attempts, 'time')}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`, { cause });
  }
}

/** The planner refused a tick as stale (a later tick is planned, or the checker closed past it) where a local run expected it planned. */
export class StaleTickError extends MicrobatchSyncError {
  constructor(
    readonly interval: number,
    readonly reason: 'superseded' | 'closed',
  ) {
    super(`the planner did not plan interval ${interval}: ${reason === 'superseded' ? 'a later interval is planned already' : "the checker's window has closed past it"}`);
  }
}

/**
 * One class per failure (STYLE §7). Adapters turn SDK errors into these; handlers map them to outcomes.
 */

/**
 * The base of the project's own error classes: the domain's below, the adapters' (adapters/errors.ts)
 * and the local runtime's (local/errors.ts). `name` is the subclass's own, for logs.
 */
export abstract class MicrobatchSyncError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A configuration value is missing or invalid: `field` names it (a variable, a context key, a
 * setting) and `reason` says what is wrong, so a caller that knows the field by another name can
 * say the same reason under that name.
 */
export class ConfigError extends MicrobatchSyncError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** Input from outside (an event, a request, a message) failed validation; `issues` say where. */
export class ValidationError extends MicrobatchSyncError {
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(issues.length > 0 ? `${message}: ${issues.join('; ')}` : message);
  }
}

/** Another writer moved the log head between our read and our transaction. */
export class HeadMovedError extends MicrobatchSyncError {}

/**
 * DynamoDB cancelled an append's transaction for throttling (`ThrottlingError`,
 * `ProvisionedThroughputExceeded`): nothing was written, and the same append may succeed shortly.
 * The SDK does not retry a cancelled transaction itself.
 */
export class AppendThrottledError extends MicrobatchSyncError {}

/**
 * Another attempt at the same idempotent request committed this chunk first (its marker exists):
 * nothing was written; read the markers again and carry on after it.
 */
export class ChunkCommittedError extends MicrobatchSyncError {}

/** An idempotency key came back with a request it cannot belong to; nothing was appended for it. */
export class IdempotencyConflictError extends MicrobatchSyncError {
  constructor(
    readonly idempotencyKey: string,
    problem: string,
  ) {
    super(`idempotency key ${JSON.stringify(idempotencyKey)} ${problem}`);
  }
}

/** The log still had not accepted an append after every retry. */
export class AppendFailedError extends MicrobatchSyncError {}

/** Log entries a microbatch needs are not (yet) visible: retry the record later. */
export class LogGapError extends MicrobatchSyncError {}

/** The hash chain does not verify: stored data differs from what was appended. */
export class IntegrityError extends MicrobatchSyncError {
  constructor(
    message: string,
    readonly seq: number,
  ) {
    super(message);
  }
}

/** Another delivery kept moving the node's cursor; this one gives up so the record is retried. */
export class CursorRaceError extends MicrobatchSyncError {}

/** A planner run left nodes unclaimed (SQS refused some of their tokens): a retry of the interval finishes it. */
export class PlanIncompleteError extends MicrobatchSyncError {}

/**
 * Runs of one tick kept replacing the interval clock under each other: they cannot disagree that
 * long unless their settings do (two deployments with different intervalSeconds on one stream).
 */
export class ClockContentionError extends MicrobatchSyncError {
  constructor(stream: string, attempts: number) {
    super(`the interval clock of stream ${stream} changed under ${attempts} writes in a row: are two deployments with different intervalSeconds planning it?`);
  }
}

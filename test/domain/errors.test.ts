import { describe, expect, it } from 'vitest';
import { MalformedItemError, UnprocessedKeysError } from '#shared/adapters/errors.ts';
import {
  AppendFailedError,
  AppendThrottledError,
  ChunkCommittedError,
  CursorRaceError,
  HeadMovedError,
  IdempotencyConflictError,
  IntegrityError,
  LogGapError,
  MicrobatchSyncError,
  PlanIncompleteError,
  ValidationError,
} from '#shared/domain/errors.ts';
import { EnvironmentError, UsageError } from '#local/errors.ts';

const CAUSE = new Error('the SDK said no');

/** One of each error of the domain, the adapters and the local runtime, built as their callers build them. */
const ERRORS: readonly (readonly [string, Error])[] = [
  ['ValidationError', new ValidationError('bad request', ['updates.0.key: must not be empty'])],
  ['HeadMovedError', new HeadMovedError('the head moved', { cause: CAUSE })],
  ['AppendThrottledError', new AppendThrottledError('throttled')],
  ['ChunkCommittedError', new ChunkCommittedError('chunk 2 is committed')],
  ['IdempotencyConflictError', new IdempotencyConflictError('batch-1', 'was used for another request')],
  ['AppendFailedError', new AppendFailedError('gave up')],
  ['LogGapError', new LogGapError('entries 3…4 are not visible yet')],
  ['IntegrityError', new IntegrityError('the chain breaks at seq 9', 9)],
  ['CursorRaceError', new CursorRaceError('the cursor kept moving')],
  ['PlanIncompleteError', new PlanIncompleteError('3 nodes unclaimed')],
  ['UnprocessedKeysError', new UnprocessedKeysError('Log', 12, 6)],
  ['MalformedItemError', new MalformedItemError('Replica', 'seq', 'is missing', { cause: CAUSE })],
  ['UsageError', new UsageError('--nodes must be a positive integer')],
  ['EnvironmentError', new EnvironmentError('Java 17 or later is needed')],
];

describe('the errors', () => {
  it.each(ERRORS)('names a %s after its class, for logs', (name, error) => {
    expect(error.name).toBe(name);
    expect(error.constructor.name).toBe(name);
    expect(String(error)).toMatch(new RegExp(`^${name}: `));
  });

  it.each(ERRORS)('makes a %s an instance of the one base class and of Error', (_, error) => {
    expect(error).toBeInstanceOf(MicrobatchSyncError);
    expect(error).toBeInstanceOf(Error);
  });

  it('keeps the cause it was given', () => {
    expect(new HeadMovedError('the head moved', { cause: CAUSE }).cause).toBe(CAUSE);
    expect(new MalformedItemError('Replica', 'seq', 'is missing', { cause: CAUSE }).cause).toBe(CAUSE);
  });

  it('keeps the structure of each failure in its message and fields', () => {
    const malformed = new MalformedItemError('Replica', 'seq', 'is missing');
    expect([malformed.message, malformed.tableName, malformed.attribute]).toEqual(['Replica: attribute seq is missing', 'Replica', 'seq']);
    const unprocessed = new UnprocessedKeysError('Log', 12, 6);
    expect([unprocessed.tableName, unprocessed.unprocessed]).toEqual(['Log', 12]);
    expect(new ValidationError('bad request', ['a', 'b']).message).toBe('bad request: a; b');
  });
});

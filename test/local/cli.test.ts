/**
 * Where the command line's failures end: the exit code and the line on stderr of each kind of error.
 * (The child-process tests in test/integration/cli.test.ts run the whole command.)
 */
import { describe, expect, it } from 'vitest';
import { EXIT, failureOutcome } from '#local/entry-point.ts';
import { EmulatorResponseError, EnvironmentError, HandlerFailedError, UsageError } from '#local/errors.ts';

describe('failureOutcome', () => {
  it('exits 2 with the message alone for a bad argument', () => {
    expect(failureOutcome(new UsageError('--nodes 3 disagrees with the 2 rates of --rates'))).toEqual({
      code: EXIT.usage,
      message: '--nodes 3 disagrees with the 2 rates of --rates',
    });
  });

  it('exits 3 with the message alone when the machine lacks Java', () => {
    expect(failureOutcome(new EnvironmentError('java was not found.'))).toEqual({ code: EXIT.environment, message: 'java was not found.' });
  });

  it('fails the run with the stack when a handler kept failing, naming the handler and its last failure', () => {
    // Prepare
    const error = new HandlerFailedError('planner', 3, new Error('socket hang up'));

    // Act
    const outcome = failureOutcome(error);

    // Assess
    expect(outcome.code).toBe(EXIT.failed);
    expect(outcome.message).toMatch(/^the run failed: HandlerFailedError: the planner failed 3 times: Error: socket hang up\n\s+at /);
    expect(error).toMatchObject({ handler: 'planner', attempts: 3 });
  });

  it('fails the run when an emulator answered what the run cannot use, and when anything else went wrong', () => {
    expect(failureOutcome(new EmulatorResponseError('CreateQueue', 'returned no URL for q.fifo'))).toMatchObject({
      code: EXIT.failed,
      message: expect.stringMatching(/^the run failed: EmulatorResponseError: CreateQueue returned no URL for q\.fifo/) as unknown,
    });
    expect(failureOutcome('a string')).toEqual({ code: EXIT.failed, message: 'the run failed: a string' });
  });
});

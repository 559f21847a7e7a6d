/** What a validating parser threw, for the tests that read its issues. */
import { ValidationError } from '#shared/domain/errors.ts';

/** The ValidationError `act` throws; any other error propagates, and throwing nothing fails. */
export function validationErrorOf(act: () => unknown): ValidationError {
  try {
    act();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError, but nothing was thrown');
}

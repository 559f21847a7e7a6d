/**
 * How every command of this project runs as a process (`npm start`, `npm run bench`, the bench's
 * retry part, `npx microbatch`): `main` returns the exit code, a thrown error becomes a message on
 * stderr and the code `failure` gives it, and the process exits once stdout has flushed — a piped
 * `--json` must arrive whole.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EnvironmentError, UsageError } from './errors.ts';

/** Exit codes: 0 done, 1 a failure (or a difference found), 2 bad input, 3 the machine lacks something. */
export const EXIT = { ok: 0, failed: 1, usage: 2, environment: 3 } as const;

export interface Failure {
  readonly code: number;
  readonly message: string;
}

/** An error as one line of text, with its stack when it has one. */
export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Runs `main` with the process's arguments and exits with its code. */
export async function runProcess(main: (argv: readonly string[]) => Promise<number>, failure: (error: unknown) => Failure): Promise<void> {
  let code: number;
  try {
    code = await main(process.argv.slice(2));
  } catch (error) {
    const { code: failed, message } = failure(error);
    process.stderr.write(`error: ${message}\n`);
    code = failed;
  }
  process.stdout.write('', () => process.exit(code));
}

/** Whether the module at `moduleUrl` is the script the process was started with (not an import). */
export function isEntryPoint(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(resolve(process.argv[1])).href;
}

/**
 * The one place a failure becomes an exit code and a line for stderr: a bad argument exits 2, a
 * machine without what the emulators need exits 3, and anything else — a handler that kept failing
 * (HandlerFailedError), an emulator's unusable answer (EmulatorResponseError), a bug — fails (1) with its
 * stack: "<what> failed: …".
 */
export function failureOutcome(error: unknown, what = 'the run'): Failure {
  if (error instanceof UsageError) return { code: EXIT.usage, message: error.message };
  if (error instanceof EnvironmentError) return { code: EXIT.environment, message: error.message };
  return { code: EXIT.failed, message: `${what} failed: ${describeError(error)}` };
}

/**
 * Entry point of `npx microbatch` (package.json `bin`, through `bin.js`). Exit codes: 0 done, 1 a
 * failure or a difference found (audit), 2 bad input (nothing changed), 3 the machine lacks
 * something (Java for `up`).
 */
import { CommanderError } from 'commander';
import { EXIT, failureOutcome } from '#local/entry-point.ts';
import { COMMANDS } from './commands/index.ts';
import { buildProgram } from './program.ts';

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram(COMMANDS);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const failure = failureOutcome(error);
    process.stderr.write(`error: ${failure.message}\n`);
    return failure.code;
  }
}

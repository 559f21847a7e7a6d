/**
 * The question before a command deletes what cannot be brought back (`dlq purge`, `nodes reset`):
 * asked on a terminal, skipped with `--yes`, and refused — exit 2, nothing done — where no one can
 * answer it (no terminal on stdin, or `--json`, whose stdout a program reads).
 */
import { createInterface } from 'node:readline/promises';
import { UsageError } from '#local/errors.ts';

/** Asks `question` on stderr; true for y or yes. */
async function ask(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

/**
 * Whether to go on: at once with `yes`, else the answer to `question` (`[y/N]` is added).
 * @throws UsageError with `refusal` when it cannot ask.
 */
export async function confirmed(options: { readonly yes: boolean; readonly json: boolean }, question: string, refusal: string): Promise<boolean> {
  if (options.yes) return true;
  if (!process.stdin.isTTY || options.json) throw new UsageError(refusal);
  return ask(`${question}\n[y/N] `);
}

/** `microbatch status [--watch [seconds]]`: convergence, queue depths and alarms. */
import { InvalidArgumentError, type Command } from 'commander';
import type { CommandContext, RegisterCommand } from '../program.ts';
import { formatStatus } from '../status/format-status.ts';
import { readStatus } from '../status/read-status.ts';
import { repeatUntilAborted } from '../status/watch.ts';
import { stopRequests } from '../stop-requests.ts';

function positiveWholeNumber(text: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return value;
}

export const registerStatus: RegisterCommand = (program: Command, context: CommandContext) => {
  program
    .command('status')
    .description('the newest convergence records (each interval with its start, UTC), the queue and dead-letter queue depths, and the alarms in ALARM')
    .option('--limit <n>', 'convergence records to show (default 10)', positiveWholeNumber, 10)
    .option('--watch [seconds]', 'refresh every N seconds (default 5) until Ctrl-C', positiveWholeNumber)
    .action(async (options: { limit: number; watch?: number | true }) => {
      const deployment = await context.deployment();
      const output = context.output();
      const show = async (): Promise<void> => {
        const report = await readStatus(deployment, { limit: options.limit });
        output.result(report, (value) => (options.watch === undefined ? formatStatus(value) : `── ${new Date().toISOString()}\n${formatStatus(value)}`));
      };
      if (options.watch === undefined) {
        await show();
        return;
      }
      // Until Ctrl-C, or until the reader of its output has gone (`status --watch | head`): exit 0 then, quietly.
      const stop = stopRequests();
      await repeatUntilAborted(show, (options.watch === true ? 5 : options.watch) * 1000, stop.signal);
    });
};

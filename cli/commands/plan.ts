/** `microbatch plan --dry-run`: what the planner would send at the next tick, per node. */
import type { Command } from 'commander';
import { UsageError } from '#local/errors.ts';
import { deploymentSettings, dryRunPlan } from '../plan/dry-run.ts';
import { formatDryRun } from '../plan/format-dry-run.ts';
import type { CommandContext, RegisterCommand } from '../program.ts';

export const registerPlan: RegisterCommand = (program: Command, context: CommandContext) => {
  program
    .command('plan')
    .description('with --dry-run: what the planner would send at the next tick, per node (q_i, b_i tokens, target, resend; paused and idle nodes as skipped, with why), without sending or claiming')
    .option('--dry-run', 'show the plan; send and claim nothing')
    .action(async (options: { dryRun?: boolean }) => {
      if (options.dryRun !== true) {
        throw new UsageError('plan runs only with --dry-run: the schedule plans every interval (EventBridge Scheduler, or `microbatch up` locally); a second planner would only race it');
      }
      const deployment = await context.deployment();
      const run = await dryRunPlan(deployment, await deploymentSettings(deployment));
      context.output().result(run, formatDryRun);
    });
};

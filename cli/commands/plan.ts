/** `microbatch plan --dry-run`: what the planner would send at the next tick, per node. */
import type { Command } from 'commander';
import { UsageError } from '#local/errors.ts';
import { plural } from '#local/report/format.ts';
import { deploymentSettings, dryRunPlan, type DryRun } from '../plan/dry-run.ts';
import { table } from '../output.ts';
import type { CommandContext, RegisterCommand } from '../program.ts';

/** The skipped nodes of the totals line, by reason: `; skipped 3 nodes (1 paused, 2 caught-up)`, or nothing. */
function skippedClause(totals: DryRun['totals']): string {
  if (totals.nodesSkipped === 0) return '';
  const reasons = Object.entries(totals.skipped).map(([reason, count]) => `${count} ${reason}`);
  return `; skipped ${plural(totals.nodesSkipped, 'node')} (${reasons.join(', ')})`;
}

function describeDryRun(run: DryRun): string {
  const { settings, totals } = run;
  const rows = run.nodes.map((node) => [
    node.nodeId,
    node.rate,
    node.appliedSeq,
    node.plannedSeq,
    node.skipped ? `skipped: ${node.decision}` : node.decision,
    node.updates,
    node.microbatches,
    node.target ?? '',
    node.resend ? 'yes' : 'no',
  ]);
  return [
    `interval ${run.interval} (tick at ${run.scheduledTime}), stream ${run.stream}, head ${run.head}; t = ${settings.intervalSeconds} s, b = ${settings.batchSize}`,
    run.nodes.length === 0 ? 'no nodes' : table(['node', 'rate /s', 'cursor', 'planned', 'decision', 'q_i', 'b_i tokens', 'target', 'resend'], rows),
    `would send ${totals.microbatches} microbatches to ${totals.nodesPlanned} nodes (${totals.updatesPlanned} new updates, ${totals.resends} resends)${skippedClause(totals)}; nothing was sent or claimed`,
    ...run.rejected.map((item) => `${item.nodeId}: NOT A VALID NODE (skipped): ${item.attribute} ${item.problem}`),
  ].join('\n');
}

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
      context.output().result(run, describeDryRun);
    });
};

/** `microbatch plan --dry-run` for a person: the settings, a row per node, the totals. */
import { plural } from '#local/counts.ts';
import { table } from '../output.ts';
import type { DryRun } from './dry-run.ts';

/** The skipped nodes of the totals line, by reason: `; skipped 3 nodes (1 paused, 2 caught-up)`, or nothing. */
function skippedClause(totals: DryRun['totals']): string {
  if (totals.nodesSkipped === 0) return '';
  const reasons = Object.entries(totals.skipped).map(([reason, count]) => `${count} ${reason}`);
  return `; skipped ${plural(totals.nodesSkipped, 'node')} (${reasons.join(', ')})`;
}

export function formatDryRun(run: DryRun): string {
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
    `would send ${plural(totals.microbatches, 'microbatch', 'microbatches')} to ${plural(totals.nodesPlanned, 'node')} (${plural(totals.updatesPlanned, 'new update')}, ${plural(totals.resends, 'resend')})${skippedClause(totals)}; nothing was sent or claimed`,
    ...run.rejected.map((item) => `${item.nodeId}: NOT A VALID NODE (skipped): ${item.attribute} ${item.problem}`),
  ].join('\n');
}

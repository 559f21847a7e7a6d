/** `microbatch nodes reset ID [--yes]`: the command line of {@link resetNode}, with its question, progress bar and result. */
import type { Command } from 'commander';
import { plural } from '#local/counts.ts';
import { confirmed } from '../confirm.ts';
import type { CommandContext } from '../program.ts';
import { progressBar } from '../progress.ts';
import { nodeToReset, resetNode, type NodeReset } from './reset.ts';

function describeReset(reset: NodeReset): string {
  const when = reset.skipsInterval === undefined ? 'at the next tick' : `from interval ${reset.skipsInterval + 1} (it skips interval ${reset.skipsInterval}, whose plan record is its earlier life's)`;
  return [
    `reset ${reset.nodeId}: deleted ${plural(reset.replicaItemsDeleted, 'Replica item')}; cursor ${reset.previousAppliedSeq} → 0 (genesis chain), no plan`,
    reset.status === 'paused' ? `${reset.nodeId} stays paused: \`nodes resume ${reset.nodeId}\` to replay the log into it from seq 1` : `the planner plans it from seq 1 ${when}`,
  ].join('\n');
}

export function registerNodesReset(nodes: Command, context: CommandContext): void {
  nodes
    .command('reset')
    .description("rebuild a node from the log: delete its Replica items, set its cursor back to 0 and clear its plan (rate and status kept); asks first (--yes to skip)")
    .argument('<nodeId>')
    .option('--yes', 'reset without asking', false)
    .action(async (nodeId: string, options: { readonly yes: boolean }) => {
      const deployment = await context.deployment();
      const output = context.output();
      const node = await nodeToReset(deployment, nodeId);
      const go = await confirmed(
        { yes: options.yes, json: output.json },
        `reset ${nodeId}: delete all its Replica items and replay the log into it from seq 1 (its cursor ${node.appliedSeq} goes back to 0)?`,
        `resetting ${nodeId} deletes all its Replica items: add --yes to reset it without a question; nothing was changed`,
      );
      if (!go) {
        output.result({ nodeId, reset: false }, () => 'nothing reset');
        return;
      }
      const bar = progressBar(0, 'Replica items deleted', { json: output.json });
      let deleted = 0;
      try {
        const reset = await resetNode(deployment, node, {
          onProgress: (total, found) => {
            bar.grow(found);
            bar.advance(total - deleted, nodeId);
            deleted = total;
          },
        });
        bar.stop();
        output.result(reset, describeReset);
      } finally {
        bar.stop();
      }
    });
}

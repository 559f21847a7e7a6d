/** `microbatch audit [--node ID]`: each node's Replica items against the replay of the log up to its cursor; exit 1 on a difference. */
import { InvalidArgumentError, type Command } from 'commander';
import { EXIT } from '#local/entry-point.ts';
import { auditDeployment, auditFailed, auditTargetsOf, formatAudit } from '../audit.ts';
import type { CommandContext } from '../program.ts';
import { progressBar } from '../progress.ts';

function exampleCount(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 1000) throw new InvalidArgumentError('--examples must be a whole number from 0 to 1000.');
  return value;
}

export function registerAudit(program: Command, context: CommandContext): void {
  program
    .command('audit')
    .description("compare each node's Replica items with a replay of the log up to its cursor, item by item; exit 1 on a difference")
    .option('--node <id>', 'audit this node only (default: every node, paused ones included)')
    .option('--examples <n>', 'differences to show in full', exampleCount, 10)
    .action(async (options: { readonly node?: string; readonly examples: number }) => {
      const deployment = await context.deployment();
      const output = context.output();
      const { targets, rejected } = await auditTargetsOf(deployment, options.node);
      for (const line of rejected) output.note(`skipped a Nodes item that is not a valid node: ${line}`);
      const furthest = Math.max(0, ...targets.map((target) => target.appliedSeq));
      const bar = progressBar(furthest, 'log seqs + replica items', { json: output.json });
      let total = furthest;
      try {
        const audit = await auditDeployment(deployment, targets, {
          maxExamples: options.examples,
          onProgress: (progress) => {
            if (progress.kind === 'log') {
              bar.advance(progress.seqs, 'replaying the log');
            } else {
              total += progress.items;
              bar.grow(total);
              bar.advance(progress.items, progress.nodeId);
            }
          },
        });
        bar.stop();
        output.result(audit, formatAudit);
        if (auditFailed(audit)) process.exitCode = EXIT.failed;
      } finally {
        bar.stop();
      }
    });
}

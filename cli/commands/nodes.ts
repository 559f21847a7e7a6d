/** `microbatch nodes add|list|pause|resume|set-rate|remove`: the Nodes table, validated. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import type { NodeStatus } from '#shared/domain/types.ts';
import type { Deployment } from '../deployment.ts';
import { addNode, changeNode, listNodes, removeNode, type NodeListing } from '../nodes/node-admin.ts';
import { registerNodesReset } from '../nodes/reset-command.ts';
import { table } from '../output.ts';
import type { CommandContext, RegisterCommand } from '../program.ts';
import { deploymentPlans } from '../plans.ts';

/** r_i from the command line: a positive number of updates per second. */
export function parseRate(text: string): number {
  const rate = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(rate) || rate <= 0) throw new InvalidArgumentError('must be a positive number of updates per second');
  return rate;
}

function repository(deployment: Deployment): DynamoNodeRepository {
  return new DynamoNodeRepository(deployment.clients.document, deployment.resources.nodesTable);
}

function describeListing(listing: NodeListing): string {
  const rows = listing.nodes.map((node) => [node.nodeId, node.status, node.rate, node.appliedSeq, node.lag, node.plannedSeq, node.appliedAt ?? 'never']);
  const lines = [`stream ${listing.stream}, head ${listing.head}`, table(['node', 'status', 'rate /s', 'cursor', 'lag', 'planned', 'last applied'], rows)];
  if (listing.nodes.length === 0) lines.push('no nodes: add one with `npx microbatch nodes add ID --rate R`');
  // Items written by hand that the planner and checker skip: say so where a person looks.
  for (const item of listing.rejected) lines.push(`${item.nodeId}: NOT A VALID NODE (skipped by the planner and checker): ${item.attribute} ${item.problem}`);
  return lines.join('\n');
}

export const registerNodes: RegisterCommand = (program: Command, context: CommandContext) => {
  const nodes = program.command('nodes').description('register, list, pause, resume, re-rate or remove the nodes');
  const done = (value: Record<string, unknown>, line: string): void => {
    context.output().result(value, () => line);
  };

  nodes
    .command('add')
    .description('add a node with empty cursors (it gets microbatches from the next interval)')
    .argument('<nodeId>', 'the node id: what SQS accepts as a message group id (1–64 letters, digits or ASCII punctuation, no spaces)')
    .requiredOption('--rate <updatesPerSecond>', 'r_i: updates per second the node absorbs', parseRate)
    .addOption(new Option('--paused', 'add it paused (no microbatches until `nodes resume`)'))
    .action(async (nodeId: string, options: { rate: number; paused?: boolean }) => {
      const status: NodeStatus = options.paused === true ? 'paused' : 'active';
      await addNode(repository(await context.deployment()), { nodeId, rate: options.rate, status });
      done({ nodeId, rate: options.rate, status }, `added ${nodeId}: rate ${options.rate}/s, ${status}`);
    });

  nodes
    .command('list')
    .description('every node with its cursor, lag behind the head, status, rate and last applied time')
    .action(async () => {
      const deployment = await context.deployment();
      const listing = await listNodes(repository(deployment), new DynamoLogStore(deployment.clients.document, deployment.resources.logTable), deployment.stream, await deploymentPlans(deployment));
      context.output().result(listing, describeListing);
    });

  for (const [name, status, what] of [
    ['pause', 'paused', 'stop planning microbatches for a node (its cursor stays; tokens already queued are acknowledged unapplied)'],
    ['resume', 'active', 'plan microbatches for a paused node again, from its cursor'],
  ] as const) {
    nodes
      .command(name)
      .description(what)
      .argument('<nodeId>')
      .action(async (nodeId: string) => {
        await changeNode(repository(await context.deployment()), nodeId, { status });
        done({ nodeId, status }, `${nodeId}: ${status}`);
      });
  }

  nodes
    .command('set-rate')
    .description("change a node's rate r_i (from the next interval's plan)")
    .argument('<nodeId>')
    .argument('<updatesPerSecond>', 'r_i', parseRate)
    .action(async (nodeId: string, rate: number) => {
      await changeNode(repository(await context.deployment()), nodeId, { rate });
      done({ nodeId, rate }, `${nodeId}: rate ${rate}/s`);
    });

  nodes
    .command('remove')
    .description("delete a node's Nodes item: no more microbatches, no longer judged. Its Replica items stay.")
    .argument('<nodeId>')
    .action(async (nodeId: string) => {
      await removeNode(repository(await context.deployment()), nodeId);
      done({ nodeId, removed: true, replicaItemsKept: true }, `removed ${nodeId} (its Replica items stay in the Replica table)`);
    });

  registerNodesReset(nodes, context);
};

/** `microbatch nodes add|list|get|pause|resume|set-rate|remove`: the Nodes table, validated. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DynamoLogStore } from '#shared/adapters/dynamodb/log-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import type { NodeStatus } from '#shared/domain/types.ts';
import type { Deployment } from '../deployment.ts';
import { addNode, changeNode, checkNodeId, listNodes, removeNode, type NodeListing } from '../nodes/node-admin.ts';
import { getNode, type NodeDetail } from '../nodes/node-detail.ts';
import { registerNodesReset } from '../nodes/reset-command.ts';
import { table } from '../output.ts';
import type { CommandContext, RegisterCommand } from '../program.ts';
import { deploymentSettings } from '../plan/dry-run.ts';
import { deploymentPlans } from '../plans.ts';

/** r_i from the command line: a positive number of updates per second. */
export function parseRate(text: string): number {
  const rate = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(rate) || rate <= 0) throw new InvalidArgumentError('must be a positive number of updates per second');
  return rate;
}

/** An ingest rate assumed to go on: a number of updates per second, 0 or more. */
function parseIngestRate(text: string): number {
  const rate = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(rate) || rate < 0) throw new InvalidArgumentError('must be a number ≥ 0 of updates per second');
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

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** "1 interval", "5 intervals". */
const intervals = (count: number): string => `${NUMBER.format(count)} interval${count === 1 ? '' : 's'}`;

function catchUpLine(detail: NodeDetail): string {
  const { catchUp, sharePerInterval: share } = detail;
  if (detail.lag === 0) return 'catch-up: none needed: it holds the head';
  const paused = detail.status === 'paused' ? `; paused: nothing is planned for it until \`nodes resume ${detail.nodeId}\`` : '';
  if (catchUp.intervals === null || catchUp.seconds === null) {
    const ingest = NUMBER.format(catchUp.ingestPerInterval ?? 0);
    return `catch-up: never while ingest continues: its share of ${share} does not exceed the ${ingest} ingested per interval (${NUMBER.format(catchUp.ingestRate ?? 0)}/s); raise its rate (nodes set-rate ${detail.nodeId} R)${paused}`;
  }
  const estimate = `≈ ${intervals(catchUp.intervals)} (${NUMBER.format(catchUp.seconds)} s)`;
  if (catchUp.ingestRate === null || catchUp.ingestPerInterval === null) {
    return `catch-up: ${estimate} at ${share} a interval, if nothing more is ingested (--ingest-rate R: as if ingest goes on at R/s)${paused}`;
  }
  const gain = NUMBER.format(share - catchUp.ingestPerInterval);
  return `catch-up: ${estimate}: it gains ${share} − ${NUMBER.format(catchUp.ingestPerInterval)} = ${gain} a interval under ${NUMBER.format(catchUp.ingestRate)}/s of ingest${paused}`;
}

/** `nodes get` for a person: the node, its cursor against the head, the catch-up estimate. */
export function describeNode(detail: NodeDetail): string {
  return [
    `node ${detail.nodeId} (stream ${detail.stream}): ${detail.status}, rate ${detail.rate}/s: share ceil(r·t) = ${detail.sharePerInterval} updates per interval at t = ${detail.intervalSeconds} s`,
    `cursor (appliedSeq) ${detail.appliedSeq}, planned (plannedSeq) ${detail.plannedSeq}, head ${detail.head}: lag ${detail.lag} updates`,
    `last applied ${detail.appliedAt ?? 'never'}`,
    catchUpLine(detail),
  ].join('\n');
}

export const registerNodes: RegisterCommand = (program: Command, context: CommandContext) => {
  const nodes = program.command('nodes').description('register, list, show one, pause, resume, re-rate, reset (rebuild from the log) or remove the nodes');
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

  nodes
    .command('get')
    .description('one node: rate, status, cursor, plan, lag behind the head, and how long it needs to catch up at the deployment\'s t')
    .argument('<nodeId>')
    .addOption(new Option('--ingest-rate <updatesPerSecond>', 'estimate the catch-up as if updates keep arriving at this rate (default: none arrive)').argParser(parseIngestRate))
    .action(async (nodeId: string, options: { ingestRate?: number }) => {
      checkNodeId(nodeId);
      const deployment = await context.deployment();
      const detail = await getNode(nodeId, {
        nodes: repository(deployment),
        log: new DynamoLogStore(deployment.clients.document, deployment.resources.logTable),
        stream: deployment.stream,
        plans: () => deploymentPlans(deployment),
        intervalSeconds: (await deploymentSettings(deployment)).intervalSeconds,
        ...(options.ingestRate === undefined ? {} : { ingestRate: options.ingestRate }),
      });
      context.output().result(detail, describeNode);
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

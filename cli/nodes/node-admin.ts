/**
 * What `microbatch nodes` does to the Nodes table, validated before anything is written: the one
 * node-id rule and a positive rate, else a UsageError (exit 2) and nothing changed.
 */
import type { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { validateRate } from '#shared/domain/config.ts';
import { ConfigError, ValidationError } from '#shared/domain/errors.ts';
import { NODE_ID_PATTERN, NODE_ID_RULE } from '#shared/domain/identifiers.ts';
import type { RejectedNode } from '#shared/domain/node.ts';
import type { LogReader } from '#shared/domain/ports.ts';
import { withPlanHistory, type PlanHistory } from '#shared/domain/segment-plan.ts';
import type { NodeState, NodeStatus } from '#shared/domain/types.ts';
import { registerNode } from '#shared/usecases/register-node.ts';
import { UsageError } from '#local/errors.ts';

export type NodeAdminRepository = Pick<DynamoNodeRepository, 'get' | 'register' | 'change' | 'remove' | 'scanAll'>;

/** One line of `nodes list`. */
export interface NodeRow {
  readonly nodeId: string;
  readonly status: NodeStatus;
  readonly rate: number;
  /** The cursor: the last seq the node applied. */
  readonly appliedSeq: number;
  /** head − appliedSeq. */
  readonly lag: number;
  readonly plannedSeq: number;
  readonly appliedAt?: string;
}

export interface NodeListing {
  readonly stream: string;
  readonly head: number;
  readonly nodes: readonly NodeRow[];
  /** Items that are not valid nodes: the planner and checker skip them. */
  readonly rejected: readonly RejectedNode[];
}

/** The domain's validation errors are the user's to fix: exit 2. */
async function asUsage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ValidationError || error instanceof ConfigError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

/** The one node-id rule, checked before any table is read: a UsageError naming the rule. */
export function checkNodeId(nodeId: string): void {
  if (!NODE_ID_PATTERN.test(nodeId)) throw new UsageError(`node id ${JSON.stringify(nodeId)}: must be ${NODE_ID_RULE}`);
}

function checkRate(rate: number): void {
  try {
    validateRate(rate);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

/** Creates a node with empty cursors; an existing node is refused (change it with set-rate, pause, resume). */
export async function addNode(nodes: NodeAdminRepository, input: { readonly nodeId: string; readonly rate: number; readonly status?: NodeStatus }): Promise<void> {
  checkNodeId(input.nodeId);
  checkRate(input.rate);
  if ((await nodes.get(input.nodeId)) !== undefined) throw new UsageError(`node ${input.nodeId} exists: change it with \`nodes set-rate\`, \`nodes pause\` or \`nodes resume\``);
  await asUsage(() => registerNode({ nodeId: input.nodeId, rate: input.rate, ...(input.status === undefined ? {} : { status: input.status }) }, { nodes }));
}

/** Sets the rate or status of an existing node, its cursors untouched. */
export async function changeNode(nodes: NodeAdminRepository, nodeId: string, changes: { readonly rate?: number; readonly status?: NodeStatus }): Promise<void> {
  checkNodeId(nodeId);
  if (changes.rate !== undefined) checkRate(changes.rate);
  if (!(await nodes.change(nodeId, changes))) throw new UsageError(`no node ${nodeId}: add it with \`nodes add ${nodeId} --rate R\``);
}

/**
 * Deletes the node's Nodes item: the planner stops sending it microbatches and the checker stops
 * counting it. Its Replica items stay — the data is the node's, and a node added again under the
 * same id replays the log from seq 1 over them (the applier's seq guard keeps newer items).
 */
export async function removeNode(nodes: NodeAdminRepository, nodeId: string): Promise<void> {
  checkNodeId(nodeId);
  if (!(await nodes.remove(nodeId))) throw new UsageError(`no node ${nodeId}`);
}

/** A node's line: its cursor, its lag behind `head`, and its plan (its segment's record, else its item). */
export function nodeRow(node: NodeState, head: number, plan: PlanHistory | undefined): NodeRow {
  return {
    nodeId: node.nodeId,
    status: node.status,
    rate: node.rate,
    appliedSeq: node.appliedSeq,
    lag: Math.max(0, head - node.appliedSeq),
    plannedSeq: withPlanHistory(node, plan).plannedSeq,
    ...(node.appliedAt === undefined ? {} : { appliedAt: node.appliedAt }),
  };
}

/** Every node (paused ones too) with its cursor, lag behind the log's head and plan (its segment's record, else its item), by id. */
export async function listNodes(nodes: NodeAdminRepository, log: LogReader, stream: string, plans: ReadonlyMap<string, PlanHistory> = new Map()): Promise<NodeListing> {
  const { head } = await log.readHead(stream);
  const rows: NodeRow[] = [];
  const rejected: RejectedNode[] = [];
  for await (const page of nodes.scanAll()) {
    for (const node of page.nodes) rows.push(nodeRow(node, head, plans.get(node.nodeId)));
    rejected.push(...page.rejected);
  }
  rows.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  return { stream, head, nodes: rows, rejected };
}

/**
 * `microbatch nodes reset ID`: rebuilds a node's replica from the log. It deletes the node's Replica
 * items, then puts its Nodes item back as `nodes add` writes a new one — cursor 0 on the genesis
 * chain, no plan — keeping its rate and status, so the planner plans it from seq 1 and the applier
 * replays the whole log into an empty table.
 *
 * Why delete at all: the applier's seq guard keeps an item whose seq is at least the replayed one, so
 * a value edited by hand (seq kept) or a key the log never wrote would survive a replay. Why delete
 * before the cursor moves: while the items go the cursor stands where it was, so an active node's
 * applier only writes log entries past it — genuine items, which the replay's later writes of the
 * same keys replace (until the replay passes their seqs an audit shows them as ahead); once the
 * cursor is 0, nothing deletes an item the replay wrote.
 *
 * The plan: the planner reads a node's plan from its segment's newest plan record, unless the record
 * belongs to an earlier life of the node (its stall clock saw a cursor above the node's:
 * `withPlanHistory`), which is the case for every node the planner ever saw move. A node it never saw
 * move (its first plan took the whole log, nothing new since) has a record the reset cursor cannot
 * tell from its own: the planner would wait for that plan's tokens (`awaiting-outstanding`) until it
 * is `staleAfterIntervals` old. For such a node the reset also marks the item planned for the tick
 * after the newest planned one, so that tick skips it (`already-planned`) and carries the item's
 * empty plan into the record, and the tick after plans it from 0. (A tick planned between the reading
 * of the newest header and the write of the item leaves it to the planner's stall clock: at most
 * `staleAfterIntervals` intervals.)
 */
import { BatchWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import { fullJitterDelay, realSleep, type Sleep } from '#shared/adapters/backoff.ts';
import { DynamoConvergenceStore } from '#shared/adapters/dynamodb/convergence-store.ts';
import { DynamoNodeRepository } from '#shared/adapters/dynamodb/node-repository.ts';
import { isConditionFailed, queryPages } from '#shared/adapters/dynamodb/items.ts';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { NODE_ID_PATTERN, NODE_ID_RULE } from '#shared/domain/identifiers.ts';
import { withPlanHistory, type PlanHistory } from '#shared/domain/segment-plan.ts';
import type { NodeState, NodeStatus } from '#shared/domain/types.ts';
import { plural } from '#local/counts.ts';
import { UsageError } from '#local/errors.ts';
import type { Deployment } from '../deployment.ts';
import { deploymentPlans } from '../plans.ts';

/** Deletes per BatchWriteItem call: the API's limit. */
export const DELETES_PER_CALL = 25;

/** What a reset did. */
export interface NodeReset {
  readonly nodeId: string;
  readonly status: NodeStatus;
  /** The cursor before the reset; it is 0 after. */
  readonly previousAppliedSeq: number;
  readonly replicaItemsDeleted: number;
  readonly batchWriteCalls: number;
  /** Deletes DynamoDB returned unprocessed and that were sent again. */
  readonly deletesRetried: number;
  /**
   * The interval the planner skips the node at (`already-planned`), when its newest plan record would
   * otherwise stand for the reset node; absent when the next tick plans it from 0.
   */
  readonly skipsInterval?: number;
}

export interface ResetOptions {
  /** Told the running count of deleted items and of items found so far, after each call. */
  readonly onProgress?: (deleted: number, found: number) => void;
  /** BatchWriteItem calls in flight at once (default 4: every delete lands on the node's one partition). */
  readonly concurrency?: number;
  /** Calls per batch before its unprocessed deletes are given up (default 8). */
  readonly maxAttempts?: number;
  readonly sleep?: Sleep;
  readonly random?: () => number;
}

/** Deletes that stayed unprocessed through every retry: the reset stopped before the cursor was moved. */
export class ReplicaDeleteError extends Error {
  constructor(
    readonly nodeId: string,
    readonly remaining: number,
    attempts: number,
  ) {
    super(
      `${plural(remaining, 'Replica item')} of ${nodeId} still undeleted after ${plural(attempts, 'BatchWriteItem call')}; ` +
        'its cursor was not moved: run `nodes reset` again',
    );
    this.name = new.target.name;
  }
}

/**
 * The plan fields of the reset item: none, or — when the node's newest plan record would be taken
 * for its plan (see the module's comment) — `plannedInterval` set to the interval after the newest
 * planned one, which makes the item's plan newer than the record.
 */
export function resetPlanInterval(node: NodeState, history: PlanHistory | undefined, newestPlannedInterval: number | undefined): number | undefined {
  const reset: NodeState = { nodeId: node.nodeId, rate: node.rate, status: node.status, appliedSeq: 0, appliedChain: GENESIS_CHAIN, plannedSeq: 0 };
  // From plannedSeq 0 the next tick plans new work from the cursor, whatever stall clock the record holds.
  if (withPlanHistory(reset, history).plannedSeq === 0) return undefined;
  return Math.max(newestPlannedInterval ?? 0, history?.interval ?? 0) + 1;
}

function checkNodeId(nodeId: string): void {
  if (!NODE_ID_PATTERN.test(nodeId)) throw new UsageError(`node id ${JSON.stringify(nodeId)}: must be ${NODE_ID_RULE}`);
}

/** The node to reset, or a UsageError naming what to do instead. */
export async function nodeToReset(deployment: Deployment, nodeId: string): Promise<NodeState> {
  checkNodeId(nodeId);
  const node = await new DynamoNodeRepository(deployment.clients.document, deployment.resources.nodesTable).get(nodeId);
  if (node === undefined) throw new UsageError(`no node ${nodeId}: add it with \`nodes add ${nodeId} --rate R\``);
  return node;
}

export async function resetNode(deployment: Deployment, node: NodeState, options: ResetOptions = {}): Promise<NodeReset> {
  const { document } = deployment.clients;
  const deleted = await deleteReplica(document, deployment.resources.replicaTable, node.nodeId, options);
  // Read just before the write (ticks go on while a large replica is deleted): the plan the next tick would take for the reset node.
  const [plans, header] = await Promise.all([
    deploymentPlans(deployment),
    new DynamoConvergenceStore(document, deployment.resources.convergenceTable).latestPlanHeader(deployment.stream, Number.MAX_SAFE_INTEGER),
  ]);
  const skipsInterval = resetPlanInterval(node, plans.get(node.nodeId), header?.interval);
  if (!(await resetItem(document, deployment.resources.nodesTable, node.nodeId, skipsInterval))) {
    throw new UsageError(`node ${node.nodeId} was removed during the reset; its Replica items are deleted`);
  }
  return {
    nodeId: node.nodeId,
    status: node.status,
    previousAppliedSeq: node.appliedSeq,
    replicaItemsDeleted: deleted.items,
    batchWriteCalls: deleted.calls,
    deletesRetried: deleted.retried,
    ...(skipsInterval === undefined ? {} : { skipsInterval }),
  };
}

type Key = Readonly<Record<string, unknown>>;

/** Every Replica item of the node, Query page by page (keys only), deleted in BatchWriteItem calls of 25. */
async function deleteReplica(doc: DynamoDBDocumentClient, table: string, nodeId: string, options: ResetOptions): Promise<{ items: number; calls: number; retried: number }> {
  const limit = pLimit(options.concurrency ?? 4);
  const counts = { items: 0, calls: 0, retried: 0, found: 0 };
  const query = {
    TableName: table,
    KeyConditionExpression: '#nodeId = :nodeId',
    ProjectionExpression: '#nodeId, #key',
    ExpressionAttributeNames: { '#nodeId': 'nodeId', '#key': 'key' },
    ExpressionAttributeValues: { ':nodeId': nodeId },
    ConsistentRead: true,
  };
  const deleteBatch = async (keys: readonly Key[]): Promise<void> => {
    let pending = keys;
    const maxAttempts = options.maxAttempts ?? 8;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > maxAttempts) throw new ReplicaDeleteError(nodeId, pending.length, maxAttempts);
      if (attempt > 1) {
        counts.retried += pending.length;
        await (options.sleep ?? realSleep)(fullJitterDelay(attempt - 1, 50, 2_000, options.random));
      }
      counts.calls += 1;
      const { UnprocessedItems } = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending.map((Key) => ({ DeleteRequest: { Key } })) } }));
      const unprocessed = (UnprocessedItems?.[table] ?? []).flatMap((request) => (request.DeleteRequest?.Key === undefined ? [] : [request.DeleteRequest.Key]));
      counts.items += pending.length - unprocessed.length;
      pending = unprocessed;
    }
    options.onProgress?.(counts.items, counts.found);
  };
  // A page's deletes go out while the next page is read; a failed call stops the reset.
  const inFlight: Promise<void>[] = [];
  for await (const page of queryPages(doc, query)) {
    counts.found += page.length;
    for (let start = 0; start < page.length; start += DELETES_PER_CALL) {
      const keys = page.slice(start, start + DELETES_PER_CALL).map((item) => ({ nodeId: item.nodeId, key: item.key }));
      inFlight.push(limit(() => deleteBatch(keys)));
    }
  }
  await Promise.all(inFlight);
  return { items: counts.items, calls: counts.calls, retried: counts.retried };
}

/**
 * The Nodes item as `register` writes a new node — cursor 0 on the genesis chain, plannedSeq 0 — with
 * the attributes a node gains by working removed, its rate and status kept. @returns false when the node is gone.
 */
async function resetItem(doc: DynamoDBDocumentClient, table: string, nodeId: string, skipsInterval: number | undefined): Promise<boolean> {
  const cleared: (keyof NodeState)[] = ['appliedAt', 'lastProducedAt', 'plannedAt', 'progressSeq', 'progressInterval'];
  if (skipsInterval === undefined) cleared.push('plannedInterval');
  const set: Partial<Record<keyof NodeState, unknown>> = { appliedSeq: 0, appliedChain: GENESIS_CHAIN, plannedSeq: 0, ...(skipsInterval === undefined ? {} : { plannedInterval: skipsInterval }) };
  try {
    await doc.send(
      new UpdateCommand({
        TableName: table,
        Key: { nodeId },
        UpdateExpression: `SET ${Object.keys(set).map((name) => `#${name} = :${name}`).join(', ')} REMOVE ${cleared.map((name) => `#${name}`).join(', ')}`,
        ConditionExpression: 'attribute_exists(#nodeId)',
        ExpressionAttributeNames: Object.fromEntries(['nodeId', ...Object.keys(set), ...cleared].map((name) => [`#${name}`, name])),
        ExpressionAttributeValues: Object.fromEntries(Object.entries(set).map(([name, value]) => [`:${name}`, value])),
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

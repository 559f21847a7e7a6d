/**
 * The Nodes table (DESIGN §3): pk `nodeId` (S) with the node's rate, status and its two cursors.
 */
import type { DynamoDBDocumentClient, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import type { NodeRegistration, NodeRepository } from '#shared/domain/ports.ts';
import type { AppliedCursor, NodeState, NodeStatus, PlanClaim } from '#shared/domain/types.ts';
import { requirePositiveInteger } from '../batching.ts';
import type { StoredItem } from './items.ts';
import { ItemReader, isConditionFailed, scanAll, withoutUndefined } from './items.ts';

const STATUSES: readonly NodeStatus[] = ['active', 'paused'];

/** Tuning for {@link DynamoNodeRepository}. */
export interface DynamoNodeRepositoryOptions {
  /**
   * Parallel Scan segments for {@link DynamoNodeRepository.listActive} (default 1). Worth raising
   * once the table holds thousands of nodes: each segment pages on its own.
   */
  readonly scanSegments?: number;
}

/** {@link NodeRepository} over the Nodes table. */
export class DynamoNodeRepository implements NodeRepository {
  private readonly scanSegments: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoNodeRepositoryOptions = {},
  ) {
    this.scanSegments = requirePositiveInteger(options.scanSegments ?? 1, 'scanSegments');
  }

  async listActive(): Promise<NodeState[]> {
    const input = {
      TableName: this.tableName,
      FilterExpression: '#status = :active',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':active': 'active' satisfies NodeStatus },
      ConsistentRead: true,
    };
    const segments =
      this.scanSegments === 1
        ? [await scanAll(this.doc, input)]
        : await Promise.all(
            Array.from({ length: this.scanSegments }, (_, segment) =>
              scanAll(this.doc, { ...input, Segment: segment, TotalSegments: this.scanSegments }),
            ),
          );
    return segments.flat().map((item) => this.toNode(item));
  }

  async get(nodeId: string): Promise<NodeState | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { nodeId }, ConsistentRead: true }));
    return Item === undefined ? undefined : this.toNode(Item);
  }

  async claimPlan(nodeId: string, expectedPlannedSeq: number, claim: PlanClaim): Promise<boolean> {
    // The condition also fails for a node that does not exist, so a claim never creates one. The
    // interval term keeps a node to one claim per interval even when a re-plan from the cursor
    // happens to expect the same plannedSeq as a concurrent duplicate run.
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: { nodeId },
      UpdateExpression: 'SET #plannedSeq = :plannedSeq, #plannedAt = :plannedAt, #plannedInterval = :plannedInterval',
      ConditionExpression: '#plannedSeq = :expected AND (attribute_not_exists(#plannedInterval) OR #plannedInterval < :plannedInterval)',
      ExpressionAttributeNames: { '#plannedSeq': 'plannedSeq', '#plannedAt': 'plannedAt', '#plannedInterval': 'plannedInterval' },
      ExpressionAttributeValues: {
        ':plannedSeq': claim.plannedSeq,
        ':plannedAt': claim.plannedAt,
        ':plannedInterval': claim.plannedInterval,
        ':expected': expectedPlannedSeq,
      },
    });
  }

  async advanceCursor(nodeId: string, expectedAppliedSeq: number, cursor: AppliedCursor): Promise<boolean> {
    const names: Record<string, string> = { '#appliedSeq': 'appliedSeq', '#appliedChain': 'appliedChain', '#appliedAt': 'appliedAt' };
    const values: Record<string, unknown> = {
      ':appliedSeq': cursor.appliedSeq,
      ':appliedChain': cursor.appliedChain,
      ':appliedAt': cursor.appliedAt,
      ':expected': expectedAppliedSeq,
    };
    let update = 'SET #appliedSeq = :appliedSeq, #appliedChain = :appliedChain, #appliedAt = :appliedAt';
    if (cursor.lastProducedAt !== undefined) {
      update += ', #lastProducedAt = :lastProducedAt';
      names['#lastProducedAt'] = 'lastProducedAt';
      values[':lastProducedAt'] = cursor.lastProducedAt;
    }
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: { nodeId },
      UpdateExpression: update,
      ConditionExpression: '#appliedSeq = :expected',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  async register(node: NodeRegistration): Promise<void> {
    // if_not_exists keeps the cursors of a node that is re-registered with a new rate or status.
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { nodeId: node.nodeId },
        UpdateExpression:
          'SET #rate = :rate, #status = :status, #appliedSeq = if_not_exists(#appliedSeq, :zero), ' +
          '#appliedChain = if_not_exists(#appliedChain, :genesis), #plannedSeq = if_not_exists(#plannedSeq, :zero)',
        ExpressionAttributeNames: {
          '#rate': 'rate',
          '#status': 'status',
          '#appliedSeq': 'appliedSeq',
          '#appliedChain': 'appliedChain',
          '#plannedSeq': 'plannedSeq',
        },
        ExpressionAttributeValues: {
          ':rate': node.rate,
          ':status': node.status ?? ('active' satisfies NodeStatus),
          ':zero': 0,
          ':genesis': GENESIS_CHAIN,
        },
      }),
    );
  }

  /** @returns false when the condition failed; every other error propagates. */
  private async conditionalUpdate(input: UpdateCommandInput): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand(input));
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  private toNode(stored: StoredItem): NodeState {
    const item = new ItemReader(this.tableName, stored);
    const optional = {
      appliedAt: item.optionalString('appliedAt'),
      plannedAt: item.optionalString('plannedAt'),
      plannedInterval: item.optionalNumber('plannedInterval'),
      lastProducedAt: item.optionalString('lastProducedAt'),
    };
    return {
      nodeId: item.string('nodeId'),
      rate: item.number('rate'),
      status: item.oneOf('status', STATUSES),
      appliedSeq: item.number('appliedSeq'),
      appliedChain: item.string('appliedChain'),
      plannedSeq: item.number('plannedSeq'),
      ...withoutUndefined(optional),
    };
  }
}

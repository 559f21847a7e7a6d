/**
 * The Nodes table (DESIGN §3): pk `nodeId` (S) with the node's rate, status and its two cursors.
 */
import type { DynamoDBDocumentClient, ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { GENESIS_CHAIN } from '#shared/domain/chain.ts';
import { readNodeItem, type RejectedNode } from '#shared/domain/node.ts';
import type { NodePage, NodeRegistration, NodeRepository } from '#shared/domain/ports.ts';
import type { AppliedCursor, NodeState, NodeStatus, PlanClaim } from '#shared/domain/types.ts';
import { requirePositiveInteger } from '../batching.ts';
import { answered, MalformedItemError } from '../errors.ts';
import { mergeAsync } from '../merge.ts';
import type { ScanPage } from './items.ts';
import { conditionalUpdate, isConditionFailed, scanPages } from './items.ts';
import { DynamoTableSize, type DynamoTableSizeOptions } from './table-size.ts';

/** Tuning for {@link DynamoNodeRepository}; the defaults suit production. */
export interface DynamoNodeRepositoryOptions extends DynamoTableSizeOptions {
  /**
   * Parallel Scan segments for {@link DynamoNodeRepository.scanActive}. Default: one per
   * `nodesPerSegment` items of the table (DescribeTable's item count), at most `maxSegments`.
   */
  readonly scanSegments?: number;
  /** Items per Scan segment when the count is chosen from the table's size (default 5,000: a few 1 MB pages). */
  readonly nodesPerSegment?: number;
  /** The most segments chosen from the table's size (default 16). */
  readonly maxSegments?: number;
}

/** {@link NodeRepository} over the Nodes table. */
export class DynamoNodeRepository implements NodeRepository {
  private readonly options: Required<Omit<DynamoNodeRepositoryOptions, 'scanSegments' | keyof DynamoTableSizeOptions>> & { readonly scanSegments?: number };
  private readonly size: DynamoTableSize;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoNodeRepositoryOptions = {},
  ) {
    this.options = {
      ...(options.scanSegments === undefined ? {} : { scanSegments: requirePositiveInteger(options.scanSegments, 'scanSegments') }),
      nodesPerSegment: requirePositiveInteger(options.nodesPerSegment ?? 5_000, 'nodesPerSegment'),
      maxSegments: requirePositiveInteger(options.maxSegments ?? 16, 'maxSegments'),
    };
    this.size = new DynamoTableSize(doc, tableName, options);
  }

  /**
   * Scans every item that is not paused — an item with a missing or misspelt status is read, so it
   * is reported instead of silently ignored — and yields the pages of all segments as they arrive.
   */
  async *scanActive(): AsyncGenerator<NodePage, void, undefined> {
    const segments = await this.segments();
    const input: ScanCommandInput = {
      TableName: this.tableName,
      FilterExpression: 'attribute_not_exists(#status) OR #status <> :paused',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':paused': 'paused' satisfies NodeStatus },
      ConsistentRead: true,
    };
    const sources =
      segments === 1
        ? [scanPages(this.doc, input)]
        : Array.from({ length: segments }, (_, segment) => scanPages(this.doc, { ...input, Segment: segment, TotalSegments: segments }));
    for await (const page of mergeAsync(sources)) yield toNodePage(page);
  }

  /**
   * One segment of a parallel Scan, consistently read. Every item is read (the Scan's filter would
   * save no read units: DynamoDB bills what it reads), so a planner shard carries a paused node's
   * plan forward and counts the table's real size.
   */
  async *scanSegment(segment: number, segments: number, options: { readonly includePaused: boolean }): AsyncGenerator<NodePage, void, undefined> {
    const input: ScanCommandInput = { TableName: this.tableName, ConsistentRead: true, ...(segments === 1 ? {} : { Segment: segment, TotalSegments: segments }) };
    for await (const page of scanPages(this.doc, input)) yield toNodePage(page, options.includePaused);
  }

  /** The table's item count as DescribeTable reports it (see {@link DynamoTableSize}). */
  fleetSize(): Promise<number> {
    return this.size.fleetSize();
  }

  async get(nodeId: string): Promise<NodeState | undefined> {
    const { Item } = answered(await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { nodeId }, ConsistentRead: true })), 'GetItem', this.tableName);
    if (Item === undefined) return undefined;
    const read = readNodeItem(Item);
    if ('rejected' in read) throw new MalformedItemError(this.tableName, read.rejected.attribute, `${read.rejected.problem} in the item of node ${nodeId}`);
    return read.node;
  }

  async claimPlan(nodeId: string, expectedPlannedSeq: number, claim: PlanClaim): Promise<boolean> {
    // The condition also fails for a node that does not exist, so a claim never creates one. The
    // interval term keeps a node to one claim per interval even when a re-plan from the cursor
    // happens to expect the same plannedSeq as a concurrent duplicate run.
    return conditionalUpdate(this.doc, {
      TableName: this.tableName,
      Key: { nodeId },
      UpdateExpression:
        'SET #plannedSeq = :plannedSeq, #plannedAt = :plannedAt, #plannedInterval = :plannedInterval, ' +
        '#progressSeq = :progressSeq, #progressInterval = :progressInterval',
      ConditionExpression: '#plannedSeq = :expected AND (attribute_not_exists(#plannedInterval) OR #plannedInterval < :plannedInterval)',
      ExpressionAttributeNames: {
        '#plannedSeq': 'plannedSeq',
        '#plannedAt': 'plannedAt',
        '#plannedInterval': 'plannedInterval',
        '#progressSeq': 'progressSeq',
        '#progressInterval': 'progressInterval',
      },
      ExpressionAttributeValues: {
        ':plannedSeq': claim.plannedSeq,
        ':plannedAt': claim.plannedAt,
        ':plannedInterval': claim.plannedInterval,
        ':progressSeq': claim.progressSeq,
        ':progressInterval': claim.progressInterval,
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
    return conditionalUpdate(this.doc, {
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

  /**
   * Every item, paused nodes too, page by page (one segment: an operator's listing, not the
   * planner's hot path). Invalid items are reported in `rejected`, as in {@link scanActive}.
   */
  async *scanAll(): AsyncGenerator<NodePage, void, undefined> {
    for await (const page of scanPages(this.doc, { TableName: this.tableName, ConsistentRead: true })) yield toNodePage(page, true);
  }

  /**
   * Changes the rate or status of a node that exists (its cursors untouched); unlike
   * {@link register} it never creates one. @returns false when there is no such node.
   */
  async change(nodeId: string, changes: { readonly rate?: number; readonly status?: NodeStatus }): Promise<boolean> {
    const fields: [string, unknown][] = Object.entries(changes);
    if (fields.length === 0) throw new RangeError('change takes a rate, a status or both');
    return conditionalUpdate(this.doc, {
      TableName: this.tableName,
      Key: { nodeId },
      UpdateExpression: `SET ${fields.map(([name]) => `#${name} = :${name}`).join(', ')}`,
      ConditionExpression: 'attribute_exists(#nodeId)',
      ExpressionAttributeNames: { '#nodeId': 'nodeId', ...Object.fromEntries(fields.map(([name]) => [`#${name}`, name])) },
      ExpressionAttributeValues: Object.fromEntries(fields.map(([name, value]) => [`:${name}`, value])),
    });
  }

  /** Deletes a node's item (its Replica items are another table's). @returns false when there was none. */
  async remove(nodeId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({ TableName: this.tableName, Key: { nodeId }, ConditionExpression: 'attribute_exists(#nodeId)', ExpressionAttributeNames: { '#nodeId': 'nodeId' } }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }


  /** The configured segment count, or one per `nodesPerSegment` items of the table. */
  private async segments(): Promise<number> {
    const { scanSegments, nodesPerSegment, maxSegments } = this.options;
    if (scanSegments !== undefined) return scanSegments;
    return Math.min(maxSegments, Math.max(1, Math.ceil((await this.fleetSize()) / nodesPerSegment)));
  }
}

/** The page's valid nodes — only the active ones unless `includePaused` — its invalid items, and how many items it read. */
function toNodePage(page: ScanPage, includePaused = false): NodePage {
  const nodes: NodeState[] = [];
  const rejected: RejectedNode[] = [];
  for (const item of page.items) {
    const read = readNodeItem(item);
    if ('rejected' in read) rejected.push(read.rejected);
    else if (includePaused || read.node.status === 'active') nodes.push(read.node);
  }
  return { nodes, rejected, scanned: page.scanned };
}

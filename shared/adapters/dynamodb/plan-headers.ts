/**
 * The plan headers of the Convergence table (DESIGN §3, §5): the item an interval's plan header
 * starts, pk `stream` (S), sk `interval` (N), with the totals its planner shards add. Its own module
 * so that the planner shard, which only reads and reports to headers, does not bundle the verdicts'
 * half of the table's adapter ({@link DynamoConvergenceStore}, which extends this class).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ConvergenceStore } from '#shared/domain/ports.ts';
import { NO_PLAN_TOTALS, type IntervalVerdict, type PlanHeader, type PlanTotals } from '#shared/domain/types.ts';
import { answered, MalformedItemError } from '../errors.ts';
import { conditionalPut, conditionalUpdate, ItemReader, newestItem, withoutUndefined } from './items.ts';

/**
 * The verdict's attributes, stored as they are (all are numbers, lists or booleans DynamoDB holds
 * exactly). The lists hold at most reportTopN (≤ 100) nodes each: the item stays a few KB at any
 * fleet size (3.3 KB for 100,000 lagging, under-provisioned, broken nodes with 64-character ids),
 * where whole lists took 186 bytes a node and passed DynamoDB's 400 KB item limit at ~2,200 such
 * nodes — after which recordVerdict failed at every tick.
 */
export const VERDICT_FIELDS = [
  'activeNodes',
  'consistentNodes',
  'maxLagUpdates',
  'maxStalenessSeconds',
  'laggingCount',
  'laggingNodes',
  'underProvisionedCount',
  'underProvisionedNodes',
  'integrityFailureCount',
  'integrityFailures',
  'converged',
] as const satisfies readonly (keyof IntervalVerdict)[];

/** The plan header's attributes. */
export const HEADER_ATTRIBUTES = ['stream', 'interval', 'head', 'headChain', 'plannedAt', 'shards', 'segments', 'previousSegments', 'plannedShards', 'expiredShards'] as const;

/** The totals the planner shards add to their header. */
export const TOTAL_FIELDS = Object.keys(NO_PLAN_TOTALS) as (keyof PlanTotals)[];

/**
 * The attribute each total is stored under: its own name, but `planned…` for a total named like a
 * verdict field. The planner's `activeNodes` and the verdict's share the item: under one name the
 * verdict's SET overwrote what the shards had added, and the record read the checker's count back
 * as the planner's.
 */
export const TOTAL_ATTRIBUTES = Object.fromEntries(
  TOTAL_FIELDS.map((field) => [field, (VERDICT_FIELDS as readonly string[]).includes(field) ? `planned${field.charAt(0).toUpperCase()}${field.slice(1)}` : field]),
) as Readonly<Record<keyof PlanTotals, string>>;

/**
 * The plan headers of the Convergence table: what the planner writes and its shards report to
 * ({@link ConvergenceStore}'s header half). {@link DynamoConvergenceStore} adds the verdicts.
 */
export class DynamoPlanHeaders implements Pick<ConvergenceStore, 'putPlanHeader' | 'latestPlanHeader' | 'reportPlanShard'> {
  constructor(
    protected readonly doc: DynamoDBDocumentClient,
    protected readonly tableName: string,
  ) {}

  async putPlanHeader(header: PlanHeader, expiresAtEpochSeconds: number): Promise<{ written: boolean; header: PlanHeader }> {
    const written = await conditionalPut(this.doc, {
      TableName: this.tableName,
      Item: {
        stream: header.stream,
        interval: header.interval,
        head: header.head,
        headChain: header.headChain,
        plannedAt: header.plannedAt,
        shards: header.shards,
        segments: header.segments,
        previousSegments: header.previousSegments,
        expiresAt: expiresAtEpochSeconds,
        converged: false,
      },
      ConditionExpression: 'attribute_not_exists(#interval)',
      ExpressionAttributeNames: { '#interval': 'interval' },
    });
    if (written) return { written, header };
    // An earlier run of this interval wrote it: plan against that head.
    const { Item } = answered(
      await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: { stream: header.stream, interval: header.interval }, ConsistentRead: true }),
      ),
      'GetItem',
      this.tableName,
    );
    if (Item === undefined) throw new MalformedItemError(this.tableName, 'interval', `${header.interval}: the plan header exists but cannot be read back`);
    return { written: false, header: toPlanHeader(new ItemReader(this.tableName, Item)) };
  }

  async latestPlanHeader(stream: string, before: number): Promise<(PlanHeader & Partial<PlanTotals>) | undefined> {
    const names = Object.fromEntries([...HEADER_ATTRIBUTES, ...Object.values(TOTAL_ATTRIBUTES)].map((name) => [`#${name}`, name]));
    const stored = await newestItem(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#stream = :stream AND #interval < :before',
      ProjectionExpression: Object.keys(names).join(', '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':stream': stream, ':before': before },
    });
    if (stored === undefined) return undefined;
    const item = new ItemReader(this.tableName, stored);
    return { ...toPlanHeader(item), ...readTotals(item) };
  }

  async reportPlanShard(stream: string, interval: number, shard: number, report: { readonly totals: PlanTotals } | { readonly expired: true }): Promise<boolean> {
    // One mark per shard, in either set: a redelivered task that finds its mark adds nothing again.
    const names: Record<string, string> = { '#interval': 'interval', '#plannedShards': 'plannedShards', '#expiredShards': 'expiredShards' };
    const values: Record<string, unknown> = { ':shard': shard, ':shardSet': new Set([shard]) };
    let update: string;
    if ('expired' in report) update = 'ADD #expiredShards :shardSet';
    else {
      update = `ADD #plannedShards :shardSet, ${TOTAL_FIELDS.map((field) => `#${TOTAL_ATTRIBUTES[field]} :${field}`).join(', ')}`;
      for (const field of TOTAL_FIELDS) {
        names[`#${TOTAL_ATTRIBUTES[field]}`] = TOTAL_ATTRIBUTES[field];
        values[`:${field}`] = report.totals[field];
      }
    }
    return conditionalUpdate(this.doc, {
      TableName: this.tableName,
      Key: { stream, interval },
      UpdateExpression: update,
      ConditionExpression:
        'attribute_exists(#interval) AND (attribute_not_exists(#plannedShards) OR NOT contains(#plannedShards, :shard)) AND (attribute_not_exists(#expiredShards) OR NOT contains(#expiredShards, :shard))',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

}

/** A header written before planning was sharded has no cut: it was one run over one segment. */
export function toPlanHeader(item: ItemReader): PlanHeader {
  const segments = item.optionalNumber('segments') ?? 1;
  return {
    stream: item.string('stream'),
    interval: item.number('interval'),
    head: item.number('head'),
    headChain: item.string('headChain'),
    plannedAt: item.string('plannedAt'),
    shards: item.optionalNumber('shards') ?? 1,
    segments,
    previousSegments: item.optionalNumber('previousSegments') ?? segments,
  };
}

/** The totals stored on an item, as far as its shards have reported them. */
export function readTotals(item: ItemReader): Partial<PlanTotals> {
  return withoutUndefined(Object.fromEntries(TOTAL_FIELDS.map((field) => [field, item.optionalNumber(TOTAL_ATTRIBUTES[field])])));
}


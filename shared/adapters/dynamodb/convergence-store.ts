/**
 * The Convergence table (DESIGN §3, §7): pk `stream` (S), sk `interval` (N). The planner writes an
 * interval's plan header once; the checker adds its verdict to that same item; `expiresAt` is the TTL.
 */
import type { DynamoDBDocumentClient, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ConvergenceStore } from '#shared/domain/ports.ts';
import { EXPIRY_REASONS, NO_PLAN_TOTALS, type ConvergenceRecord, type ExpiryReason, type IntervalStatus, type IntervalVerdict, type Judgement, type LaggingNode, type PlanHeader, type PlanTotals, type UnderProvisionedNode } from '#shared/domain/types.ts';
import { answered, MalformedItemError } from '../errors.ts';
import type { StoredItem } from './items.ts';
import { ItemReader, isConditionFailed, queryAll, withoutUndefined } from './items.ts';

/**
 * The verdict's attributes, stored as they are (all are numbers, lists or booleans DynamoDB holds
 * exactly). The lists hold at most reportTopN (≤ 100) nodes each: the item stays a few KB at any
 * fleet size (3.3 KB for 100,000 lagging, under-provisioned, broken nodes with 64-character ids),
 * where whole lists took 186 bytes a node and passed DynamoDB's 400 KB item limit at ~2,200 such
 * nodes — after which recordVerdict failed at every tick.
 */
const VERDICT_FIELDS = [
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
const HEADER_ATTRIBUTES = ['stream', 'interval', 'head', 'headChain', 'plannedAt', 'shards', 'segments', 'previousSegments', 'plannedShards', 'expiredShards'] as const;

/** What the checker reads of a record (not the verdict's lists): {@link DynamoConvergenceStore.statuses}. */
const STATUS_ATTRIBUTES = [...HEADER_ATTRIBUTES, 'converged', 'convergedAt', 'checkedAt', 'expiredAt', 'expiredReason', 'version'] as const;

/** The totals the planner shards add to their header. */
const TOTAL_FIELDS = Object.keys(NO_PLAN_TOTALS) as (keyof PlanTotals)[];

/**
 * The attribute each total is stored under: its own name, but `planned…` for a total named like a
 * verdict field. The planner's `activeNodes` and the verdict's share the item: under one name the
 * verdict's SET overwrote what the shards had added, and the record read the checker's count back
 * as the planner's.
 */
const TOTAL_ATTRIBUTES = Object.fromEntries(
  TOTAL_FIELDS.map((field) => [field, (VERDICT_FIELDS as readonly string[]).includes(field) ? `planned${field.charAt(0).toUpperCase()}${field.slice(1)}` : field]),
) as Readonly<Record<keyof PlanTotals, string>>;

/**
 * The item that holds a stream's watermark (`closedThrough`): in a partition of its own, so queries
 * of the stream's intervals never meet it. `#` cannot occur in a stream name (IDENTIFIER_PATTERN).
 */
const watermarkKey = (stream: string): { stream: string; interval: number } => ({ stream: `${stream}#checker`, interval: 0 });

/** {@link ConvergenceStore} over the Convergence table. */
export class DynamoConvergenceStore implements ConvergenceStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async putPlanHeader(header: PlanHeader, expiresAtEpochSeconds: number): Promise<{ written: boolean; header: PlanHeader }> {
    try {
      await this.doc.send(
        new PutCommand({
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
        }),
      );
      return { written: true, header };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
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
    const { Items } = answered(
      await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#stream = :stream AND #interval < :before',
          ProjectionExpression: Object.keys(names).join(', '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':stream': stream, ':before': before },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      ),
      'Query',
      this.tableName,
    );
    const stored = Items?.[0];
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
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: { stream, interval },
      UpdateExpression: update,
      ConditionExpression:
        'attribute_exists(#interval) AND (attribute_not_exists(#plannedShards) OR NOT contains(#plannedShards, :shard)) AND (attribute_not_exists(#expiredShards) OR NOT contains(#expiredShards, :shard))',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  async recent(stream: string, upTo: number, limit: number): Promise<ConvergenceRecord[]> {
    const records: ConvergenceRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    // Limit caps the items read per page; a page can also end at 1 MB, so page until enough.
    while (records.length < limit) {
      const page = answered(
        await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#stream = :stream AND #interval <= :upTo',
            ExpressionAttributeNames: { '#stream': 'stream', '#interval': 'interval' },
            ExpressionAttributeValues: { ':stream': stream, ':upTo': upTo },
            ScanIndexForward: false,
            Limit: limit - records.length,
            ConsistentRead: true,
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        ),
        'Query',
        this.tableName,
      );
      records.push(...(page.Items ?? []).map((item) => this.toRecord(item)));
      startKey = page.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return records;
  }

  async recordVerdict(stream: string, verdict: IntervalVerdict, judgement: Judgement): Promise<boolean> {
    const { checkedAt, readVersion } = judgement;
    // `head` is left as the plan header wrote it: the verdict is judged against that H_k, and the
    // header is first-writer-wins.
    const assignments = ['#version = :version', '#checkedAt = :checkedAt', ...VERDICT_FIELDS.map((field) => `#${field} = :${field}`)];
    const names: Record<string, string> = { '#interval': 'interval', '#version': 'version', '#checkedAt': 'checkedAt', '#expiredAt': 'expiredAt' };
    const values: Record<string, unknown> = { ':version': readVersion + 1, ':checkedAt': checkedAt, ':false': false };
    for (const field of VERDICT_FIELDS) {
      names[`#${field}`] = field;
      values[`:${field}`] = verdict[field];
    }
    if (verdict.converged) {
      assignments.push('#convergedAt = :checkedAt');
      names['#convergedAt'] = 'convergedAt';
    }
    if (readVersion > 0) values[':readVersion'] = readVersion;
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: { stream, interval: verdict.interval },
      UpdateExpression: `SET ${assignments.join(', ')}`,
      // A header must exist (never create a headless record); a converged or expired record is
      // final; a later tick's verdict stands (ISO-8601 UTC strings of one format order as times);
      // and nothing may have been written since the read — a run that read first and writes last
      // must not put back what it saw.
      ConditionExpression: [
        'attribute_exists(#interval)',
        '#converged = :false',
        'attribute_not_exists(#expiredAt)',
        '(attribute_not_exists(#checkedAt) OR #checkedAt <= :checkedAt)',
        readVersion > 0 ? '#version = :readVersion' : 'attribute_not_exists(#version)',
      ].join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  async watermark(stream: string): Promise<number | undefined> {
    const { Item } = answered(await this.doc.send(new GetCommand({ TableName: this.tableName, Key: watermarkKey(stream), ConsistentRead: true })), 'GetItem', this.tableName);
    return Item === undefined ? undefined : new ItemReader(this.tableName, Item).number('closedThrough');
  }

  async statuses(stream: string, upTo: number): Promise<{ closedThrough?: number; records: IntervalStatus[] }> {
    const closedThrough = await this.watermark(stream);
    const names = Object.fromEntries(STATUS_ATTRIBUTES.map((name) => [`#${name}`, name]));
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: closedThrough === undefined ? '#stream = :stream AND #interval <= :upTo' : '#stream = :stream AND #interval BETWEEN :after AND :upTo',
      // A projection does not make the read cheaper (DynamoDB bills whole items) but keeps the
      // verdicts' lists out of memory when a first run reads the stream's whole history.
      ProjectionExpression: Object.keys(names).join(', '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':stream': stream, ':upTo': upTo, ...(closedThrough === undefined ? {} : { ':after': closedThrough + 1 }) },
      ScanIndexForward: true,
      ConsistentRead: true,
    });
    const records = items.map((stored) => toStatus(new ItemReader(this.tableName, stored)));
    return { ...(closedThrough === undefined ? {} : { closedThrough }), records };
  }

  async expire(stream: string, interval: number, expiredAt: string, reason: ExpiryReason): Promise<boolean> {
    // The version moves on, so a verdict judged from the record as it was cannot land after this.
    return this.conditionalUpdate({
      TableName: this.tableName,
      Key: { stream, interval },
      UpdateExpression: 'SET #expiredAt = :expiredAt, #expiredReason = :reason, #version = if_not_exists(#version, :zero) + :one',
      ConditionExpression: 'attribute_exists(#interval) AND #converged = :false AND attribute_not_exists(#expiredAt)',
      ExpressionAttributeNames: { '#interval': 'interval', '#converged': 'converged', '#expiredAt': 'expiredAt', '#expiredReason': 'expiredReason', '#version': 'version' },
      ExpressionAttributeValues: { ':expiredAt': expiredAt, ':reason': reason, ':false': false, ':zero': 0, ':one': 1 },
    });
  }

  async closeThrough(stream: string, interval: number): Promise<void> {
    // A run that raised it further first wins: the watermark only moves forward.
    await this.conditionalUpdate({
      TableName: this.tableName,
      Key: watermarkKey(stream),
      UpdateExpression: 'SET #closedThrough = :through',
      ConditionExpression: 'attribute_not_exists(#closedThrough) OR #closedThrough < :through',
      ExpressionAttributeNames: { '#closedThrough': 'closedThrough' },
      ExpressionAttributeValues: { ':through': interval },
    });
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

  private toRecord(stored: StoredItem): ConvergenceRecord {
    const item = new ItemReader(this.tableName, stored);
    const status = toStatus(item);
    const verdict = status.checkedAt === undefined ? undefined : toVerdict(item, status, status.converged);
    return { ...status, ...readTotals(item), ...withoutUndefined({ verdict }) };
  }
}

/** A header written before planning was sharded has no cut: it was one run over one segment. */
function toPlanHeader(item: ItemReader): PlanHeader {
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
function readTotals(item: ItemReader): Partial<PlanTotals> {
  return withoutUndefined(Object.fromEntries(TOTAL_FIELDS.map((field) => [field, item.optionalNumber(TOTAL_ATTRIBUTES[field])])));
}

function toStatus(item: ItemReader): IntervalStatus {
  const header = toPlanHeader(item);
  const sharded = item.optionalNumber('shards') !== undefined;
  return {
    ...header,
    // A header from before sharding was planned whole by the run that wrote it.
    shardsReported: sharded ? item.numberSet('plannedShards').size : header.shards,
    shardsExpired: item.numberSet('expiredShards').size,
    converged: item.boolean('converged'),
    ...withoutUndefined({
      convergedAt: item.optionalString('convergedAt'),
      checkedAt: item.optionalString('checkedAt'),
      expiredAt: item.optionalString('expiredAt'),
      expiredReason: item.optionalOneOf('expiredReason', EXPIRY_REASONS),
      version: item.optionalNumber('version'),
    }),
  };
}

function toVerdict(item: ItemReader, header: PlanHeader, converged: boolean): IntervalVerdict {
  const laggingNodes = item.list('laggingNodes', toLaggingNode);
  const underProvisionedNodes = item.list('underProvisionedNodes', toUnderProvisionedNode);
  const integrityFailures = item.stringList('integrityFailures');
  // Verdicts written before the counts existed held whole lists: their length is the count.
  return {
    interval: header.interval,
    head: header.head,
    activeNodes: item.number('activeNodes'),
    consistentNodes: item.number('consistentNodes'),
    maxLagUpdates: item.number('maxLagUpdates'),
    maxStalenessSeconds: item.number('maxStalenessSeconds'),
    laggingCount: item.optionalNumber('laggingCount') ?? laggingNodes.length,
    laggingNodes,
    underProvisionedCount: item.optionalNumber('underProvisionedCount') ?? underProvisionedNodes.length,
    underProvisionedNodes,
    integrityFailureCount: item.optionalNumber('integrityFailureCount') ?? integrityFailures.length,
    integrityFailures,
    converged,
  };
}

function toLaggingNode(item: ItemReader): LaggingNode {
  return {
    nodeId: item.string('nodeId'),
    appliedSeq: item.number('appliedSeq'),
    lagUpdates: item.number('lagUpdates'),
    stalenessSeconds: item.number('stalenessSeconds'),
  };
}

function toUnderProvisionedNode(item: ItemReader): UnderProvisionedNode {
  return {
    nodeId: item.string('nodeId'),
    sharePerInterval: item.number('sharePerInterval'),
    averageIngestPerInterval: item.number('averageIngestPerInterval'),
  };
}

/**
 * The Convergence table (DESIGN §3, §7): pk `stream` (S), sk `interval` (N). The planner writes an
 * interval's plan header once ({@link DynamoPlanHeaders}); the checker adds its verdict to that same
 * item; `expiresAt` is the TTL.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ConvergenceStore } from '#shared/domain/ports.ts';
import { EXPIRY_REASONS, type ConvergenceRecord, type ExpiryReason, type IntervalStatus, type IntervalVerdict, type Judgement, type LaggingNode, type PlanHeader, type UnderProvisionedNode } from '#shared/domain/types.ts';
import { answered } from '../errors.ts';
import type { StoredItem } from './items.ts';
import { conditionalUpdate, ItemReader, queryAll, withoutUndefined } from './items.ts';
import { DynamoPlanHeaders, HEADER_ATTRIBUTES, readTotals, toPlanHeader, VERDICT_FIELDS } from './plan-headers.ts';

/** What the checker reads of a record (not the verdict's lists): {@link DynamoConvergenceStore.statuses}. */
const STATUS_ATTRIBUTES = [...HEADER_ATTRIBUTES, 'converged', 'convergedAt', 'checkedAt', 'expiredAt', 'expiredReason', 'version'] as const;

/**
 * The item that holds a stream's watermark (`closedThrough`): in a partition of its own, so queries
 * of the stream's intervals never meet it. `#` cannot occur in a stream name (IDENTIFIER_PATTERN).
 */
const watermarkKey = (stream: string): { stream: string; interval: number } => ({ stream: `${stream}#checker`, interval: 0 });

/** {@link ConvergenceStore} over the Convergence table: the plan headers, and the verdicts. */
export class DynamoConvergenceStore extends DynamoPlanHeaders implements ConvergenceStore {
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
    return conditionalUpdate(this.doc, {
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
    return conditionalUpdate(this.doc, {
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
    await conditionalUpdate(this.doc, {
      TableName: this.tableName,
      Key: watermarkKey(stream),
      UpdateExpression: 'SET #closedThrough = :through',
      ConditionExpression: 'attribute_not_exists(#closedThrough) OR #closedThrough < :through',
      ExpressionAttributeNames: { '#closedThrough': 'closedThrough' },
      ExpressionAttributeValues: { ':through': interval },
    });
  }

  private toRecord(stored: StoredItem): ConvergenceRecord {
    const item = new ItemReader(this.tableName, stored);
    const status = toStatus(item);
    const verdict = status.checkedAt === undefined ? undefined : toVerdict(item, status, status.converged);
    return { ...status, ...readTotals(item), ...withoutUndefined({ verdict }) };
  }
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

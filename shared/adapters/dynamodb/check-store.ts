/**
 * The checker's per-tick records in the Convergence table (DESIGN §7), in partitions of their own so
 * the stream's interval records never meet them (`#` cannot occur in a stream name):
 *
 * - `<stream>#check`, sk = tick k: the check header (what the tick judges, against which heads and
 *   record versions, cut into how many shards), the sets of shards counted in and given up, and
 *   whether the verdicts were merged;
 * - `<stream>#check#<k>`, sk = shard: each shard's partial tally, as JSON text (a few KB).
 *
 * Both expire (TTL) a day after their tick.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TallyState } from '#shared/domain/convergence.ts';
import type { CheckHeader, CheckOutcome, CheckProgress, CheckStore } from '#shared/domain/ports.ts';
import { answered, MalformedItemError } from '../errors.ts';
import { conditionalPut, conditionalUpdate, isConditionFailed, ItemReader, newestItem, queryAll, type StoredItem } from './items.ts';

const headerKey = (stream: string, interval: number): { stream: string; interval: number } => ({ stream: `${stream}#check`, interval });
const partialPartition = (stream: string, interval: number): string => `${stream}#check#${interval}`;

/** {@link CheckStore} over the Convergence table. */
export class DynamoCheckStore implements CheckStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async putCheckHeader(header: CheckHeader, expiresAtEpochSeconds: number): Promise<{ written: boolean; header: CheckHeader }> {
    const written = await conditionalPut(this.doc, {
      TableName: this.tableName,
      Item: {
        ...headerKey(header.stream, header.interval),
        checkedAt: header.checkedAt,
        shards: header.shards,
        segments: header.segments,
        heads: header.heads,
        averageIngestPerInterval: header.averageIngestPerInterval,
        judged: header.judged,
        ...(header.newest === undefined ? {} : { newest: header.newest }),
        merged: false,
        expiresAt: expiresAtEpochSeconds,
      },
      ConditionExpression: 'attribute_not_exists(#interval)',
      ExpressionAttributeNames: { '#interval': 'interval' },
    });
    if (written) return { written, header };
    // An earlier run of this tick wrote it: its choice of what to judge stands.
    const stored = await this.getCheckHeader(header.stream, header.interval);
    if (stored === undefined) throw new MalformedItemError(this.tableName, 'interval', `${header.interval}: the check header exists but cannot be read back`);
    return { written: false, header: stored.header };
  }

  async getCheckHeader(stream: string, interval: number): Promise<{ header: CheckHeader; progress: CheckProgress } | undefined> {
    const { Item } = answered(await this.doc.send(new GetCommand({ TableName: this.tableName, Key: headerKey(stream, interval), ConsistentRead: true })), 'GetItem', this.tableName);
    return Item === undefined ? undefined : this.read(stream, Item);
  }

  async latestTick(stream: string): Promise<number | undefined> {
    const stored = await newestItem(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#stream = :stream',
      ProjectionExpression: '#interval',
      ExpressionAttributeNames: { '#stream': 'stream', '#interval': 'interval' },
      ExpressionAttributeValues: { ':stream': headerKey(stream, 0).stream },
    });
    return stored === undefined ? undefined : new ItemReader(this.tableName, stored).number('interval');
  }

  async putPartial(stream: string, interval: number, shard: number, tally: TallyState, expiresAtEpochSeconds: number): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { stream: partialPartition(stream, interval), interval: shard, tally: JSON.stringify(tally), expiresAt: expiresAtEpochSeconds },
          ConditionExpression: 'attribute_not_exists(#interval)',
          ExpressionAttributeNames: { '#interval': 'interval' },
        }),
      );
    } catch (error) {
      // A duplicate run of the shard stored it first: the same nodes, the same tally.
      if (!isConditionFailed(error)) throw error;
    }
  }

  async reportCheckShard(stream: string, interval: number, shard: number, expired: boolean): Promise<{ counted: boolean; progress: CheckProgress }> {
    try {
      const { Attributes } = answered(
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: headerKey(stream, interval),
            UpdateExpression: expired ? 'ADD #expiredShards :shardSet' : 'ADD #reportedShards :shardSet',
            ConditionExpression:
              'attribute_exists(#interval) AND (attribute_not_exists(#reportedShards) OR NOT contains(#reportedShards, :shard)) AND (attribute_not_exists(#expiredShards) OR NOT contains(#expiredShards, :shard))',
            ExpressionAttributeNames: { '#interval': 'interval', '#reportedShards': 'reportedShards', '#expiredShards': 'expiredShards' },
            ExpressionAttributeValues: { ':shard': shard, ':shardSet': new Set([shard]) },
            ReturnValues: 'ALL_NEW',
          }),
        ),
        'UpdateItem',
        this.tableName,
      );
      if (Attributes === undefined) throw new MalformedItemError(this.tableName, 'interval', `${interval}: the check header returned no attributes`);
      return { counted: true, progress: this.read(stream, Attributes).progress };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    const stored = await this.getCheckHeader(stream, interval);
    if (stored === undefined) throw new MalformedItemError(this.tableName, 'interval', `${interval}: a check shard reported to a tick without a header`);
    return { counted: false, progress: stored.progress };
  }

  async partials(stream: string, interval: number): Promise<TallyState[]> {
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: '#stream = :stream',
      ExpressionAttributeNames: { '#stream': 'stream' },
      ExpressionAttributeValues: { ':stream': partialPartition(stream, interval) },
      ConsistentRead: true,
    });
    return items.map((stored) => {
      const text = new ItemReader(this.tableName, stored).string('tally');
      try {
        return JSON.parse(text) as TallyState;
      } catch (error) {
        throw new MalformedItemError(this.tableName, 'tally', `of tick ${interval} is not JSON`, { cause: error });
      }
    });
  }

  async markMerged(stream: string, interval: number, outcome: CheckOutcome): Promise<boolean> {
    return conditionalUpdate(this.doc, {
      TableName: this.tableName,
      Key: headerKey(stream, interval),
      // The outcome is JSON text: it is only ever read back whole (a few KB: counts and top-N lists).
      UpdateExpression: 'SET #merged = :true, #outcome = :outcome',
      ConditionExpression: 'attribute_exists(#interval) AND #merged = :false',
      ExpressionAttributeNames: { '#interval': 'interval', '#merged': 'merged', '#outcome': 'outcome' },
      ExpressionAttributeValues: { ':true': true, ':false': false, ':outcome': JSON.stringify(outcome) },
    });
  }

  private read(stream: string, stored: StoredItem): { header: CheckHeader; progress: CheckProgress } {
    const item = new ItemReader(this.tableName, stored);
    const shards = item.number('shards');
    const newest = item.optionalMap('newest');
    const header: CheckHeader = {
      stream,
      interval: item.number('interval'),
      checkedAt: item.string('checkedAt'),
      shards,
      segments: item.number('segments'),
      heads: item.numberList('heads'),
      averageIngestPerInterval: item.number('averageIngestPerInterval'),
      judged: item.list('judged', (element) => ({ interval: element.number('interval'), head: element.number('head'), version: element.number('version') })),
      ...(newest === undefined
        ? {}
        : {
            newest: {
              interval: newest.number('interval'),
              converged: newest.boolean('converged'),
              ...(newest.optionalString('convergedAt') === undefined ? {} : { convergedAt: newest.string('convergedAt') }),
            },
          }),
    };
    const outcome = item.optionalString('outcome');
    let parsed: CheckOutcome | undefined;
    try {
      parsed = outcome === undefined ? undefined : (JSON.parse(outcome) as CheckOutcome);
    } catch (error) {
      throw new MalformedItemError(this.tableName, 'outcome', `of tick ${header.interval} is not JSON`, { cause: error });
    }
    const progress: CheckProgress = {
      shards,
      reported: item.numberSet('reportedShards').size,
      expired: item.numberSet('expiredShards').size,
      merged: item.boolean('merged'),
      ...(parsed === undefined ? {} : { outcome: parsed }),
    };
    return { header, progress };
  }

}

/**
 * The Replica table (DESIGN §3): pk `nodeId` (S), sk `key` (S) — a node's data items, each with the
 * seq and `updatedAt` of the update that wrote it; a delete leaves a tombstone that keeps its seq.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import type { ReplicaStore } from '#shared/domain/ports.ts';
import type { ReplicaItem } from '#shared/domain/types.ts';
import { requirePositiveInteger } from '../batching.ts';
import type { StoredItem } from './items.ts';
import { ItemReader, isConditionFailed, queryAll, queryPages, toJsonText, withoutUndefined } from './items.ts';

/** Tuning for {@link DynamoReplicaStore}. */
export interface DynamoReplicaStoreOptions {
  /** PutItem calls in flight at once per {@link DynamoReplicaStore.write} (default 16). */
  readonly concurrency?: number;
}

type Outcome = 'written' | 'skipped' | 'failed' | 'cancelled';

/** {@link ReplicaStore} over the Replica table. */
export class DynamoReplicaStore implements ReplicaStore {
  private readonly concurrency: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoReplicaStoreOptions = {},
  ) {
    this.concurrency = requirePositiveInteger(options.concurrency ?? 16, 'concurrency');
  }

  /**
   * One conditional PutItem per key: BatchWriteItem cannot carry a condition, and a transaction
   * would bill two write units per item where a guarded put bills one.
   */
  async write(nodeId: string, items: readonly ReplicaItem[]): Promise<{ written: number; skipped: number }> {
    const limit = pLimit(this.concurrency);
    let failure: { error: unknown } | undefined;
    const outcomes = await Promise.all(
      items.map((item) =>
        limit(async (): Promise<Outcome> => {
          // After a failure, writes still queued are dropped; those in flight finish first.
          if (failure !== undefined) return 'cancelled';
          try {
            return (await this.put(nodeId, item)) ? 'written' : 'skipped';
          } catch (error) {
            failure ??= { error };
            return 'failed';
          }
        }),
      ),
    );
    if (failure !== undefined) throw failure.error;
    return {
      written: outcomes.filter((outcome) => outcome === 'written').length,
      skipped: outcomes.filter((outcome) => outcome === 'skipped').length,
    };
  }

  async list(nodeId: string): Promise<ReplicaItem[]> {
    const items = await queryAll(this.doc, this.nodeQuery(nodeId));
    return items.map((item) => this.toReplicaItem(item));
  }

  /** A node's replica page by page (Query pages, ascending by key), for audits of any size. */
  async *pages(nodeId: string): AsyncGenerator<ReplicaItem[], void, undefined> {
    for await (const items of queryPages(this.doc, this.nodeQuery(nodeId))) yield items.map((item) => this.toReplicaItem(item));
  }

  private nodeQuery(nodeId: string) {
    return {
      TableName: this.tableName,
      KeyConditionExpression: '#nodeId = :nodeId',
      ExpressionAttributeNames: { '#nodeId': 'nodeId' },
      ExpressionAttributeValues: { ':nodeId': nodeId },
      ConsistentRead: true,
    };
  }

  /** @returns false when the seq guard failed: a write at least as new is already stored. */
  private async put(nodeId: string, item: ReplicaItem): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toStoredItem(nodeId, item),
          ConditionExpression: 'attribute_not_exists(#seq) OR #seq < :seq',
          ExpressionAttributeNames: { '#seq': 'seq' },
          ExpressionAttributeValues: { ':seq': item.seq },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  private toReplicaItem(stored: StoredItem): ReplicaItem {
    const item = new ItemReader(this.tableName, stored);
    const deleted = item.optionalBoolean('deleted') === true ? (true as const) : undefined;
    return {
      key: item.string('key'),
      ...withoutUndefined({ value: item.json('value'), deleted }),
      seq: item.number('seq'),
      updatedAt: item.string('updatedAt'),
    };
  }
}

/** The stored form of an item: the one {@link DynamoReplicaStore.list} reads back, its value as JSON text. */
function toStoredItem(nodeId: string, item: ReplicaItem): StoredItem {
  return {
    nodeId,
    key: item.key,
    ...withoutUndefined({ value: item.value === undefined ? undefined : toJsonText(item.value), deleted: item.deleted }),
    seq: item.seq,
    updatedAt: item.updatedAt,
  };
}

/**
 * The interval clock (shared/domain/interval-clock.ts) in the Convergence table: one item per
 * stream in a partition of its own, pk `<stream>#clock`, sk 0, `{ epochs: [{ firstInterval,
 * startsAt, intervalSeconds }], version }`. Written once when a stream is first planned and once per
 * change of t; read by both coordinators every tick.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ClockEpoch, IntervalClock } from '#shared/domain/interval-clock.ts';
import type { IntervalClockStore, StoredClock } from '#shared/domain/ports.ts';
import { answered, MalformedItemError } from '../errors.ts';
import { ItemReader, isConditionFailed } from './items.ts';

const clockKey = (stream: string): { stream: string; interval: number } => ({ stream: `${stream}#clock`, interval: 0 });

/** {@link IntervalClockStore} over the Convergence table. */
export class DynamoClockStore implements IntervalClockStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async readClock(stream: string): Promise<StoredClock | undefined> {
    const { Item } = answered(await this.doc.send(new GetCommand({ TableName: this.tableName, Key: clockKey(stream), ConsistentRead: true })), 'GetItem', this.tableName);
    if (Item === undefined) return undefined;
    const item = new ItemReader(this.tableName, Item);
    const epochs = item.list(
      'epochs',
      (epoch): ClockEpoch => ({ firstInterval: epoch.number('firstInterval'), startsAt: epoch.number('startsAt'), intervalSeconds: epoch.number('intervalSeconds') }),
    );
    if (epochs.length === 0) throw new MalformedItemError(this.tableName, 'epochs', `the clock of stream ${stream} holds no epoch`);
    return { clock: { epochs }, version: item.number('version') };
  }

  async writeClock(stream: string, clock: IntervalClock, expectedVersion: number | undefined): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...clockKey(stream), epochs: clock.epochs.map((epoch) => ({ ...epoch })), version: (expectedVersion ?? 0) + 1 },
          ConditionExpression: expectedVersion === undefined ? 'attribute_not_exists(#version)' : '#version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ...(expectedVersion === undefined ? {} : { ExpressionAttributeValues: { ':expected': expectedVersion } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }
}
